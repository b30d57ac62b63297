//! The network a measurement runs over, as the result document reports it, and the
//! rule that decides whether a measurement may run on it.
//!
//! The types here land verbatim in the document's `network`, `network_end`,
//! `network_changes`, `network_policy` and `interface_traffic` fields: their names are
//! part of `ispeed.result/1`. How the engine watches the network, reads interface
//! counters and tells a handover from a change of transport stays in
//! `ispeed_core::network`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::measure::Phase;

/// The kind of link the operating system routes the measurement over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
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
pub struct Signal {
    /// Reference signal received power, dBm.
    pub rsrp_dbm: Option<f64>,
    /// Reference signal received quality, dB.
    pub rsrq_db: Option<f64>,
    /// Signal to interference plus noise ratio, dB.
    pub sinr_db: Option<f64>,
}

/// Everything known about the network a measurement runs over.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NetworkContext {
    /// The transport carrying the test traffic.
    pub transport: Transport,
    /// Whether a Wi-Fi network is connected, even if it is not the active one.
    #[serde(default)]
    pub wifi_connected: bool,
    /// Operating-system name of the interface (`rmnet_data0`, `wwan0`, `lo`).
    #[serde(default)]
    pub interface: Option<String>,
    /// Radio technology when cellular.
    #[serde(default)]
    pub technology: RadioTechnology,
    /// Operator name as the SIM or network reports it.
    #[serde(default)]
    pub operator: Option<String>,
    /// Mobile country and network code, `452-04`.
    #[serde(default)]
    pub mcc_mnc: Option<String>,
    /// Identity of the serving cell (E-UTRAN or NR cell identity) where the platform
    /// reports it. Compared to notice a handover; a cell covers square kilometres, no
    /// finer a place than the coarsened location.
    #[serde(default)]
    pub cell_id: Option<String>,
    /// Signal of the serving cell.
    #[serde(default)]
    pub signal: Signal,
    /// Whether the OS treats the link as metered.
    #[serde(default)]
    pub metered: Option<bool>,
    /// Whether the device is roaming.
    #[serde(default)]
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

/// On which networks a measurement may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkPolicy {
    /// The active transport must be cellular and no Wi-Fi may be connected: the
    /// default of the apps and of `ispeed measure`.
    #[default]
    CellularOnly,
    /// Any network, explicitly chosen: labs, the demo, loopback tests.
    AnyNetwork,
}

impl NetworkPolicy {
    /// Name as it appears in the result document.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkPolicy::CellularOnly => "cellular_only",
            NetworkPolicy::AnyNetwork => "any_network",
        }
    }

    /// Whether a measurement may run on `network`.
    pub fn check(self, network: &NetworkContext) -> Result<(), Violation> {
        if self == NetworkPolicy::AnyNetwork {
            return Ok(());
        }
        // Wi-Fi first: with Wi-Fi connected the OS may move traffic onto it at any
        // moment, and "turn Wi-Fi off" is the one thing the citizen can do about it.
        if network.transport == Transport::Wifi {
            return Err(Violation::WifiConnected {
                interface: network.interface.clone(),
            });
        }
        if network.wifi_connected {
            return Err(Violation::WifiConnected { interface: None });
        }
        if network.transport != Transport::Cellular {
            return Err(Violation::NotCellular {
                transport: network.transport,
                interface: network.interface.clone(),
            });
        }
        Ok(())
    }
}

impl std::fmt::Display for NetworkPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a network breaks [`NetworkPolicy::CellularOnly`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A Wi-Fi network is connected (`interface` when it is the active one).
    WifiConnected {
        /// The Wi-Fi interface, when it carries the traffic.
        interface: Option<String>,
    },
    /// The active transport is not cellular.
    NotCellular {
        /// What it is instead.
        transport: Transport,
        /// Its interface, where known.
        interface: Option<String>,
    },
}

impl Violation {
    /// Why a sample stopped by this violation is invalid, for `invalid_reason`.
    /// `phase` is the phase it interrupted (`None`: noticed between or after phases).
    pub fn reason(&self, phase: Option<Phase>) -> String {
        let when = phase.map_or_else(
            || "during the measurement".to_owned(),
            |p| format!("during the {p}"),
        );
        match self {
            Violation::WifiConnected { interface } => format!(
                "Wi-Fi came up {when}{}: the sample is not mobile broadband",
                iface_suffix(interface.as_deref())
            ),
            Violation::NotCellular {
                transport,
                interface,
            } => format!(
                "the network moved off cellular to {transport}{} {when}",
                iface_suffix(interface.as_deref())
            ),
        }
    }
}

/// ` (wlan0)` or nothing.
pub fn iface_suffix(interface: Option<&str>) -> String {
    interface.map_or_else(String::new, |i| format!(" ({i})"))
}

/// What crossed the measured interface during the measurement, against the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterfaceTraffic {
    /// The interface.
    pub interface: String,
    /// Bytes it received during the measurement.
    pub rx_bytes: u64,
    /// Bytes it sent during the measurement.
    pub tx_bytes: u64,
    /// Bytes that crossed the link: received plus sent, except on loopback, where
    /// each packet is counted once although the kernel counts it both ways.
    pub wire_bytes: u64,
    /// Payload the engine moved (download and upload bytes).
    pub payload_bytes: u64,
    /// Estimated TCP/IP header bytes that payload cost.
    pub overhead_bytes: u64,
    /// Share (0-1) of the interface's traffic that was neither payload nor its
    /// overhead: other applications, or bytes cut off in flight.
    pub foreign_share: f64,
}
