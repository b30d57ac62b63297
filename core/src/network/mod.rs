//! Which network carries a measurement: transport, radio context and signal, and the
//! rule that decides whether a measurement may run on it.
//!
//! - this file: the types that land verbatim in the result document's `network`
//!   object (field names are part of the `ispeed.result/1` contract);
//! - [`policy`]: `CellularOnly` / `AnyNetwork`, and what counts as a handover;
//! - [`guard`]: watches the platform during a measurement;
//! - [`fake`]: a platform tests switch mid-measurement;
//! - [`traffic`]: how much of what crossed the interface was not our payload;
//! - [`sysfs`] and [`linux`]: the desktop Linux platform.

pub mod fake;
pub mod guard;
#[cfg(target_os = "linux")]
pub mod linux;
pub mod policy;
pub mod sysfs;
pub mod traffic;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::measure::Phase;

pub use policy::{NetworkPolicy, Violation};
pub use traffic::{InterfaceCounters, InterfaceTraffic};

/// The kind of link the operating system routes the measurement over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Transport {
    /// A mobile network (2G to 5G).
    Cellular,
    /// A wireless LAN.
    Wifi,
    /// A wired LAN.
    Ethernet,
    /// The machine itself (lab and demo runs).
    Loopback,
    /// The platform could not tell.
    #[default]
    Unknown,
}

impl Transport {
    /// Name as it appears in the result document.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Cellular => "cellular",
            Transport::Wifi => "wifi",
            Transport::Ethernet => "ethernet",
            Transport::Loopback => "loopback",
            Transport::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Radio access technology of a cellular link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RadioTechnology {
    /// GSM, GPRS, EDGE.
    #[serde(rename = "2g")]
    G2,
    /// UMTS, HSPA.
    #[serde(rename = "3g")]
    G3,
    /// LTE.
    #[serde(rename = "4g")]
    G4,
    /// 5G non-standalone (NR anchored on LTE).
    #[serde(rename = "5g-nsa")]
    G5Nsa,
    /// 5G standalone.
    #[serde(rename = "5g-sa")]
    G5Sa,
    /// Not known or not cellular.
    #[default]
    #[serde(rename = "unknown")]
    Unknown,
}

/// Signal quality of the serving cell, where the platform reports it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Signal {
    /// Reference signal received power, dBm.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub rsrp_dbm: Option<f64>,
    /// Reference signal received quality, dB.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub rsrq_db: Option<f64>,
    /// Signal to interference plus noise ratio, dB.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub sinr_db: Option<f64>,
}

/// Everything known about the network a measurement runs over.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NetworkContext {
    /// The transport carrying the test traffic.
    pub transport: Transport,
    /// Whether a Wi-Fi network is connected, even if it is not the active one.
    #[serde(default)]
    pub wifi_connected: bool,
    /// Operating-system name of the interface (`rmnet_data0`, `wwan0`, `lo`).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub interface: Option<String>,
    /// Radio technology when cellular.
    #[serde(default)]
    pub technology: RadioTechnology,
    /// Operator name as the SIM or network reports it.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub operator: Option<String>,
    /// Mobile country and network code, `452-04`.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub mcc_mnc: Option<String>,
    /// Identity of the serving cell (E-UTRAN or NR cell identity) where the platform
    /// reports it. Compared to notice a handover; a cell covers square kilometres, no
    /// finer a place than the coarsened location.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub cell_id: Option<String>,
    /// Signal of the serving cell.
    #[serde(default)]
    pub signal: Signal,
    /// Whether the OS treats the link as metered.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub metered: Option<bool>,
    /// Whether the device is roaming.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub roaming: Option<bool>,
}

impl NetworkContext {
    /// A context that only knows its transport.
    pub fn with_transport(transport: Transport) -> Self {
        Self {
            transport,
            ..Self::default()
        }
    }
}

/// A change of network during a measurement, as recorded in the result document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkChange {
    /// When the change was noticed.
    pub at: DateTime<Utc>,
    /// Time since the measurement started, milliseconds.
    pub elapsed_ms: u64,
    /// Phase that was running, if any.
    #[serde(default)]
    pub phase: Option<Phase>,
    /// The network from then on.
    pub network: NetworkContext,
}
