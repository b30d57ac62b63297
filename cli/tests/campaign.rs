//! A simulated campaign day against the reference collector over loopback: many
//! installs across communes, hamlets and an organisation, invalid Wi-Fi samples,
//! duplicate uploads, late uploads after midnight, samples without an area. The
//! counts are checked exactly on the JSON endpoint, on `ispeed campaign report --csv`,
//! and on the HTML page as headless Chromium renders it (with a screenshot in
//! `target/test-output/`). A last test runs `ispeed demo --area --collector` as the
//! issue's acceptance check does.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ispeed_collector::Collector;
use ispeed_core::participant::{Area, MeasureMode, Participant};
use ispeed_core::platform::DeviceInfo;
use ispeed_core::report::Uploader;
use ispeed_core::result::ServerRef;
use ispeed_core::store::Store;
use ispeed_core::{MeasurementResult, NetworkContext, SystemClock, Transport};
use ispeed_server::{AppState, LinkProfile, ServerConfig};
use ispeed_spec::campaign::{AreaProgress, Level, Progress};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use ispeed_e2e::chromium::CHROMIUM;

/// The reference server with its collector on `db`, on a free loopback port,
/// counting like a lab: these documents carry no receipt (the count without
/// `--count-unattested` is tested by `a_demo_against_a_collector_that_does_not_trust_its_key_stores_an_unattested_sample`
/// and in `tests/tests/trust.rs`).
async fn collector(db: &Path) -> (String, CancellationToken) {
    collector_counting(db, ispeed_collector::CampaignConfig::lab()).await
}

/// The reference server with its collector on `db` counting as `campaign` says.
async fn collector_counting(
    db: &Path,
    campaign: ispeed_collector::CampaignConfig,
) -> (String, CancellationToken) {
    let collector = Arc::new(
        Collector::open(db)
            .expect("open collector")
            .with_campaign(campaign),
    );
    let app = ispeed_server::router_with_collector(
        AppState::new(ServerConfig::new(LinkProfile::default())),
        collector,
    );
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(ispeed_server::serve_app(listener, app, async move {
        token.cancelled().await
    }));
    (url, stop)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time literal")
        .with_timezone(&Utc)
}

/// A result document as a phone of `platform` would send it.
fn doc(
    participant: Option<Participant>,
    started: &str,
    platform: &str,
    mode: MeasureMode,
    transport: Transport,
) -> MeasurementResult {
    let mut device = DeviceInfo::this_machine("0.1.0");
    device.platform = platform.to_owned();
    let mut r = MeasurementResult::new(
        at(started),
        ServerRef {
            url: "https://speed.example.vn".to_owned(),
            protocol: Default::default(),
        },
        NetworkContext::with_transport(transport),
        device,
    );
    if transport == Transport::Wifi {
        r.valid = false;
        r.invalid_reason = Some("Wi-Fi came up during download".to_owned());
    }
    r.participant = participant;
    r.mode = Some(mode);
    r
}

fn who(install: u128, area: &str) -> Option<Participant> {
    Some(Participant {
        install_id: Uuid::from_u128(install),
        area: Some(Area::parse(area).expect("area literal")),
    })
}

const THON_1: &str = "Hà Nội/Ba Vì/Tản Lĩnh/Thôn 1";
const THON_2: &str = "Hà Nội/Ba Vì/Tản Lĩnh/Thôn 2";
const BA_TRAI: &str = "Hà Nội/Ba Vì/Ba Trại";
const SCHOOL: &str = "province=Hà Nội,district=Ba Vì,org=THPT Ba Vì";

async fn post(client: &reqwest::Client, base: &str, d: &MeasurementResult) -> String {
    let resp = client
        .post(format!("{base}/v1/results"))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(d).expect("encode"))
        .send()
        .await
        .expect("post");
    assert!(resp.status().is_success(), "{}", resp.status());
    let v: Value =
        serde_json::from_slice(&resp.bytes().await.expect("body")).expect("confirmation");
    v["status"].as_str().expect("status").to_owned()
}

