//! Unit tests of the campaign count on a collector file: reading documents loosely,
//! area rows, spelling, day boundaries, back-filling. The simulated day over HTTP is
//! in `cli/tests/campaign.rs`.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use serde_json::json;

use super::*;
use crate::store::sqlite::{CollectorError, SqliteStore, backfill, progress};

/// A SQLite store with the campaign settings its counts use.
struct Fixture {
    store: SqliteStore,
    config: CampaignConfig,
}

impl Fixture {
    fn open(path: &Path) -> Result<Self, CollectorError> {
        Ok(Self {
            store: SqliteStore::open(path)?,
            config: CampaignConfig::lab(),
        })
    }

    fn with_campaign(mut self, config: CampaignConfig) -> Self {
        self.config = config;
        self
    }

    fn campaign(&self) -> &CampaignConfig {
        &self.config
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.store.with_conn(f)
    }

    fn insert(&self, id: Uuid, document: &str) -> Result<crate::Inserted, String> {
        let doc = crate::ingest::accept(document.as_bytes()).map_err(|r| r.message)?;
        assert_eq!(doc.id, id);
        self.store.insert(&doc).map_err(|e| e.to_string())
    }
}

struct TempCollector(PathBuf);

impl TempCollector {
    fn new(tag: &str) -> Self {
        Self(std::env::temp_dir().join(format!("ispeed-campaign-{tag}-{}", Uuid::new_v4())))
    }

    fn db(&self) -> PathBuf {
        self.0.join("collector.db")
    }
}

