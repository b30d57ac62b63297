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

pub mod official;
pub mod page;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
pub use ispeed_spec::area::AreaDoc;
use ispeed_spec::attestation::{RejectReason, Verdict};
pub use ispeed_spec::campaign::{
    AreaProgress, Channel, ChannelCount, Counts, Level, Progress, ProgressQuery, Split,
};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

/// Time zone of the campaign's days unless configured: Vietnam, where it started.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Ho_Chi_Minh";

/// Participants a commune must reach unless configured.
pub const DEFAULT_COMMUNE_TARGET: u32 = 300;

/// Participants a hamlet must reach unless configured.
pub const DEFAULT_HAMLET_TARGET: u32 = 30;

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
    /// Count samples without a receipt too (`--count-unattested`: labs, never a
    /// campaign); off by default, so only attested samples make participants.
    pub count_unattested: bool,
}

impl Default for CampaignConfig {
    fn default() -> Self {
        Self {
            time_zone: chrono_tz::Asia::Ho_Chi_Minh,
            commune_target: DEFAULT_COMMUNE_TARGET,
            hamlet_target: DEFAULT_HAMLET_TARGET,
            organisation_target: None,
            count_unattested: false,
        }
    }
}

impl CampaignConfig {
    /// The default campaign counting unattested samples too, as `--count-unattested`
    /// does: for labs, and for tests whose servers sign nothing.
    pub fn lab() -> Self {
        Self {
            count_unattested: true,
            ..Self::default()
        }
    }

    /// Target of an area at `level`.
    pub fn target(&self, level: Level) -> Option<u32> {
        match level {
            Level::Commune => Some(self.commune_target),
            Level::Hamlet => Some(self.hamlet_target),
            Level::Organisation => self.organisation_target,
        }
    }
}

impl CampaignConfig {
    /// The configuration of a time zone's IANA name and the targets, or why the zone
    /// is not one.
    pub fn from_settings(
        time_zone: &str,
        commune_target: u32,
        hamlet_target: u32,
        organisation_target: Option<u32>,
    ) -> Result<Self, String> {
        let time_zone = time_zone.parse::<Tz>().map_err(|_| {
            format!(
                "--campaign-tz {time_zone:?} is not an IANA time zone (e.g. {DEFAULT_TIME_ZONE})"
            )
        })?;
        Ok(Self {
            time_zone,
            commune_target,
            hamlet_target,
            organisation_target,
            count_unattested: false,
        })
    }
}

/// The report rows an area counts in, with their display paths: its commune, its
/// hamlet, its organisation, each where given. Each path extends the one before, so
/// the last is the sample's deepest row (its "leaf").
pub fn area_rows(area: &AreaDoc) -> Vec<(Level, Vec<String>)> {
    let admin: Vec<(Option<Level>, &String)> = [
        (None, &area.province),
        (None, &area.district),
        (Some(Level::Commune), &area.commune),
        (Some(Level::Hamlet), &area.hamlet),
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
    if let Some(org) = &area.organisation {
        let mut path: Vec<String> = admin.iter().map(|(_, v)| (*v).clone()).collect();
        path.push(org.clone());
        rows.push((Level::Organisation, path));
    }
    rows
}

/// A name as compared: Unicode NFC (Vietnamese keyboards send both composed and
/// combining accents), lower case, single spaces.
pub fn normalise(name: &str) -> String {
    name.nfc()
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one stored document contributes to the count, read once when it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleFacts {
    /// `started_at`, Unix ms UTC; `None` when unreadable (the sample is in no day).
    pub started_at: Option<i64>,
    /// `participant.install_id`, a lower-case uuid.
    pub install_id: Option<String>,
    /// `participant.area`.
    pub area: Option<AreaDoc>,
    /// `device.platform`, lower case (`""` unknown).
    pub platform: String,
    /// `mode`: `auto` | `manual`.
    pub mode: Option<String>,
    /// `network.transport` (`""` unknown).
    pub transport: String,
    /// The document's `valid`.
    pub valid: bool,
    /// The collector's verdict (`unattested` until [`crate::verdict`] judged it).
    pub verdict: Verdict,
    /// Why it was rejected, when it was.
    pub reason: Option<RejectReason>,
    /// The receipt's address block, when a receipt verified.
    pub client_block: Option<String>,
}

impl SampleFacts {
    /// Reads the fields of `doc` the count needs; anything missing or malformed reads
    /// as absent (such a sample then simply does not count).
    pub fn of(doc: &Value) -> Self {
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
                .and_then(AreaDoc::from_value)
                .map(official::canonical),
            platform: text(doc.pointer("/device/platform"))
                .unwrap_or_default()
                .to_lowercase(),
            mode: text(doc.get("mode")).filter(|m| m == "auto" || m == "manual"),
            transport: text(doc.pointer("/network/transport")).unwrap_or_default(),
            valid: doc.get("valid").and_then(Value::as_bool) == Some(true),
            verdict: Verdict::Unattested,
            reason: None,
            client_block: None,
        }
    }

    /// The same facts with the collector's judgement.
    pub fn judged(self, j: &crate::verdict::Judgement) -> Self {
        Self {
            verdict: j.verdict,
            reason: j.reason,
            client_block: j.client_block.clone(),
            ..self
        }
    }

    /// Whether the sample counts: the one rule every count and statistic applies. A
    /// valid sample over cellular, attested by a trusted server's receipt (or merely
    /// unattested, where `config.count_unattested`); a rejected one never.
    pub fn counts(&self, config: &CampaignConfig) -> bool {
        let trusted = match self.verdict {
            Verdict::Attested => true,
            Verdict::Unattested => config.count_unattested,
            Verdict::Rejected => false,
        };
        trusted && self.valid && self.transport == "cellular"
    }
}

/// The instant the wall clock in `tz` first shows `date` (after a daylight-saving
/// gap at midnight, the first instant that exists).
pub fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
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
pub fn path_contains(path: &[String], needle: &[String]) -> bool {
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
    rejections: BTreeMap<RejectReason, u32>,
}

/// First instants of `date` and of the day after, in the configured zone.
pub fn day_bounds(config: &CampaignConfig, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        day_start(config.time_zone, date),
        day_start(config.time_zone, date.succ_opt().unwrap_or(date)),
    )
}

