//! `ispeed-server`: the reference measurement server.
//!
//! Serves the native protocol (see [`routes`]), LibreSpeed's backend routes
//! ([`librespeed`]) and Cloudflare's ([`cloudflare`]) behind one emulated mobile link
//! ([`link`]): a downlink and an uplink rate, each one pacer shared by all connections,
//! and an added round trip. Tests, the demo and self-hosters run it; it is a library
//! first ([`serve`], [`spawn`]) and a binary second.
//!
//! The collector (`POST /v1/results`, campaign progress) is its own crate,
//! `ispeed-collector`; [`router_with_collector`] mounts it beside the measurement
//! routes for `ispeed serve` and the tests, behind the same fault injection.

pub mod cloudflare;
pub mod faults;
pub mod librespeed;
pub mod link;
pub mod payload;
pub mod receipts;
pub mod routes;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use ispeed_collector::campaign;
pub use link::{Link, LinkProfile};

/// The collector, moved to `ispeed-collector`: these paths keep older code compiling.
pub mod collector {
    pub use ispeed_collector::{Collector, CollectorError, default_db_path, router};
    pub use ispeed_spec::result::SCHEMA as RESULT_SCHEMA;
}

/// Signing keys of receipts (`ispeed keygen`, `--signing-key`), kept with the
/// collector that verifies them.
pub use ispeed_collector::keys as collector_keys;

/// Largest download a single request may ask for by default: 1 GiB.
pub const MAX_DOWNLOAD_BYTES: u64 = 1 << 30;
/// Largest upload body a single request may send by default: 1 GiB.
pub const MAX_UPLOAD_BYTES: u64 = 1 << 30;

/// Settings of a server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerConfig {
    /// The emulated link.
    pub link: LinkProfile,
    /// Cap on `GET /download?bytes=N`.
    pub max_download_bytes: u64,
    /// Cap on one upload body.
    pub max_upload_bytes: u64,
    /// Misbehaviour to inject, for tests of the client.
    pub fault: Option<faults::Fault>,
}

impl ServerConfig {
    /// A server emulating `link`, with default caps.
    pub fn new(link: LinkProfile) -> Self {
        Self {
            link,
            max_download_bytes: MAX_DOWNLOAD_BYTES,
            max_upload_bytes: MAX_UPLOAD_BYTES,
            fault: None,
        }
    }
}

/// Payload bytes the server moved, for tests and benchmarks that check what really
/// crossed the link.
#[derive(Debug, Default)]
pub struct Counters {
    /// Download payload bytes handed to connections.
    pub down_bytes: AtomicU64,
    /// Upload body bytes read from connections.
    pub up_bytes: AtomicU64,
    /// Requests served.
    pub requests: AtomicU64,
}

impl Counters {
    /// Download payload bytes so far.
    pub fn down(&self) -> u64 {
        self.down_bytes.load(Ordering::Relaxed)
    }

    /// Upload body bytes so far.
    pub fn up(&self) -> u64 {
        self.up_bytes.load(Ordering::Relaxed)
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// Settings.
    pub config: ServerConfig,
    /// The emulated link's pacers.
    pub link: Link,
    /// Download payload.
    pub payload: payload::Payload,
    /// What moved.
    pub counters: Counters,
    /// The signing key and the per-result tallies its receipts sign.
    pub receipts: receipts::ReceiptBook,
}

impl AppState {
    /// State for a server with `config`.
    pub fn new(config: ServerConfig) -> Arc<Self> {
        Self::signing(config, None)
    }

