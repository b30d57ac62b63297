//! Quality statistics: per official area (commune and province) × operator
//! (MCC-MNC) × radio technology (4G, 5G) × period (local day and month), the
//! samples, the distinct participants, the 10th/50th/90th percentiles of download,
//! upload and idle latency, and the share of samples at or above a speed threshold.
//!
//! How they are kept, so that a query costs the same at a thousand or ten million
//! samples and uploads do not queue on shared rows:
//!
//! 1. when a document is stored, a sample that counts ([`SampleFacts::counts`], the
//!    one predicate shared with the campaign count) and names an official commune,
//!    an operator and 4G or 5G is written as a [`StatSample`] row, twice: into
//!    `stats_samples` (kept: the open data) and into `stats_pending` (a queue), in the
//!    transaction that stores the document. Two inserts, no update: no hot row;
//! 2. a fold ([`rollup`]) drains the queue in batches into `stats_cells`, one row per
//!    cell holding the counters and three DDSketches (`sketches-ddsketch`, relative
//!    error [`RELATIVE_ERROR`]); distinct participants through a unique key
//!    (`stats_members`). Folds run in the background every [`FOLD_EVERY`] and before
//!    a query;
//! 3. a query reads the cells of one area and period and turns each sketch into
//!    percentiles ([`rollup::publish`]), leaving out cells under the minimum count.

pub mod areas;
pub mod http;
pub mod opendata;
pub mod page;
pub mod postgres;
pub mod rollup;
pub mod sqlite;

use std::time::Duration;

use chrono::{Datelike, NaiveDate};
pub use ispeed_spec::stats::{Percentiles, RELATIVE_ERROR, Stats, StatsCell, StatsQuery};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::campaign::{CampaignConfig, SampleFacts};

/// Samples a cell needs to be rated unless configured (VNNIC's rule).
pub const DEFAULT_RATING_THRESHOLD: u64 = 300;

/// Samples under which a cell is never published unless configured (k-anonymity).
pub const DEFAULT_MIN_SAMPLES: u64 = 10;

/// Download speed the share is measured against unless configured, Mbit/s.
pub const DEFAULT_THRESHOLD_MBPS: f64 = 10.0;

/// How often the background fold drains the queue.
pub const FOLD_EVERY: Duration = Duration::from_secs(2);

/// Pending samples one fold transaction reads at most: bounds its length and memory.
pub const FOLD_BATCH: i64 = 20_000;

/// How far back a period may be asked (years): a query over more is refused.
pub const MAX_YEARS: i32 = 10;

/// Settings of the statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatsConfig {
    /// Download speed `share_at_or_above` is measured against, Mbit/s. Applied when
    /// samples are folded: every collector on one database must give the same.
    pub threshold_mbps: f64,
    /// Samples a cell needs to be `rated`.
    pub rating_threshold: u64,
    /// Samples under which a cell is left out of anything public.
    pub min_samples: u64,
}

impl Default for StatsConfig {
    fn default() -> Self {
        Self {
            threshold_mbps: DEFAULT_THRESHOLD_MBPS,
            rating_threshold: DEFAULT_RATING_THRESHOLD,
            min_samples: DEFAULT_MIN_SAMPLES,
        }
    }
}

/// Radio technology a statistic is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Technology {
    /// LTE (`4g` in the document).
    #[serde(rename = "4G")]
    G4,
    /// NR, standalone or not (`5g-sa`, `5g-nsa`).
    #[serde(rename = "5G")]
    G5,
}

impl Technology {
    /// From the document's `network.technology`; other generations are not kept.
    pub fn of(technology: &str) -> Option<Self> {
        match technology {
            "4g" => Some(Technology::G4),
            "5g-nsa" | "5g-sa" => Some(Technology::G5),
            _ => None,
        }
    }

    /// Its database code (4 or 5).
    pub fn code(self) -> i16 {
        match self {
            Technology::G4 => 4,
            Technology::G5 => 5,
        }
    }

