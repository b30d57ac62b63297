//! The upload queue of the core against the reference server's collector endpoint:
//! everything arrives once, a collector that is down loses nothing, duplicates are
//! stored once, and documents that are not results are refused.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ispeed_collector::Collector;
use ispeed_core::report::{ConfirmStatus, RetryPolicy, Uploader};
use ispeed_core::result::{SCHEMA, ServerRef};
use ispeed_core::store::Store;
use ispeed_core::{MeasurementResult, NetworkContext, SystemClock, Transport};
use ispeed_server::faults::Fault;
use ispeed_server::{LinkProfile, ServerConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn sample() -> MeasurementResult {
    let now = Utc::now();
    MeasurementResult::new(
        now,
        ServerRef {
            url: "http://127.0.0.1:8080".to_owned(),
            protocol: Default::default(),
        },
        NetworkContext::with_transport(Transport::Cellular),
        ispeed_core::platform::DeviceInfo::this_machine("e2e"),
    )
}

/// A reference server with its collector on `collector_db`, on a free loopback port.
async fn server(collector_db: &Path) -> (String, Arc<Collector>, CancellationToken) {
    faulty_server(collector_db, None).await
}

/// The same, misbehaving as `fault` says.
async fn faulty_server(
    collector_db: &Path,
    fault: Option<Fault>,
) -> (String, Arc<Collector>, CancellationToken) {
    let collector = Arc::new(Collector::open(collector_db).expect("open collector db"));
    let mut config = ServerConfig::new(LinkProfile::default());
    config.fault = fault;
    let state = ispeed_server::AppState::new(config);
    let app = ispeed_server::router_with_collector(state, collector.clone());
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(ispeed_server::serve_app(listener, app, async move {
        token.cancelled().await
    }));
    (url, collector, stop)
}

fn fast(url: &str) -> Uploader {
    Uploader::new(url)
        .expect("collector url")
        .with_policy(RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            request_timeout: Duration::from_secs(10),
        })
        .expect("policy")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_samples_reach_the_collector_once_even_after_it_was_down() {
    let dir = ispeed_e2e::temp_dir("collector");
    let store = Store::open(dir.path().join("phone.db")).expect("open store");
    let (a, b) = (sample(), sample());
    store.save_result(&a).expect("save");
    store.save_result(&b).expect("save");

    // Collector down: nothing is marked, both stay pending.
    let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let down = fast(&format!("http://127.0.0.1:{port}"))
        .upload_pending(&store, &SystemClock)
        .await;
    assert_eq!(down.error.map(|e| e.code()), Some("collector"));
    assert_eq!((down.sent.len(), down.remaining), (0, 2));

    // Collector up: both go, and are held once each.
    let collector_db = dir.path().join("collector.db");
    let (url, collector, stop) = server(&collector_db).await;
    let up = fast(&url).upload_pending(&store, &SystemClock).await;
    assert!(up.error.is_none(), "{:?}", up.error);
    let mut sent = up.sent.clone();
    sent.sort();
    let mut expected = vec![a.id, b.id];
    expected.sort();
    assert_eq!(sent, expected);
    assert_eq!(up.remaining, 0);
    assert_eq!(collector.count().await.expect("count"), 2);
    let held = collector
        .document(a.id)
        .await
        .expect("read")
        .expect("a is held");
    assert_eq!(held["id"], a.id.to_string());

    // Nothing left; a second run sends none.
    let again = fast(&url).upload_pending(&store, &SystemClock).await;
    assert!(again.sent.is_empty() && again.error.is_none());

    // A confirmation lost on the way (the app killed before marking) means a resend:
    // answered "duplicate", held once.
    let resend = fast(&url).send(&a).await.expect("resend");
    assert_eq!(resend.status, ConfirmStatus::Duplicate);
    assert_eq!(collector.count().await.expect("count"), 2);
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_answering_500_or_garbage_loses_nothing() {
    for fault in [Fault::Status(500), Fault::GarbageCollector] {
        let dir = ispeed_e2e::temp_dir("collector-fault");
        let store = Store::open(dir.path().join("phone.db")).expect("open store");
        let a = sample();
        store.save_result(&a).expect("save");
        let collector_db = dir.path().join("collector.db");
        let (url, _, stop) = faulty_server(&collector_db, Some(fault)).await;
        let bad = fast(&url).upload_pending(&store, &SystemClock).await;
        stop.cancel();
        assert_eq!(bad.error.map(|e| e.code()), Some("collector"), "{fault:?}");
        assert_eq!((bad.sent.len(), bad.remaining), (0, 1), "{fault:?}");
        assert_eq!(store.pending_ids().expect("pending"), vec![a.id]);
        // The collector recovers: the next upload sends it.
        let (url, collector, stop) = server(&collector_db).await;
        let good = fast(&url).upload_pending(&store, &SystemClock).await;
        assert_eq!(good.sent, vec![a.id], "{fault:?}");
        assert_eq!(collector.count().await.expect("count"), 1);
        stop.cancel();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_refuses_what_is_not_a_result() {
    let dir = ispeed_e2e::temp_dir("collector-bad");
    let (url, collector, stop) = server(&dir.path().join("collector.db")).await;
    let client = reqwest::Client::new();
    for body in [
        "<html>hello</html>".to_owned(),
        serde_json::json!({ "schema": "other/1", "id": Uuid::new_v4() }).to_string(),
        serde_json::json!({ "schema": SCHEMA, "id": "not-a-uuid" }).to_string(),
    ] {
        let resp = client
            .post(format!("{url}/v1/results"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status().as_u16(), 400, "{body}");
    }
    assert_eq!(collector.count().await.expect("count"), 0);
    stop.cancel();
}
