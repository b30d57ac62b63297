//! What the operating system knows and the core cannot find out by itself.
//!
//! The shells implement [`Platform`] (through a uniffi callback interface on the
//! phones); the desktop has its own implementation; tests use fakes that change the
//! network in the middle of a measurement.

use serde::{Deserialize, Serialize};

use crate::network::{InterfaceCounters, NetworkContext, Transport};

/// Battery state, for schedulers that must not drain a phone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Battery {
    /// Charge level, 0-100.
    pub percent: u8,
    /// Whether a charger is connected.
    pub charging: bool,
}

/// Describes the device in a result document; never an identifier of it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
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

/// The operating system as seen by the core.
pub trait Platform: Send + Sync {
    /// The network the measurement traffic currently uses. Called at start, then
    /// polled during a measurement to notice changes.
    fn network(&self) -> NetworkContext;

    /// Byte counters of `interface`, where the platform can read them: compared with
    /// the payload to tell how much foreign traffic shared the link.
    fn interface_counters(&self, _interface: &str) -> Option<InterfaceCounters> {
        None
    }

    /// Battery state, where known.
    fn battery(&self) -> Option<Battery> {
        None
    }

    /// The device the measurement runs on.
    fn device(&self) -> DeviceInfo;

    /// The IANA time zone the user lives in (`Asia/Ho_Chi_Minh`), where the platform
    /// tells; days and the daily quota are counted in it. `None` leaves the choice to
    /// the deployment profile's zone, then UTC.
    fn time_zone(&self) -> Option<String> {
        None
    }
}

/// A platform that reports a fixed network: for labs, the demo and tests.
#[derive(Debug, Clone)]
pub struct StaticPlatform {
    /// Network reported on every call.
    pub network: NetworkContext,
    /// Device reported on every call.
    pub device: DeviceInfo,
}

impl StaticPlatform {
    /// A platform on `transport` describing this machine.
    pub fn new(transport: Transport) -> Self {
        Self {
            network: NetworkContext::with_transport(transport),
            device: DeviceInfo::this_machine(env!("CARGO_PKG_VERSION")),
        }
    }
}

impl Platform for StaticPlatform {
    fn network(&self) -> NetworkContext {
        self.network.clone()
    }

    fn device(&self) -> DeviceInfo {
        self.device.clone()
    }
}
