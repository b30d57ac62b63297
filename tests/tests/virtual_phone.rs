//! A campaign week on three virtual phones: the real exported `Engine` (the API the
//! Kotlin and Swift shells call), a simulated platform and clock, the example
//! deployment profile pointed at a reference server and a collector on loopback.
//!
//! - an Android phone with auto-measure on, woken whenever its last wake asked;
//! - an iPhone measuring by hand after each of its reminders, three times a day;
//! - an Android phone measuring by hand once a day, auto-measure off;
//! - Wi-Fi switched on in the middle of a measurement (kept, invalid, not counted);
//! - the collector down for a whole local day (samples queued, then sent);
//! - the app killed in the middle of an upload and reopened (sent once);
//! - a tap while the worker measures (`busy`, nothing stored).
//!
//! At the end, the collector's counts for each day and area equal what the week
//! implies, and every sample each phone stored is at the collector exactly once.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;
use ispeed_core::clock::{Clock, FakeClock};
use ispeed_core::ffi::{Engine, EngineConfig, IspeedError, MeasureListener, Measurement, Platform};
use ispeed_core::measure::{Phase, ProgressEvent};
use ispeed_core::network::{NetworkContext, Transport};
use ispeed_core::platform::{Battery, DeviceInfo};
use ispeed_core::report::RetryPolicy;
use ispeed_core::session::SessionOptions;
use ispeed_server::collector::Collector;
use ispeed_server::{LinkProfile, ServerConfig};
use serde_json::Value;
use tokio::net::TcpListener;

const DAYS: u32 = 7;
/// Local day (0 = Monday) the collector is down all day.
const COLLECTOR_DOWN_DAY: u32 = 2;
/// Local day the manual Android phone's Wi-Fi comes up mid-measurement.
const WIFI_DAY: u32 = 3;
/// Local day the iPhone app is killed in the middle of an upload.
const KILL_DAY: u32 = 4;
/// Local day from which the user taps "measure" while the worker measures: at the first
/// auto wake that measures, that day or later (whether a given wake measures is the
/// scheduler's decision, which this test does not pin).
const TAP_DAY: u32 = 1;

const AREA_AUTO: &str = "Hà Nội/Ba Vì/Tản Lĩnh/Thôn 1";
const AREA_IPHONE: &str = "Hà Nội/Ba Vì/Tản Lĩnh/Thôn 2";
const AREA_MANUAL: &str = "Hà Nội/Ba Vì/Ba Trại/Thôn 5";

// ---------------------------------------------------------------------------------
// The collector, reached through one helper so it can be re-pointed at another crate.

/// A collector on loopback that can be taken down (503) or made to hang after
/// storing a document (a connection that dies before the answer arrives).
struct TestCollector {
    url: String,
    store: Arc<Collector>,
    down: Arc<AtomicBool>,
    hang_after_store: Arc<AtomicBool>,
}

impl TestCollector {
    /// Documents stored.
    async fn count(&self) -> u64 {
        self.store.count().await.expect("count")
    }

    /// The day's counts per area: `(participants, samples, not_counted)` per label
    /// (hamlet and commune rows both).
    async fn progress(&self, date: NaiveDate) -> BTreeMap<String, (u32, u32, u32)> {
        let progress = self
            .store
            .store()
            .progress(self.store.campaign(), date, None)
            .await
            .expect("progress");
        progress
            .areas
            .into_iter()
            .map(|a| (a.label, (a.participants, a.samples, a.not_counted)))
            .collect()
    }

    async fn holds(&self, id: &str) -> bool {
        self.store
            .document(id.parse().expect("uuid"))
            .await
            .expect("read")
            .is_some()
    }
}

/// The one place the test reaches the collector's API.
async fn start_collector(dir: &Path) -> TestCollector {
    // The phones measure against a server without a signing key: their samples are
    // unattested, and this week is about the phones, so the collector counts them
    // as a lab does (`--count-unattested`; receipts are `cli/tests/trust.rs`'s).
    let lab = ispeed_collector::CampaignConfig::lab();
    let store = Arc::new(
        Collector::open(&dir.join("collector.db"))
            .expect("collector db")
            .with_campaign(lab),
    );
    let down = Arc::new(AtomicBool::new(false));
    let hang = Arc::new(AtomicBool::new(false));
    let (d, h) = (down.clone(), hang.clone());
    let app = ispeed_server::collector::router(store.clone()).layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let (d, h) = (d.clone(), h.clone());
            async move {
                use axum::response::IntoResponse;
                if d.load(Ordering::SeqCst) {
                    return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
                }
                let resp = next.run(req).await;
                if h.load(Ordering::SeqCst) {
                    tokio::time::sleep(StdDuration::from_secs(600)).await;
                }
                resp
            }
        },
    ));
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    TestCollector {
        url,
        store,
        down,
        hang_after_store: hang,
    }
}

