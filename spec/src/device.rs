//! The device a measurement ran on, as the result document describes it (never an
//! identifier of it), and its battery, which schedulers consult.

use serde::{Deserialize, Serialize};

/// Battery state, for schedulers that must not drain a phone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Battery {
    /// Charge level, 0-100.
    pub percent: u8,
    /// Whether a charger is connected.
    pub charging: bool,
}

/// Describes the device in a result document; never an identifier of it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// `android`, `ios`, `linux`, `macos`, `windows`.
    pub platform: String,
    /// Operating system version.
    pub os_version: String,
    /// Hardware model, as marketed (`SM-A546E`), never a serial number.
    pub model: String,
    /// Version of the app or harness that measured.
    pub app_version: String,
}

impl DeviceInfo {
    /// The machine this process runs on, with `app_version` as given.
    pub fn this_machine(app_version: &str) -> Self {
        Self {
            platform: std::env::consts::OS.to_owned(),
            os_version: String::new(),
            model: std::env::consts::ARCH.to_owned(),
            app_version: app_version.to_owned(),
        }
    }
}
