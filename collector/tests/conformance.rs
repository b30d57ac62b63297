//! One behaviour, two stores: the same cases run over HTTP against a collector on
//! SQLite and one on PostgreSQL (a throwaway cluster, or `ISPEED_TEST_DATABASE_URL`).
//!
//! - idempotent by id: a copy is a duplicate, a different document under a held id a
//!   409 naming `id`, and nothing changes;
//! - confirmation only after commit: a confirmed document is seen by a fresh
//!   connection to the same database;
//! - campaign counts exact: concurrent uploads (with resent copies) of a generated day
//!   count exactly what the reference tally of the same documents counts, with and
//!   without area filters;
//! - bad documents refused: over 64 KB, not JSON, wrong schema, an id that is not a
//!   uuid: a 4xx JSON error naming the field, nothing stored, the pool unharmed;
//! - verdicts kept: the generated day mixes signed, forged and bare documents, and
//!   only the attested ones count; each sample's verdict and reason is stored, and the
//!   daily cap per install rejects what is over it.
//!
//! PostgreSQL that cannot start fails the test with the reason; it never passes
//! silently.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use chrono::NaiveDate;
use ispeed_collector::campaign::{self, CampaignConfig, SampleFacts};
use ispeed_collector::keys::{ServerSigner, TrustedKeys};
use ispeed_collector::pgtest::PgCluster;
use ispeed_collector::verdict::{self, Caps, TrustPolicy};
use ispeed_collector::{Collector, RunningCollector, Store};
use ispeed_spec::attestation::{RECEIPT_SCHEMA, Receipt, RejectReason, Verdict};
use ispeed_spec::result::MAX_DOCUMENT_BYTES;
use ispeed_spec::upload::{ConfirmStatus, Confirmation, ErrorBody};
use rand::Rng;
use rand::SeedableRng;
use serde_json::{Value, json};
use uuid::Uuid;

const DAY: &str = "2026-05-04";

/// The measurement server's key the collectors of these tests trust.
fn server_key() -> &'static ServerSigner {
    static KEY: std::sync::OnceLock<ServerSigner> = std::sync::OnceLock::new();
    KEY.get_or_init(ServerSigner::generate)
}

fn trust(install_daily: u32) -> TrustPolicy {
    TrustPolicy {
        keys: TrustedKeys::none().with(&server_key().public()),
        caps: Caps {
            install_daily,
            ..Caps::default()
        },
    }
}

/// Opens a fresh store at `location` and serves it on a free loopback port.
async fn serve(location: &str) -> RunningCollector {
    serve_trusting(location, trust(Caps::default().install_daily)).await
}

/// [`serve`] with the trust policy `policy`.
async fn serve_trusting(location: &str, policy: TrustPolicy) -> RunningCollector {
    let collector = Collector::connect(location, CampaignConfig::default())
        .await
        .expect("open the store")
        .with_trust(policy);
    ispeed_collector::spawn(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        Arc::new(collector),
    )
    .await
    .expect("serve")
}

