//! Counting by official commune code, on both stores over HTTP: a document with a
//! known code counts under the catalogue's province and commune whatever names it
//! typed (and together with documents that typed those official names); an unknown
//! code is counted by the names typed beside it (or as no area); the progress filter
//! and the page take a code, and an unknown code is a 400 naming `area`.
//!
//! PostgreSQL that cannot start fails the test with the reason; it never passes
//! silently.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use chrono::NaiveDate;
use ispeed_collector::campaign::CampaignConfig;
use ispeed_collector::pgtest::PgCluster;
use ispeed_collector::{Collector, Store};
use ispeed_spec::campaign::{Level, Progress};
use ispeed_spec::upload::ErrorBody;
use serde_json::{Value, json};
use uuid::Uuid;

const DAY: &str = "2026-05-04";

fn doc(install: u128, area: Value) -> Value {
    json!({
        "schema": "ispeed.result/1", "id": Uuid::new_v4(),
        "started_at": "2026-05-04T03:00:00Z",
        "network": { "transport": "cellular" },
        "device": { "platform": "android", "os_version": "", "model": "", "app_version": "0.1.0" },
        "valid": true,
        "participant": { "install_id": Uuid::from_u128(install), "area": area },
        "mode": "manual",
    })
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, Vec<u8>) {
    let resp = client.get(url).send().await.expect("the collector answers");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("a body").to_vec())
}

/// Participants of the row at `level` labelled `label`, if the report has it.
fn participants(p: &Progress, level: Level, label: &str) -> Option<u32> {
    p.areas
        .iter()
        .find(|a| a.level == level && a.label == label)
        .map(|a| a.participants)
}

async fn counts_by_code(location: &str) {
    let collector = Collector::connect(location, CampaignConfig::lab())
        .await
        .expect("open the store");
    let running = ispeed_collector::spawn(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        Arc::new(collector),
    )
    .await
    .expect("serve");
    let url = running.url();
    let store: Store = running.collector.store().clone();
    let client = reqwest::Client::new();
    let docs = [
        doc(1, json!({ "code": 5755, "commune": "Dan Tien" })),
        doc(
            2,
            json!({ "code": "05755", "province": "thai nguyen", "district": "Phú Bình",
                    "commune": "xã dân tiến", "hamlet": "Thôn 3" }),
        ),
        doc(3, json!({ "code": 5755 })),
        // No code, but the official names: the same commune row.
        doc(
            4,
            json!({ "province": "Thái Nguyên", "commune": "Xã Dân Tiến" }),
        ),
        // Unknown codes: the typed names, or no area at all.
        doc(5, json!({ "code": 999_999, "commune": "Nowhere" })),
        doc(6, json!({ "code": 999_999 })),
    ];
    for d in &docs {
        let resp = client
            .post(format!("{url}/v1/results"))
            .header("content-type", "application/json")
            .body(d.to_string())
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status().as_u16(), 200);
    }

    let (status, body) = get(&client, &format!("{url}/v1/campaign/progress?date={DAY}")).await;
    assert_eq!(status, 200);
    let all: Progress = serde_json::from_slice(&body).expect("progress JSON");
    let commune = "Thái Nguyên / Xã Dân Tiến";
    assert_eq!(
        participants(&all, Level::Commune, commune),
        Some(4),
        "{all:#?}"
    );
    assert_eq!(
        participants(&all, Level::Hamlet, "Thái Nguyên / Xã Dân Tiến / Thôn 3"),
        Some(1)
    );
    assert_eq!(participants(&all, Level::Commune, "Nowhere"), Some(1));
    assert_eq!(all.areas.len(), 3, "{all:#?}");
    assert_eq!(all.unassigned.participants, 1);
    assert_eq!(all.totals.participants, 6);

    // The filter takes the code (with or without its leading zero).
    for code in ["5755", "05755"] {
        let (status, body) = get(
            &client,
            &format!("{url}/v1/campaign/progress?date={DAY}&area={code}"),
        )
        .await;
        assert_eq!(status, 200);
        let p: Progress = serde_json::from_slice(&body).expect("progress JSON");
        assert_eq!(p.area.as_deref(), Some(code));
        assert_eq!(p.areas.len(), 2, "{p:#?}");
        assert_eq!(participants(&p, Level::Commune, commune), Some(4));
        assert_eq!(p.totals.participants, 4);
        let date = NaiveDate::parse_from_str(DAY, "%Y-%m-%d").unwrap();
        let direct = store
            .progress(&CampaignConfig::lab(), date, Some(code))
            .await
            .expect("progress");
        assert_eq!(direct, p);
    }

    // An unknown code is a 400 naming the field, on the API and on the page.
    let (status, body) = get(
        &client,
        &format!("{url}/v1/campaign/progress?date={DAY}&area=999999"),
    )
    .await;
    assert_eq!(status, 400);
    let e: ErrorBody = serde_json::from_slice(&body).expect("error JSON");
    assert_eq!(e.field.as_deref(), Some("area"));
    assert!(e.error.contains("not a commune code"), "{}", e.error);
    let (status, _) = get(&client, &format!("{url}/campaign?date={DAY}&area=999999")).await;
    assert_eq!(status, 400);

    let (status, page) = get(&client, &format!("{url}/campaign?date={DAY}&area=5755")).await;
    assert_eq!(status, 200);
    let page = String::from_utf8(page).expect("UTF-8");
    assert!(page.contains("Xã Dân Tiến"), "{page}");
    assert!(!page.contains("Nowhere"), "{page}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_store_counts_by_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    counts_by_code(&dir.path().join("codes.db").to_string_lossy()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_counts_by_code() {
    let cluster = PgCluster::start().unwrap_or_else(|e| panic!("PostgreSQL cannot start: {e}"));
    let db = cluster.database("codes").expect("a database");
    counts_by_code(&db.url).await;
}