// ---------------------------------------------------------------------------------
// The phone.

/// What the shell's platform adapter would report.
struct VirtualPlatform {
    network: Mutex<NetworkContext>,
    os: &'static str,
}

impl VirtualPlatform {
    fn new(os: &'static str) -> Arc<Self> {
        Arc::new(Self {
            network: Mutex::new(cellular()),
            os,
        })
    }

    fn set(&self, network: NetworkContext) {
        *self.network.lock().unwrap() = network;
    }
}

fn cellular() -> NetworkContext {
    NetworkContext {
        operator: Some("Viettel".to_owned()),
        mcc_mnc: Some("452-04".to_owned()),
        ..NetworkContext::with_transport(Transport::Cellular)
    }
}

fn wifi() -> NetworkContext {
    NetworkContext {
        wifi_connected: true,
        ..NetworkContext::with_transport(Transport::Wifi)
    }
}

impl Platform for VirtualPlatform {
    fn network(&self) -> NetworkContext {
        self.network.lock().unwrap().clone()
    }
    fn battery(&self) -> Option<Battery> {
        Some(Battery {
            percent: 80,
            charging: false,
        })
    }
    fn device(&self) -> DeviceInfo {
        DeviceInfo {
            platform: self.os.to_owned(),
            os_version: "virtual".to_owned(),
            model: "virtual phone".to_owned(),
            app_version: "e2e".to_owned(),
        }
    }
    fn time_zone(&self) -> String {
        "Asia/Ho_Chi_Minh".to_owned()
    }
}

/// A gate a listener holds its measurement at until the test opens it.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: std::sync::Condvar,
}

impl Gate {
    fn wait(&self) {
        let open = self.open.lock().unwrap();
        let (_open, timeout) = self
            .opened
            .wait_timeout_while(open, StdDuration::from_secs(30), |o| !*o)
            .unwrap();
        assert!(!timeout.timed_out(), "the gate was never opened");
    }

