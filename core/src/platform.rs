//! What the operating system knows and the core cannot find out by itself.
//!
//! The shells implement [`Platform`] (through a uniffi callback interface on the
//! phones); the desktop has its own implementation; tests use fakes that change the
//! network in the middle of a measurement.

pub use ispeed_spec::device::{Battery, DeviceInfo};

use ispeed_spec::network::{NetworkContext, Transport};
use serde::{Deserialize, Serialize};

/// Byte counters of an interface since it came up, as the OS reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InterfaceCounters {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// The interface's MTU, where known.
    pub mtu: Option<u32>,
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

// The apps' view of the re-exported wire types. `ispeed-spec` stays free of uniffi, so
// uniffi exports them through remote declarations: the definitions restated, from which
// it generates the conversions (see `crate::ffi`). They are declared in this module, where
// the types were defined, because uniffi's checksums hash the declaring module's path:
// declared anywhere else, the generated Kotlin and Swift would change.

/// Battery state, for schedulers that must not drain a phone.
#[cfg(feature = "uniffi")]
#[uniffi::remote(Record)]
pub struct Battery {
    /// Charge level, 0-100.
    pub percent: u8,
    /// Whether a charger is connected.
    pub charging: bool,
}

/// Describes the device in a result document; never an identifier of it.
#[cfg(feature = "uniffi")]
#[uniffi::remote(Record)]
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
