//! `codebegen admin ...`: operator commands on the data directory (safe while `serve` runs).

use std::process::ExitCode;

use anyhow::bail;
use codebegen_schema::generation::Tier;

use crate::cli::{AdminArgs, AdminCommand};

/// Runs the command.
pub fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AdminCommand::SetTier {
            email,
            tier,
            data_dir,
        } => {
            let Some(tier) = Tier::parse(&tier) else {
                bail!("unknown tier `{tier}`; use free, pro or enterprise")
            };
            if !data_dir.join("codebegen.db").exists() {
                bail!(
                    "no codebegen store in {} (run `codebegen serve --data-dir {}` first)",
                    data_dir.display(),
                    data_dir.display()
                );
            }
            let stores = super::serve::open_stores(&data_dir)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let changed =
                runtime.block_on(stores.users.set_tier(&email.to_ascii_lowercase(), tier))?;
            if !changed {
                bail!("no user with e-mail {email}");
            }
            println!("{email} is now on the {} tier", tier.as_str());
            Ok(ExitCode::SUCCESS)
        }
    }
}
