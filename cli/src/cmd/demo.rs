//! `ispeed demo`: a measurement against a server started in this process on loopback,
//! behind an emulated mobile link. Works on a machine with no network at all.

use std::net::{Ipv4Addr, SocketAddr};

use clap::Args;
use ispeed_core::{MeasureRequest, NetworkContext, StaticPlatform, Transport};
use ispeed_server::{LinkProfile, ServerConfig};

use super::measure::{MeasureOptions, print_result, run_measurement};

/// Arguments of `ispeed demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Emulated downlink rate, Mbit/s (a typical 4G cell by default).
    #[arg(long, default_value_t = 40.0)]
    pub down_mbps: f64,
    /// Emulated uplink rate, Mbit/s.
    #[arg(long, default_value_t = 15.0)]
    pub up_mbps: f64,
    /// Emulated round-trip time, ms.
    #[arg(long, default_value_t = 40)]
    pub rtt_ms: u64,
    /// Report the emulated link as a cellular network (interface `lo`, operator
    /// "emulated"), so the sample counts in a campaign's progress: for demonstrations
    /// and tests of a collector, never for real figures. Implied by `--area`: a demo
    /// that names a campaign area is a demonstration of the campaign.
    #[arg(long)]
    pub emulate_cellular: bool,
    #[command(flatten)]
    pub options: MeasureOptions,
}

/// `ispeed demo`.
pub async fn run(args: DemoArgs) -> Result<(), String> {
    for (name, r) in [("--down-mbps", args.down_mbps), ("--up-mbps", args.up_mbps)] {
        if !(r.is_finite() && r > 0.0) {
            return Err(format!("{name} must be a positive rate, got {r}"));
        }
    }
    let store = args.options.db.open()?;
    args.options.campaign.apply_area(&store)?;
    let link = LinkProfile {
        down_mbps: Some(args.down_mbps),
        up_mbps: Some(args.up_mbps),
        rtt_ms: args.rtt_ms,
    };
    let server = ispeed_server::spawn(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        ServerConfig::new(link),
    )
    .await
    .map_err(|e| format!("cannot start the demo server on loopback: {e}"))?;
    if !args.options.json {
        eprintln!(
            "demo: server on {} emulating {} Mbit/s down, {} Mbit/s up, {} ms RTT; any network allowed",
            server.url(),
            args.down_mbps,
            args.up_mbps,
            args.rtt_ms
        );
    }
    let mut request = MeasureRequest::new(server.url());
    request.config = args.options.config()?;
    // The demo runs on loopback by design: any network is allowed, and the banner says so.
    request.policy = ispeed_core::network::NetworkPolicy::AnyNetwork;
    let mut platform = StaticPlatform::new(Transport::Loopback);
    if args.emulate_cellular || args.options.campaign.area.is_some() {
        platform.network = NetworkContext {
            interface: Some("lo".to_owned()),
            operator: Some("emulated".to_owned()),
            ..NetworkContext::with_transport(Transport::Cellular)
        };
    }
    let result = run_measurement(request, &platform, args.options.json, &store).await;
    server.stop().await;
    print_result(&result?, args.options.json)?;
    args.options.campaign.upload(&store).await
}
