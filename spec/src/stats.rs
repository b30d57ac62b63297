//! Quality statistics the collector publishes (`GET /v1/stats`): per area, operator,
//! radio technology and period, the sample and participant counts and the 10th, 50th
//! and 90th percentiles of download, upload and idle latency.
//!
//! Percentiles come from mergeable DDSketches with a relative error of at most
//! [`RELATIVE_ERROR`]: a published p50 of 40 Mbit/s lies within 1 % of the true
//! median of the samples. Cells with fewer than the collector's minimum number of
//! samples are absent (suppressed); `rated` says whether a cell reached the rating
//! threshold (300 samples unless configured), below which a figure is shown but not
//! a rating.

use serde::{Deserialize, Serialize};

/// Relative error bound of every published percentile (the sketches' `alpha`).
pub const RELATIVE_ERROR: f64 = 0.01;

/// `GET /v1/stats` query: `area` an official commune or province code, `period` a
/// month (`2026-11`) or a day (`2026-11-03`), `operator` an optional MCC-MNC
/// (`452-04`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsQuery {
    /// Official code of a commune or a province.
    pub area: Option<String>,
    /// `YYYY-MM` or `YYYY-MM-DD`.
    pub period: Option<String>,
    /// MCC-MNC, `452-04`.
    #[serde(default)]
    pub operator: Option<String>,
}

/// `GET /v1/stats` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// The area's official code.
    pub area: u32,
    /// `commune` or `province`.
    pub area_level: String,
    /// The area's official name, where the catalogue knows it.
    #[serde(default)]
    pub area_name: Option<String>,
    /// The period as asked: `YYYY-MM` or `YYYY-MM-DD`.
    pub period: String,
    /// Cells with at least `min_samples` samples, by operator then technology.
    pub cells: Vec<StatsCell>,
    /// Samples a cell needs to be published at all.
    pub min_samples: u64,
    /// Samples a cell needs to be `rated`.
    pub rating_threshold: u64,
    /// Download speed that `share_at_or_above` is measured against, Mbit/s.
    pub threshold_mbps: f64,
    /// Relative error bound of the percentiles ([`RELATIVE_ERROR`]).
    pub relative_error: f64,
}

/// One operator × technology cell of an area and period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsCell {
    /// MCC-MNC, `452-04`.
    pub operator: String,
    /// The operator's name as phones reported it (`Viettel`), where any did.
    #[serde(default)]
    pub operator_name: Option<String>,
    /// `4G` or `5G`.
    pub technology: String,
    /// Samples counted.
    pub samples: u64,
    /// Distinct participants (install ids) among them.
    pub participants: u64,
    /// Whether `samples` reached the rating threshold.
    pub rated: bool,
    /// Download, Mbit/s.
    pub download_mbps: Percentiles,
    /// Upload, Mbit/s.
    pub upload_mbps: Percentiles,
    /// Idle latency (median round trip of each sample), milliseconds.
    pub latency_ms: Percentiles,
    /// Share (0 to 1) of the samples whose download reached `threshold_mbps`.
    pub share_at_or_above: f64,
}

/// Three percentiles of one figure; absent where no sample measured it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// 10th percentile.
    pub p10: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}
