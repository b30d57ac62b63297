//! The user's settings: kept as a small JSON file in the data directory, written
//! atomically (temporary file, then rename) so a crash never leaves half a file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use chrono::NaiveTime;

use super::error::IspeedError;
use super::types::Server;
use crate::config::{self, MeasureConfig};
use crate::protocol::ProtocolKind;
use crate::report::Uploader;
use crate::schedule::daily::{self, DailyPolicy};

/// File name of the settings inside the data directory.
const FILE: &str = "settings.json";

/// What the user (or the app's defaults) chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
#[serde(default)]
pub struct Settings {
    /// Server measured against when a call names none.
    pub server: Server,
    /// Refuse to measure over Wi-Fi (the mobile broadband survey needs cellular).
    pub cellular_only: bool,
    /// Android: let the phone measure by itself a few times a day.
    pub auto_measure: bool,
    /// Parallel TCP streams of each transfer phase, 1-16.
    pub streams: u8,
    /// Time budget of each transfer phase, seconds (1-60).
    pub max_seconds: u32,
    /// Mobile data budget of the download phase, megabytes (10^6 bytes, at least 2);
    /// the upload phase gets the core's share of it (half, see `config`).
    pub max_megabytes: u32,
    /// Base URL of the campaign's collector that stored samples are sent to; empty
    /// until the operator deploying the app sets it.
    pub collector: String,
    /// iOS: valid cellular measurements asked for each local day.
    pub daily_target: u32,
    /// iOS: local times of the day's reminders, `HH:MM`, ascending.
    pub reminder_times: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        let c = MeasureConfig::default();
        Self {
            server: Server {
                // No public default: the operator deploying the app sets its collector's
                // measurement server; an empty URL fails with `invalid_url` until it does.
                url: String::new(),
                protocol: ProtocolKind::Ispeed,
            },
            cellular_only: true,
            auto_measure: false,
            streams: config::DEFAULT_STREAMS,
            max_seconds: u32::try_from(c.download.max_duration.as_secs()).unwrap_or(10),
            max_megabytes: u32::try_from(c.download.max_bytes / 1_000_000).unwrap_or(50),
            collector: String::new(),
            daily_target: daily::DEFAULT_TARGET,
            reminder_times: daily::default_reminder_slots()
                .iter()
                .map(|t| t.format("%H:%M").to_string())
                .collect(),
        }
    }
}

impl Settings {
    /// The engine configuration these settings describe, validated.
    pub(crate) fn measure_config(&self) -> Result<MeasureConfig, IspeedError> {
        let mut config = MeasureConfig::default()
            .with_streams(self.streams)
            .with_max_duration(Duration::from_secs(u64::from(self.max_seconds)));
        let download = u64::from(self.max_megabytes) * 1_000_000;
        config.download.max_bytes = download;
        // One number for the user, but not one budget for both directions: uplinks are
        // slower, and the core's defaults give the upload a smaller share. Keep it.
        config.upload.max_bytes =
            download / (config::DOWNLOAD_BYTE_BUDGET / config::UPLOAD_BYTE_BUDGET).max(1);
        config.validate()?;
        Ok(config)
    }

