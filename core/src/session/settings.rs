//! The user's settings, kept in the store's `settings` table (one row, JSON), so the
//! phone and the CLI read them from the one database and a backup carries them.
//!
//! Earlier app versions kept them in `settings.json` beside the database; the first
//! open of such a directory copies the file into the store, once, and renames it
//! `settings.json.migrated`.

use std::path::Path;
use std::time::Duration;

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use crate::config::{self, MeasureConfig};
use crate::error::{Error, Result};
use crate::protocol::ProtocolKind;
use crate::report::Uploader;
use crate::schedule::daily::{self, DailyPolicy};
use crate::store::Store;

/// Key of the settings row in the store.
pub(crate) const KEY: &str = "app_settings";

/// File name of the settings of earlier versions, in the data directory.
pub(crate) const LEGACY_FILE: &str = "settings.json";

/// A measurement server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Server {
    /// Base URL, `https://speed.example.vn`.
    pub url: String,
    /// Protocol the server speaks.
    pub protocol: ProtocolKind,
}

/// What the user (or the app's defaults) chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(default)]
pub struct Settings {
    /// Server measured against when a call names none. Empty by default: the
    /// deployment profile's servers are ranked and the nearest is measured.
    pub server: Server,
    /// Refuse to measure over Wi-Fi (the mobile broadband survey needs cellular).
    pub cellular_only: bool,
    /// Android: let the phone measure by itself a few times a day.
    pub auto_measure: bool,
    /// Parallel TCP streams of each transfer phase, 1-16.
    pub streams: u8,
    /// Time budget of each transfer phase, seconds (1-60).
    pub max_seconds: u32,
    /// Mobile data budget of the download phase, megabytes (10^6 bytes, at least 1):
    /// the upload phase gets a third of it, at least 1 MB (see [`data_budget`]).
    /// The deployment profile's budget caps it.
    pub max_megabytes: u32,
    /// Base URL of the collector stored samples are sent to; empty means the
    /// deployment profile's collector.
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

/// The least a transfer phase may be given ([`MeasureConfig::validate`]'s floor).
const MIN_PHASE_BYTES: u64 = 1_000_000;

/// The data-budget rule, one for the phone and the CLI: `download_bytes` for the
/// download phase and a third of it for the upload (uplinks run at about a third of
/// downlinks; the core's default budgets, 120 MB and 40 MB, have that ratio), never
/// under the 1 MB a phase needs nor over the download's budget. The phone's
/// `max_megabytes` setting, the CLI's `--max-mbytes` and the profile's
/// `manual_megabytes` cap all set the budget through it.
pub fn data_budget(mut config: MeasureConfig, download_bytes: u64) -> MeasureConfig {
    let share = download_bytes / (config::DOWNLOAD_BYTE_BUDGET / config::UPLOAD_BYTE_BUDGET).max(1);
    config.download.max_bytes = download_bytes;
    config.upload.max_bytes = share.max(MIN_PHASE_BYTES).min(download_bytes);
    config
}

/// [`data_budget`] of `megabytes` (10^6 bytes) for the download: the phone's setting
/// and the profile's cap.
pub fn manual_budget(config: MeasureConfig, megabytes: u64) -> MeasureConfig {
    data_budget(config, megabytes.saturating_mul(1_000_000))
}

impl Settings {
    /// The engine configuration these settings describe, validated.
    pub fn measure_config(&self) -> Result<MeasureConfig> {
        let config = MeasureConfig::default()
            .with_streams(self.streams)
            .with_max_duration(Duration::from_secs(u64::from(self.max_seconds)));
        let config = manual_budget(config, u64::from(self.max_megabytes));
        config.validate()?;
        Ok(config)
    }

