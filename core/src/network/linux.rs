//! The desktop Linux platform: which interface carries the traffic to the server, what
//! kind of link it is, whether Wi-Fi is connected, and the interface's byte counters.
//!
//! The interface is the one the kernel's routing picks for the server's address: a UDP
//! socket `connect`ed to that address (no packet leaves; connecting a datagram socket
//! only looks the route up) gets the source address the kernel would use, and the
//! interface holding that address is the one. This follows policy routing, VPNs and
//! IPv6 without parsing any routing table. With `--interface` every test socket is
//! bound to that interface, and the platform reports it as given.
//!
//! Radio details (technology, operator, signal) need ModemManager over D-Bus and are
//! left unknown here; the phone shells report them.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Mutex;

use sysinfo::Networks;

use super::sysfs::Sysfs;
use super::{InterfaceCounters, NetworkContext, Transport};
use crate::error::{Error, Result};
use crate::platform::{DeviceInfo, Platform};

/// The platform of a Linux desktop measuring against one server.
pub struct LinuxPlatform {
    /// Where the test traffic goes; unused when `bound` is set.
    target: Option<SocketAddr>,
    /// Interface every socket is bound to, if any.
    bound: Option<String>,
    sysfs: Sysfs,
    device: DeviceInfo,
    counters: Mutex<Option<Networks>>,
}

impl std::fmt::Debug for LinuxPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinuxPlatform")
            .field("target", &self.target)
            .field("bound", &self.bound)
            .field("sysfs", &self.sysfs)
            .finish_non_exhaustive()
    }
}

impl LinuxPlatform {
    /// The platform for traffic to `target`, or through `bound` when every socket is
    /// bound to that interface. `app_version` goes into the device description.
    pub fn new(target: Option<SocketAddr>, bound: Option<String>, app_version: &str) -> Self {
        let mut device = DeviceInfo::this_machine(app_version);
        device.os_version = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        Self {
            target,
            bound,
            sysfs: Sysfs::default(),
            device,
            counters: Mutex::new(None),
        }
    }

    /// The platform for measuring against the server at `url`: resolves its host (the
    /// first address, as the HTTP client will try it first), or checks that the
    /// interface `bound` exists.
    pub async fn for_server(url: &str, bound: Option<String>, app_version: &str) -> Result<Self> {
        let sysfs = Sysfs::default();
        if let Some(name) = &bound {
            if !sysfs.exists(name) {
                return Err(Error::Config(format!(
                    "there is no network interface named {name:?} (see `ip link`)"
                )));
            }
            return Ok(Self::new(None, bound, app_version));
        }
        let base = crate::protocol::parse_base_url(url)?;
        let host = base.host_str().unwrap_or_default();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = base.port_or_known_default().unwrap_or(80);
        let target = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| Error::Unreachable {
                host: host.clone(),
                detail: e.to_string(),
            })?
            .next()
            .ok_or_else(|| Error::Unreachable {
                host: host.clone(),
                detail: "the name has no address".to_owned(),
            })?;
        Ok(Self::new(Some(target), None, app_version))
    }

    /// Reads interfaces from the sysfs tree `sysfs` instead of `/sys`.
    pub fn with_sysfs(mut self, sysfs: Sysfs) -> Self {
        self.sysfs = sysfs;
        self
    }

    /// The interface the traffic uses now.
    fn interface(&self, addrs: &[(String, IpAddr)]) -> Option<String> {
        if let Some(b) = &self.bound {
            return Some(b.clone());
        }
        let local = local_address_for(self.target?).ok()?;
        interface_with_address(local, addrs)
    }
}

impl Platform for LinuxPlatform {
    fn network(&self) -> NetworkContext {
        let addrs = addresses();
        let interface = self.interface(&addrs);
        let transport = interface
            .as_deref()
            .map_or(Transport::Unknown, |i| self.sysfs.classify(i));
        // Link-local addresses appear on any interface that is up, associated or not:
        // only an address a network handed out means Wi-Fi is connected.
        let usable = addrs
            .iter()
            .filter(|(_, ip)| !is_link_local(*ip))
            .map(|(n, _)| n.as_str());
        let wifi_connected = !self.sysfs.connected_wifi(usable).is_empty();
        NetworkContext {
            transport,
            wifi_connected,
            interface,
            ..NetworkContext::default()
        }
    }