    /// State for a server with `config` that signs receipts with `signer`.
    pub fn signing(
        config: ServerConfig,
        signer: Option<ispeed_collector::keys::ServerSigner>,
    ) -> Arc<Self> {
        Arc::new(Self {
            config,
            link: Link::new(config.link),
            payload: payload::Payload::new(),
            counters: Counters::default(),
            receipts: receipts::ReceiptBook::new(signer, receipts::BookLimits::default()),
        })
    }
}

/// The routes of a server sharing `state`.
pub fn router(state: Arc<AppState>) -> Router {
    // The native measurement routes tally per result id for receipts.
    let measured = Router::new()
        .route("/ping", get(routes::ping))
        .route("/download", get(routes::download))
        .route("/upload", post(routes::upload))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            receipts::track,
        ));
    Router::new()
        .merge(measured)
        .route("/info", get(routes::info))
        .route(
            ispeed_spec::attestation::RECEIPT_ROUTE,
            post(receipts::receipt),
        )
        .merge(librespeed::routes())
        .merge(cloudflare::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        .with_state(state)
}

/// Serves on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_state(listener, AppState::new(config), shutdown).await
}

/// Serves `state` on `listener` until `shutdown` completes.
pub async fn serve_state(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, router(state), shutdown).await
}

/// The routes of [`router`] plus the collector's ([`ispeed_collector::router`]),
/// with the same fault injection in front of both.
pub fn router_with_collector(
    state: Arc<AppState>,
    collector: Arc<ispeed_collector::Collector>,
) -> Router {
    let collector = ispeed_collector::router(collector).layer(
        axum::middleware::from_fn_with_state(state.clone(), faults::inject),
    );
    router(state).merge(collector)
}

/// Serves `app` (for example [`router_with_collector`]) on `listener` until
/// `shutdown` completes.
pub async fn serve_app(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Small writes (upload reports, ping answers) must leave at once, not wait for
    // Nagle's algorithm to collect a full segment.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // Peer addresses feed LibreSpeed's getIP.php.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A server running in the background of this process.
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its shared state, counters included.
    pub state: Arc<AppState>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting and ends open connections.
    pub async fn stop(mut self) {
        self.stop.cancel();
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop.cancel();
        self.task.abort();
    }
}

/// Binds `addr` (port 0 for any free port) and serves in a background task.
pub async fn spawn(addr: SocketAddr, config: ServerConfig) -> std::io::Result<RunningServer> {
    spawn_state(addr, AppState::new(config)).await
}

/// Binds `addr` and serves `state` (for example [`AppState::signing`]) in a
/// background task.
pub async fn spawn_state(addr: SocketAddr, state: Arc<AppState>) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let token = stop.clone();
    let task = tokio::spawn(serve_state(listener, state.clone(), async move {
        token.cancelled().await
    }));
    Ok(RunningServer {
        addr,
        state,
        stop,
        task,
    })
}

/// Command-line arguments shared by `ispeed-server` and `ispeed serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; use 0.0.0.0:8080 to serve others).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Emulated downlink rate, Mbit/s (0 = unshaped).
    #[arg(long, default_value_t = 0.0)]
    pub down_mbps: f64,
    /// Emulated uplink rate, Mbit/s (0 = unshaped).
    #[arg(long, default_value_t = 0.0)]
    pub up_mbps: f64,
    /// Added round-trip time, ms.
    #[arg(long, default_value_t = 0)]
    pub rtt_ms: u64,
    /// Misbehave on purpose, to test clients: stall-after=N, reset-after=N,
    /// drip=BYTES_PER_S, wrong-length, gzip, status=CODE, redirect-loop, huge-headers,
    /// captive-portal, garbage-info, garbage-collector.
    #[arg(long, value_name = "SPEC")]
    pub fault: Option<faults::Fault>,
    /// SQLite file where the collector endpoint (POST /v1/results) keeps the results
    /// it receives [default: <data dir>/ispeed/collector.db, e.g.
    /// ~/.local/share/ispeed/collector.db on Linux; <temp dir>/ispeed-collector.db
    /// where there is no data dir].
    #[arg(long, value_name = "PATH")]
    pub collector_db: Option<PathBuf>,
    /// How campaign progress (`/v1/campaign/progress`, `/campaign`) is counted.
    #[command(flatten)]
    pub campaign: CampaignArgs,
    /// Sign a receipt for each measurement with this Ed25519 key (written by
    /// `ispeed keygen --out FILE`); its public half is advertised in `/info`.
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// Which receipts the in-process collector trusts, and what it counts.
    #[command(flatten)]
    pub trust: ispeed_collector::verdict::TrustArgs,
}

