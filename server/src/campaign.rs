//! Campaign progress: how many people measured, per area and local day, against the
//! area's target.
//!
//! Communes must each reach a number of participants (300 by default), hamlets 30;
//! officials compile the count every day. Each result document may carry a
//! `participant` (a random install id and the area the participant chose) and a
//! `mode` (`auto` | `manual`). From these the collector answers, for one local day:
//!
//! - per area (every commune, hamlet and organisation named by a sample): the
//!   participants (distinct install ids with at least one valid cellular sample that
//!   day), the valid cellular samples, the samples that do not count (invalid, or not
//!   over cellular), the split by channel (Android auto, Android manual, iOS manual,
//!   desktop, other), and whether the participants reached the target;
//! - totals over the day, and the samples that named no area.
//!
//! A sample belongs to the day on which it was *measured* (`started_at` in the
//! campaign's time zone), whenever it was uploaded: a phone that uploads after midnight
//! does not move its sample to the next day. Duplicate uploads are already stored once
//! by the collector, keyed by the document id.
//!
//! What the count needs is extracted once, when a document is stored, into the
//! `campaign_samples` table beside the documents (and back-filled from documents stored
//! before this table existed), so a day is one index range scan, not a parse of every
//! document ever received. Served as JSON at `GET /v1/campaign/progress` and as a small
//! page for phones at `GET /campaign` ([`page`]).

pub mod page;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::collector::Collector;

/// Time zone of the campaign's days unless configured: Vietnam, where it started.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Ho_Chi_Minh";

/// Participants a commune must reach unless configured.
pub const DEFAULT_COMMUNE_TARGET: u32 = 300;

/// Participants a hamlet must reach unless configured.
pub const DEFAULT_HAMLET_TARGET: u32 = 30;

/// Table of what the count reads from each stored document.
pub(crate) const SCHEMA_SQL: &str = "
CREATE TABLE IF NOT EXISTS campaign_samples (
    id          TEXT PRIMARY KEY NOT NULL,  -- the document's id (results.id)
    started_at  INTEGER,                    -- Unix ms, UTC; NULL when unreadable
    install_id  TEXT,                       -- participant.install_id, NULL when absent
    area        TEXT,                       -- participant.area as JSON, NULL when absent
    platform    TEXT NOT NULL,              -- device.platform, lower-case ('' unknown)
    mode        TEXT,                       -- auto | manual | NULL
    transport   TEXT NOT NULL,              -- network.transport ('' unknown)
    valid       INTEGER NOT NULL            -- the document's `valid`
) STRICT;
CREATE INDEX IF NOT EXISTS campaign_samples_started_at ON campaign_samples (started_at);
";

/// Settings of the campaign count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignConfig {
    /// Zone whose calendar days the count is made in.
    pub time_zone: Tz,
    /// Participants a commune must reach.
    pub commune_target: u32,
    /// Participants a hamlet must reach.
    pub hamlet_target: u32,
    /// Participants an organisation must reach; none by default.
    pub organisation_target: Option<u32>,
}

impl Default for CampaignConfig {
    fn default() -> Self {
        Self {
            time_zone: chrono_tz::Asia::Ho_Chi_Minh,
            commune_target: DEFAULT_COMMUNE_TARGET,
            hamlet_target: DEFAULT_HAMLET_TARGET,
            organisation_target: None,
        }
    }
}

impl CampaignConfig {
    /// Target of an area at `level`.
    pub fn target(&self, level: Level) -> Option<u32> {
        match level {
            Level::Commune => Some(self.commune_target),
            Level::Hamlet => Some(self.hamlet_target),
            Level::Organisation => self.organisation_target,
        }
    }
}

/// Command-line settings of the campaign count, part of `ispeed serve`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct CampaignArgs {
    /// Time zone of the campaign's days (IANA name).
    #[arg(long, value_name = "TZ", default_value = DEFAULT_TIME_ZONE)]
    pub campaign_tz: String,
    /// Participants a commune must reach each day.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_COMMUNE_TARGET)]
    pub campaign_commune_target: u32,
    /// Participants a hamlet must reach each day.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_HAMLET_TARGET)]
    pub campaign_hamlet_target: u32,
    /// Participants an organisation must reach each day (no target without it).
    #[arg(long, value_name = "N")]
    pub campaign_organisation_target: Option<u32>,
}

