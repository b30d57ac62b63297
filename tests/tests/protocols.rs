//! Every protocol end to end against the reference server behind an emulated link:
//! the figures match the link, and no byte is counted that the server did not receive.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use ispeed_core::measure::Silent;
use ispeed_core::protocol::ProtocolKind;
use ispeed_core::protocol::detect::detect;
use ispeed_core::{MeasureConfig, StaticPlatform, SystemClock, Transport};
use ispeed_server::{LinkProfile, ServerConfig};
use tokio_util::sync::CancellationToken;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const DOWN: f64 = 30.0;
const UP: f64 = 10.0;

/// `count` once it has not changed for 300 ms (at most 3 s).
async fn settled(count: impl Fn() -> u64) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut last = count();
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = count();
        if now == last {
            break;
        }
        last = now;
    }
    last
}

fn within(measured: f64, expected: f64, tolerance: f64) -> bool {
    (measured / expected - 1.0).abs() <= tolerance
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_measures_the_emulated_link_within_ten_percent() -> TestResult {
    let link = LinkProfile {
        down_mbps: Some(DOWN),
        up_mbps: Some(UP),
        rtt_ms: 30,
    };
    // One protocol at a time, each on a fresh server, so they never share a pacer.
    for kind in [
        ProtocolKind::Librespeed,
        ProtocolKind::Cloudflare,
        ProtocolKind::Ispeed,
    ] {
        let server = ispeed_server::spawn(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            ServerConfig::new(link),
        )
        .await?;
        let mut request = ispeed_e2e::lab_request(server.url());
        request.protocol = kind;
        request.config = MeasureConfig::default().with_max_duration(Duration::from_secs(8));
        let result = ispeed_core::measure(
            &request,
            &StaticPlatform::new(Transport::Loopback),
            &SystemClock,
            &Silent,
            &CancellationToken::new(),
        )
        .await?;
        let counters = &server.state.counters;
        let server_read = settled(|| counters.up()).await;
        let (down, up) = (
            result.download.as_ref().ok_or("no download")?,
            result.upload.as_ref().ok_or("no upload")?,
        );
        let latency = result.latency.as_ref().ok_or("no latency")?;
        eprintln!(
            "{kind}: latency {:.1} ms, down {:.2} Mbit/s ({} B), up {:.2} Mbit/s ({} B; server read {} B)",
            latency.median_ms, down.mbps, down.bytes, up.mbps, up.bytes, server_read
        );
        assert_eq!(result.server.protocol, kind);
        assert!(
            within(down.mbps, DOWN, 0.10),
            "{kind} download {}",
            down.mbps
        );
        assert!(within(up.mbps, UP, 0.10), "{kind} upload {}", up.mbps);
        // The emulated 30 ms plus loopback and scheduling; never less than the link's.
        assert!(
            latency.median_ms >= 29.0 && latency.median_ms < 60.0,
            "{kind} latency {}",
            latency.median_ms
        );
        // Honesty: the client never reports a byte the server did not move.
        assert!(down.bytes <= counters.down(), "{kind} download bytes");
        // Uploads counted on completion are counted as the server's TCP acknowledges
        // them. This server's emulated link is its own paced reads, behind its socket
        // and HTTP buffers, and the phase's end resets the connections: what those
        // buffers held then was acknowledged but never read. Anything more (the
        // client's send buffer, a body counted twice) is megabytes.
        let unread = match kind {
            ProtocolKind::Ispeed => 0,
            _ => u64::from(request.config.upload.streams) * 256 * 1024,
        };
        assert!(
            up.bytes <= server_read + unread,
            "{kind} upload bytes: {} counted, {server_read} read",
            up.bytes
        );
        server.stop().await;
    }
    Ok(())
}

#[tokio::test]
async fn the_reference_server_is_detected_as_native() -> TestResult {
    let server = ispeed_server::spawn(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        ServerConfig::new(LinkProfile::default()),
    )
    .await?;
    let found = detect(&server.url(), &MeasureConfig::default()).await?;
    assert_eq!(found.kind, ProtocolKind::Ispeed);
    assert_eq!(found.base, format!("{}/", server.url()));
    Ok(())
}

/// A server with only `routes` of the reference server's, and an HTML page for every
/// other path (as a web server with a catch-all answers).
async fn partial_server(
    routes: axum::Router<std::sync::Arc<ispeed_server::AppState>>,
) -> std::io::Result<String> {
    use axum::http::header;

    let state = ispeed_server::AppState::new(ServerConfig::new(LinkProfile::default()));
    let app = routes
        .fallback(|| async { ([(header::CONTENT_TYPE, "text/html")], "<html>hello</html>") })
        .with_state(state);
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

#[tokio::test]
async fn librespeed_and_cloudflare_servers_are_detected() -> TestResult {
    use axum::routing::get;
    use ispeed_server::{cloudflare, librespeed};

    let config = MeasureConfig::default();
    let libre =
        partial_server(axum::Router::new().route("/backend/empty.php", get(librespeed::ping)))
            .await?;
    let found = detect(&libre, &config).await?;
    assert_eq!(found.kind, ProtocolKind::Librespeed);
    assert_eq!(found.base, format!("{libre}/backend/"));

    let cf = partial_server(axum::Router::new().route("/__down", get(cloudflare::down))).await?;
    let found = detect(&cf, &config).await?;
    assert_eq!(found.kind, ProtocolKind::Cloudflare);
    assert_eq!(found.base, format!("{cf}/"));

    let web = partial_server(axum::Router::new()).await?;
    let err = detect(&web, &config)
        .await
        .err()
        .ok_or("detected nothing")?;
    assert_eq!(err.code(), "unknown_protocol");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_answered_before_its_body_arrived_is_refused() -> TestResult {
    use axum::http::StatusCode;
    use axum::routing::post;

    // A server that answers `__up` at once without reading the body: counting on
    // completion would credit it with every byte. Small bodies vanish into socket
    // buffers before the answer, but the sizes grow with the apparent rate until a
    // body cannot have been handed over by the time the answer arrives.
    let liar =
        partial_server(axum::Router::new().route("/__up", post(|| async { StatusCode::OK })))
            .await?;
    let mut request = ispeed_e2e::lab_request(liar);
    request.protocol = ProtocolKind::Cloudflare;
    request.phases = ispeed_core::Phases {
        latency: false,
        download: false,
        upload: true,
    };
    request.config = MeasureConfig::default().with_max_duration(Duration::from_secs(5));
    let outcome = ispeed_core::measure(
        &request,
        &StaticPlatform::new(Transport::Loopback),
        &SystemClock,
        &Silent,
        &CancellationToken::new(),
    )
    .await;
    let err = outcome
        .err()
        .ok_or("a server that read nothing was credited")?;
    // Depending on when the server closes its half-read connection, the client sees
    // the early answer (protocol) or the broken pipe (connection_lost); either way
    // nothing the server did not read is credited.
    assert!(
        matches!(err.code(), "protocol" | "connection_lost"),
        "{err}"
    );
    Ok(())
}
