//! Shared helpers of the end-to-end tests: servers on loopback with an emulated link,
//! and a listener that records what it heard.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use ispeed_core::measure::{ProgressEvent, ProgressListener};
use ispeed_server::{LinkProfile, RunningServer, ServerConfig};

pub mod chromium;
pub mod soak;

/// Starts a reference server on a free loopback port emulating the given link.
pub async fn server(down_mbps: f64, up_mbps: f64, rtt_ms: u64) -> std::io::Result<RunningServer> {
    let link = LinkProfile {
        down_mbps: Some(down_mbps),
        up_mbps: Some(up_mbps),
        rtt_ms,
    };
    ispeed_server::spawn(loopback_any_port(), ServerConfig::new(link)).await
}

/// A reference server (default link) with its collector on the SQLite file `db`, on a
/// free loopback port until the test process ends: its base URL and the collector.
/// The collector counts like a lab (`count_unattested`): this server holds no signing
/// key, so its samples carry no receipt.
pub async fn server_with_collector(
    db: &std::path::Path,
) -> (String, std::sync::Arc<ispeed_server::collector::Collector>) {
    let collector = std::sync::Arc::new(
        ispeed_server::collector::Collector::open(db)
            .unwrap_or_else(|e| panic!("cannot open the collector: {e}"))
            .with_campaign(ispeed_server::campaign::CampaignConfig::lab()),
    );
    let app = ispeed_server::router_with_collector(
        ispeed_server::AppState::new(ServerConfig::new(LinkProfile::default())),
        collector.clone(),
    );
    let listener = tokio::net::TcpListener::bind(loopback_any_port())
        .await
        .unwrap_or_else(|e| panic!("cannot bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no address: {e}"));
    tokio::spawn(ispeed_server::serve_app(
        listener,
        app,
        std::future::pending(),
    ));
    (format!("http://{addr}/"), collector)
}

/// A measurement request for a lab server on this machine: loopback is not
/// cellular, so the request measures on any network.
pub fn lab_request(url: impl Into<String>) -> ispeed_core::MeasureRequest {
    let mut r = ispeed_core::MeasureRequest::new(url);
    r.policy = ispeed_core::network::NetworkPolicy::AnyNetwork;
    r
}

/// [`lab_request`] with short limits, so that a fault shows within seconds.
pub fn quick_request(url: impl Into<String>) -> ispeed_core::MeasureRequest {
    let mut r = lab_request(url);
    r.config.connect_timeout = Duration::from_secs(2);
    r.config.request_timeout = Duration::from_secs(3);
    r.config.stall_timeout = Duration::from_secs(2);
    r.config.overall_timeout = Duration::from_secs(20);
    r.config = r.config.with_max_duration(Duration::from_secs(3));
    r
}

/// Measures `request` from this machine's loopback interface, nobody listening to
/// the progress and nothing cancelling it.
pub async fn measure_on_loopback(
    request: &ispeed_core::MeasureRequest,
) -> ispeed_core::Result<ispeed_core::MeasurementResult> {
    ispeed_core::measure(
        request,
        &ispeed_core::StaticPlatform::new(ispeed_core::Transport::Loopback),
        &ispeed_core::SystemClock,
        &Recorder::default(),
        &tokio_util::sync::CancellationToken::new(),
    )
    .await
}

/// A fresh directory under the system's temp dir, removed when dropped.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("ispeed-{tag}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"))
}

/// `127.0.0.1:0`.
pub fn loopback_any_port() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// A listener that keeps every event.
#[derive(Debug, Default)]
pub struct Recorder {
    events: Mutex<Vec<ProgressEvent>>,
}

impl Recorder {
    /// Every event so far.
    pub fn events(&self) -> Vec<ProgressEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl ProgressListener for Recorder {
    fn on_event(&self, event: &ProgressEvent) {
        if let Ok(mut e) = self.events.lock() {
            e.push(event.clone());
        }
    }
}
