//! The `--db PATH` option and what the CLI stores after each measurement.
//!
//! Every finished measurement lands in the store; every failed one is recorded with
//! its error code, so `ispeed history` shows both.

use std::path::PathBuf;

use clap::Args;
use ispeed_core::participant::MeasureMode;
use ispeed_core::store::{FailedAttempt, Store};
use ispeed_core::{Clock, MeasureRequest, MeasurementResult, Platform, SystemClock};

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

/// Stores the outcome of a measurement: the result, marked with this install's
/// participant and `mode`, or the failure with its code.
/// Returns the result, or the measurement's error as the message to show.
pub fn record(
    store: &Store,
    request: &MeasureRequest,
    platform: &dyn Platform,
    mode: MeasureMode,
    outcome: ispeed_core::Result<MeasurementResult>,
) -> Result<MeasurementResult, String> {
    match outcome {
        Ok(mut result) => {
            store.stamp(&mut result, mode).map_err(|e| {
                format!(
                    "the measurement {} finished but was not stored: {e}",
                    result.id
                )
            })?;
            store.save_result(&result).map_err(|e| {
                format!(
                    "the measurement {} finished but was not stored: {e}",
                    result.id
                )
            })?;
            Ok(result)
        }
        Err(error) => {
            let failure = FailedAttempt::new(
                SystemClock.now(),
                &request.server,
                platform.network().transport,
                &error,
            );
            if let Err(e) = store.save_failure(&failure) {
                eprintln!("ispeed: could not record the failure: {e}");
            }
            Err(error.to_string())
        }
    }
}