impl CampaignArgs {
    /// The configuration these arguments describe.
    pub fn config(&self) -> Result<CampaignConfig, String> {
        let time_zone = self.campaign_tz.parse::<Tz>().map_err(|_| {
            format!(
                "--campaign-tz {:?} is not an IANA time zone (e.g. {DEFAULT_TIME_ZONE})",
                self.campaign_tz
            )
        })?;
        Ok(CampaignConfig {
            time_zone,
            commune_target: self.campaign_commune_target,
            hamlet_target: self.campaign_hamlet_target,
            organisation_target: self.campaign_organisation_target,
        })
    }
}

/// Kind of area a row of the report counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Commune, ward or township.
    Commune,
    /// Hamlet, village or residential group.
    Hamlet,
    /// School, office or other organisation.
    Organisation,
}

/// How a sample was taken, for the platform split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// Android, started by auto-measure.
    AndroidAuto,
    /// Android, started by hand (or by an app that did not say).
    AndroidManual,
    /// iPhone, started by hand (iOS has no auto-measure).
    IosManual,
    /// A desktop or laptop (Linux, macOS, Windows), however started.
    Desktop,
    /// Anything else: an unknown platform, or an iPhone claiming auto.
    Other,
}

impl Channel {
    /// Every channel, in report order.
    pub const ALL: [Channel; 5] = [
        Channel::AndroidAuto,
        Channel::AndroidManual,
        Channel::IosManual,
        Channel::Desktop,
        Channel::Other,
    ];

    /// Classifies a document's `device.platform` and `mode`.
    pub fn of(platform: &str, mode: Option<&str>) -> Self {
        match (platform, mode) {
            ("android", Some("auto")) => Channel::AndroidAuto,
            ("android", _) => Channel::AndroidManual,
            ("ios", Some("manual") | None) => Channel::IosManual,
            ("linux" | "macos" | "windows" | "freebsd" | "openbsd" | "netbsd", _) => {
                Channel::Desktop
            }
            _ => Channel::Other,
        }
    }

    /// Key in the JSON `split` object.
    pub fn key(self) -> &'static str {
        match self {
            Channel::AndroidAuto => "android_auto",
            Channel::AndroidManual => "android_manual",
            Channel::IosManual => "ios_manual",
            Channel::Desktop => "desktop",
            Channel::Other => "other",
        }
    }
}

/// Participants and samples of one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelCount {
    /// Distinct installs with a valid cellular sample on this channel.
    pub participants: u32,
    /// Valid cellular samples on this channel.
    pub samples: u32,
}

/// The platform split of an area. A person who measured both by hand and
/// automatically appears in both Android rows, so the participants of the split may add
/// up to more than the area's participants; the samples add up exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Android, auto-measure.
    pub android_auto: ChannelCount,
    /// Android, by hand.
    pub android_manual: ChannelCount,
    /// iPhone, by hand.
    pub ios_manual: ChannelCount,
    /// Desktop harness.
    pub desktop: ChannelCount,
    /// Unknown platform.
    pub other: ChannelCount,
}

impl Split {
    /// The count of `channel`.
    pub fn get(&self, channel: Channel) -> ChannelCount {
        match channel {
            Channel::AndroidAuto => self.android_auto,
            Channel::AndroidManual => self.android_manual,
            Channel::IosManual => self.ios_manual,
            Channel::Desktop => self.desktop,
            Channel::Other => self.other,
        }
    }

    fn get_mut(&mut self, channel: Channel) -> &mut ChannelCount {
        match channel {
            Channel::AndroidAuto => &mut self.android_auto,
            Channel::AndroidManual => &mut self.android_manual,
            Channel::IosManual => &mut self.ios_manual,
            Channel::Desktop => &mut self.desktop,
            Channel::Other => &mut self.other,
        }
    }
}

/// One area's day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaProgress {
    /// What kind of area.
    pub level: Level,
    /// Its names, most general first (province, district, commune, hamlet, or the
    /// organisation last), as most of its participants spelled them.
    pub path: Vec<String>,
    /// The path joined with ` / `, for display.
    pub label: String,
    /// Distinct installs with at least one valid cellular sample this day.
    pub participants: u32,
    /// Valid cellular samples.
    pub samples: u32,
    /// Samples that do not count: invalid (Wi-Fi came up, ...) or not over cellular.
    pub not_counted: u32,
    /// Participants needed, where this level has a target.
    pub target: Option<u32>,
    /// Whether `participants` reached `target`; `None` without a target.
    pub met: Option<bool>,
    /// Who measured how.
    pub split: Split,
}