impl Drop for TempCollector {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A document as the core writes it, reduced to what the count reads.
fn doc(
    install: Option<Uuid>,
    area: Value,
    started_at: &str,
    platform: &str,
    mode: Option<&str>,
    transport: &str,
    valid: bool,
) -> (Uuid, String) {
    let id = Uuid::new_v4();
    let participant = install.map(|i| json!({ "install_id": i, "area": area }));
    let d = json!({
        "schema": "ispeed.result/1", "id": id, "started_at": started_at,
        "network": { "transport": transport },
        "device": { "platform": platform, "os_version": "", "model": "", "app_version": "0.1.0" },
        "valid": valid, "participant": participant, "mode": mode,
    });
    (id, d.to_string())
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date literal")
}

fn count_day(c: &Fixture, day: &str, area: Option<&str>) -> Progress {
    c.with_conn(|conn| progress(conn, c.campaign(), date(day), area))
        .expect("count")
}

#[test]
fn channels_follow_platform_and_mode() {
    assert_eq!(Channel::of("android", Some("auto")), Channel::AndroidAuto);
    assert_eq!(
        Channel::of("android", Some("manual")),
        Channel::AndroidManual
    );
    assert_eq!(Channel::of("android", None), Channel::AndroidManual);
    assert_eq!(Channel::of("ios", Some("manual")), Channel::IosManual);
    assert_eq!(Channel::of("ios", None), Channel::IosManual);
    assert_eq!(Channel::of("ios", Some("auto")), Channel::Other);
    assert_eq!(Channel::of("linux", Some("auto")), Channel::Desktop);
    assert_eq!(Channel::of("windows", None), Channel::Desktop);
    assert_eq!(Channel::of("", None), Channel::Other);
}

#[test]
fn an_area_counts_in_its_commune_hamlet_and_organisation() {
    let a = AreaDoc::from_value(&json!({
        "province": "Hà Nội", "district": " Ba  Vì ", "commune": "Tản Lĩnh",
        "hamlet": "Thôn 3", "organisation": "THCS Tản Lĩnh", "extra": 1, "town": 5
    }))
    .expect("area");
    let rows = area_rows(&a);
    assert_eq!(
        rows,
        vec![
            (
                Level::Commune,
                vec!["Hà Nội".into(), "Ba Vì".into(), "Tản Lĩnh".into()]
            ),
            (
                Level::Hamlet,
                vec![
                    "Hà Nội".into(),
                    "Ba Vì".into(),
                    "Tản Lĩnh".into(),
                    "Thôn 3".into()
                ]
            ),
            (
                Level::Organisation,
                vec![
                    "Hà Nội".into(),
                    "Ba Vì".into(),
                    "Tản Lĩnh".into(),
                    "Thôn 3".into(),
                    "THCS Tản Lĩnh".into()
                ]
            ),
        ]
    );
    // Levels that are not text are ignored; an area of only a province counts nowhere.
    assert_eq!(AreaDoc::from_value(&json!({ "commune": 7 })), None);
    let p = AreaDoc::from_value(&json!({ "province": "Hà Nội" })).expect("area");
    assert!(area_rows(&p).is_empty());
    // A huge name is cut, not stored whole.
    let long = AreaDoc::from_value(&json!({ "commune": "x".repeat(10_000) })).expect("area");
    assert_eq!(
        long.commune.map(|c| c.len()),
        Some(ispeed_spec::area::MAX_NAME_CHARS)
    );
}

#[test]
fn spellings_that_differ_only_in_case_spacing_or_unicode_form_are_one_area() {
    // "Tản Lĩnh" precomposed (NFC) and with combining accents (NFD).
    let nfc = "Tản Lĩnh";
    let nfd = "Ta\u{0309}n Li\u{0303}nh";
    assert_ne!(nfc, nfd);
    assert_eq!(normalise(nfc), normalise(nfd));
    assert_eq!(normalise(" TẢN   lĩnh "), normalise(nfc));
    let tc = TempCollector::new("spelling");
    let c = Fixture::open(&tc.db()).expect("open");
    for (name, install) in [(nfc, 1u128), (nfc, 2), (nfd, 3), ("tản  lĩnh", 4)] {
        let (id, d) = doc(
            Some(Uuid::from_u128(install)),
            json!({ "commune": name }),
            "2026-05-04T03:00:00Z",
            "android",
            Some("auto"),
            "cellular",
            true,
        );
        c.insert(id, &d).expect("insert");
    }
    let p = count_day(&c, "2026-05-04", None);
    assert_eq!(p.areas.len(), 1, "{:?}", p.areas);
    assert_eq!(p.areas[0].participants, 4);
    // The commonest spelling is shown.
    assert_eq!(p.areas[0].label, nfc);
    // The filter ignores case and accents' encoding too.
    assert_eq!(count_day(&c, "2026-05-04", Some("TẢN LĨNH")).areas.len(), 1);
    assert_eq!(count_day(&c, "2026-05-04", Some(nfd)).areas.len(), 1);
}

#[test]
fn days_are_cut_at_local_midnight_whatever_the_upload_time() {
    let tc = TempCollector::new("midnight");
    let c = Fixture::open(&tc.db()).expect("open");
    let area = json!({ "commune": "Tản Lĩnh" });
    // Vietnam is UTC+7: local 4 May is 3 May 17:00Z .. 4 May 17:00Z.
    for (t, install) in [
        ("2026-05-03T16:59:59.999Z", 1u128), // 23:59:59.999 on 3 May
        ("2026-05-03T17:00:00Z", 2),         // 00:00 on 4 May
        ("2026-05-04T23:30:00+07:00", 3),    // written with an offset
        ("2026-05-04T17:00:00Z", 4),         // 00:00 on 5 May
    ] {
        let (id, d) = doc(
            Some(Uuid::from_u128(install)),
            area.clone(),
            t,
            "ios",
            Some("manual"),
            "cellular",
            true,
        );
        c.insert(id, &d).expect("insert");
    }
    let participants = |day| count_day(&c, day, None).totals.participants;
    assert_eq!(
        (
            participants("2026-05-03"),
            participants("2026-05-04"),
            participants("2026-05-05")
        ),
        (1, 2, 1)
    );
    // In another configured zone the same samples fall on other days.
    let utc = CampaignConfig {
        time_zone: chrono_tz::UTC,
        ..CampaignConfig::lab()
    };
    let c = Fixture::open(&tc.db()).expect("reopen").with_campaign(utc);
    assert_eq!(
        (
            participants_in(&c, "2026-05-03"),
            participants_in(&c, "2026-05-04")
        ),
        (2, 2)
    );
}

fn participants_in(c: &Fixture, day: &str) -> u32 {
    count_day(c, day, None).totals.participants
}

#[test]
fn a_daylight_saving_day_is_counted_whole() {
    // Europe/Berlin springs forward on 29 March 2026: a 23-hour day.
    let cfg = CampaignConfig {
        time_zone: chrono_tz::Europe::Berlin,
        ..CampaignConfig::lab()
    };
    let from = day_start(cfg.time_zone, date("2026-03-29"));
    let to = day_start(cfg.time_zone, date("2026-03-30"));
    assert_eq!((to - from).num_hours(), 23);
    assert_eq!(from.to_rfc3339(), "2026-03-28T23:00:00+00:00");
}

#[test]
fn targets_are_configurable_per_level() {
    let tc = TempCollector::new("targets");
    let cfg = CampaignConfig {
        commune_target: 2,
        hamlet_target: 1,
        organisation_target: Some(5),
        ..CampaignConfig::lab()
    };
    let c = Fixture::open(&tc.db()).expect("open").with_campaign(cfg);
    for install in 1..=2u128 {
        let (id, d) = doc(
            Some(Uuid::from_u128(install)),
            json!({ "commune": "A", "hamlet": "H", "organisation": "School" }),
            "2026-05-04T03:00:00Z",
            "android",
            None,
            "cellular",
            true,
        );
        c.insert(id, &d).expect("insert");
    }
    let p = count_day(&c, "2026-05-04", None);
    let got: Vec<(Level, Option<u32>, Option<bool>)> =
        p.areas.iter().map(|a| (a.level, a.target, a.met)).collect();
    assert_eq!(
        got,
        vec![
            (Level::Commune, Some(2), Some(true)),
            (Level::Hamlet, Some(1), Some(true)),
            (Level::Organisation, Some(5), Some(false)),
        ]
    );
    // Without an organisation target there is no verdict for it.
    let c = Fixture::open(&tc.db())
        .expect("reopen")
        .with_campaign(CampaignConfig::default());
    let p = count_day(&c, "2026-05-04", None);
    assert_eq!((p.areas[2].target, p.areas[2].met), (None, None));
    assert_eq!(
        (p.areas[0].target, p.areas[0].met),
        (Some(300), Some(false))
    );
}

#[test]
fn documents_stored_before_the_count_existed_are_indexed_on_open() {
    let tc = TempCollector::new("backfill");
    std::fs::create_dir_all(&tc.0).expect("mkdir");
    let (id, d) = doc(
        Some(Uuid::from_u128(9)),
        json!({ "commune": "Ba Trại" }),
        "2026-05-04T03:00:00Z",
        "android",
        Some("auto"),
        "cellular",
        true,
    );
    {
        // A collector file as the server wrote it before the campaign count.
        let conn = Connection::open(tc.db()).expect("create");
        conn.execute_batch(
            "PRAGMA application_id = 1767075907;
             CREATE TABLE results (id TEXT PRIMARY KEY NOT NULL, received_at INTEGER NOT NULL,
                                   document TEXT NOT NULL) STRICT;",
        )
        .expect("old schema");
        conn.execute(
            "INSERT INTO results VALUES (?1, 0, ?2), ('not-json', 0, '<html>')",
            params![id.to_string(), d],
        )
        .expect("old rows");
    }
    let c = Fixture::open(&tc.db()).expect("open old file");
    let p = count_day(&c, "2026-05-04", None);
    assert_eq!(p.totals.participants, 1);
    assert_eq!(p.areas[0].split.android_auto.participants, 1);
    // Every document has its row now, unreadable ones included: nothing is read twice.
    let mut conn = Connection::open(tc.db()).expect("open raw");
    assert_eq!(backfill(&mut conn).expect("backfill"), 0);
}

#[test]
fn a_bad_date_is_refused_with_the_expected_form() {
    let cfg = CampaignConfig::default();
    let q = |d: &str| ProgressQuery {
        date: Some(d.to_owned()),
        area: Some("  ".to_owned()),
    };
    assert_eq!(
        parse_query(&cfg, &q("2026-05-04")),
        Ok((date("2026-05-04"), None))
    );
    for bad in ["04/05/2026", "2026-02-30", "today"] {
        let err = parse_query(&cfg, &q(bad)).expect_err(bad);
        assert!(err.contains("YYYY-MM-DD"), "{err}");
    }
    assert_eq!(
        parse_query(&cfg, &ProgressQuery::default()).map(|(d, _)| d),
        Ok(today(&cfg))
    );
}

#[test]
fn the_page_escapes_names_and_carries_every_figure() {
    let tc = TempCollector::new("page");
    let c = Fixture::open(&tc.db()).expect("open");
    let (id, d) = doc(
        Some(Uuid::from_u128(1)),
        json!({ "commune": "<script>alert(1)</script> & Co" }),
        "2026-05-04T03:00:00Z",
        "android",
        Some("auto"),
        "cellular",
        true,
    );
    c.insert(id, &d).expect("insert");
    let html = page::render(&count_day(&c, "2026-05-04", None));
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"));
    assert!(html.contains("<td data-field=\"participants\">1</td>"));
    assert!(html.contains("<td data-field=\"split.android_auto.participants\">1</td>"));
    assert!(html.contains("lang=\"vi\""));
    assert!(html.len() < 16 * 1024, "{} bytes", html.len());
}

#[test]
fn only_attested_samples_count_unless_a_lab_counts_unattested_ones() {
    use ispeed_spec::attestation::Verdict;
    let (_, d) = doc(
        Some(Uuid::new_v4()),
        json!({ "commune": "Tản Lĩnh" }),
        "2026-05-03T10:00:00+07:00",
        "android",
        Some("auto"),
        "cellular",
        true,
    );
    let facts = SampleFacts::of(&serde_json::from_str(&d).expect("json"));
    let campaign = CampaignConfig::default();
    for (verdict, in_campaign, in_lab) in [
        (Verdict::Attested, true, true),
        (Verdict::Unattested, false, true),
        (Verdict::Rejected, false, false),
    ] {
        let f = SampleFacts {
            verdict,
            ..facts.clone()
        };
        assert_eq!(f.counts(&campaign), in_campaign, "{verdict:?}");
        assert_eq!(
            f.counts(&CampaignConfig::lab()),
            in_lab,
            "{verdict:?} in a lab"
        );
        let invalid = SampleFacts { valid: false, ..f };
        assert!(!invalid.counts(&CampaignConfig::lab()));
    }
}
