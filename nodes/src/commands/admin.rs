//! `codebegen admin ...`: operator commands on a node's store (safe while `serve` runs).

use std::process::ExitCode;

use anyhow::bail;
use codebegen_schema::generation::Tier;

use crate::cli::{AdminArgs, AdminCommand};
use crate::config::Config;

/// Runs the command.
pub fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AdminCommand::SetTier {
            email,
            tier,
            data_dir,
            config,
        } => {
            let Some(tier) = Tier::parse(&tier) else {
                bail!("unknown tier `{tier}`; use free, pro or enterprise")
            };
            let config = match &config {
                Some(path) => Config::load(path)?,
                None => Config::default(),
            };
            if config.store.backend == "embedded" && !data_dir.join("codebegen.db").exists() {
                bail!(
                    "no codebegen store in {} (run `codebegen serve --data-dir {}` first)",
                    data_dir.display(),
                    data_dir.display()
                );
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let changed = runtime.block_on(async {
                let stores = super::serve::open_configured_stores(&config, &data_dir).await?;
                anyhow::Ok(
                    stores
                        .users
                        .set_tier(&email.to_ascii_lowercase(), tier)
                        .await?,
                )
            })?;
            if !changed {
                bail!("no user with e-mail {email}");
            }
            println!("{email} is now on the {} tier", tier.as_str());
            Ok(ExitCode::SUCCESS)
        }
    }
}
