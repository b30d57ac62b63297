//! `ispeed campaign stats` and the `/stats` page against a collector over loopback: a
//! generated month across three operators, 4G and 5G and a few communes of Thái
//! Nguyên is uploaded; the CLI's CSV and table, and the page as headless Chromium
//! renders it, show what `GET /v1/stats` answers. The screenshot is written to
//! `target/test-output/stats-page.png` (the copy in `docs/stats-page.png` comes from
//! it). Without Chromium the page check prints SKIPPED and checks the HTML only.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use ispeed_collector::{CampaignConfig, Collector};
use ispeed_spec::stats::Stats;
use serde_json::{Value, json};
use uuid::Uuid;

use ispeed_e2e::chromium::CHROMIUM;

/// (commune, operator, name, technology, samples, typical download)
const PLAN: [(u32, &str, &str, &str, usize, f64); 8] = [
    (5755, "452-04", "Viettel", "4g", 320, 45.0),
    (5755, "452-04", "Viettel", "5g-nsa", 60, 210.0),
    (5755, "452-01", "MobiFone", "4g", 90, 30.0),
    (5755, "452-02", "VinaPhone", "4g", 70, 35.0),
    (5755, "452-02", "VinaPhone", "5g-sa", 4, 150.0),
    (1840, "452-04", "Viettel", "4g", 40, 60.0),
    (1843, "452-01", "MobiFone", "4g", 25, 25.0),
    (1849, "452-02", "VinaPhone", "4g", 12, 20.0),
];

fn documents() -> Vec<Value> {
    let mut docs = Vec::new();
    let mut k = 0u64;
    for (commune, mcc_mnc, name, tech, n, typical) in PLAN {
        for i in 0..n {
            k += 1;
            // A deterministic spread over a decade around the typical speed.
            let f = 10f64.powf(((k * 7919) % 1000) as f64 / 1000.0 - 0.5);
            docs.push(json!({
                "schema": "ispeed.result/1", "id": Uuid::new_v4(),
                "started_at": format!("2026-11-{:02}T{:02}:15:00Z", 1 + i % 28, k % 24),
                "network": { "transport": "cellular", "technology": tech, "mcc_mnc": mcc_mnc, "operator": name },
                "device": { "platform": "android", "os_version": "", "model": "", "app_version": "0.1.0" },
                "valid": true,
                "participant": { "install_id": Uuid::from_u128(u128::from(k % 97)), "area": { "code": commune } },
                "latency": { "median_ms": 20.0 * f.sqrt() },
                "download": { "mbps": typical * f },
                "upload": { "mbps": typical * f / 3.0 },
            }));
        }
    }
    docs
}