/// Counts over a set of samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Distinct installs with at least one valid cellular sample.
    pub participants: u32,
    /// Valid cellular samples.
    pub samples: u32,
    /// Samples that do not count.
    pub not_counted: u32,
}

/// The answer of `GET /v1/campaign/progress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The local day counted.
    pub date: NaiveDate,
    /// Zone of that day.
    pub time_zone: String,
    /// First instant of the day, UTC.
    pub from: DateTime<Utc>,
    /// First instant of the next day, UTC.
    pub to: DateTime<Utc>,
    /// The area filter, as given.
    pub area: Option<String>,
    /// Every area matching the filter that had a sample this day, sorted by path
    /// (a commune comes before its hamlets).
    pub areas: Vec<AreaProgress>,
    /// The day's samples matching the filter, each counted once (a sample counts in
    /// its commune and in its hamlet, but once here).
    pub totals: Counts,
    /// Samples of the day that named no area (only without a filter).
    pub unassigned: Counts,
}

/// A day and an optional area, as the query string gives them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProgressQuery {
    /// `YYYY-MM-DD`; today in the campaign's zone when absent.
    pub date: Option<String>,
    /// Part of an area path (`Ba Vì/Tản Lĩnh`, or just `Tản Lĩnh`): keeps the areas
    /// whose path contains these names in this order, ignoring case and spacing.
    pub area: Option<String>,
}

/// An area as a document gives it, read loosely: levels that are not strings are
/// ignored, names trimmed and their spacing collapsed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct AreaDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    province: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    district: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commune: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hamlet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    organisation: Option<String>,
}

/// Longest name kept from a document, in characters; longer ones are cut (a hostile
/// client must not make the report page huge).
const MAX_NAME_CHARS: usize = 120;

impl AreaDoc {
    fn from_value(v: &Value) -> Option<Self> {
        let level = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(|s| {
                    s.split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(MAX_NAME_CHARS)
                        .collect::<String>()
                })
                .filter(|s| !s.is_empty())
        };
        let a = AreaDoc {
            province: level("province"),
            district: level("district"),
            commune: level("commune"),
            hamlet: level("hamlet"),
            organisation: level("organisation"),
        };
        (a != AreaDoc::default()).then_some(a)
    }

    /// The report rows this area counts in, with their display paths: its commune,
    /// its hamlet, its organisation, each where given.
    fn rows(&self) -> Vec<(Level, Vec<String>)> {
        let admin: Vec<(Option<Level>, &String)> = [
            (None, &self.province),
            (None, &self.district),
            (Some(Level::Commune), &self.commune),
            (Some(Level::Hamlet), &self.hamlet),
        ]
        .into_iter()
        .filter_map(|(l, v)| v.as_ref().map(|v| (l, v)))
        .collect();
        let mut rows = Vec::new();
        for (i, (level, _)) in admin.iter().enumerate() {
            if let Some(level) = level {
                rows.push((
                    *level,
                    admin[..=i].iter().map(|(_, v)| (*v).clone()).collect(),
                ));
            }
        }
        if let Some(org) = &self.organisation {
            let mut path: Vec<String> = admin.iter().map(|(_, v)| (*v).clone()).collect();
            path.push(org.clone());
            rows.push((Level::Organisation, path));
        }
        rows
    }
}

/// A name as compared: Unicode NFC (Vietnamese keyboards send both composed and
/// combining accents), lower case, single spaces.
fn normalise(name: &str) -> String {
    name.nfc()
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one stored document contributes to the count.
#[derive(Debug, Clone, PartialEq)]
struct Indexed {
    started_at: Option<i64>,
    install_id: Option<String>,
    area: Option<AreaDoc>,
    platform: String,
    mode: Option<String>,
    transport: String,
    valid: bool,
}

impl Indexed {
    /// Reads the fields of `doc` the count needs; anything missing or malformed reads
    /// as absent (such a sample then simply does not count).
    fn of(doc: &Value) -> Self {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let participant = doc.get("participant");
        Self {
            started_at: text(doc.get("started_at"))
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|t| t.timestamp_millis()),
            install_id: text(participant.and_then(|p| p.get("install_id")))
                .and_then(|s| Uuid::parse_str(&s).ok())
                .map(|u| u.to_string()),
            area: participant
                .and_then(|p| p.get("area"))
                .and_then(AreaDoc::from_value),
            platform: text(doc.pointer("/device/platform"))
                .unwrap_or_default()
                .to_lowercase(),
            mode: text(doc.get("mode")).filter(|m| m == "auto" || m == "manual"),
            transport: text(doc.pointer("/network/transport")).unwrap_or_default(),
            valid: doc.get("valid").and_then(Value::as_bool) == Some(true),
        }
    }

    /// A sample that makes its install a participant.
    fn counts(&self) -> bool {
        self.valid && self.transport == "cellular"
    }
}

