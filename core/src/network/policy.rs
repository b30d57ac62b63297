//! The measurement policy: on which networks a measurement may run, and which changes
//! of network a running measurement survives.
//!
//! The campaign measures *mobile* broadband. A sample taken over Wi-Fi, or one whose
//! traffic may have slipped onto Wi-Fi because it was connected, pollutes the
//! regulator's statistics, so [`NetworkPolicy::CellularOnly`] (the apps' default)
//! refuses to start unless the active transport is cellular *and* no Wi-Fi is
//! connected. A handover inside the cellular network (4G to 5G, a new cell) is normal
//! life on a phone: it is recorded, not punished.

pub use ispeed_spec::network::{NetworkPolicy, Violation};

use super::NetworkContext;
use crate::error::Error;

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
    use crate::measure::Phase;
    use crate::network::{RadioTechnology, Transport};

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
