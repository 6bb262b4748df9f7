//! Where codebegen keeps its data when no directory is given.

use std::path::PathBuf;

/// `$CODEBEGEN_DATA_DIR`, else `$XDG_DATA_HOME/codebegen`, else `~/.local/share/codebegen`, else
/// `./codebegen-data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CODEBEGEN_DATA_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(xdg).join("codebegen");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/codebegen"),
        None => PathBuf::from("codebegen-data"),
    }
}
