//! The database goes down under a running collector: uploads are answered `503` with
//! `Retry-After`, the phone keeps its sample queued, and once the database is back
//! the same sample lands, once. PostgreSQL only (a throwaway cluster this test can
//! stop; with `ISPEED_TEST_DATABASE_URL` it prints SKIPPED: it never stops a server it
//! did not start).
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ispeed_collector::pgtest::PgCluster;
use ispeed_collector::{CampaignConfig, Collector};
use ispeed_core::platform::DeviceInfo;
use ispeed_core::report::{RetryPolicy, Uploader};
use ispeed_core::result::ServerRef;
use ispeed_core::store::Store;
use ispeed_core::{MeasurementResult, NetworkContext, SystemClock, Transport};

fn sample() -> MeasurementResult {
    MeasurementResult::new(
        Utc::now(),
        ServerRef {
            url: "http://127.0.0.1:8080".to_owned(),
            protocol: Default::default(),
        },
        NetworkContext::with_transport(Transport::Cellular),
        DeviceInfo::this_machine("outage"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_is_down_uploads_get_503_and_stay_queued() {
    let cluster = PgCluster::start().unwrap_or_else(|e| panic!("PostgreSQL cannot start: {e}"));
    if !cluster.is_throwaway() {
        eprintln!("SKIPPED: ISPEED_TEST_DATABASE_URL names a server this test must not stop");
        return;
    }
    let db = cluster.database("outage").expect("a database");
    let collector = Collector::connect(&db.url, CampaignConfig::default())
        .await
        .expect("connect");
    let running = ispeed_collector::spawn(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        Arc::new(collector),
    )
    .await
    .expect("serve");
    let url = running.url();

    let dir = tempfile::tempdir().expect("temp dir");
    let phone = Store::open(dir.path().join("phone.db")).expect("phone store");
    let s = sample();
    phone.save_result(&s).expect("save");

    cluster.stop().expect("stop PostgreSQL");
    let resp = reqwest::Client::new()
        .post(format!("{url}/v1/results"))
        .body(serde_json::to_vec(&s).expect("encode"))
        .send()
        .await
        .expect("the collector answers");
    assert_eq!(resp.status().as_u16(), 503);
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u32>().ok());
    assert_eq!(retry_after, Some(ispeed_spec::upload::RETRY_AFTER_S));
    let body: ispeed_spec::upload::ErrorBody = resp.json_body().await;
    assert_eq!(
        body.code,
        Some(ispeed_spec::upload::RejectCode::Unavailable)
    );

    let uploader = Uploader::new(&url)
        .expect("url")
        .with_policy(RetryPolicy {
            attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            request_timeout: Duration::from_secs(15),
        })
        .expect("policy");
    let down = uploader.upload_pending(&phone, &SystemClock).await;
    assert_eq!(
        (down.sent.len(), down.remaining),
        (0, 1),
        "{:?}",
        down.error
    );
    assert!(down.rejected.is_empty(), "a 503 is not a refusal");

    cluster.resume().expect("start PostgreSQL again");
    // The pool reconnects by itself; the queued sample lands, once.
    let mut up = uploader.upload_pending(&phone, &SystemClock).await;
    for _ in 0..10 {
        if up.sent == vec![s.id] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        up = uploader.upload_pending(&phone, &SystemClock).await;
    }
    assert_eq!(up.sent, vec![s.id], "{:?}", up.error);
    assert_eq!(up.remaining, 0);
    assert_eq!(running.collector.count().await.expect("count"), 1);
    running.stop().await;
}

/// Reads a JSON body.
trait JsonBody {
    async fn json_body<T: serde::de::DeserializeOwned>(self) -> T;
}

impl JsonBody for reqwest::Response {
    async fn json_body<T: serde::de::DeserializeOwned>(self) -> T {
        let bytes = self.bytes().await.expect("a body");
        serde_json::from_slice(&bytes).expect("a JSON body")
    }
}
