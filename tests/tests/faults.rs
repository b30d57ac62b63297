//! Failures end in a clear, typed error within the timeout: never a hang or a panic.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use axum::routing::get;
use bytes::Bytes;
use ispeed_core::measure::{Phase, ProgressEvent, ProgressListener};
use ispeed_core::network::NetworkPolicy;
use ispeed_core::{Error, MeasureRequest, StaticPlatform, SystemClock, Transport, measure};
use ispeed_e2e::{Recorder, loopback_any_port, server};
use tokio_util::sync::CancellationToken;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A request with short limits, so failures show quickly.
fn quick(url: String) -> MeasureRequest {
    let mut r = MeasureRequest::new(url);
    // Loopback is not cellular: these tests measure the engine, not the policy.
    r.policy = NetworkPolicy::AnyNetwork;
    r.config.connect_timeout = Duration::from_secs(2);
    r.config.request_timeout = Duration::from_secs(3);
    r.config.stall_timeout = Duration::from_secs(2);
    r.config.overall_timeout = Duration::from_secs(20);
    r
}

async fn run(req: &MeasureRequest) -> (Result<ispeed_core::MeasurementResult, Error>, Duration) {
    let start = Instant::now();
    let r = measure(
        req,
        &StaticPlatform::new(Transport::Loopback),
        &SystemClock,
        &Recorder::default(),
        &CancellationToken::new(),
    )
    .await;
    (r, start.elapsed())
}

/// Serves `app` on a free loopback port for the rest of the test.
async fn serve(app: Router) -> Result<SocketAddr, std::io::Error> {
    let listener = tokio::net::TcpListener::bind(loopback_any_port()).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

#[tokio::test]
async fn refused_connection_is_named() -> TestResult {
    // Bind then drop a listener: the port is free and nothing listens on it.
    let addr = tokio::net::TcpListener::bind(loopback_any_port())
        .await?
        .local_addr()?;
    let (r, took) = run(&quick(format!("http://{addr}"))).await;
    assert!(matches!(r, Err(Error::ConnectionRefused { .. })), "{r:?}");
    assert!(took < Duration::from_secs(3));
    Ok(())
}

#[tokio::test]
async fn unresolvable_host_is_unreachable() -> TestResult {
    // `.invalid` never resolves (RFC 6761).
    let mut req = quick("http://no-such-server.invalid".to_owned());
    req.config.allow_plain_http = true;
    let (r, took) = run(&req).await;
    assert!(
        matches!(
            r,
            Err(Error::Unreachable { .. }) | Err(Error::Timeout { .. })
        ),
        "{r:?}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    Ok(())
}

#[tokio::test]
async fn http_500_is_a_status_error() -> TestResult {
    let app = Router::new().fallback(|| async { StatusCode::INTERNAL_SERVER_ERROR });
    let addr = serve(app).await?;
    let (r, _) = run(&quick(format!("http://{addr}"))).await;
    assert!(
        matches!(
            r,
            Err(Error::HttpStatus {
                status: 500,
                phase: Phase::Latency
            })
        ),
        "{r:?}"
    );
    let e = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("HTTP 500"), "{e}");
    Ok(())
}

#[tokio::test]
async fn server_stalling_mid_body_is_a_stall() -> TestResult {
    // Pings work; downloads send 64 KiB of a promised 100 MB and then nothing.
    let app = Router::new().route("/ping", get(|| async { "" })).route(
        "/download",
        get(|| async {
            let first = futures_util::stream::once(async {
                Ok::<_, std::io::Error>(Bytes::from(vec![7u8; 65536]))
            });
            let stall = futures_util::stream::pending();
            let body = Body::from_stream(futures_util::StreamExt::chain(first, stall));
            axum::http::Response::builder()
                .header("content-length", "100000000")
                .body(body)
                .unwrap_or_default()
        }),
    );
    let addr = serve(app).await?;
    let req = quick(format!("http://{addr}"));
    let (r, took) = run(&req).await;
    assert!(
        matches!(
            r,
            Err(Error::Stalled {
                phase: Phase::Download,
                ..
            })
        ),
        "{r:?}"
    );
    assert!(
        took < req.config.stall_timeout + Duration::from_secs(3),
        "{took:?}"
    );
    Ok(())
}

#[tokio::test]
async fn overall_timeout_bounds_a_slow_server() -> TestResult {
    // A ping that never answers, with a request timeout longer than the overall one.
    let app = Router::new().route(
        "/ping",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            ""
        }),
    );
    let addr = serve(app).await?;
    let mut req = quick(format!("http://{addr}"));
    req.config.request_timeout = Duration::from_secs(30);
    req.config.overall_timeout = Duration::from_secs(2);
    let (r, took) = run(&req).await;
    assert!(matches!(r, Err(Error::OverallTimeout { .. })), "{r:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    Ok(())
}

/// Cancels the token at the first download interval.
struct CancelOnDownload {
    token: CancellationToken,
    at: std::sync::Mutex<Option<Instant>>,
}

impl ProgressListener for CancelOnDownload {
    fn on_event(&self, event: &ProgressEvent) {
        if let ProgressEvent::Interval {
            phase: Phase::Download,
            ..
        } = event
        {
            if let Ok(mut at) = self.at.lock() {
                at.get_or_insert_with(Instant::now);
            }
            self.token.cancel();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_during_download_returns_fast_and_stops_the_bytes() -> TestResult {
    let srv = server(20.0, 10.0, 20).await?;
    let token = CancellationToken::new();
    let listener = CancelOnDownload {
        token: token.clone(),
        at: std::sync::Mutex::new(None),
    };
    let mut request = MeasureRequest::new(srv.url());
    request.policy = NetworkPolicy::AnyNetwork;
    let r = measure(
        &request,
        &StaticPlatform::new(Transport::Loopback),
        &SystemClock,
        &listener,
        &token,
    )
    .await;
    let returned = Instant::now();
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    let cancelled_at = listener
        .at
        .lock()
        .ok()
        .and_then(|a| *a)
        .ok_or("never cancelled")?;
    assert!(returned - cancelled_at < Duration::from_secs(1));
    // Bytes stop flowing: the server's payload counter settles at once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = srv.state.counters.down();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = srv.state.counters.down();
    assert_eq!(after, later, "server still sending after cancel");
    // 20 Mbit/s for the time it ran is far below the budget: nothing kept streaming.
    assert!(later < 5_000_000, "{later} bytes");
    Ok(())
}