/// Uploads the day of 4 May 2026 (Asia/Ho_Chi_Minh, UTC+7) and a little around it.
async fn simulate_day(base: &str, dir: &Path) {
    let client = reqwest::Client::new();
    // Thôn 1: 30 Android phones on auto-measure, two samples each (08:00 and 14:00).
    for install in 100..130u128 {
        for t in ["2026-05-04T01:00:00Z", "2026-05-04T07:00:00Z"] {
            let d = doc(
                who(install, THON_1),
                t,
                "android",
                MeasureMode::Auto,
                Transport::Cellular,
            );
            assert_eq!(post(&client, base, &d).await, "stored");
            if install == 100 {
                // A phone that lost the confirmation sends again, twice.
                assert_eq!(post(&client, base, &d).await, "duplicate");
                assert_eq!(post(&client, base, &d).await, "duplicate");
            }
        }
    }
    // One of them also measured while Wi-Fi came up: kept, never counted.
    let wifi = doc(
        who(101, THON_1),
        "2026-05-04T02:00:00Z",
        "android",
        MeasureMode::Auto,
        Transport::Wifi,
    );
    post(&client, base, &wifi).await;
    // Another measured one minute before midnight of the day before.
    let eve = doc(
        who(102, THON_1),
        "2026-05-03T16:59:00Z",
        "android",
        MeasureMode::Auto,
        Transport::Cellular,
    );
    post(&client, base, &eve).await;

    // Ba Trại: three desktops over a USB modem, one over Ethernet, one Android by hand.
    for install in 200..203u128 {
        let d = doc(
            who(install, BA_TRAI),
            "2026-05-04T05:00:00Z",
            "linux",
            MeasureMode::Manual,
            Transport::Cellular,
        );
        post(&client, base, &d).await;
    }
    let lan = doc(
        who(203, BA_TRAI),
        "2026-05-04T05:00:00Z",
        "linux",
        MeasureMode::Manual,
        Transport::Ethernet,
    );
    post(&client, base, &lan).await;
    let tap = doc(
        who(204, BA_TRAI),
        "2026-05-04T06:00:00Z",
        "android",
        MeasureMode::Manual,
        Transport::Cellular,
    );
    post(&client, base, &tap).await;

    // A school: two phones by hand, one both by hand and automatically.
    for (install, mode) in [
        (300u128, MeasureMode::Manual),
        (301, MeasureMode::Manual),
        (302, MeasureMode::Manual),
        (302, MeasureMode::Auto),
    ] {
        let d = doc(
            who(install, SCHOOL),
            "2026-05-04T03:00:00Z",
            "android",
            mode,
            Transport::Cellular,
        );
        post(&client, base, &d).await;
    }

    // Samples without an area: two from an app without participation, one from an
    // install that chose none.
    for _ in 0..2 {
        let d = doc(
            None,
            "2026-05-04T04:00:00Z",
            "android",
            MeasureMode::Manual,
            Transport::Cellular,
        );
        post(&client, base, &d).await;
    }
    let mut no_area = doc(
        who(400, THON_1),
        "2026-05-04T04:00:00Z",
        "ios",
        MeasureMode::Manual,
        Transport::Cellular,
    );
    no_area.participant = Some(Participant {
        install_id: Uuid::from_u128(400),
        area: None,
    });
    post(&client, base, &no_area).await;

    // Thôn 2: iPhones measuring by hand, through the real store and upload queue. Two
    // only ever measured on Wi-Fi; one measured ten minutes after midnight.
    let mut late = Vec::new();
    for (n, (started, transport)) in [
        ("2026-05-04T16:50:00Z", Transport::Cellular), // 23:50, sent after midnight
        ("2026-05-04T16:50:00Z", Transport::Cellular),
        ("2026-05-04T16:51:00Z", Transport::Cellular),
        ("2026-05-04T16:52:00Z", Transport::Cellular),
        ("2026-05-04T16:53:00Z", Transport::Cellular),
        ("2026-05-04T03:00:00Z", Transport::Wifi),
        ("2026-05-04T03:00:00Z", Transport::Wifi),
        ("2026-05-04T17:10:00Z", Transport::Cellular), // 00:10 on 5 May
    ]
    .into_iter()
    .enumerate()
    {
        let store = Store::open(dir.join(format!("iphone-{n}.db"))).expect("open phone store");
        // One participant typed the names in lower case.
        let spec = if n == 1 {
            THON_2.to_lowercase()
        } else {
            THON_2.to_owned()
        };
        store
            .set_area(Area::parse(&spec).expect("area"))
            .expect("set area");
        let mut d = doc(None, started, "ios", MeasureMode::Manual, transport);
        store.stamp(&mut d, MeasureMode::Manual).expect("stamp");
        store.save_result(&d).expect("save");
        late.push(store);
    }
    // The uploads happen "after midnight", once the day's other samples are in.
    for store in &late {
        let summary = Uploader::new(base)
            .expect("uploader")
            .upload_pending(store, &SystemClock)
            .await;
        assert_eq!(
            (summary.sent.len(), summary.remaining),
            (1, 0),
            "{:?}",
            summary.error
        );
    }
}