/// The local day a sample measured at `started_at` (Unix ms) belongs to.
pub fn local_day(config: &CampaignConfig, started_at_ms: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp_millis(started_at_ms)
        .map(|t| t.with_timezone(&config.time_zone).date_naive())
}

/// An area filter as normalised names (`Ba Vì/Tản Lĩnh` becomes two names; a
/// commune code, `5755`, its official province and commune).
pub fn needle(area: Option<&str>) -> Vec<String> {
    let official = area.and_then(|a| official::filter_path(a).ok().flatten());
    official
        .as_deref()
        .or(area)
        .unwrap_or_default()
        .split('/')
        .map(normalise)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Counts the day `date` from the facts of its samples (every sample measured that
/// local day), keeping the areas whose path contains `area`: the count of a store
/// that keeps one row per sample.
pub fn tally_day(
    config: &CampaignConfig,
    date: NaiveDate,
    area: Option<&str>,
    rows: impl IntoIterator<Item = SampleFacts>,
) -> Progress {
    let (from, to) = day_bounds(config, date);
    let needle = needle(area);
    let mut tallies: BTreeMap<(Vec<String>, Level), Tally> = BTreeMap::new();
    let mut totals = Tally::default();
    let mut unassigned = Tally::default();
    for row in rows {
        let channel = Channel::of(&row.platform, row.mode.as_deref());
        let area_rows = row.area.as_ref().map(area_rows).unwrap_or_default();
        if area_rows.is_empty() {
            // No area, or one naming no commune, hamlet or organisation.
            if needle.is_empty() {
                add(&mut unassigned, &row, channel, config);
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
        add(&mut totals, &row, channel, config);
        for (key, level, path) in keyed {
            let tally = tallies.entry((key, level)).or_default();
            *tally.spellings.entry(path).or_default() += 1;
            add(tally, &row, channel, config);
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
                received: t.samples + t.not_counted,
                rejected: t.rejections.values().sum(),
                rejections: ispeed_spec::campaign::top_reasons(t.rejections),
            }
        })
        .collect();
    Progress {
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
    }
}

/// A count of things as the report's `u32`, saturating.
pub fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn add(tally: &mut Tally, row: &SampleFacts, channel: Channel, config: &CampaignConfig) {
    if !row.counts(config) {
        tally.not_counted += 1;
        if row.verdict == Verdict::Rejected {
            *tally
                .rejections
                .entry(row.reason.unwrap_or(RejectReason::Other))
                .or_default() += 1;
        }
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

#[cfg(test)]
mod tests;
