//! Quality statistics over real sockets, on both stores: a generated campaign month
//! across communes, operators and technologies is uploaded, and `GET /v1/stats`
//! answers what a brute-force computation over the same samples says, within the
//! sketches' stated relative error; suppression and rating thresholds hold; samples
//! that are invalid, not cellular, not 4G/5G or name no official commune never count
//! (a test per rule); bad queries are a 400 naming the parameter; the open data has
//! one row per published sample and nothing that identifies a participant.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ispeed_collector::pgtest::PgCluster;
use ispeed_collector::stats::areas::{self, AreaLevel};
use ispeed_collector::{CampaignConfig, Collector, RunningCollector, StatsConfig};
use ispeed_spec::stats::{RELATIVE_ERROR, Stats};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use uuid::Uuid;

/// One generated sample, as the brute force sees it.
#[derive(Debug, Clone)]
struct Sample {
    commune: u32,
    mcc_mnc: &'static str,
    technology: &'static str,
    install: Option<Uuid>,
    started_at: DateTime<Utc>,
    download: f64,
    upload: f64,
    latency: f64,
}

const OPERATORS: [(&str, &str); 3] = [
    ("452-04", "Viettel"),
    ("452-01", "MobiFone"),
    ("452-02", "VinaPhone"),
];

fn name_of(mcc_mnc: &str) -> &'static str {
    OPERATORS
        .iter()
        .find(|o| o.0 == mcc_mnc)
        .map(|o| o.1)
        .unwrap()
}

/// The result document of a sample, with the fields that decide whether it counts.
fn document(s: &Sample, transport: &str, technology: &str, valid: bool, code: Value) -> Value {
    json!({
        "schema": "ispeed.result/1", "id": Uuid::new_v4(),
        "started_at": s.started_at.to_rfc3339(),
        "network": { "transport": transport, "technology": technology,
                     "mcc_mnc": s.mcc_mnc, "operator": name_of(s.mcc_mnc) },
        "device": { "platform": "android", "os_version": "", "model": "", "app_version": "0.1.0" },
        "valid": valid,
        "participant": { "install_id": s.install, "area": { "commune": "x", "code": code } },
        "latency": { "median_ms": s.latency },
        "download": { "mbps": s.download },
        "upload": { "mbps": s.upload },
        "mode": "manual",
    })
}

fn counted(s: &Sample) -> Value {
    let tech = if s.technology == "4G" { "4g" } else { "5g-nsa" };
    document(s, "cellular", tech, true, json!(s.commune))
}

/// Local (UTC+7) time in November 2026.
fn november(day: u32, minute: i64) -> DateTime<Utc> {
    chrono_tz::Asia::Ho_Chi_Minh
        .with_ymd_and_hms(2026, 11, day, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minute)
}

/// A generated month: (commune, operator, technology, samples) with one rated cell
/// (400 ≥ 300), cells under the rating threshold, and two under the minimum of 10.
fn generated_month(seed: u64) -> Vec<Sample> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let plan: [(u32, &str, &str, usize); 7] = [
        (5755, "452-04", "4G", 400),
        (5755, "452-04", "5G", 120),
        (5755, "452-01", "4G", 80),
        (103, "452-02", "4G", 60),
        (70, "452-02", "4G", 40),
        (70, "452-01", "5G", 6),
        (103, "452-01", "5G", 7),
    ];
    let installs: Vec<Uuid> = (0..60).map(|i| Uuid::from_u128(1000 + i)).collect();
    let mut out = Vec::new();
    for (commune, mcc_mnc, technology, n) in plan {
        let base = if technology == "5G" { 180.0 } else { 40.0 };
        for _ in 0..n {
            // Log-uniform speeds over two decades: a spread that exercises the sketch.
            let spread =
                |rng: &mut rand::rngs::StdRng, b: f64| b * 10f64.powf(rng.random_range(-1.0..1.0));
            out.push(Sample {
                commune,
                mcc_mnc,
                technology,
                install: (!rng.random_bool(0.03))
                    .then(|| installs[rng.random_range(0..installs.len())]),
                started_at: november(rng.random_range(1..=30), rng.random_range(0..1440)),
                download: spread(&mut rng, base),
                upload: spread(&mut rng, base / 4.0),
                latency: spread(&mut rng, 30.0),
            });
        }
    }
    out
}

async fn serve(location: &str) -> RunningCollector {
    let collector = Collector::connect(location, CampaignConfig::lab())
        .await
        .expect("open the store");
    ispeed_collector::spawn(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        Arc::new(collector),
    )
    .await
    .expect("serve")
}

