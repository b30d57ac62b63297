//! `ispeed demo`: a measurement against a server started in this process on loopback,
//! behind an emulated mobile link. Works on a machine with no network at all. The
//! measurement is the session's "measure now", as `ispeed measure` runs it: the store,
//! the one-at-a-time lock, the upload to `--collector`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use clap::Args;
use ispeed_core::network::NetworkPolicy;
use ispeed_core::participant::MeasureMode;
use ispeed_core::protocol::ProtocolKind;
use ispeed_core::session::{MeasurePlan, Server, Session};
use ispeed_core::{NetworkContext, StaticPlatform, Transport};
use ispeed_server::{LinkProfile, ServerConfig};

use super::measure::{MeasureOptions, measure_in, print_result, upload_after};

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
    let config = args.options.config()?;
    let mut platform = StaticPlatform::new(Transport::Loopback);
    if args.emulate_cellular || args.options.campaign.area.is_some() {
        platform.network = NetworkContext {
            interface: Some("lo".to_owned()),
            operator: Some("emulated".to_owned()),
            ..NetworkContext::with_transport(Transport::Cellular)
        };
    }
    let session = Session::open_db(
        &args.options.db.path(),
        Arc::new(platform),
        args.options.session_options()?,
    )
    .map_err(|e| e.to_string())?;
    args.options.campaign.apply_area(session.store())?;
    let link = LinkProfile {
        down_mbps: Some(args.down_mbps),
        up_mbps: Some(args.up_mbps),
        rtt_ms: args.rtt_ms,
    };
    // The demo's server signs receipts with a key made for this run and forgotten:
    // no real collector trusts it, so a demo sample is stored as attested only by a
    // collector told to trust this very key, and as `rejected` (unknown key) by
    // every other. Demo samples never count in a campaign (docs/trust.md).
    let throwaway = ispeed_server::collector_keys::ServerSigner::generate();
    let server = ispeed_server::spawn_state(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        ispeed_server::AppState::signing(ServerConfig::new(link), Some(throwaway)),
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
    let plan = MeasurePlan {
        server: Some(Server {
            url: server.url(),
            protocol: ProtocolKind::Ispeed,
        }),
        mode: Some(MeasureMode::Manual),
        config: Some(config.clone()),
        // The demo runs on loopback by design: any network is allowed, and the
        // banner says so.
        policy: Some(NetworkPolicy::AnyNetwork),
        ..MeasurePlan::default()
    };
    let result = measure_in(&session, plan, &config, args.options.json).await;
    server.stop().await;
    print_result(&result?, args.options.json)?;
    upload_after(&session).await
}
