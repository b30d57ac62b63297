//! Stop-gap for the cellular-only rule, so the apps already get the Wi-Fi error.
//!
//! TEMPORARY: the network policy (`NetworkPolicy::CellularOnly`, with
//! `Error::WifiOn` and `Error::NotCellular`) is being written in `core::network` on
//! another branch. When it merges, the engine sets `MeasureRequest::policy` from
//! `Settings::cellular_only` instead of calling this, `error.rs` maps
//! `Error::WifiOn` to [`IspeedError::WifiOn`], and this file goes away. The case and
//! its code (`wifi_on`, the core's own) stay as the apps know them.

use super::error::IspeedError;
use crate::network::{NetworkContext, Transport};

/// Stable code of the Wi-Fi refusal.
pub(crate) const WIFI_ON: &str = "wifi_on";

/// Refuses a network with Wi-Fi up: the route (or the OS's fallback) could carry the
/// test over Wi-Fi, and a mobile broadband figure measured over Wi-Fi is worthless.
pub(crate) fn require_no_wifi(network: &NetworkContext) -> Result<(), IspeedError> {
    if network.transport == Transport::Wifi || network.wifi_connected {
        return Err(IspeedError::WifiOn {
            code: WIFI_ON.to_owned(),
            reason: "Wi-Fi is on: turn it off to measure mobile broadband".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wifi_as_route_or_merely_connected_is_refused() {
        let mut n = NetworkContext::with_transport(Transport::Wifi);
        assert_eq!(
            require_no_wifi(&n).map_err(|e| e.code().to_owned()),
            Err(WIFI_ON.to_owned())
        );
        n.transport = Transport::Cellular;
        n.wifi_connected = true;
        assert!(require_no_wifi(&n).is_err());
        n.wifi_connected = false;
        assert!(require_no_wifi(&n).is_ok());
    }
}