/// Posts every document, eight at a time, each confirmed.
async fn upload(url: &str, docs: Vec<Value>) {
    let client = reqwest::Client::new();
    let docs = Arc::new(tokio::sync::Mutex::new(docs));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, docs, url) = (client.clone(), docs.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(doc) = docs.lock().await.pop() else {
                    break;
                };
                let resp = client
                    .post(format!("{url}/v1/results"))
                    .header("content-type", "application/json")
                    .body(doc.to_string())
                    .send()
                    .await
                    .expect("the collector answers");
                assert_eq!(resp.status().as_u16(), 200, "{:?}", resp.text().await);
            }
        }));
    }
    for t in tasks {
        t.await.expect("uploader");
    }
}

async fn get(url: &str) -> (u16, Value) {
    let resp = reqwest::get(url).await.expect("the collector answers");
    let status = resp.status().as_u16();
    let body = resp.bytes().await.expect("a body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The statistics of `area`: a province of the test's communes (Hà Nội 1, Thái
/// Nguyên 19) or a commune (asked in five digits).
async fn stats(url: &str, area: u32, period: &str) -> Stats {
    let level = if [1, 19].contains(&area) {
        AreaLevel::Province
    } else {
        AreaLevel::Commune
    };
    let area = areas::query_code(area, level);
    let (status, body) = get(&format!("{url}/v1/stats?area={area}&period={period}")).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("a Stats document")
}

/// The percentile the sketch estimates: rank floor(q·(n−1)) of the sorted values.
fn exact(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[(q * (values.len() as f64 - 1.0)) as usize]
}

fn within_bound(got: Option<f64>, want: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what}: no figure"));
    // The sketch's bound, plus the 0.001 the published figure is rounded to.
    let bound = RELATIVE_ERROR * want + 0.001;
    assert!(
        (got - want).abs() <= bound,
        "{what}: got {got}, exact {want}, bound {bound}"
    );
}

/// Checks `GET /v1/stats` for `area` over the samples in `[from, to)` against the
/// brute force, with the default thresholds (10 to publish, 300 to rate).
async fn check_area(
    url: &str,
    samples: &[Sample],
    area: u32,
    period: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) {
    let got = stats(url, area, period).await;
    assert_eq!((got.area, got.period.as_str()), (area, period));
    assert_eq!((got.min_samples, got.rating_threshold), (10, 300));
    let mut cells: BTreeMap<(&str, &str), Vec<&Sample>> = BTreeMap::new();
    for s in samples.iter().filter(|s| {
        (s.commune == area || areas::province_of(s.commune) == Some(area))
            && s.started_at >= from
            && s.started_at < to
    }) {
        cells.entry((s.mcc_mnc, s.technology)).or_default().push(s);
    }
    let published: Vec<_> = cells.iter().filter(|(_, v)| v.len() >= 10).collect();
    assert_eq!(
        got.cells.len(),
        published.len(),
        "{area} {period}: {:?}",
        got.cells
    );
    for ((mcc_mnc, tech), v) in published {
        let c = got
            .cells
            .iter()
            .find(|c| c.operator == *mcc_mnc && c.technology == *tech)
            .unwrap_or_else(|| panic!("{area} {period} {mcc_mnc} {tech} missing"));
        let what = format!("{area} {period} {mcc_mnc} {tech}");
        assert_eq!(c.samples, v.len() as u64, "{what}");
        let people: BTreeSet<Uuid> = v.iter().filter_map(|s| s.install).collect();
        assert_eq!(c.participants, people.len() as u64, "{what}");
        assert_eq!(c.rated, v.len() >= 300, "{what}");
        assert_eq!(c.operator_name.as_deref(), Some(name_of(mcc_mnc)));
        for (q, field) in [(0.1, "p10"), (0.5, "p50"), (0.9, "p90")] {
            let pick = |p: ispeed_spec::stats::Percentiles| match field {
                "p10" => p.p10,
                "p50" => p.p50,
                _ => p.p90,
            };
            let mut d: Vec<f64> = v.iter().map(|s| s.download).collect();
            within_bound(
                pick(c.download_mbps),
                exact(&mut d, q),
                &format!("{what} download {field}"),
            );
            let mut u: Vec<f64> = v.iter().map(|s| s.upload).collect();
            within_bound(
                pick(c.upload_mbps),
                exact(&mut u, q),
                &format!("{what} upload {field}"),
            );
            let mut l: Vec<f64> = v.iter().map(|s| s.latency).collect();
            within_bound(
                pick(c.latency_ms),
                exact(&mut l, q),
                &format!("{what} latency {field}"),
            );
        }
        let above = v
            .iter()
            .filter(|s| s.download >= got.threshold_mbps)
            .count();
        assert!(
            (c.share_at_or_above - above as f64 / v.len() as f64).abs() < 1e-9,
            "{what}"
        );
    }
}

/// Uploads a generated month (and samples of the days either side) and checks the
/// month and a day, per commune and per province, and the open data.
async fn a_month_matches_the_brute_force(location: &str) {
    let running = serve(location).await;
    let url = running.url();
    let mut samples = generated_month(7);
    // Outside November by minutes: in no November cell, in no November open data.
    let mut edge = samples[0].clone();
    edge.started_at = november(1, -1);
    samples.push(edge.clone());
    edge.started_at = november(30, 1440);
    samples.push(edge);
    upload(&url, samples.iter().map(counted).collect()).await;

    let (from, to) = (november(1, 0), november(30, 1440));
    for area in [5755, 103, 70, 19, 1] {
        check_area(&url, &samples, area, "2026-11", from, to).await;
    }
    check_area(
        &url,
        &samples,
        5755,
        "2026-11-15",
        november(15, 0),
        november(16, 0),
    )
    .await;
    check_area(
        &url,
        &samples,
        19,
        "2026-11-15",
        november(15, 0),
        november(16, 0),
    )
    .await;

    // One operator only.
    let (status, body) = get(&format!(
        "{url}/v1/stats?area=5755&period=2026-11&operator=452-01"
    ))
    .await;
    assert_eq!(status, 200);
    let only: Stats = serde_json::from_value(body).unwrap();
    assert!(!only.cells.is_empty() && only.cells.iter().all(|c| c.operator == "452-01"));

    // Open data: one row per sample of a published commune cell, nothing more.
    let body = reqwest::get(format!("{url}/v1/opendata/2026-11.csv"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, ispeed_collector::stats::opendata::COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let mut per_cell: BTreeMap<(u32, &str, &str), usize> = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| s.started_at >= from && s.started_at < to)
    {
        *per_cell
            .entry((s.commune, s.mcc_mnc, s.technology))
            .or_default() += 1;
    }
    let want: usize = per_cell.values().filter(|n| **n >= 10).sum();
    assert_eq!(rows.len(), want);
    for r in &rows {
        assert!(r[0].ends_with(":00:00Z"), "hour rounded: {}", &r[0]);
        assert_eq!(&r[9], "unattested");
        let tech: &str = &r[5];
        let key = (r[2].parse::<u32>().unwrap(), &r[3], tech);
        let n = per_cell
            .iter()
            .find(|(k, _)| (k.0, k.1, k.2) == (key.0, key.1, key.2))
            .map_or(0, |(_, n)| *n);
        assert!(n >= 10, "a row of a suppressed cell: {r:?}");
    }
    // The open data's pages, read by key, are the month exactly once: small pages
    // (7 rows) give the same rows as one read.
    let store = running.collector.store();
    let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
    let whole = store
        .stats_samples(from_ms, to_ms, None, 1_000_000)
        .await
        .unwrap();
    assert_eq!(
        whole.len(),
        samples.len() - 2,
        "the month, without the two edge samples"
    );
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store.stats_samples(from_ms, to_ms, after, 7).await.unwrap();
        after = page.last().map(|(id, s)| (s.started_at, id.clone()));
        let done = page.len() < 7;
        paged.extend(page);
        if done {
            break;
        }
    }
    assert_eq!(
        paged.iter().map(|p| &p.0).collect::<Vec<_>>(),
        whole.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    for s in &samples {
        if let Some(i) = s.install {
            assert!(
                !body.contains(&i.to_string()),
                "an install id is in the open data"
            );
        }
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_statistics_match_the_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    a_month_matches_the_brute_force(dir.path().join("c.db").to_str().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_statistics_match_the_brute_force() {
    let cluster = PgCluster::start().unwrap_or_else(|e| panic!("PostgreSQL cannot start: {e}"));
    let db = cluster.database("stats").expect("a database");
    a_month_matches_the_brute_force(&db.url).await;
}

/// Twenty samples of one cell, each made not to count by `spoil`; and twenty that
/// count, so the test sees the rule and not an empty collector.
async fn never_counted(spoil: impl Fn(&Sample) -> Value) {
    let dir = tempfile::tempdir().unwrap();
    let running = serve(dir.path().join("c.db").to_str().unwrap()).await;
    let url = running.url();
    let month = generated_month(3);
    let spoiled: Vec<Sample> = month
        .iter()
        .filter(|s| s.commune == 103 && s.mcc_mnc == "452-02")
        .take(20)
        .cloned()
        .collect();
    upload(&url, spoiled.iter().map(&spoil).collect()).await;
    assert!(
        stats(&url, 103, "2026-11").await.cells.is_empty(),
        "a spoiled sample counted"
    );
    let mut good = spoiled.clone();
    for s in &mut good {
        s.commune = 103;
    }
    upload(&url, good.iter().map(counted).collect()).await;
    let cells = stats(&url, 103, "2026-11").await.cells;
    assert_eq!(cells.len(), 1);
    assert_eq!(cells[0].samples, 20, "only the good copies count");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_samples_never_count() {
    never_counted(|s| {
        let mut d = counted(s);
        d["valid"] = json!(false);
        d
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wifi_samples_never_count() {
    never_counted(|s| {
        let mut d = counted(s);
        d["network"]["transport"] = json!("wifi");
        d
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_of_other_generations_never_count() {
    never_counted(|s| {
        let mut d = counted(s);
        d["network"]["technology"] = json!("3g");
        d
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_without_an_official_commune_never_count() {
    never_counted(|s| {
        let mut d = counted(s);
        d["participant"]["area"]["code"] = json!(999_999);
        d
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let running = serve(dir.path().join("c.db").to_str().unwrap()).await;
    let url = running.url();
    for (query, field) in [
        ("period=2026-11", "area"),
        ("area=999999&period=2026-11", "area"),
        ("area=dan%20tien&period=2026-11", "area"),
        // 4 is Cao Bằng; Phường Ba Đình (also 4) is written 00004, not 004.
        ("area=004&period=2026-11", "area"),
        ("area=123456&period=2026-11", "area"),
        ("area=5755", "period"),
        ("area=5755&period=2026-13", "period"),
        ("area=5755&period=November", "period"),
        ("area=5755&period=2026-11-31", "period"),
        ("area=5755&period=2010-01", "period"),
        ("area=5755&period=2040-01", "period"),
        ("area=5755&period=2026-11&operator=Viettel", "operator"),
        ("area=5755&period=2026-11&operator=45204", "operator"),
    ] {
        let (status, body) = get(&format!("{url}/v1/stats?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
        assert!(!body["error"].as_str().unwrap_or_default().is_empty());
    }
    for (area, level) in [
        ("4", "province"),
        ("00004", "commune"),
        ("19", "province"),
        ("5755", "commune"),
    ] {
        let (status, body) = get(&format!("{url}/v1/stats?area={area}&period=2026-11")).await;
        assert_eq!(
            (status, body["area_level"].as_str()),
            (200, Some(level)),
            "{area}: {body}"
        );
    }
    for file in ["2026-11", "2026-11-03.csv", "2010-01.csv", "x.csv"] {
        let status = reqwest::get(format!("{url}/v1/opendata/{file}"))
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 400, "{file}");
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresholds_are_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::connect(
        dir.path().join("c.db").to_str().unwrap(),
        CampaignConfig::lab(),
    )
    .await
    .unwrap()
    .with_stats(StatsConfig {
        threshold_mbps: 50.0,
        rating_threshold: 30,
        min_samples: 25,
    });
    let running = ispeed_collector::spawn(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        Arc::new(collector),
    )
    .await
    .unwrap();
    let url = running.url();
    let month: Vec<Sample> = generated_month(5)
        .into_iter()
        .filter(|s| s.commune == 70 || s.commune == 103)
        .collect();
    upload(&url, month.iter().map(counted).collect()).await;
    let got = stats(&url, 103, "2026-11").await;
    // 103: 60 samples of 452-02 4G (published, rated at 30); 7 of 452-01 5G (under 25).
    assert_eq!(got.cells.len(), 1, "{:?}", got.cells);
    assert!(got.cells[0].rated);
    let v: Vec<&Sample> = month
        .iter()
        .filter(|s| s.commune == 103 && s.mcc_mnc == "452-02")
        .collect();
    let above = v.iter().filter(|s| s.download >= 50.0).count() as f64 / v.len() as f64;
    assert!((got.cells[0].share_at_or_above - above).abs() < 1e-9);
    // 70: 40 samples of 452-02 4G: published (≥ 25), rated (≥ 30); 6 of 452-01 not.
    let got = stats(&url, 70, "2026-11").await;
    assert_eq!(got.cells.len(), 1);
    assert_eq!((got.cells[0].samples, got.cells[0].rated), (40, true));
    running.stop().await;
}