    /// From its database code.
    pub fn from_code(code: i16) -> Option<Self> {
        match code {
            4 => Some(Technology::G4),
            5 => Some(Technology::G5),
            _ => None,
        }
    }

    /// `4G` or `5G`.
    pub fn name(self) -> &'static str {
        match self {
            Technology::G4 => "4G",
            Technology::G5 => "5G",
        }
    }
}

/// Whether `code` is an MCC-MNC: three digits, a hyphen, two or three digits.
pub fn is_mcc_mnc(code: &str) -> bool {
    match code.split_once('-') {
        Some((mcc, mnc)) => {
            mcc.len() == 3
                && (2..=3).contains(&mnc.len())
                && mcc.bytes().chain(mnc.bytes()).all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// An operator code as phones report it, as MCC-MNC: `452-04` as it is, `45204`
/// (Android's `getNetworkOperator()`: MCC then MNC, no separator) as `452-04`.
pub fn mcc_mnc_of(reported: &str) -> Option<String> {
    let r = reported.trim();
    if is_mcc_mnc(r) {
        return Some(r.to_owned());
    }
    if (5..=6).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("{}-{}", &r[..3], &r[3..]));
    }
    None
}

/// What the statistics keep of one counted sample: no install id leaves the
/// collector (open data drops it), no place finer than the commune.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatSample {
    /// `started_at`, Unix ms UTC.
    pub started_at: i64,
    /// Official commune code.
    pub commune: u32,
    /// MCC-MNC.
    pub mcc_mnc: String,
    /// The operator's name as reported.
    pub operator: Option<String>,
    /// 4G or 5G.
    pub technology: i16,
    /// `participant.install_id` (distinct participants), lower-case uuid.
    pub install_id: Option<String>,
    /// `download.mbps`.
    pub download_mbps: Option<f64>,
    /// `upload.mbps`.
    pub upload_mbps: Option<f64>,
    /// `latency.median_ms`.
    pub latency_ms: Option<f64>,
    /// The collector's attestation verdict (`attested`, `unattested`), published
    /// in the open data; `None` in rows stored before verdicts (written `unattested`).
    #[serde(default)]
    pub verdict: Option<String>,
}

impl StatSample {
    /// The statistics row of a stored document, or `None` when it is not counted:
    /// the sample does not count ([`SampleFacts::counts`]: invalid, not cellular),
    /// names no official commune, no MCC-MNC, or a generation other than 4G/5G.
    pub fn of(doc: &Value, facts: &SampleFacts, config: &CampaignConfig) -> Option<Self> {
        if !facts.counts(config) {
            return None;
        }
        let commune = doc
            .pointer("/participant/area/code")
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok())
            .filter(|c| areas::province_of(*c).is_some())?;
        let mcc_mnc = doc
            .pointer("/network/mcc_mnc")
            .and_then(Value::as_str)
            .and_then(mcc_mnc_of)?;
        let technology = doc
            .pointer("/network/technology")
            .and_then(Value::as_str)
            .and_then(Technology::of)?;
        let figure = |p: &str| {
            doc.pointer(p)
                .and_then(Value::as_f64)
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        Some(Self {
            started_at: facts.started_at?,
            commune,
            mcc_mnc,
            operator: doc
                .pointer("/network/operator")
                .and_then(Value::as_str)
                .map(|s| s.chars().take(64).collect()),
            technology: technology.code(),
            install_id: facts.install_id.clone(),
            download_mbps: figure("/download/mbps"),
            upload_mbps: figure("/upload/mbps"),
            latency_ms: figure("/latency/median_ms"),
            verdict: Some(facts.verdict.as_str().to_owned()),
        })
    }
}

/// A period of the statistics: a local day or a calendar month of the campaign's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    /// One day.
    Day(NaiveDate),
    /// The month holding this first day.
    Month(NaiveDate),
}

