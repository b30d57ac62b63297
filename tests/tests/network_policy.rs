//! The network policy end to end: a fake platform switches the network while the real
//! engine measures against the reference server, and a counting proxy in front of the
//! server tells what crossed the wire.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ispeed_core::measure::{Phase, ProgressEvent, ProgressListener};
use ispeed_core::network::fake::FakePlatform;
use ispeed_core::network::{NetworkContext, RadioTechnology, Transport};
use ispeed_core::{Error, MeasureConfig, MeasureRequest, SystemClock};
use ispeed_server::{LinkProfile, RunningServer, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Bytes and connections that reached the server, counted between client and server.
#[derive(Debug, Default)]
struct Wire {
    connections: AtomicU64,
    bytes: AtomicU64,
}

impl Wire {
    fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// A TCP proxy in front of `server` that counts every byte in either direction.
async fn counting_proxy(server: SocketAddr) -> (String, Arc<Wire>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind the proxy on loopback");
    let addr = listener.local_addr().expect("proxy address");
    let wire = Arc::new(Wire::default());
    let counts = wire.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            counts.connections.fetch_add(1, Ordering::Relaxed);
            let Ok(upstream) = TcpStream::connect(server).await else {
                continue;
            };
            let (cr, cw) = client.into_split();
            let (ur, uw) = upstream.into_split();
            tokio::spawn(pump(cr, uw, counts.clone()));
            tokio::spawn(pump(ur, cw, counts.clone()));
        }
    });
    (format!("http://{addr}"), wire)
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    wire: Arc<Wire>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                wire.bytes.fetch_add(n as u64, Ordering::Relaxed);
                if to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}

/// A server behind a 20 Mbit/s link, so a download lasts long enough to interrupt.
async fn server() -> (RunningServer, String, Arc<Wire>) {
    let link = LinkProfile {
        down_mbps: Some(20.0),
        up_mbps: Some(10.0),
        rtt_ms: 10,
    };
    let srv = ispeed_server::spawn((Ipv4Addr::LOCALHOST, 0).into(), ServerConfig::new(link))
        .await
        .expect("spawn the reference server");
    let (url, wire) = counting_proxy(srv.addr).await;
    (srv, url, wire)
}

fn request(url: String) -> MeasureRequest {
    let mut r = MeasureRequest::new(url);
    r.config = MeasureConfig::default()
        .with_max_duration(Duration::from_secs(4))
        .with_max_bytes(8_000_000);
    r
}

fn lte() -> NetworkContext {
    NetworkContext {
        interface: Some("rmnet_data0".to_owned()),
        technology: RadioTechnology::G4,
        operator: Some("Viettel".to_owned()),
        mcc_mnc: Some("452-04".to_owned()),
        cell_id: Some("0x01a2b301".to_owned()),
        ..NetworkContext::with_transport(Transport::Cellular)
    }
}

/// Switches the platform to `next` at the first download interval, and notes when.
struct SwitchDuringDownload {
    platform: Arc<FakePlatform>,
    next: NetworkContext,
    switched_at: Mutex<Option<Instant>>,
}

