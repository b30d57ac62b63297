//! The desktop's view of the platform.

use std::net::IpAddr;

use ispeed_core::{Platform, StaticPlatform, Transport};

/// The platform for measuring against `server`: loopback when the server is on this
/// machine, otherwise not yet known.
pub fn desktop(server: &str) -> Box<dyn Platform> {
    let host = ispeed_core::protocol::parse_base_url(server)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let transport = if loopback {
        Transport::Loopback
    } else {
        Transport::Unknown
    };
    Box::new(StaticPlatform::new(transport))
}
