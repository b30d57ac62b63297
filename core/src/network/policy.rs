//! The measurement policy: on which networks a measurement may run, and which changes
//! of network a running measurement survives.
//!
//! The campaign measures *mobile* broadband. A sample taken over Wi-Fi, or one whose
//! traffic may have slipped onto Wi-Fi because it was connected, pollutes the
//! regulator's statistics, so [`NetworkPolicy::CellularOnly`] (the apps' default)
//! refuses to start unless the active transport is cellular *and* no Wi-Fi is
//! connected. A handover inside the cellular network (4G to 5G, a new cell) is normal
//! life on a phone: it is recorded, not punished.

use serde::{Deserialize, Serialize};

use super::{NetworkContext, Transport};
use crate::error::Error;
use crate::measure::Phase;

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

impl From<Violation> for Error {
    fn from(v: Violation) -> Self {
        match v {
            Violation::WifiConnected { interface } => Error::WifiOn { interface },
            Violation::NotCellular {
                transport,
                interface,
            } => Error::NotCellular {
                transport,
                interface,
            },
        }
    }
}

/// ` (wlan0)` or nothing.
pub(crate) fn iface_suffix(interface: Option<&str>) -> String {
    interface.map_or_else(String::new, |i| format!(" ({i})"))
}

/// Whether going from `before` to `after` is a change worth recording in the result:
/// another transport, interface, radio technology, operator or cell, Wi-Fi coming or
/// going, roaming starting or ending. Signal strength moves all the time and is not a
/// change of network.
pub fn is_change(before: &NetworkContext, after: &NetworkContext) -> bool {
    before.transport != after.transport
        || before.wifi_connected != after.wifi_connected
        || before.interface != after.interface
        || before.technology != after.technology
        || before.operator != after.operator
        || before.mcc_mnc != after.mcc_mnc
        || before.cell_id != after.cell_id
        || before.roaming != after.roaming
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::RadioTechnology;

    fn cellular() -> NetworkContext {
        NetworkContext {
            interface: Some("rmnet_data0".to_owned()),
            technology: RadioTechnology::G4,
            ..NetworkContext::with_transport(Transport::Cellular)
        }
    }

    #[test]
    fn cellular_only_accepts_cellular_without_wifi() {
        assert_eq!(NetworkPolicy::CellularOnly.check(&cellular()), Ok(()));
    }

    #[test]
    fn connected_wifi_breaks_cellular_only_even_when_cellular_is_active() {
        let mut n = cellular();
        n.wifi_connected = true;
        assert_eq!(
            NetworkPolicy::CellularOnly.check(&n),
            Err(Violation::WifiConnected { interface: None })
        );
        let wifi = NetworkContext {
            interface: Some("wlan0".to_owned()),
            ..NetworkContext::with_transport(Transport::Wifi)
        };
        let err = Error::from(
            NetworkPolicy::CellularOnly
                .check(&wifi)
                .expect_err("wifi is refused"),
        );
        assert_eq!(err.code(), "wifi_on");
        assert!(
            err.to_string()
                .starts_with("Wi-Fi is on: turn it off to measure mobile broadband"),
            "{err}"
        );
    }

    #[test]
    fn other_transports_break_cellular_only_and_name_themselves() {
        for t in [Transport::Ethernet, Transport::Loopback, Transport::Unknown] {
            let v = NetworkPolicy::CellularOnly
                .check(&NetworkContext::with_transport(t))
                .expect_err("not cellular");
            let err = Error::from(v);
            assert_eq!(err.code(), "not_cellular");
            assert!(err.to_string().contains(t.as_str()), "{err}");
            assert!(err.to_string().starts_with("no cellular network"), "{err}");
        }
    }

    #[test]
    fn any_network_accepts_everything() {
        let mut wifi = NetworkContext::with_transport(Transport::Wifi);
        wifi.wifi_connected = true;
        for n in [wifi, NetworkContext::with_transport(Transport::Loopback)] {
            assert_eq!(NetworkPolicy::AnyNetwork.check(&n), Ok(()));
        }
    }

    #[test]
    fn handovers_are_changes_signal_drift_is_not() {
        let a = cellular();
        let mut b = a.clone();
        b.signal.rsrp_dbm = Some(-97.0);
        assert!(!is_change(&a, &b));
        b.technology = RadioTechnology::G5Nsa;
        assert!(is_change(&a, &b));
        let mut c = a.clone();
        c.cell_id = Some("310260-0x1a2b3c".to_owned());
        assert!(is_change(&a, &c));
    }

    #[test]
    fn reasons_say_what_and_when() {
        let v = Violation::WifiConnected {
            interface: Some("wlan0".to_owned()),
        };
        assert_eq!(
            v.reason(Some(Phase::Download)),
            "Wi-Fi came up during the download (wlan0): the sample is not mobile broadband"
        );
        let v = Violation::NotCellular {
            transport: Transport::Ethernet,
            interface: None,
        };
        assert_eq!(
            v.reason(None),
            "the network moved off cellular to ethernet during the measurement"
        );
    }

    #[test]
    fn policy_names_are_stable() {
        for p in [NetworkPolicy::CellularOnly, NetworkPolicy::AnyNetwork] {
            let json = serde_json::to_string(&p).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
    }
}