/// What the day must count, area by area:
/// (level, label, participants, samples, not counted, target, met, split participants
/// and samples per channel in report order).
type Row<L> = (
    Level,
    L,
    u32,
    u32,
    u32,
    Option<u32>,
    Option<bool>,
    [(u32, u32); 5],
);
type Expected = Row<&'static str>;

fn owned(rows: &[Expected]) -> Vec<Row<String>> {
    rows.iter()
        .map(|&(l, n, p, s, x, t, m, c)| (l, n.to_owned(), p, s, x, t, m, c))
        .collect()
}

fn expected_areas() -> Vec<Expected> {
    vec![
        (
            Level::Commune,
            "Hà Nội / Ba Vì / Ba Trại",
            4,
            4,
            1,
            Some(300),
            Some(false),
            [(0, 0), (1, 1), (0, 0), (3, 3), (0, 0)],
        ),
        (
            Level::Organisation,
            "Hà Nội / Ba Vì / THPT Ba Vì",
            3,
            4,
            0,
            None,
            None,
            [(1, 1), (3, 3), (0, 0), (0, 0), (0, 0)],
        ),
        (
            Level::Commune,
            "Hà Nội / Ba Vì / Tản Lĩnh",
            35,
            65,
            3,
            Some(300),
            Some(false),
            [(30, 60), (0, 0), (5, 5), (0, 0), (0, 0)],
        ),
        (
            Level::Hamlet,
            "Hà Nội / Ba Vì / Tản Lĩnh / Thôn 1",
            30,
            60,
            1,
            Some(30),
            Some(true),
            [(30, 60), (0, 0), (0, 0), (0, 0), (0, 0)],
        ),
        (
            Level::Hamlet,
            "Hà Nội / Ba Vì / Tản Lĩnh / Thôn 2",
            5,
            5,
            2,
            Some(30),
            Some(false),
            [(0, 0), (0, 0), (5, 5), (0, 0), (0, 0)],
        ),
    ]
}

fn actual(a: &AreaProgress) -> Row<String> {
    let s = &a.split;
    (
        a.level,
        a.label.clone(),
        a.participants,
        a.samples,
        a.not_counted,
        a.target,
        a.met,
        [
            s.android_auto,
            s.android_manual,
            s.ios_manual,
            s.desktop,
            s.other,
        ]
        .map(|c| (c.participants, c.samples)),
    )
}

async fn progress(base: &str, query: &str) -> (Progress, Value) {
    let resp = reqwest::get(format!("{base}/v1/campaign/progress?{query}"))
        .await
        .expect("get");
    assert_eq!(resp.status(), 200);
    let v: Value = serde_json::from_slice(&resp.bytes().await.expect("body")).expect("json");
    (
        serde_json::from_value(v.clone()).expect("progress document"),
        v,
    )
}