impl Period {
    /// Reads `YYYY-MM` or `YYYY-MM-DD`, refusing a period more than [`MAX_YEARS`]
    /// before `today` or after it.
    pub fn parse(text: &str, today: NaiveDate) -> Result<Self, String> {
        let text = text.trim();
        let period = if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Period::Day(d)
        } else if let Some(d) = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
            .ok()
            .filter(|_| text.len() == 7)
        {
            Period::Month(d)
        } else {
            return Err(format!(
                "period must be a month (YYYY-MM) or a day (YYYY-MM-DD), got {text:?}"
            ));
        };
        let span = chrono::Months::new(12 * MAX_YEARS as u32);
        let first = period.first_day();
        // A period reaching into the last ten years is answered; one wholly before
        // them, or starting ten years ahead, is not.
        let too_far = today
            .checked_sub_months(span)
            .is_some_and(|d| period.end() <= d)
            || today.checked_add_months(span).is_some_and(|d| first > d);
        if too_far {
            return Err(format!(
                "period {text} is more than {MAX_YEARS} years from today ({today}): \
                 statistics cover at most {MAX_YEARS} years"
            ));
        }
        Ok(period)
    }

    /// The month holding `day`, and `day`.
    pub fn of_day(day: NaiveDate) -> [Self; 2] {
        [
            Period::Day(day),
            Period::Month(day.with_day(1).unwrap_or(day)),
        ]
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        match self {
            Period::Day(d) | Period::Month(d) => d,
        }
    }

    /// The first day after it.
    pub fn end(self) -> NaiveDate {
        match self {
            Period::Day(d) => d.succ_opt().unwrap_or(d),
            Period::Month(d) => d.checked_add_months(chrono::Months::new(1)).unwrap_or(d),
        }
    }

    /// Its key: `YYYY-MM-DD` or `YYYY-MM`.
    pub fn key(self) -> String {
        match self {
            Period::Day(d) => d.format("%Y-%m-%d").to_string(),
            Period::Month(d) => d.format("%Y-%m").to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn periods_are_months_or_days_within_ten_years() {
        let today = day("2026-12-03");
        assert_eq!(
            Period::parse("2026-11", today),
            Ok(Period::Month(day("2026-11-01")))
        );
        assert_eq!(
            Period::parse("2026-11-03", today),
            Ok(Period::Day(day("2026-11-03")))
        );
        assert_eq!(
            Period::parse("2016-12", today),
            Ok(Period::Month(day("2016-12-01")))
        );
        for bad in [
            "2026-13",
            "2026-1",
            "26-11",
            "2026-11-31",
            "November",
            "",
            "2016-11",
            "2036-12-04",
        ] {
            assert!(Period::parse(bad, today).is_err(), "{bad}");
        }
        assert_eq!(Period::Month(day("2026-12-01")).end(), day("2027-01-01"));
        assert_eq!(
            Period::of_day(day("2026-11-15")).map(Period::key),
            ["2026-11-15", "2026-11"]
        );
    }

    #[test]
    fn operators_are_mcc_mnc() {
        assert!(is_mcc_mnc("452-04") && is_mcc_mnc("310-260"));
        for bad in ["45204", "452-4", "452-0404", "45a-04", "-04", "Viettel"] {
            assert!(!is_mcc_mnc(bad), "{bad}");
        }
        assert_eq!(mcc_mnc_of("45204").as_deref(), Some("452-04"));
        assert_eq!(mcc_mnc_of("310260").as_deref(), Some("310-260"));
        assert_eq!(mcc_mnc_of(" 452-01 ").as_deref(), Some("452-01"));
        assert_eq!(mcc_mnc_of("4520"), None);
    }

    #[test]
    fn only_4g_and_5g_are_kept() {
        assert_eq!(Technology::of("4g"), Some(Technology::G4));
        assert_eq!(Technology::of("5g-sa"), Some(Technology::G5));
        assert_eq!(Technology::of("5g-nsa"), Some(Technology::G5));
        assert_eq!(Technology::of("3g"), None);
        assert_eq!(Technology::of("unknown"), None);
    }
}
