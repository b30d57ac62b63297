//! The desktop's view of the platform, and how a network context reads in a summary.
//!
//! On Linux the platform is the core's [`LinuxPlatform`](ispeed_core::network::linux::LinuxPlatform):
//! the interface that routes to the server (or the one given with `--interface`),
//! classified from sysfs. Elsewhere the desktop cannot tell yet, and says so.

use ispeed_core::Platform;
use ispeed_core::network::{NetworkContext, RadioTechnology};
use ispeed_core::result::MeasurementResult;

/// The platform for measuring against `server`, with every socket bound to
/// `interface` when one is given.
#[cfg(target_os = "linux")]
pub async fn desktop(server: &str, interface: Option<String>) -> Result<Box<dyn Platform>, String> {
    ispeed_core::network::linux::LinuxPlatform::for_server(
        server,
        interface,
        env!("CARGO_PKG_VERSION"),
    )
    .await
    .map(|p| Box::new(p) as Box<dyn Platform>)
    .map_err(|e| e.to_string())
}

/// The platform for measuring against `server`: the transport is not known on this
/// operating system yet, which `CellularOnly` refuses.
#[cfg(not(target_os = "linux"))]
pub async fn desktop(
    _server: &str,
    interface: Option<String>,
) -> Result<Box<dyn Platform>, String> {
    let mut p = ispeed_core::StaticPlatform::new(ispeed_core::Transport::Unknown);
    p.network.interface = interface;
    Ok(Box::new(p))
}

/// One line about a network: `cellular via wwan0, 4g, Viettel (452-04), RSRP -95 dBm`.
pub fn describe(n: &NetworkContext) -> String {
    let mut parts = vec![match &n.interface {
        Some(i) => format!("{} via {i}", n.transport),
        None => n.transport.to_string(),
    }];
    if n.technology != RadioTechnology::Unknown {
        let tech = serde_json::to_value(n.technology)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        parts.push(tech);
    }
    match (&n.operator, &n.mcc_mnc) {
        (Some(op), Some(code)) => parts.push(format!("{op} ({code})")),
        (Some(op), None) => parts.push(op.clone()),
        (None, Some(code)) => parts.push(code.clone()),
        (None, None) => {}
    }
    if let Some(rsrp) = n.signal.rsrp_dbm {
        parts.push(format!("RSRP {rsrp:.0} dBm"));
    }
    if n.roaming == Some(true) {
        parts.push("roaming".to_owned());
    }
    if n.wifi_connected {
        parts.push("Wi-Fi connected".to_owned());
    }
    parts.join(", ")
}

/// Summary lines about the network beyond the first one: policy, changes, foreign
/// traffic.
pub fn summary_lines(r: &MeasurementResult) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(policy) = r.network_policy {
        lines.push(format!("  policy    {policy}"));
    }
    for c in &r.network_changes {
        let phase = c.phase.map_or(String::new(), |p| format!(" during {p}"));
        lines.push(format!(
            "  changed   at {:.1} s{phase}: {}",
            c.elapsed_ms as f64 / 1000.0,
            describe(&c.network)
        ));
    }
    if let Some(t) = &r.interface_traffic {
        lines.push(format!(
            "  traffic   {:.1} MB crossed {}, {:.1} MB payload; {:.1} % foreign",
            t.wire_bytes as f64 / 1e6,
            t.interface,
            t.payload_bytes as f64 / 1e6,
            t.foreign_share * 100.0
        ));
    }
    lines
}