    /// The daily target and reminders these settings describe, validated.
    pub fn daily_policy(&self) -> Result<DailyPolicy> {
        let slots = self
            .reminder_times
            .iter()
            .map(|t| {
                NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| {
                    Error::Config(format!(
                        "reminder time {t:?} is not HH:MM (for example 09:00)"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        DailyPolicy::new(self.daily_target, slots)
    }

    /// The collector of these settings, checked; `None` when none is set.
    pub fn uploader(&self) -> Result<Option<Uploader>> {
        let url = self.collector.trim();
        if url.is_empty() {
            return Ok(None);
        }
        Ok(Some(Uploader::new(url)?))
    }

    /// Checks every setting; on error the message names the one to fix.
    pub fn validate(&self) -> Result<()> {
        self.measure_config()?;
        self.daily_policy()?;
        self.uploader()?;
        Ok(())
    }
}

/// The stored settings; defaults when none are stored, or when the stored row cannot
/// be read (a downgrade): the app must start either way, and the row is replaced at
/// the next change.
pub(crate) fn load(store: &Store) -> Result<Settings> {
    Ok(store
        .setting::<serde_json::Value>(KEY)?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// Copies `settings.json` of `dir` into the store, once: a file that cannot be parsed
/// gives defaults, as it did before. The file is renamed `settings.json.migrated`
/// (kept, not deleted, for a downgrade).
pub(crate) fn migrate_legacy_file(store: &Store, dir: &Path) -> Result<()> {
    let file = dir.join(LEGACY_FILE);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::Storage {
                path: file,
                detail: e.to_string(),
            });
        }
    };
    let settings: Settings = serde_json::from_str(&text).unwrap_or_default();
    store.put_setting_once(KEY, &settings)?;
    std::fs::rename(&file, file.with_extension("json.migrated")).map_err(|e| Error::Storage {
        path: file.clone(),
        detail: format!("cannot rename after migrating: {e}"),
    })
}

#[cfg(test)]
#[allow(clippy::expect_used)]
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
    fn the_data_budget_gives_the_upload_a_third_within_the_phase_limits() {
        let budget = |bytes| {
            let c = data_budget(MeasureConfig::default(), bytes);
            (c.download.max_bytes, c.upload.max_bytes)
        };
        // The defaults are the rule at 120 MB.
        let d = MeasureConfig::default();
        assert_eq!(
            budget(120_000_000),
            (d.download.max_bytes, d.upload.max_bytes)
        );
        assert_eq!(budget(3_000_000), (3_000_000, 1_000_000));
        assert_eq!(budget(9_500_000), (9_500_000, 3_166_666));
        // Small budgets: the upload keeps the 1 MB a phase needs, never more than
        // the download's.
        assert_eq!(budget(2_000_000), (2_000_000, 1_000_000));
        assert_eq!(budget(1_000_000), (1_000_000, 1_000_000));
        assert_eq!(budget(500_000), (500_000, 500_000));
        // The phone's setting goes through the same rule, and is valid down to 1 MB.
        let s = Settings {
            max_megabytes: 2,
            ..Settings::default()
        };
        let c = s.measure_config().expect("2 MB is a valid budget");
        assert_eq!(
            (c.download.max_bytes, c.upload.max_bytes),
            budget(2_000_000)
        );
        let s = Settings {
            max_megabytes: 0,
            ..Settings::default()
        };
        assert_eq!(s.measure_config().expect_err("0").code(), "invalid_config");
    }

    #[test]
    fn out_of_range_settings_are_refused_with_a_code() {
        let s = Settings {
            streams: 40,
            ..Settings::default()
        };
        assert_eq!(s.measure_config().expect_err("40").code(), "invalid_config");
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
            bad.validate().expect_err("refused");
        }
    }

    #[test]
    fn a_settings_json_is_migrated_into_the_store_once() {
        let dir = TempDir::new("settings-migrate");
        let store = Store::open(dir.file("ispeed.db")).expect("open");
        assert_eq!(load(&store).expect("load"), Settings::default());
        let old = Settings {
            auto_measure: true,
            streams: 2,
            ..Settings::default()
        };
        std::fs::write(
            dir.file(LEGACY_FILE),
            serde_json::to_string(&old).expect("json"),
        )
        .expect("write");
        migrate_legacy_file(&store, dir.file("").as_path()).expect("migrate");
        assert_eq!(load(&store).expect("load"), old);
        assert!(!dir.file(LEGACY_FILE).exists());
        assert!(dir.file("settings.json.migrated").exists());
        // A later file (a downgrade wrote one) does not overwrite the store's row.
        std::fs::write(dir.file(LEGACY_FILE), "{ not json").expect("write");
        migrate_legacy_file(&store, dir.file("").as_path()).expect("migrate");
        assert_eq!(load(&store).expect("load"), old);
    }
}