    fn interface_counters(&self, interface: &str) -> Option<InterfaceCounters> {
        let mut slot = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let networks = match slot.as_mut() {
            Some(n) => {
                n.refresh(true);
                n
            }
            None => slot.insert(Networks::new_with_refreshed_list()),
        };
        let data = networks.get(interface)?;
        Some(InterfaceCounters {
            rx_bytes: data.total_received(),
            tx_bytes: data.total_transmitted(),
            mtu: self.sysfs.mtu(interface),
        })
    }

    fn device(&self) -> DeviceInfo {
        self.device.clone()
    }
}

/// Every (interface, address) pair of this host; empty when they cannot be read.
fn addresses() -> Vec<(String, IpAddr)> {
    if_addrs::get_if_addrs()
        .map(|all| all.into_iter().map(|i| (i.name.clone(), i.ip())).collect())
        .unwrap_or_default()
}

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

/// The source address the kernel picks for traffic to `target`. Sends nothing.
pub fn local_address_for(target: SocketAddr) -> std::io::Result<IpAddr> {
    let any: SocketAddr = match target {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(any)?;
    // Port 0 cannot be connected to; any port routes the same.
    let target = if target.port() == 0 {
        SocketAddr::new(target.ip(), 9)
    } else {
        target
    };
    socket.connect(target)?;
    Ok(socket.local_addr()?.ip())
}

/// The interface holding `local` among `addrs`.
pub fn interface_with_address(local: IpAddr, addrs: &[(String, IpAddr)]) -> Option<String> {
    addrs
        .iter()
        .find(|(_, ip)| *ip == local)
        .map(|(name, _)| name.clone())
}

/// The interface the kernel routes traffic to `target` through.
pub fn route_interface(target: SocketAddr) -> std::io::Result<Option<String>> {
    let local = local_address_for(target)?;
    Ok(interface_with_address(local, &addresses()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_targets_route_through_lo_and_classify_as_loopback() {
        let target: SocketAddr = "127.0.0.1:8080".parse().expect("literal address");
        assert_eq!(
            route_interface(target).ok().flatten().as_deref(),
            Some("lo")
        );
        let p = LinuxPlatform::new(Some(target), None, "test");
        let n = p.network();
        assert_eq!(n.transport, Transport::Loopback);
        assert_eq!(n.interface.as_deref(), Some("lo"));
        let c = p.interface_counters("lo").expect("lo has counters");
        assert_eq!(c.mtu, Some(65536));
    }

    #[test]
    fn a_bound_interface_is_reported_as_given() {
        let p = LinuxPlatform::new(None, Some("wwan0".to_owned()), "test").with_sysfs(Sysfs::new(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/sysfs/laptop-modem"),
        ));
        let n = p.network();
        assert_eq!(n.interface.as_deref(), Some("wwan0"));
        assert_eq!(n.transport, Transport::Cellular);
    }

    #[test]
    fn addresses_map_to_their_interface() {
        let addrs = vec![
            ("lo".to_owned(), IpAddr::from([127, 0, 0, 1])),
            ("wwan0".to_owned(), IpAddr::from([10, 64, 3, 7])),
        ];
        assert_eq!(
            interface_with_address(IpAddr::from([10, 64, 3, 7]), &addrs).as_deref(),
            Some("wwan0")
        );
        assert_eq!(
            interface_with_address(IpAddr::from([10, 64, 3, 8]), &addrs),
            None
        );
    }

    #[tokio::test]
    async fn a_missing_bound_interface_is_a_clear_error() {
        let r =
            LinuxPlatform::for_server("http://127.0.0.1:1", Some("nosuch9".to_owned()), "t").await;
        assert!(
            matches!(&r, Err(Error::Config(m)) if m.contains("nosuch9")),
            "{r:?}"
        );
    }
}