/// Adds the count's row of the document `document` stored under `id`, in the caller's
/// transaction (the one that stored the document). A document that is not JSON still
/// gets a row, which never counts, so it is not read again by [`backfill`].
pub(crate) fn index(conn: &Connection, id: &str, document: &str) -> rusqlite::Result<()> {
    let doc: Value = serde_json::from_str(document).unwrap_or(Value::Null);
    let row = Indexed::of(&doc);
    let area = row
        .area
        .as_ref()
        .and_then(|a| serde_json::to_string(a).ok());
    conn.execute(
        "INSERT INTO campaign_samples \
         (id, started_at, install_id, area, platform, mode, transport, valid) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING",
        params![
            id,
            row.started_at,
            row.install_id,
            area,
            row.platform,
            row.mode,
            row.transport,
            row.valid
        ],
    )?;
    Ok(())
}

/// Indexes the documents stored before the count existed (or by an older server);
/// a no-op once every document has its row.
pub(crate) fn backfill(conn: &mut Connection) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let missing: Vec<(String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT id, document FROM results \
             WHERE id NOT IN (SELECT id FROM campaign_samples)",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (id, document) in &missing {
        index(&tx, id, document)?;
    }
    tx.commit()?;
    Ok(missing.len())
}

/// The instant the wall clock in `tz` first shows `date` (after a daylight-saving
/// gap at midnight, the first instant that exists).
fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    (0..=16)
        .find_map(|quarter| {
            tz.from_local_datetime(&(midnight + Duration::minutes(15 * quarter)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// Today in the campaign's zone.
pub fn today(config: &CampaignConfig) -> NaiveDate {
    Utc::now().with_timezone(&config.time_zone).date_naive()
}

/// Reads `query` into a date and a filter, or says what is wrong with it.
pub fn parse_query(
    config: &CampaignConfig,
    query: &ProgressQuery,
) -> Result<(NaiveDate, Option<String>), String> {
    let date = match query
        .date
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        None => today(config),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| format!("date must be YYYY-MM-DD, got {d:?}"))?,
    };
    let area = query
        .area
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned);
    Ok((date, area))
}

/// Whether `needle` (normalised names) occurs in `path` as a contiguous run.
fn path_contains(path: &[String], needle: &[String]) -> bool {
    needle.is_empty() || path.windows(needle.len()).any(|w| w == needle)
}

/// Running count of one report row.
#[derive(Default)]
struct Tally {
    spellings: HashMap<Vec<String>, u32>,
    participants: HashSet<String>,
    samples: u32,
    not_counted: u32,
    channels: HashMap<Channel, (HashSet<String>, u32)>,
}

/// Counts the day `date` (in the configured zone) on `conn`, keeping the areas whose
/// path contains `area`.
pub fn progress(
    conn: &Connection,
    config: &CampaignConfig,
    date: NaiveDate,
    area: Option<&str>,
) -> rusqlite::Result<Progress> {
    let from = day_start(config.time_zone, date);
    let to = day_start(config.time_zone, date.succ_opt().unwrap_or(date));
    let needle: Vec<String> = area
        .unwrap_or_default()
        .split('/')
        .map(normalise)
        .filter(|p| !p.is_empty())
        .collect();
    let mut stmt = conn.prepare(
        "SELECT install_id, area, platform, mode, transport, valid FROM campaign_samples \
         WHERE started_at >= ?1 AND started_at < ?2",
    )?;
    let rows = stmt.query_map(
        params![from.timestamp_millis(), to.timestamp_millis()],
        |r| {
            let area: Option<String> = r.get(1)?;
            Ok(Indexed {
                started_at: None,
                install_id: r.get(0)?,
                area: area.and_then(|a| serde_json::from_str(&a).ok()),
                platform: r.get(2)?,
                mode: r.get(3)?,
                transport: r.get(4)?,
                valid: r.get(5)?,
            })
        },
    )?;

    let mut tallies: BTreeMap<(Vec<String>, Level), Tally> = BTreeMap::new();
    let mut totals = Tally::default();
    let mut unassigned = Tally::default();
    for row in rows {
        let row = row?;
        let channel = Channel::of(&row.platform, row.mode.as_deref());
        let area_rows = row.area.as_ref().map(AreaDoc::rows).unwrap_or_default();
        if area_rows.is_empty() {
            // No area, or one naming no commune, hamlet or organisation.
            if needle.is_empty() {
                add(&mut unassigned, &row, channel);
            }
            continue;
        }
        let keyed: Vec<(Vec<String>, Level, Vec<String>)> = area_rows
            .into_iter()
            .map(|(level, path)| {
                (
                    path.iter().map(|p| normalise(p)).collect::<Vec<String>>(),
                    level,
                    path,
                )
            })
            .filter(|(key, _, _)| path_contains(key, &needle))
            .collect();
        if keyed.is_empty() {
            continue;
        }
        add(&mut totals, &row, channel);
        for (key, level, path) in keyed {
            let tally = tallies.entry((key, level)).or_default();
            *tally.spellings.entry(path).or_default() += 1;
            add(tally, &row, channel);
        }
    }
    // Samples without an area are part of the day's totals too.
    let totals = Counts {
        participants: count(totals.participants.union(&unassigned.participants).count()),
        samples: totals.samples + unassigned.samples,
        not_counted: totals.not_counted + unassigned.not_counted,
    };
    let areas = tallies
        .into_iter()
        .map(|((_, level), t)| {
            let path = t
                .spellings
                .iter()
                // The commonest spelling; ties go to the smallest, so the page is stable.
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(p, _)| p.clone())
                .unwrap_or_default();
            let participants = count(t.participants.len());
            let target = config.target(level);
            let mut split = Split::default();
            for (channel, (people, samples)) in &t.channels {
                *split.get_mut(*channel) = ChannelCount {
                    participants: count(people.len()),
                    samples: *samples,
                };
            }
            AreaProgress {
                level,
                label: path.join(" / "),
                path,
                participants,
                samples: t.samples,
                not_counted: t.not_counted,
                target,
                met: target.map(|n| participants >= n),
                split,
            }
        })
        .collect();
    Ok(Progress {
        date,
        time_zone: config.time_zone.name().to_owned(),
        from,
        to,
        area: area.map(str::to_owned),
        areas,
        totals,
        unassigned: Counts {
            participants: count(unassigned.participants.len()),
            samples: unassigned.samples,
            not_counted: unassigned.not_counted,
        },
    })
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn add(tally: &mut Tally, row: &Indexed, channel: Channel) {
    if !row.counts() {
        tally.not_counted += 1;
        return;
    }
    tally.samples += 1;
    let ch = tally.channels.entry(channel).or_default();
    ch.1 += 1;
    if let Some(id) = &row.install_id {
        tally.participants.insert(id.clone());
        ch.0.insert(id.clone());
    }
}

/// Counts the day the query asks for, off the async threads.
async fn progress_for(
    collector: Arc<Collector>,
    query: ProgressQuery,
) -> Result<Progress, (StatusCode, String)> {
    let config = *collector.campaign();
    let (date, area) = parse_query(&config, &query).map_err(|e| (StatusCode::BAD_REQUEST, e))?;
    tokio::task::spawn_blocking(move || {
        collector.with_conn(|c| progress(c, &config, date, area.as_deref()))
    })
    .await
    .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read the collector database: {e}"),
        )
    })
}

/// `GET /v1/campaign/progress?date=YYYY-MM-DD[&area=...]`.
pub async fn progress_json(
    State(collector): State<Arc<Collector>>,
    Query(query): Query<ProgressQuery>,
) -> Response {
    match progress_for(collector, query).await {
        Ok(p) => axum::Json(p).into_response(),
        Err((status, message)) => (status, axum::Json(json!({ "error": message }))).into_response(),
    }
}

/// `GET /campaign?date=YYYY-MM-DD[&area=...]`: the same count as a page.
pub async fn progress_page(
    State(collector): State<Arc<Collector>>,
    Query(query): Query<ProgressQuery>,
) -> Response {
    let shown = query.clone();
    let html = match progress_for(collector, query).await {
        Ok(p) => Ok(page::render(&p)),
        Err((status, message)) => Err((status, page::render_error(&shown, &message))),
    };
    let headers = [
        (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (axum::http::header::CACHE_CONTROL, "no-store"),
    ];
    match html {
        Ok(body) => (headers, body).into_response(),
        Err((status, body)) => (status, headers, body).into_response(),
    }
}

#[cfg(test)]
mod tests;
