//! `ispeed-collector`: the collector as its own service.
//!
//! ```text
//! ispeed-collector --listen 0.0.0.0:8081 --database postgres://collector@db/ispeed
//! ispeed-collector --database /var/lib/ispeed/collector.db
//! ```
//!
//! Any number of these may run on one PostgreSQL database behind a load balancer:
//! they keep no state of their own.

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use ispeed_collector::campaign::{
    DEFAULT_COMMUNE_TARGET, DEFAULT_HAMLET_TARGET, DEFAULT_TIME_ZONE,
};
use ispeed_collector::stats::{
    DEFAULT_MIN_SAMPLES, DEFAULT_RATING_THRESHOLD, DEFAULT_THRESHOLD_MBPS,
};
use ispeed_collector::{CampaignConfig, Collector, StatsConfig, default_db_path};

/// The i-Speed collector: POST /v1/results, GET /v1/campaign/progress, GET /campaign,
/// GET /v1/stats, GET /stats, GET /v1/opendata/YYYY-MM.csv.
#[derive(Debug, Parser)]
#[command(name = "ispeed-collector", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Where results are kept: a `postgres://user@host/db` URL, or the path of a
    /// SQLite file [default: <data dir>/ispeed/collector.db].
    #[arg(long, env = "ISPEED_COLLECTOR_DATABASE", value_name = "URL|PATH")]
    database: Option<String>,
    /// Time zone of the campaign's days (IANA name); every collector on one
    /// PostgreSQL database must give the same.
    #[arg(long, value_name = "TZ", default_value = DEFAULT_TIME_ZONE)]
    campaign_tz: String,
    /// Participants a commune must reach each day.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_COMMUNE_TARGET)]
    campaign_commune_target: u32,
    /// Participants a hamlet must reach each day.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_HAMLET_TARGET)]
    campaign_hamlet_target: u32,
    /// Participants an organisation must reach each day (no target without it).
    #[arg(long, value_name = "N")]
    campaign_organisation_target: Option<u32>,
    #[command(flatten)]
    trust: ispeed_collector::verdict::TrustArgs,
    /// Samples an area × operator × technology × period needs to be rated.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RATING_THRESHOLD)]
    stats_rating_threshold: u64,
    /// Samples under which such a cell is left out of statistics and open data.
    #[arg(long, value_name = "K", default_value_t = DEFAULT_MIN_SAMPLES)]
    stats_min_samples: u64,
    /// Download speed the statistics' share is measured against, Mbit/s; every
    /// collector on one database must give the same.
    #[arg(long, value_name = "MBPS", default_value_t = DEFAULT_THRESHOLD_MBPS)]
    stats_threshold_mbps: f64,
}

async fn run(args: Args) -> Result<(), String> {
    let mut campaign = CampaignConfig::from_settings(
        &args.campaign_tz,
        args.campaign_commune_target,
        args.campaign_hamlet_target,
        args.campaign_organisation_target,
    )?;
    campaign.count_unattested = args.trust.count_unattested;
    let trust = args.trust.policy()?;
    let location = args
        .database
        .unwrap_or_else(|| default_db_path().to_string_lossy().into_owned());
    let collector = Collector::connect(&location, campaign)
        .await
        .map_err(|e| format!("cannot open the collector's database: {e}"))?
        .with_trust(trust)
        .with_stats(StatsConfig {
            threshold_mbps: args.stats_threshold_mbps,
            rating_threshold: args.stats_rating_threshold,
            min_samples: args.stats_min_samples,
        });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    eprintln!(
        "ispeed-collector on http://{} keeping results in {}; campaign days in {}; Ctrl-C stops",
        listener.local_addr().map_err(|e| e.to_string())?,
        collector.store().describe(),
        campaign.time_zone
    );
    // After the line above: scripts and tests read the URL from the first line.
    eprintln!("{}", args.trust.describe(collector.trust()));
    ispeed_collector::serve(listener, Arc::new(collector), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ispeed-collector: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