/// Command-line settings of the campaign count, part of `ispeed serve`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct CampaignArgs {
    /// Time zone of the campaign's days (IANA name).
    #[arg(long, value_name = "TZ", default_value = campaign::DEFAULT_TIME_ZONE)]
    pub campaign_tz: String,
    /// Participants a commune must reach each day.
    #[arg(long, value_name = "N", default_value_t = campaign::DEFAULT_COMMUNE_TARGET)]
    pub campaign_commune_target: u32,
    /// Participants a hamlet must reach each day.
    #[arg(long, value_name = "N", default_value_t = campaign::DEFAULT_HAMLET_TARGET)]
    pub campaign_hamlet_target: u32,
    /// Participants an organisation must reach each day (no target without it).
    #[arg(long, value_name = "N")]
    pub campaign_organisation_target: Option<u32>,
}

impl CampaignArgs {
    /// The configuration these arguments describe.
    pub fn config(&self) -> Result<campaign::CampaignConfig, String> {
        campaign::CampaignConfig::from_settings(
            &self.campaign_tz,
            self.campaign_commune_target,
            self.campaign_hamlet_target,
            self.campaign_organisation_target,
        )
    }
}

impl ServeArgs {
    /// The server configuration these arguments describe.
    pub fn config(&self) -> ServerConfig {
        let mut config = ServerConfig::new(LinkProfile {
            down_mbps: Some(self.down_mbps).filter(|r| *r > 0.0),
            up_mbps: Some(self.up_mbps).filter(|r| *r > 0.0),
            rtt_ms: self.rtt_ms,
        });
        config.fault = self.fault;
        config
    }
}

/// Runs a server from command-line arguments until Ctrl-C, printing where it listens.
pub async fn run_from_args(args: &ServeArgs) -> std::io::Result<()> {
    let listener = TcpListener::bind(args.listen).await?;
    let config = args.config();
    let db = args
        .collector_db
        .clone()
        .unwrap_or_else(ispeed_collector::default_db_path);
    let mut campaign = args.campaign.config().map_err(std::io::Error::other)?;
    campaign.count_unattested = args.trust.count_unattested;
    let trust = args.trust.policy().map_err(std::io::Error::other)?;
    let signer = args
        .signing_key
        .as_deref()
        .map(ispeed_collector::keys::ServerSigner::read)
        .transpose()
        .map_err(|e| std::io::Error::other(format!("--signing-key {e}")))?;
    let collector = ispeed_collector::Collector::open(&db)
        .map_err(std::io::Error::other)?
        .with_campaign(campaign)
        .with_trust(trust);
    eprintln!("collector: POST /v1/results kept in {}", db.display());
    eprintln!("{}", args.trust.describe(collector.trust()));
    match &signer {
        Some(s) => eprintln!("receipts: signed with key {} (POST /receipt)", s.key_id()),
        None => eprintln!("receipts: none (no --signing-key)"),
    }
    eprintln!(
        "campaign: GET /v1/campaign/progress and /campaign, days in {}",
        collector.campaign().time_zone
    );
    let app = router_with_collector(AppState::signing(config, signer), Arc::new(collector));
    let fmt = |r: Option<f64>| r.map_or("unshaped".to_owned(), |r| format!("{r} Mbit/s"));
    eprintln!(
        "ispeed-server listening on http://{} (down {}, up {}, +{} ms RTT); Ctrl-C stops",
        listener.local_addr()?,
        fmt(config.link.down_mbps),
        fmt(config.link.up_mbps),
        config.link.rtt_ms
    );
    serve_app(listener, app, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