    fn release(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// A listener that can switch the phone to Wi-Fi once the download starts, tells
/// when the measurement is under way, and can hold it there until a gate opens.
#[derive(Default)]
struct Listener {
    wifi_at_download: Option<Arc<VirtualPlatform>>,
    started: Arc<tokio::sync::Notify>,
    hold: Option<Arc<Gate>>,
    events: AtomicU64,
}

impl MeasureListener for Listener {
    fn on_progress(&self, event: ProgressEvent) {
        if self.events.fetch_add(1, Ordering::SeqCst) == 0 {
            self.started.notify_one();
            // The measurement stays under way, whatever the machine's load, until
            // the test has made its point.
            if let Some(gate) = &self.hold {
                gate.wait();
            }
        }
        if let ProgressEvent::PhaseStarted {
            phase: Phase::Download,
        } = event
            && let Some(p) = &self.wifi_at_download
        {
            p.set(wifi());
        }
    }
}

struct Phone {
    name: &'static str,
    dir: PathBuf,
    platform: Arc<VirtualPlatform>,
    engine: Arc<Engine>,
    area: &'static str,
    profile: String,
    clock: Arc<FakeClock>,
}

fn options(clock: &Arc<FakeClock>) -> SessionOptions {
    SessionOptions {
        clock: clock.clone(),
        upload_retry: RetryPolicy {
            attempts: 2,
            base_delay: StdDuration::from_millis(5),
            max_delay: StdDuration::from_millis(10),
            request_timeout: StdDuration::from_secs(20),
        },
        ..SessionOptions::default()
    }
}

impl Phone {
    fn open(
        name: &'static str,
        os: &'static str,
        root: &Path,
        profile: &str,
        area: &'static str,
        clock: &Arc<FakeClock>,
    ) -> Self {
        let dir = root.join(name);
        let platform = VirtualPlatform::new(os);
        let engine = Self::engine(&dir, &platform, profile, clock);
        // A fresh install: default settings, except what a citizen changes on the
        // screen (the small budgets keep the week fast on loopback).
        let mut s = engine.settings();
        assert!(s.server.url.is_empty(), "no server in the default settings");
        s.max_megabytes = 3;
        s.max_seconds = 2;
        engine.update_settings(s).expect("settings");
        let area_set = engine.parse_area(area.to_owned()).expect("area");
        engine.set_area(area_set).expect("set area");
        Self {
            name,
            dir,
            platform,
            engine,
            area,
            profile: profile.to_owned(),
            clock: clock.clone(),
        }
    }

    fn engine(
        dir: &Path,
        platform: &Arc<VirtualPlatform>,
        profile: &str,
        clock: &Arc<FakeClock>,
    ) -> Arc<Engine> {
        Engine::with_options(
            EngineConfig {
                data_dir: dir.to_string_lossy().into_owned(),
                profile_json: Some(profile.to_owned()),
            },
            platform.clone(),
            options(clock),
        )
        .expect("engine")
    }

    /// The app is killed and started again: a new engine on the same directory.
    fn reopen(&mut self) {
        self.engine = Self::engine(&self.dir, &self.platform, &self.profile, &self.clock);
    }

    async fn measure(&self, listener: Listener) -> Result<Measurement, IspeedError> {
        self.engine.measure(None, Arc::new(listener)).await
    }
}

/// What the week should leave at the collector, per local day and area label.
#[derive(Default)]
struct Expected {
    /// (date, hamlet label) -> (participants, counted samples, not counted).
    rows: BTreeMap<(NaiveDate, String), (BTreeSet<&'static str>, u32, u32)>,
    /// Per phone, per date: counted samples.
    per_phone: BTreeMap<(&'static str, NaiveDate), u32>,
}

impl Expected {
    fn add(&mut self, phone: &Phone, m: &Measurement) {
        let at: DateTime<Utc> = m.started_at.into();
        let date = at.with_timezone(&Ho_Chi_Minh).date_naive();
        let label = phone.area.replace('/', " / ");
        let row = self.rows.entry((date, label)).or_default();
        if m.valid && m.network.transport == Transport::Cellular {
            row.0.insert(phone.name);
            row.1 += 1;
            *self.per_phone.entry((phone.name, date)).or_default() += 1;
        } else {
            row.2 += 1;
        }
    }
}

fn local(date: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    Ho_Chi_Minh
        .from_local_datetime(&date.and_hms_opt(h, m, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// The example profile, pointed at the loopback servers.
fn profile(server: &str, collector: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/ispeed-vn.json"),
    )
    .expect("the example profile");
    let mut doc: Value = serde_json::from_str(&text).expect("JSON");
    doc["servers"] = serde_json::json!([
        { "name": "reference (loopback)", "url": server, "protocol": "ispeed" },
        // A listed server that is down: ranking must skip it.
        { "name": "down", "url": "http://127.0.0.1:9/", "protocol": "ispeed" }
    ]);
    doc["collector"] = collector.into();
    doc.to_string()
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if done().await {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_week_on_three_virtual_phones() {
    let root = tempfile::tempdir().expect("tempdir");
    let server = ispeed_server::spawn(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        ServerConfig::new(LinkProfile {
            down_mbps: None,
            up_mbps: None,
            rtt_ms: 0,
        }),
    )
    .await
    .expect("reference server");
    let collector = start_collector(root.path()).await;
    let profile = profile(&server.url(), &collector.url);
    let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let clock = Arc::new(FakeClock::new(local(monday, 0, 5)));

    let auto = Phone::open("auto", "android", root.path(), &profile, AREA_AUTO, &clock);
    let mut s = auto.engine.settings();
    s.auto_measure = true;
    auto.engine.update_settings(s).expect("auto on");
    let mut iphone = Phone::open("iphone", "ios", root.path(), &profile, AREA_IPHONE, &clock);
    let manual = Phone::open(
        "manual",
        "android",
        root.path(),
        &profile,
        AREA_MANUAL,
        &clock,
    );

    let mut expected = Expected::default();
    let mut auto_next = clock.now();
    let mut busy_seen = false;
    let mut killed = false;
    let mut wifi_sample = None;

    for day in 0..DAYS {
        let date = monday + Duration::days(i64::from(day));
        let next_day = local(date + Duration::days(1), 0, 0);
        collector
            .down
            .store(day == COLLECTOR_DOWN_DAY, Ordering::SeqCst);
        clock.set(local(date, 0, 5).max(clock.now()));

        // The iPhone re-plans its reminders as the day begins (a background refresh).
        let plan = iphone.engine.refresh_routine().await.expect("routine");
        assert!(
            plan.reminders.len() >= 18,
            "a week of reminders: {}",
            plan.reminders.len()
        );
        let today: Vec<DateTime<Utc>> = plan
            .reminders
            .iter()
            .map(|r| DateTime::<Utc>::from(r.at))
            .filter(|&at| at < next_day)
            .collect();
        assert_eq!(today.len(), 3, "day {day}: three reminders today");
        assert_eq!(plan.reminders[0].text_key, "reminder_first");

        // Fixed events of the day, in time order: the iPhone 5 minutes after each
        // reminder, the manual phone at noon.
        let mut fixed: Vec<(DateTime<Utc>, &str)> = today
            .iter()
            .map(|&at| (at + Duration::minutes(5), "iphone"))
            .collect();
        fixed.push((local(date, 12, 0), "manual"));
        fixed.sort();
        let mut fixed = fixed.into_iter().peekable();

        loop {
            let next_fixed = fixed.peek().map(|e| e.0);
            let auto_due = auto_next < next_day;
            let take_auto = auto_due && next_fixed.is_none_or(|f| auto_next <= f);
            if take_auto {
                clock.set(auto_next.max(clock.now()));
                let decision = auto.engine.auto_decision().expect("decision");
                let report = if day >= TAP_DAY && !busy_seen && decision.run {
                    // The user taps "measure" while the worker measures.
                    let gate = Arc::new(Gate::default());
                    let listener = Arc::new(Listener {
                        hold: Some(gate.clone()),
                        ..Listener::default()
                    });
                    let started = listener.started.clone();
                    let wake = auto.engine.wake(listener);
                    let tap = async {
                        started.notified().await;
                        let tapped = auto.measure(Listener::default()).await;
                        gate.release();
                        tapped
                    };
                    let (report, tap) = tokio::join!(wake, tap);
                    let err = tap.expect_err("a second measurement must wait");
                    assert!(matches!(err, IspeedError::Busy { .. }), "{err:?}");
                    assert_eq!(err.code(), "busy");
                    busy_seen = true;
                    report
                } else {
                    auto.engine.wake(Arc::new(Listener::default())).await
                };
                // The day the collector is down, the wake's upload fails (once: the
                // backoff defers the next runs); nothing else may fail.
                let collector_down =
                    day == COLLECTOR_DOWN_DAY && report.error_code.as_deref() == Some("collector");
                assert!(
                    report.error_code.is_none() || collector_down,
                    "auto wake on day {day}: {report:?}"
                );
                if let Some(m) = &report.measurement {
                    expected.add(&auto, m);
                }
                let next: DateTime<Utc> = report.next_wake_at.expect("auto is on").into();
                assert!(next > clock.now(), "the next wake is in the future");
                auto_next = next;
                continue;
            }
            let Some((at, who)) = fixed.next() else { break };
            clock.set(at.max(clock.now()));
            match who {
                "iphone" if day == KILL_DAY && !killed => {
                    // The collector stores the document, then the connection hangs;
                    // the app is killed before the answer and opened again.
                    collector.hang_after_store.store(true, Ordering::SeqCst);
                    let before = collector.count().await;
                    let pending_before = iphone.engine.history(1000).expect("history").len();
                    {
                        let measuring = iphone.measure(Listener::default());
                        tokio::select! {
                            r = measuring => panic!("the upload should hang: {r:?}"),
                            () = wait_for("the collector to store", async || collector.count().await > before) => {}
                        }
                    }
                    // Killed: every future of the app dropped with it.
                    collector.hang_after_store.store(false, Ordering::SeqCst);
                    iphone.reopen();
                    let history = iphone.engine.history(1000).expect("history");
                    assert_eq!(
                        history.len(),
                        pending_before + 1,
                        "stored before the upload"
                    );
                    expected.add(&iphone, &history[0]);
                    killed = true;
                    let plan = iphone.engine.refresh_routine().await.expect("routine");
                    assert_eq!(plan.pending, 0, "sent again after reopening");
                }
                "iphone" => {
                    let m = iphone.measure(Listener::default()).await.expect("iphone");
                    assert!(m.valid, "{:?}", m.invalid_reason);
                    expected.add(&iphone, &m);
                    // Measuring re-plans (the app is in the foreground).
                    iphone.engine.refresh_routine().await.expect("routine");
                }
                "manual" if day == WIFI_DAY => {
                    let listener = Listener {
                        wifi_at_download: Some(manual.platform.clone()),
                        ..Listener::default()
                    };
                    let m = manual.measure(listener).await.expect("kept");
                    assert!(!m.valid, "Wi-Fi came up: invalid");
                    expected.add(&manual, &m);
                    wifi_sample = Some(m.id.clone());
                    manual.platform.set(cellular());
                }
                _ => {
                    let m = manual.measure(Listener::default()).await.expect("manual");
                    assert!(m.valid, "{:?}", m.invalid_reason);
                    expected.add(&manual, &m);
                }
            }
        }
        if day == COLLECTOR_DOWN_DAY {
            // Nothing of the day reached the collector; every phone holds it queued.
            let counts = collector.progress(date).await;
            assert!(counts.is_empty(), "the collector was down: {counts:?}");
        }
    }
    assert!(
        busy_seen,
        "no auto wake from day {TAP_DAY} on measured: the tap never came"
    );
    assert!(killed, "the kill day's iPhone measurement never ran");
    assert!(
        wifi_sample.is_some(),
        "the Wi-Fi day's manual measurement never ran"
    );

    // The end of the week: each app flushes what is left (the next wake, the next
    // foreground), then the collector is read.
    for phone in [&auto, &iphone, &manual] {
        let report = phone.engine.flush_uploads().await.expect("flush");
        assert_eq!(report.remaining, 0, "{}", phone.name);
    }

    // Every stored sample is at the collector, once.
    let mut ids = BTreeSet::new();
    for phone in [&auto, &iphone, &manual] {
        for m in phone.engine.history(10_000).expect("history") {
            assert!(
                collector.holds(&m.id).await,
                "{} sample {} missing",
                phone.name,
                m.id
            );
            assert!(ids.insert(m.id.clone()), "one id, one sample");
        }
    }
    assert_eq!(
        collector.count().await,
        ids.len() as u64,
        "nothing stored twice"
    );

    // The week as the scenario implies it.
    for day in 0..DAYS {
        let date = monday + Duration::days(i64::from(day));
        let iphone_n = expected
            .per_phone
            .get(&("iphone", date))
            .copied()
            .unwrap_or(0);
        assert_eq!(iphone_n, 3, "the iPhone measured three times on day {day}");
        let manual_n = expected
            .per_phone
            .get(&("manual", date))
            .copied()
            .unwrap_or(0);
        assert_eq!(
            manual_n,
            u32::from(day != WIFI_DAY),
            "manual phone, day {day}"
        );
        let auto_n = expected
            .per_phone
            .get(&("auto", date))
            .copied()
            .unwrap_or(0);
        assert!(auto_n <= 3, "auto-measure ran {auto_n} times on day {day}");
    }
    let auto_week: u32 = expected
        .per_phone
        .iter()
        .filter(|((p, _), _)| *p == "auto")
        .map(|(_, n)| n)
        .sum();
    // 13 active hours a day at a mean spacing of 8: about 1.6 a day.
    assert!(
        auto_week >= DAYS / 2,
        "auto-measure ran {auto_week} times in the week"
    );
    // ... and the collector counts exactly that, per day and hamlet, and per commune.
    let mut observed_total = 0;
    for day in 0..DAYS {
        let date = monday + Duration::days(i64::from(day));
        let got = collector.progress(date).await;
        let mut communes: BTreeMap<String, (BTreeSet<&str>, u32, u32)> = BTreeMap::new();
        for ((d, label), (people, samples, not_counted)) in &expected.rows {
            if *d != date {
                continue;
            }
            let want = (people.len() as u32, *samples, *not_counted);
            assert_eq!(got.get(label), Some(&want), "day {day}, {label}");
            let commune = label.rsplit_once(" / ").unwrap().0.to_owned();
            let c = communes.entry(commune).or_default();
            c.0.extend(people.iter().copied());
            c.1 += samples;
            c.2 += not_counted;
            observed_total += samples + not_counted;
        }
        let hamlets = expected.rows.keys().filter(|(d, _)| *d == date).count();
        assert_eq!(got.len(), hamlets + communes.len(), "day {day}: {got:?}");
        for (commune, (people, samples, not_counted)) in communes {
            let want = (people.len() as u32, samples, not_counted);
            assert_eq!(got.get(&commune), Some(&want), "day {day}, {commune}");
        }
    }
    assert_eq!(observed_total as usize, ids.len());
    eprintln!(
        "virtual phone week: {} samples at the collector ({auto_week} auto), counted as expected",
        ids.len()
    );
    server.stop().await;
}