fn ispeed(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ispeed"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ispeed");
    assert!(
        out.status.success(),
        "ispeed {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_day_is_counted_exactly_in_json_csv_and_html() {
    let dir = ispeed_e2e::temp_dir("day");
    let (base, stop) = collector(&dir.path().join("collector.db")).await;
    simulate_day(&base, dir.path()).await;

    // JSON.
    let (p, raw) = progress(&base, "date=2026-05-04").await;
    assert_eq!(p.time_zone, "Asia/Ho_Chi_Minh");
    assert_eq!(p.from, at("2026-05-03T17:00:00Z"));
    assert_eq!(
        p.areas.iter().map(actual).collect::<Vec<_>>(),
        owned(&expected_areas())
    );
    assert_eq!(
        (
            p.totals.participants,
            p.totals.samples,
            p.totals.not_counted
        ),
        (43, 76, 4)
    );
    assert_eq!(
        (
            p.unassigned.participants,
            p.unassigned.samples,
            p.unassigned.not_counted
        ),
        (1, 3, 0)
    );
    // Field names are the documented contract.
    assert_eq!(raw["areas"][3]["split"]["android_auto"]["participants"], 30);
    assert_eq!(raw["areas"][3]["met"], true);
    assert_eq!(raw["areas"][1]["target"], Value::Null);

    // The day before and after hold only the samples measured on them.
    let (eve, _) = progress(&base, "date=2026-05-03").await;
    assert_eq!((eve.totals.participants, eve.areas.len()), (1, 2));
    let (next, _) = progress(&base, "date=2026-05-05").await;
    assert_eq!(
        next.areas
            .iter()
            .map(|a| (a.label.as_str(), a.participants))
            .collect::<Vec<_>>(),
        vec![
            ("Hà Nội / Ba Vì / Tản Lĩnh", 1),
            ("Hà Nội / Ba Vì / Tản Lĩnh / Thôn 2", 1)
        ]
    );

    // Filtered to one commune: its rows only, totals of its samples only.
    let (tl, _) = progress(
        &base,
        "date=2026-05-04&area=ba%20v%C3%AC/T%E1%BA%A3n%20L%C4%A9nh",
    )
    .await;
    assert_eq!(
        tl.areas.iter().map(actual).collect::<Vec<_>>(),
        owned(&expected_areas()[2..])
    );
    assert_eq!(
        (
            tl.totals.participants,
            tl.totals.samples,
            tl.totals.not_counted
        ),
        (35, 65, 3)
    );
    assert_eq!(tl.unassigned.samples, 0);

    // A malformed date is refused, saying what is expected.
    let bad = reqwest::get(format!("{base}/v1/campaign/progress?date=4/5/2026"))
        .await
        .expect("get");
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.expect("body").contains("YYYY-MM-DD"));

    // The CLI report, as CSV, row for row.
    let csv = ispeed(&[
        "campaign",
        "report",
        "--collector",
        &base,
        "--date",
        "2026-05-04",
        "--csv",
    ]);
    let rows: Vec<Vec<String>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), 5 + 2, "{csv}");
    for (row, want) in rows.iter().zip(expected_areas()) {
        let (_, label, participants, samples, not_counted, target, met, split) = want;
        assert_eq!(row[2], label);
        assert_eq!(row[3], participants.to_string());
        assert_eq!(row[4], target.map_or(String::new(), |t| t.to_string()));
        assert_eq!(row[5], met.map_or("", |m| if m { "yes" } else { "no" }));
        assert_eq!(row[6], samples.to_string());
        assert_eq!(row[7], not_counted.to_string());
        let flat: Vec<String> = split
            .iter()
            .flat_map(|(p, s)| [p.to_string(), s.to_string()])
            .collect();
        assert_eq!(row[8..], flat[..], "{csv}");
    }
    assert_eq!(rows[5][1..8], ["without_area", "", "1", "", "", "3", "0"]);
    assert_eq!(rows[6][1..8], ["total", "", "43", "", "", "76", "4"]);
    // The table says the same.
    let table = ispeed(&[
        "campaign",
        "report",
        "--collector",
        &base,
        "--date",
        "2026-05-04",
    ]);
    let thon1 = table
        .lines()
        .find(|l| l.contains("Thôn 1"))
        .expect("Thôn 1 line");
    let cells: Vec<&str> = thon1
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cells[1..7],
        ["hamlet", "30", "30", "yes", "60", "1"],
        "{table}"
    );

    // The page, as a browser renders it.
    check_page(&base, &p).await;
    stop.cancel();
}

/// Runs headless Chromium (a 412×900 window) with `args`; its stdout.
fn chromium(args: &[String]) -> String {
    ispeed_e2e::chromium::run("412,900", args)
}