async fn start() -> (ispeed_collector::RunningCollector, tempfile::TempDir) {
    let dir = ispeed_e2e::temp_dir("stats-cli");
    let collector = Collector::connect(
        dir.path().join("collector.db").to_str().unwrap(),
        CampaignConfig::lab(),
    )
    .await
    .unwrap();
    let running = ispeed_collector::spawn(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        Arc::new(collector),
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    for doc in documents() {
        let resp = client
            .post(format!("{}/v1/results", running.url()))
            .header("content-type", "application/json")
            .body(doc.to_string())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }
    (running, dir)
}

async fn api(base: &str, area: &str) -> Stats {
    let body = reqwest::get(format!("{base}/v1/stats?area={area}&period=2026-11"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// Runs the `ispeed` binary off the runtime's threads (the collector serves on them).
async fn run(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_ispeed"))
            .args(&args)
            .output()
            .expect("run ispeed")
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_stats_prints_what_the_collector_publishes() {
    let (running, _dir) = start().await;
    let base = running.url();
    let want = api(&base, "05755").await;
    // 452-02 5G (4 samples) is under the minimum of 10.
    assert_eq!(want.cells.len(), 4, "{:?}", want.cells);

    let args = [
        "campaign",
        "stats",
        "--collector",
        &base,
        "--area",
        "05755",
        "--period",
        "2026-11",
    ];
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let mut with_csv = args.clone();
    with_csv.push("--csv".to_owned());
    let out = run(with_csv).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("area,period,operator,operator_name,technology,samples")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), want.cells.len());
    for (row, cell) in rows.iter().zip(&want.cells) {
        assert_eq!(
            row[..8],
            [
                "5755",
                "2026-11",
                cell.operator.as_str(),
                cell.operator_name.as_deref().unwrap(),
                cell.technology.as_str(),
                &cell.samples.to_string(),
                &cell.participants.to_string(),
                if cell.rated { "yes" } else { "no" }
            ]
        );
        assert_eq!(row[9], format!("{:.1}", cell.download_mbps.p50.unwrap()));
    }
    let rated: Vec<_> = want.cells.iter().filter(|c| c.rated).collect();
    assert_eq!(rated.len(), 1, "only Viettel 4G reached 300");

    let table = run(args).await;
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("Xã Dân Tiến") && table.contains("Viettel 452-04"),
        "{table}"
    );

    let bad = run([
        "campaign",
        "stats",
        "--collector",
        &base,
        "--area",
        "05755",
        "--period",
        "2026-13",
    ]
    .map(str::to_owned)
    .to_vec())
    .await;
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("400") && err.contains("period"), "{err}");
    running.stop().await;
}

/// Runs headless Chromium (a 1000×820 window) with `args`; its stdout.
fn chromium(args: &[String]) -> String {
    ispeed_e2e::chromium::run("1000,820", args)
}

/// Per table row (`data-operator data-technology`), its `data-field` figures.
fn rows(dom: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for row in dom.split("<tr data-operator=\"").skip(1) {
        let op = &row[..row.find('"').unwrap()];
        let tech_at = row.find("data-technology=\"").unwrap() + "data-technology=\"".len();
        let tech = &row[tech_at..tech_at + row[tech_at..].find('"').unwrap()];
        let row = &row[..row.find("</tr>").unwrap()];
        let mut fields = BTreeMap::new();
        for piece in row.split("data-field=\"").skip(1) {
            let name = &piece[..piece.find('"').unwrap()];
            let value = piece
                .find("data-value=\"")
                .filter(|i| *i < piece.find('>').unwrap())
                .map_or_else(
                    || {
                        let after = &piece[piece.find('>').unwrap() + 1..];
                        after[..after.find('<').unwrap()].to_owned()
                    },
                    |i| {
                        let v = &piece[i + "data-value=\"".len()..];
                        v[..v.find('"').unwrap()].to_owned()
                    },
                );
            fields.insert(name.to_owned(), value);
        }
        out.insert(format!("{op} {tech}"), fields);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stats_page_shows_the_published_figures_in_chromium() {
    let (running, _dir) = start().await;
    let base = running.url();
    let want = api(&base, "05755").await;
    let page_url = format!("{base}/stats?area=05755&period=2026-11");
    let html = reqwest::get(&page_url).await.unwrap().text().await.unwrap();
    assert!(!html.contains("<script"), "the page needs no script");
    assert!(html.contains("Chất lượng di động") && html.contains("Mobile broadband quality"));
    assert!(html.contains("Xã Dân Tiến") && html.contains("<svg"));
    // Drill down: the province lists its communes, each linked.
    let province = reqwest::get(format!("{base}/stats?area=19&period=2026-11"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Dân Tiến's published cells: 320 + 60 + 90 + 70 (its 4 VinaPhone 5G are not).
    assert!(
        province.contains("<span data-field=\"samples\">540</span>"),
        "{province}"
    );
    assert!(
        province.contains("/stats?area=05755&amp;period=2026-11"),
        "no link down to Dân Tiến"
    );
    // With no area: the provinces, Thái Nguyên (19) among them.
    let index = reqwest::get(format!("{base}/stats?period=2026-11"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        index.contains("/stats?area=19&amp;period=2026-11"),
        "no province list"
    );
    assert_eq!(index.matches("<li>").count(), 34, "the 34 provinces");
    let unknown = reqwest::get(format!("{base}/stats?area=777&period=2026-11"))
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 400);

    if !Path::new(CHROMIUM).exists() {
        println!("SKIPPED the Chromium check: {CHROMIUM} is absent (Debian package `chromium`)");
        running.stop().await;
        return;
    }
    let url = page_url.clone();
    let dom = tokio::task::spawn_blocking(move || chromium(&["--dump-dom".to_owned(), url]))
        .await
        .unwrap();
    let shown = rows(&dom);
    assert_eq!(shown.len(), want.cells.len(), "{shown:?}");
    for c in &want.cells {
        let f = &shown[&format!("{} {}", c.operator, c.technology)];
        assert_eq!(f["samples"], c.samples.to_string());
        assert_eq!(f["participants"], c.participants.to_string());
        assert_eq!(f["rated"], c.rated.to_string());
        assert_eq!(
            f["download_mbps.p50"],
            format!("{:.1}", c.download_mbps.p50.unwrap())
        );
        assert_eq!(
            f["latency_ms.p50"],
            format!("{:.1}", c.latency_ms.p50.unwrap())
        );
    }

    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-output");
    std::fs::create_dir_all(&out_dir).unwrap();
    let shot = out_dir.join("stats-page.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    tokio::task::spawn_blocking(move || chromium(&[arg, page_url]))
        .await
        .unwrap();
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 1000);
    println!("screenshot: {}", shot.display());
    running.stop().await;
}