impl ProgressListener for SwitchDuringDownload {
    fn on_event(&self, event: &ProgressEvent) {
        if let ProgressEvent::Interval {
            phase: Phase::Download,
            ..
        } = event
        {
            let mut at = self.switched_at.lock().unwrap_or_else(|p| p.into_inner());
            if at.is_none() {
                self.platform.set(self.next.clone());
                *at = Some(Instant::now());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_start_moves_no_bytes() {
    let (srv, url, wire) = server().await;
    let wifi_on = NetworkContext {
        wifi_connected: true,
        ..lte()
    };
    let cases = [
        (
            wifi_on,
            "wifi_on",
            "Wi-Fi is on: turn it off to measure mobile broadband",
        ),
        (
            NetworkContext::with_transport(Transport::Loopback),
            "not_cellular",
            "the active network is loopback",
        ),
    ];
    for (network, code, text) in cases {
        let platform = FakePlatform::new(network);
        let r = ispeed_core::measure(
            &request(url.clone()),
            &platform,
            &SystemClock,
            &ispeed_core::measure::Silent,
            &CancellationToken::new(),
        )
        .await;
        let err = r.expect_err("the policy refuses this network");
        assert_eq!(err.code(), code);
        assert!(err.to_string().contains(text), "{err}");
        assert_eq!(
            platform.polls(),
            1,
            "decided on one look, before any request"
        );
    }
    // Give a stray connection time to show up before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(wire.connections.load(Ordering::Relaxed), 0);
    assert_eq!(wire.bytes(), 0);
    let served = &srv.state.counters;
    assert_eq!(served.requests.load(Ordering::Relaxed), 0);
    assert_eq!((served.down(), served.up()), (0, 0));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wifi_coming_up_mid_download_stops_it_and_invalidates_the_sample() {
    let (srv, url, wire) = server().await;
    let platform = Arc::new(FakePlatform::new(lte()));
    let listener = SwitchDuringDownload {
        platform: platform.clone(),
        next: NetworkContext {
            wifi_connected: true,
            ..lte()
        },
        switched_at: Mutex::new(None),
    };
    let result = ispeed_core::measure(
        &request(url),
        platform.as_ref(),
        &SystemClock,
        &listener,
        &CancellationToken::new(),
    )
    .await
    .expect("a violation mid-measurement is a sample, not an error");
    let returned = Instant::now();
    let switched = listener
        .switched_at
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .expect("the download reported an interval");
    let reaction = returned - switched;
    eprintln!("stopped {reaction:?} after Wi-Fi came up");
    assert!(
        reaction < Duration::from_secs(1),
        "stopped {reaction:?} after Wi-Fi came up"
    );
    assert!(!result.valid);
    assert_eq!(
        result.invalid_reason.as_deref(),
        Some("Wi-Fi came up during the download: the sample is not mobile broadband")
    );
    assert_eq!(result.interrupted_phase, Some(Phase::Download));
    assert!(result.latency.is_some(), "the completed phase is kept");
    assert!(result.download.is_none() && result.upload.is_none());
    assert_eq!(result.network_changes.len(), 1);
    assert_eq!(result.network_changes[0].phase, Some(Phase::Download));
    assert!(result.network_changes[0].network.wifi_connected);
    assert!(
        result
            .network_end
            .as_ref()
            .is_some_and(|n| n.wifi_connected)
    );
    assert!(!result.network.wifi_connected);

    // The transfer really stopped: the wire goes quiet once the sockets are closed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = wire.bytes();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = wire.bytes() - settled;
    eprintln!("{later} bytes crossed between 0.3 s and 1.3 s after the stop");
    assert!(later < 100_000, "{later} bytes crossed after the stop");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handover_from_4g_to_5g_is_recorded_and_keeps_the_sample_valid() {
    let (srv, url, _wire) = server().await;
    let platform = Arc::new(FakePlatform::new(lte()));
    let nr = NetworkContext {
        technology: RadioTechnology::G5Nsa,
        cell_id: Some("0x0b7c4e02".to_owned()),
        ..lte()
    };
    let listener = SwitchDuringDownload {
        platform: platform.clone(),
        next: nr.clone(),
        switched_at: Mutex::new(None),
    };
    let mut req = request(url);
    req.phases.upload = false;
    let result = ispeed_core::measure(
        &req,
        platform.as_ref(),
        &SystemClock,
        &listener,
        &CancellationToken::new(),
    )
    .await
    .expect("a handover inside cellular is no reason to fail");
    assert!(result.valid, "{:?}", result.invalid_reason);
    assert_eq!(result.invalid_reason, None);
    assert!(result.download.as_ref().is_some_and(|d| d.bytes > 0));
    assert_eq!(result.network.technology, RadioTechnology::G4);
    assert_eq!(result.network_end.as_ref(), Some(&nr));
    assert_eq!(result.network_changes.len(), 1);
    let change = &result.network_changes[0];
    assert_eq!(change.network, nr);
    assert_eq!(change.phase, Some(Phase::Download));
    assert!(change.at >= result.started_at && change.at <= result.finished_at);
    // The document carries it under stable names.
    let doc = serde_json::to_value(&result).expect("the result serialises");
    assert_eq!(doc["network_changes"][0]["network"]["technology"], "5g-nsa");
    assert_eq!(doc["network_policy"], "cellular_only");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_network_measures_over_loopback() {
    let (srv, url, wire) = server().await;
    let platform = FakePlatform::new(NetworkContext {
        interface: Some("lo".to_owned()),
        ..NetworkContext::with_transport(Transport::Loopback)
    });
    let mut req = request(url);
    req.policy = ispeed_core::network::NetworkPolicy::AnyNetwork;
    req.phases.upload = false;
    let result = ispeed_core::measure(
        &req,
        &platform,
        &SystemClock,
        &ispeed_core::measure::Silent,
        &CancellationToken::new(),
    )
    .await;
    let result = match result {
        Ok(r) => r,
        Err(e @ (Error::WifiOn { .. } | Error::NotCellular { .. })) => {
            panic!("AnyNetwork must not refuse: {e}")
        }
        Err(e) => panic!("measurement failed: {e}"),
    };
    assert!(result.valid);
    assert!(wire.bytes() > result.download.as_ref().map_or(0, |d| d.bytes));
    srv.stop().await;
}