/// Posts `body`, returning the status and the parsed answer.
async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>) -> (u16, Value) {
    let resp = client
        .post(format!("{url}/v1/results"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the collector answers");
    let status = resp.status().as_u16();
    let body = resp.bytes().await.expect("a body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn doc(
    install: Option<u128>,
    area: Value,
    started_at: &str,
    platform: &str,
    mode: Option<&str>,
    transport: &str,
    valid: bool,
) -> Value {
    let finished = chrono::DateTime::parse_from_rfc3339(started_at)
        .map(|t| (t + chrono::Duration::seconds(15)).to_rfc3339())
        .unwrap_or_default();
    json!({
        "schema": "ispeed.result/1", "id": Uuid::new_v4(), "started_at": started_at,
        "finished_at": finished,
        "network": { "transport": transport },
        "device": { "platform": platform, "os_version": "", "model": "", "app_version": "0.1.0" },
        "valid": valid,
        "participant": install.map(|i| json!({ "install_id": Uuid::from_u128(i), "area": area })),
        "mode": mode,
    })
}

/// A generated day: installs across a few communes, hamlets and a school, every
/// channel, invalid and Wi-Fi samples, spellings that differ in case and accents
/// form, samples without an area, and some on the day before and after.
fn generated_day(n: usize, seed: u64) -> Vec<Value> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let areas = [
        json!({ "province": "Hà Nội", "district": "Ba Vì", "commune": "Tản Lĩnh", "hamlet": "Thôn 3" }),
        json!({ "province": "Hà Nội", "district": "Ba Vì", "commune": "tản  lĩnh", "hamlet": "Thôn 4" }),
        json!({ "province": "Hà Nội", "district": "Ba Vì", "commune": "Tản Lĩnh" }),
        json!({ "province": "Hà Nội", "district": "Ba Vì", "commune": "Ba Trại", "organisation": "THPT Ba Vì" }),
        json!({ "province": "Hà Nội", "district": "Sóc Sơn", "commune": "Minh Trí" }),
        json!({ "province": "Hà Nội" }),
        json!(null),
    ];
    let platforms = [
        ("android", Some("auto")),
        ("android", Some("manual")),
        ("android", None),
        ("ios", Some("manual")),
        ("ios", Some("auto")),
        ("linux", None),
        ("plan9", None),
    ];
    (0..n)
        .map(|_| {
            let install = rng.random_range(1..=40u128);
            let area = &areas[(install as usize) % areas.len()];
            let (platform, mode) = platforms[rng.random_range(0..platforms.len())];
            let transport = if rng.random_bool(0.9) {
                "cellular"
            } else {
                "wifi"
            };
            let valid = rng.random_bool(0.9);
            // Mostly the day (Asia/Ho_Chi_Minh, UTC+7), a few just outside it.
            let hour = rng.random_range(0..26i64) - 1;
            let started = chrono::DateTime::parse_from_rfc3339("2026-05-03T17:00:00Z")
                .expect("literal")
                + chrono::Duration::minutes(hour * 60 + rng.random_range(0..60));
            let install = (!rng.random_bool(0.05)).then_some(install);
            let mut d = doc(
                install,
                area.clone(),
                &started.to_rfc3339(),
                platform,
                mode,
                transport,
                valid,
            );
            // Most signed by the trusted server, some forged, some bare.
            match rng.random_range(0..10) {
                0..=5 => sign(&mut d, false),
                6 => sign(&mut d, true),
                _ => {}
            }
            d
        })
        .collect()
}

/// Attaches the trusted server's receipt for `d` (with a broken signature when
/// `forge`).
fn sign(d: &mut Value, forge: bool) {
    let started = chrono::DateTime::parse_from_rfc3339(d["started_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let key = server_key();
    let receipt = Receipt {
        schema: RECEIPT_SCHEMA.to_owned(),
        result_id: Uuid::parse_str(d["id"].as_str().unwrap()).unwrap(),
        key_id: key.key_id().to_owned(),
        issued_at: started + chrono::Duration::seconds(14),
        client_block: "203.0.113.0/24".to_owned(),
        requests: 3,
        download: None,
        upload: None,
    };
    let mut a = key.attest(serde_json::to_string(&receipt).unwrap());
    if forge {
        a.payload = a.payload.replace("\"requests\":3", "\"requests\":4");
    }
    d["attestation"] = serde_json::to_value(a).unwrap();
}

/// The facts the collector must store for `d`: read, then judged.
fn judged(d: &Value) -> SampleFacts {
    let id = Uuid::parse_str(d["id"].as_str().unwrap()).unwrap();
    let j = verdict::judge(d, id, &trust(60).keys, chrono::Utc::now());
    SampleFacts::of(d).judged(&j)
}

/// Verdicts and reasons are stored per sample; the install cap rejects beyond it.
async fn verdicts_are_kept_and_caps_hold(location: &str) {
    let running = serve_trusting(location, trust(3)).await;
    let (url, store) = (running.url(), running.collector.store().clone());
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    for i in 0..5 {
        let mut d = doc(
            Some(77),
            json!({ "commune": "Cap" }),
            &format!("2026-05-04T03:0{i}:00Z"),
            "android",
            None,
            "cellular",
            true,
        );
        // The first attested, the second forged, the rest bare.
        match i {
            0 => sign(&mut d, false),
            1 => sign(&mut d, true),
            _ => {}
        }
        let (s, c) = post(&client, &url, d.to_string().into_bytes()).await;
        assert_eq!(s, 200, "{c}");
        let c: Confirmation = serde_json::from_value(c).expect("a confirmation");
        let held = store.verdict_of(c.id).await.expect("verdict");
        assert_eq!(
            held,
            c.verdict.map(|v| (v, c.reason)),
            "stored as confirmed"
        );
        seen.push((c.verdict, c.reason));
        // A resent copy is confirmed with the verdict its first copy got.
        let (_, again) = post(&client, &url, d.to_string().into_bytes()).await;
        let again: Confirmation = serde_json::from_value(again).expect("a confirmation");
        assert_eq!(
            (again.status, again.verdict),
            (ConfirmStatus::Duplicate, c.verdict)
        );
    }
    use RejectReason::*;
    use Verdict::*;
    assert_eq!(
        seen,
        vec![
            (Some(Attested), None),
            (Some(Rejected), Some(BadSignature)),
            (Some(Unattested), None),
            (Some(Unattested), None),
            (Some(Rejected), Some(InstallDailyCap)),
        ]
    );
    let date = NaiveDate::parse_from_str(DAY, "%Y-%m-%d").unwrap();
    let p = store
        .progress(&CampaignConfig::default(), date, Some("Cap"))
        .await
        .expect("progress");
    assert_eq!((p.totals.participants, p.totals.samples), (1, 1), "{p:?}");
    assert_eq!(p.totals.not_counted, 4);
    running.stop().await;
}

async fn idempotent_by_id(url: &str, store: &Store) {
    let client = reqwest::Client::new();
    let d = doc(
        Some(1),
        json!({ "commune": "A" }),
        "2026-05-04T03:00:00Z",
        "android",
        None,
        "cellular",
        true,
    );
    let id: Uuid = serde_json::from_value(d["id"].clone()).unwrap();
    let before = store.count().await.expect("count");
    let (s, c) = post(&client, url, d.to_string().into_bytes()).await;
    assert_eq!(s, 200, "{c}");
    let c: Confirmation = serde_json::from_value(c).expect("a confirmation");
    assert_eq!((c.id, c.status), (id, ConfirmStatus::Stored));
    // The same document again, even re-serialised with its keys in another order.
    let reordered: serde_json::Map<String, Value> =
        d.as_object().unwrap().clone().into_iter().rev().collect();
    let (s, c) = post(&client, url, serde_json::to_vec(&reordered).unwrap()).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["status"], "duplicate");
    // Another document under the same id: refused, the held one unchanged.
    let mut other = d.clone();
    other["valid"] = json!(false);
    let (s, e) = post(&client, url, other.to_string().into_bytes()).await;
    assert_eq!(s, 409, "{e}");
    let e: ErrorBody = serde_json::from_value(e).expect("an error body");
    assert_eq!(e.field.as_deref(), Some("id"));
    assert_eq!(store.count().await.expect("count"), before + 1);
    assert_eq!(store.document(id).await.expect("read").expect("held"), d);
}

async fn confirmed_means_committed(url: &str, location: &str) {
    let client = reqwest::Client::new();
    let d = doc(
        Some(2),
        json!({ "commune": "B" }),
        "2026-05-04T03:00:00Z",
        "ios",
        Some("manual"),
        "cellular",
        true,
    );
    let id: Uuid = serde_json::from_value(d["id"].clone()).unwrap();
    let (s, _) = post(&client, url, d.to_string().into_bytes()).await;
    assert_eq!(s, 200);
    // A store opened afresh (another connection, as another instance would) sees it.
    let fresh = Store::open(location, &CampaignConfig::default())
        .await
        .expect("reopen");
    assert_eq!(fresh.document(id).await.expect("read"), Some(d));
}

async fn bad_documents_are_refused(url: &str, store: &Store) {
    let client = reqwest::Client::new();
    let before = store.count().await.expect("count");
    let id = Uuid::new_v4();
    let mut huge = json!({ "schema": "ispeed.result/1", "id": id });
    huge["padding"] = json!("x".repeat(MAX_DOCUMENT_BYTES));
    for (body, status, field) in [
        (huge.to_string(), 413, "body"),
        (
            "{\"schema\": \"ispeed.result/1\", \"id\": ".to_owned(),
            400,
            "body",
        ),
        ("<html>captive portal</html>".to_owned(), 400, "body"),
        ("[1, 2]".to_owned(), 400, "body"),
        (
            json!({ "schema": "ispeed.result/2", "id": id }).to_string(),
            400,
            "schema",
        ),
        (json!({ "id": id }).to_string(), 400, "schema"),
        (
            json!({ "schema": "ispeed.result/1", "id": "not-a-uuid" }).to_string(),
            400,
            "id",
        ),
        (
            json!({ "schema": "ispeed.result/1", "id": 42 }).to_string(),
            400,
            "id",
        ),
    ] {
        let (s, e) = post(&client, url, body.clone().into_bytes()).await;
        let shown: String = body.chars().take(60).collect();
        assert_eq!(s, status, "{shown}: {e}");
        let e: ErrorBody = serde_json::from_value(e.clone()).unwrap_or_else(|_| panic!("{e}"));
        assert_eq!(e.field.as_deref(), Some(field), "{shown}: {}", e.error);
        assert!(e.code.is_some());
    }
    assert_eq!(
        store.count().await.expect("count"),
        before,
        "nothing stored"
    );
    assert_eq!(store.document(id).await.expect("read"), None);
    if let Store::Postgres(pg) = store {
        let status = pg.pool().status();
        assert!(status.size <= status.max_size, "{status:?}");
    }
    // The pool is unharmed: a good document still goes through at once.
    let d = doc(
        Some(3),
        json!(null),
        "2026-05-04T03:00:00Z",
        "linux",
        None,
        "cellular",
        true,
    );
    let (s, c) = post(&client, url, d.to_string().into_bytes()).await;
    assert_eq!((s, c["status"].clone()), (200, json!("stored")));
}

async fn campaign_counts_are_exact(url: &str, store: &Store) {
    let docs = generated_day(600, 7);
    let client = reqwest::Client::new();
    // 8 concurrent uploaders; every 5th document is sent twice.
    let chunks: Vec<Vec<Value>> = docs.chunks(75).map(<[Value]>::to_vec).collect();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let (client, url) = (client.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            for (i, d) in chunk.iter().enumerate() {
                for _ in 0..(1 + usize::from(i % 5 == 0)) {
                    let (s, c) = post(&client, &url, d.to_string().into_bytes()).await;
                    assert_eq!(s, 200, "{c}");
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("uploader");
    }
    let config = CampaignConfig::default();
    let date = NaiveDate::parse_from_str(DAY, "%Y-%m-%d").unwrap();
    let (from, to) = campaign::day_bounds(&config, date);
    let facts: Vec<SampleFacts> = docs
        .iter()
        .map(judged)
        .filter(|f| {
            f.started_at
                .is_some_and(|t| t >= from.timestamp_millis() && t < to.timestamp_millis())
        })
        .collect();
    assert!(
        facts.len() > 400,
        "the generated day holds {} samples",
        facts.len()
    );
    let attested = facts
        .iter()
        .filter(|f| f.verdict == Verdict::Attested)
        .count();
    let rejected = facts
        .iter()
        .filter(|f| f.reason == Some(RejectReason::BadSignature))
        .count();
    assert!(
        attested > 150 && rejected > 20,
        "{attested} attested, {rejected} forged"
    );
    for area in [
        None,
        Some("Tản Lĩnh"),
        Some("ba vì/tản lĩnh"),
        Some("THPT Ba Vì"),
        Some("Sóc Sơn"),
        Some("nowhere"),
    ] {
        let expected = campaign::tally_day(&config, date, area, facts.clone());
        let got = store.progress(&config, date, area).await.expect("progress");
        assert_eq!(got, expected, "area filter {area:?}");
    }
    // Rejected samples show per area with their reason, equally on both stores.
    let day = store.progress(&config, date, None).await.expect("progress");
    assert!(
        day.areas.iter().any(|a| a.rejected > 0
            && a.received == a.samples + a.not_counted
            && a.rejections.first().map(|r| r.reason) == Some(RejectReason::BadSignature)),
        "{:?}",
        day.areas
    );
    // The same over HTTP.
    let body = client
        .get(format!("{url}/v1/campaign/progress?date={DAY}"))
        .send()
        .await
        .expect("progress")
        .bytes()
        .await
        .expect("progress body");
    let p: ispeed_spec::campaign::Progress = serde_json::from_slice(&body).expect("progress JSON");
    assert_eq!(p, campaign::tally_day(&config, date, None, facts));
    // And as the page officials open.
    let page = client
        .get(format!(
            "{url}/campaign?date={DAY}&area=T%E1%BA%A3n%20L%C4%A9nh"
        ))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text_body().await;
    assert!(html.contains("data-field=\"participants\""), "{html}");
    assert!(html.contains("Tản Lĩnh"));
}

/// Reads a text body.
trait TextBody {
    async fn text_body(self) -> String;
}

impl TextBody for reqwest::Response {
    async fn text_body(self) -> String {
        String::from_utf8(self.bytes().await.expect("a body").to_vec()).expect("UTF-8")
    }
}

/// Every case on the store at `location`, fresh.
async fn conform(location: &str) {
    let running = serve(location).await;
    let url = running.url();
    let store = running.collector.store().clone();
    eprintln!("conformance on {}", store.describe());
    idempotent_by_id(&url, &store).await;
    confirmed_means_committed(&url, location).await;
    bad_documents_are_refused(&url, &store).await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_store_conforms() {
    let dir = tempfile::tempdir().expect("temp dir");
    conform(&dir.path().join("a.db").to_string_lossy()).await;
    verdicts_are_kept_and_caps_hold(&dir.path().join("c.db").to_string_lossy()).await;
    let location = dir.path().join("b.db").to_string_lossy().into_owned();
    let running = serve(&location).await;
    let store = running.collector.store().clone();
    campaign_counts_are_exact(&running.url(), &store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_conforms() {
    let cluster = PgCluster::start().unwrap_or_else(|e| panic!("PostgreSQL cannot start: {e}"));
    let db = cluster.database("conform").expect("a database");
    conform(&db.url).await;
    let db = cluster.database("verdicts").expect("a database");
    verdicts_are_kept_and_caps_hold(&db.url).await;
    let db = cluster.database("counts").expect("a database");
    let running = serve(&db.url).await;
    let store = running.collector.store().clone();
    campaign_counts_are_exact(&running.url(), &store).await;
    running.stop().await;
}