    /// The daily target and reminders these settings describe, validated.
    pub(crate) fn daily_policy(&self) -> Result<DailyPolicy, IspeedError> {
        let slots = self
            .reminder_times
            .iter()
            .map(|t| {
                NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| {
                    crate::Error::Config(format!(
                        "reminder time {t:?} is not HH:MM (for example 09:00)"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DailyPolicy::new(self.daily_target, slots)?)
    }

    /// The collector to send samples to, checked; `None` when none is set.
    pub(crate) fn uploader(&self) -> Result<Option<Uploader>, IspeedError> {
        let url = self.collector.trim();
        if url.is_empty() {
            return Ok(None);
        }
        Ok(Some(Uploader::new(url)?))
    }

    /// Checks every setting; on error the message names the one to fix.
    pub(crate) fn validate(&self) -> Result<(), IspeedError> {
        self.measure_config()?;
        self.daily_policy()?;
        self.uploader()?;
        Ok(())
    }
}

/// Where the settings of a data directory are kept.
pub(crate) fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// Reads the settings; a missing file means defaults. A file that cannot be parsed
/// (a downgrade, a disk error) is moved aside to `settings.json.corrupt`, not
/// deleted, and defaults are used: the app must start either way.
pub(crate) fn load(file: &Path) -> Result<Settings, IspeedError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
        Err(e) => {
            return Err(IspeedError::storage(format!(
                "cannot read {}: {e}",
                file.display()
            )));
        }
    };
    match serde_json::from_str(&text) {
        Ok(s) => Ok(s),
        Err(_) => {
            let aside = file.with_extension("json.corrupt");
            std::fs::rename(file, &aside).map_err(|e| {
                IspeedError::storage(format!("cannot move aside {}: {e}", file.display()))
            })?;
            Ok(Settings::default())
        }
    }
}

/// Writes the settings atomically.
pub(crate) fn save(file: &Path, settings: &Settings) -> Result<(), IspeedError> {
    let text = serde_json::to_string_pretty(settings)
        .map_err(|e| IspeedError::internal(format!("cannot encode the settings: {e}")))?;
    let tmp = file.with_extension("json.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, file))
        .map_err(|e| IspeedError::storage(format!("cannot write {}: {e}", file.display())))
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a failed step should say which step
mod tests {
    use super::*;
    use crate::store::testing::TempDir;

    #[test]
    fn default_settings_give_the_default_engine_config() {
        let config = Settings::default()
            .measure_config()
            .expect("defaults are valid");
        assert_eq!(config, MeasureConfig::default());
    }

    #[test]
    fn out_of_range_settings_are_refused_with_a_code() {
        let s = Settings {
            streams: 40,
            ..Settings::default()
        };
        let err = s.measure_config().expect_err("40 streams");
        assert_eq!(err.code(), "invalid_config");
    }

    #[test]
    fn reminder_times_and_the_collector_are_checked() {
        let policy = Settings::default()
            .daily_policy()
            .expect("defaults are valid");
        assert_eq!(policy, DailyPolicy::default());
        for bad in [
            Settings {
                reminder_times: vec!["9h".to_owned()],
                ..Settings::default()
            },
            Settings {
                daily_target: 0,
                ..Settings::default()
            },
            Settings {
                collector: "ftp://collector.example".to_owned(),
                ..Settings::default()
            },
        ] {
            let err = bad.validate().expect_err("refused");
            assert!(
                matches!(err, IspeedError::InvalidInput { .. }),
                "{bad:?}: {err:?}"
            );
        }
        let s = Settings {
            reminder_times: vec!["19:30".to_owned(), " 08:15".to_owned()],
            collector: "https://collector.example/".to_owned(),
            ..Settings::default()
        };
        s.validate().expect("valid");
        assert_eq!(s.daily_policy().expect("valid").reminder_slots.len(), 2);
    }

    #[test]
    fn settings_survive_a_round_trip_and_a_corrupt_file_is_kept_aside() {
        let dir = TempDir::new("ffi-settings");
        let file = dir.file(FILE);
        assert_eq!(load(&file).expect("missing file"), Settings::default());
        let s = Settings {
            auto_measure: true,
            streams: 2,
            ..Settings::default()
        };
        save(&file, &s).expect("save");
        assert_eq!(load(&file).expect("load"), s);

        std::fs::write(&file, "{ not json").expect("corrupt");
        assert_eq!(load(&file).expect("corrupt file"), Settings::default());
        let kept = std::fs::read_to_string(dir.file("settings.json.corrupt")).expect("kept aside");
        assert_eq!(kept, "{ not json");
    }
}
