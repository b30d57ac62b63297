//! The `--db PATH` option: the store of every command.
//!
//! What a measurement stores (the result, or the failure with its code, so
//! `ispeed history` shows both) is the session's to write
//! ([`ispeed_core::session::Session::measure`]), for the CLI as for the phone.

use std::path::PathBuf;

use clap::Args;
use ispeed_core::store::Store;

/// Where the samples are kept.
#[derive(Debug, Clone, Default, Args)]
pub struct DbArg {
    /// SQLite database of samples [default: <data dir>/ispeed/ispeed.db, e.g.
    /// ~/.local/share/ispeed/ispeed.db on Linux].
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// `<data dir>/ispeed/ispeed.db`, or `ispeed.db` in the temp dir where the platform
/// has no data directory.
pub fn default_path() -> PathBuf {
    match dirs::data_dir() {
        Some(dir) => dir.join("ispeed").join("ispeed.db"),
        None => std::env::temp_dir().join("ispeed.db"),
    }
}

impl DbArg {
    /// The database path in use.
    pub fn path(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(default_path)
    }

    /// Opens the store, creating its directory if needed.
    pub fn open(&self) -> Result<Store, String> {
        let path = self.path();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        Store::open(&path).map_err(|e| e.to_string())
    }
}