/// Every `data-field` figure of the page, per section (`data-level` / `data-area`).
fn page_figures(dom: &str) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    let attr = |tag: &str, name: &str| {
        let key = format!("{name}=\"");
        tag.find(&key).map(|i| {
            let rest = &tag[i + key.len()..];
            rest[..rest.find('"').unwrap_or(0)].to_owned()
        })
    };
    let mut out = BTreeMap::new();
    for section in dom.split("<section").skip(1) {
        let open = &section[..section.find('>').expect("section tag end")];
        let key = (
            attr(open, "data-level").expect("data-level"),
            attr(open, "data-area")
                .expect("data-area")
                .replace("&amp;", "&"),
        );
        let mut fields = BTreeMap::new();
        for piece in section.split("data-field=\"").skip(1) {
            let name = &piece[..piece.find('"').expect("field name end")];
            let tag_end = piece.find('>').expect("tag end");
            let tag = &piece[..tag_end];
            let value = match attr(tag, "data-value") {
                Some(v) => v,
                None => piece[tag_end + 1..piece.find('<').expect("text end")]
                    .trim()
                    .to_owned(),
            };
            fields.insert(name.to_owned(), value);
        }
        out.insert(key, fields);
    }
    out
}

async fn check_page(base: &str, p: &Progress) {
    let page_url = format!("{base}/campaign?date=2026-05-04");
    let html = reqwest::get(&page_url)
        .await
        .expect("get page")
        .text()
        .await
        .expect("page");
    assert!(
        !html.contains("<script") && !html.contains("javascript:") && !html.contains(" onclick"),
        "the page needs no JavaScript"
    );
    assert!(html.len() < 32 * 1024, "a small page: {} bytes", html.len());
    assert!(
        html.contains("<html lang=\"vi\">")
            && html.contains("Người tham gia")
            && html.contains("Participants")
    );

    if !Path::new(CHROMIUM).exists() {
        println!("SKIPPED the Chromium check: {CHROMIUM} is absent (Debian package `chromium`)");
        return;
    }
    // Headless Chromium blocks in its own process: keep it off the runtime's threads.
    let url = page_url.clone();
    let dom = tokio::task::spawn_blocking(move || {
        // Headless Chromium serialises the DOM through its own scripting, so this
        // run keeps JavaScript on; the page has none of its own (checked above).
        chromium(&["--dump-dom".to_owned(), url])
    })
    .await
    .expect("chromium task");
    let figures = page_figures(&dom);
    let excerpt: String = dom.chars().take(2000).collect();
    let totals = figures
        .get(&("totals".to_owned(), String::new()))
        .unwrap_or_else(|| panic!("no totals on the rendered page: {figures:?}\n{excerpt}"));
    assert_eq!(
        totals["totals.participants"],
        p.totals.participants.to_string()
    );
    assert_eq!(totals["totals.samples"], p.totals.samples.to_string());
    assert_eq!(
        totals["totals.not_counted"],
        p.totals.not_counted.to_string()
    );
    assert_eq!(
        totals["unassigned.samples"],
        p.unassigned.samples.to_string()
    );
    assert_eq!(figures.len(), 1 + p.areas.len(), "{figures:?}");
    for a in &p.areas {
        let level = serde_json::to_value(a.level)
            .expect("level")
            .as_str()
            .expect("str")
            .to_owned();
        let f = &figures[&(level, a.label.clone())];
        assert_eq!(f["participants"], a.participants.to_string(), "{}", a.label);
        assert_eq!(f["samples"], a.samples.to_string());
        assert_eq!(f["not_counted"], a.not_counted.to_string());
        assert_eq!(
            f["target"],
            a.target.map_or("—".to_owned(), |t| t.to_string())
        );
        assert_eq!(f.get("met").cloned(), a.met.map(|m| m.to_string()));
        let split = serde_json::to_value(a.split).expect("split");
        for (channel, counts) in split.as_object().expect("object") {
            for k in ["participants", "samples"] {
                assert_eq!(
                    f[&format!("split.{channel}.{k}")],
                    counts[k].to_string(),
                    "{} {channel}",
                    a.label
                );
            }
        }
    }

    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-output");
    std::fs::create_dir_all(&out_dir).expect("create test-output");
    let shot = out_dir.join("campaign.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    tokio::task::spawn_blocking(move || chromium(&[arg, page_url]))
        .await
        .expect("chromium task");
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // Width and height from the IHDR chunk: the phone-sized window.
    let width = u32::from_be_bytes(png[16..20].try_into().expect("width"));
    assert_eq!(width, 412);
    println!("screenshot: {}", shot.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_from_several_installs_count_each_install_once_per_area() {
    let dir = ispeed_e2e::temp_dir("demo");
    let (base, stop) = collector(&dir.path().join("collector.db")).await;
    let db = |name: &str| dir.path().join(name).display().to_string();
    let (a, b, c) = (db("a.db"), db("b.db"), db("c.db"));
    // Exactly the acceptance form: `ispeed demo --area ... --collector ...`;
    // a demo naming an area labels its emulated link cellular, so it counts in a
    // collector that counts unattested samples (a lab).
    let demo = |db: &str, area: &str| {
        let args = vec![
            "demo",
            "--json",
            "--max-seconds",
            "1",
            "--max-mbytes",
            "2",
            "--db",
            db,
            "--area",
            area,
            "--collector",
            &base,
        ];
        let out = ispeed(&args);
        let d: Value = serde_json::from_str(&out).expect("result document");
        d["participant"]["install_id"]
            .as_str()
            .expect("install id")
            .to_owned()
    };
    // Install A measures twice in Tản Lĩnh, install B once, install C once in Ba Trại.
    let id_a = demo(&a, THON_1);
    assert_eq!(demo(&a, THON_1), id_a, "one install, one id");
    let id_b = demo(&b, THON_1);
    assert_ne!(id_a, id_b);
    demo(&c, BA_TRAI);
    // A second, different area on install A is refused before measuring.
    let refused = Command::new(env!("CARGO_BIN_EXE_ispeed"))
        .args(["demo", "--db", &a, "--area", BA_TRAI])
        .output()
        .expect("run");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already"));

    let (p, _) = progress(&base, "").await;
    let rows: Vec<(&str, u32, u32, u32)> = p
        .areas
        .iter()
        .map(|a| (a.label.as_str(), a.participants, a.samples, a.not_counted))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("Hà Nội / Ba Vì / Ba Trại", 1, 1, 0),
            ("Hà Nội / Ba Vì / Tản Lĩnh", 2, 3, 0),
            ("Hà Nội / Ba Vì / Tản Lĩnh / Thôn 1", 2, 3, 0),
        ]
    );
    assert_eq!(p.areas[1].split.desktop.participants, 2);
    let table = ispeed(&["campaign", "report", "--collector", &base]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("Hà Nội / Ba Vì / Tản Lĩnh / Thôn 1") && l.contains("  2  ")),
        "{table}"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_against_a_collector_that_does_not_trust_its_key_stores_an_unattested_sample() {
    let dir = ispeed_e2e::temp_dir("demo-untrusted");
    let (base, stop) = collector_counting(
        &dir.path().join("collector.db"),
        ispeed_collector::CampaignConfig::default(),
    )
    .await;
    let db = dir.path().join("phone.db").display().to_string();
    let out = ispeed(&[
        "demo",
        "--json",
        "--max-seconds",
        "1",
        "--max-mbytes",
        "2",
        "--db",
        &db,
        "--area",
        THON_1,
        "--collector",
        &base,
    ]);
    let d: Value = serde_json::from_str(&out).expect("result document");
    // The demo's server signed a receipt, under a key made for this run.
    assert!(d["attestation"]["signature"].is_string(), "{d}");
    let id = Uuid::parse_str(d["id"].as_str().expect("id")).expect("uuid");
    let store = ispeed_collector::Collector::open(&dir.path().join("collector.db"))
        .expect("reopen the collector's file");
    let held = store.store().verdict_of(id).await.expect("store answers");
    assert_eq!(
        held,
        Some((
            ispeed_spec::attestation::Verdict::Unattested,
            Some(ispeed_spec::attestation::RejectReason::UnknownKey)
        ))
    );
    let (p, _) = progress(&base, "").await;
    assert_eq!(p.totals.participants, 0, "{p:?}");
    assert_eq!(p.totals.samples, 0);
    assert_eq!(p.totals.not_counted, 1);
    stop.cancel();
}
