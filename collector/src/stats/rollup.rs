//! Folding samples into cells, and cells into published figures.
//!
//! A [`Cell`] is what the database keeps per area × operator × technology × period:
//! counters and three DDSketches. Sketches merge exactly (the merge of two sketches
//! is the sketch of the union of their samples), so a cell folded in any number of
//! batches, by any collector, holds the same figures as one built at once, and every
//! percentile read from it is within [`RELATIVE_ERROR`] of the true one (the
//! percentile by rank `floor(q·(n−1))` of the sorted samples).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use sketches_ddsketch::{Config, DDSketch};

use super::areas::{self, AreaLevel};
use super::{Percentiles, Period, RELATIVE_ERROR, StatSample, StatsCell, StatsConfig, Technology};
use crate::campaign::{self, CampaignConfig};

/// Bins a sketch grows to at most: with a 1 % error, 2048 bins span values from
/// 1e-9 to beyond 1e8, wider than any speed or latency.
const MAX_BINS: u32 = 2048;

/// Smallest value a sketch tells apart from zero.
const MIN_VALUE: f64 = 1e-9;

/// An empty sketch with the statistics' error bound.
pub fn sketch() -> DDSketch {
    DDSketch::new(Config::new(RELATIVE_ERROR, MAX_BINS, MIN_VALUE))
}

/// Which cell a sample counts in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    /// [`Period::key`].
    pub period: String,
    /// [`AreaLevel::code`].
    pub level: i16,
    /// Official code of the area.
    pub area: u32,
    /// MCC-MNC.
    pub mcc_mnc: String,
    /// [`Technology::code`].
    pub technology: i16,
}

/// What is kept of a cell.
#[derive(Clone)]
pub struct Cell {
    /// The operator's name last reported.
    pub operator: Option<String>,
    /// Samples.
    pub samples: u64,
    /// Distinct participants (maintained by the store through `stats_members`).
    pub participants: u64,
    /// Samples whose download reached the threshold.
    pub at_or_above: u64,
    /// Download, Mbit/s.
    pub download: DDSketch,
    /// Upload, Mbit/s.
    pub upload: DDSketch,
    /// Idle latency, ms.
    pub latency: DDSketch,
}

impl std::fmt::Debug for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cell")
            .field("operator", &self.operator)
            .field("samples", &self.samples)
            .field("participants", &self.participants)
            .field("at_or_above", &self.at_or_above)
            .finish_non_exhaustive()
    }
}

impl Default for Cell {
    fn default() -> Self {
        Self {
            operator: None,
            samples: 0,
            participants: 0,
            at_or_above: 0,
            download: sketch(),
            upload: sketch(),
            latency: sketch(),
        }
    }
}

impl Cell {
    /// Adds one sample.
    pub fn add(&mut self, s: &StatSample, config: &StatsConfig) {
        self.samples += 1;
        if s.operator.is_some() {
            self.operator.clone_from(&s.operator);
        }
        if let Some(v) = s.download_mbps {
            self.download.add(v);
            if v >= config.threshold_mbps {
                self.at_or_above += 1;
            }
        }
        if let Some(v) = s.upload_mbps {
            self.upload.add(v);
        }
        if let Some(v) = s.latency_ms {
            self.latency.add(v);
        }
    }

    /// Adds `other`'s samples (not its participants: those are counted by the store).
    pub fn merge(&mut self, other: &Cell) -> Result<(), String> {
        self.samples += other.samples;
        self.at_or_above += other.at_or_above;
        if other.operator.is_some() {
            self.operator.clone_from(&other.operator);
        }
        for (mine, theirs) in [
            (&mut self.download, &other.download),
            (&mut self.upload, &other.upload),
            (&mut self.latency, &other.latency),
        ] {
            mine.merge(theirs).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The three sketches as stored (JSON text).
    pub fn sketches_json(&self) -> Result<[String; 3], String> {
        let enc = |s: &DDSketch| serde_json::to_string(s).map_err(|e| e.to_string());
        Ok([
            enc(&self.download)?,
            enc(&self.upload)?,
            enc(&self.latency)?,
        ])
    }

    /// A cell read back from its stored columns.
    pub fn from_stored(
        operator: Option<String>,
        counters: [i64; 3],
        sketches: [&str; 3],
    ) -> Result<Self, String> {
        let dec = |s: &str| {
            serde_json::from_str::<DDSketch>(s)
                .map_err(|e| format!("a stored sketch is unreadable: {e}"))
        };
        let n = |v: i64| u64::try_from(v).unwrap_or_default();
        Ok(Self {
            operator,
            samples: n(counters[0]),
            participants: n(counters[1]),
            at_or_above: n(counters[2]),
            download: dec(sketches[0])?,
            upload: dec(sketches[1])?,
            latency: dec(sketches[2])?,
        })
    }
}

/// One batch of samples folded: the cells it adds to, and the (cell, install) pairs
/// whose first appearance makes a new participant.
#[derive(Debug, Default)]
pub struct Batch {
    /// Cells to merge into the stored ones.
    pub cells: BTreeMap<CellKey, Cell>,
    /// Participants seen, per cell.
    pub members: BTreeSet<(CellKey, String)>,
}

/// Folds `samples` into the cells they count in: their commune and its province,
/// their local day and month.
pub fn fold(samples: &[StatSample], campaign: &CampaignConfig, config: &StatsConfig) -> Batch {
    let mut batch = Batch::default();
    for s in samples {
        let Some(day) = campaign::local_day(campaign, s.started_at) else {
            continue;
        };
        for key in keys(s, day) {
            if let Some(install) = &s.install_id {
                batch.members.insert((key.clone(), install.clone()));
            }
            batch.cells.entry(key).or_default().add(s, config);
        }
    }
    batch
}

/// The cells of a sample measured on local `day`.
fn keys(s: &StatSample, day: NaiveDate) -> Vec<CellKey> {
    let mut areas = vec![(AreaLevel::Commune, s.commune)];
    if let Some(p) = areas::province_of(s.commune) {
        areas.push((AreaLevel::Province, p));
    }
    let mut keys = Vec::with_capacity(4);
    for period in Period::of_day(day) {
        for (level, area) in &areas {
            keys.push(CellKey {
                period: period.key(),
                level: level.code(),
                area: *area,
                mcc_mnc: s.mcc_mnc.clone(),
                technology: s.technology,
            });
        }
    }
    keys
}

/// Percentiles of a sketch.
pub fn percentiles(s: &DDSketch) -> Percentiles {
    let q = |q: f64| {
        s.quantile(q)
            .ok()
            .flatten()
            .map(|v| (v * 1000.0).round() / 1000.0)
    };
    Percentiles {
        p10: q(0.1),
        p50: q(0.5),
        p90: q(0.9),
    }
}

/// The published form of stored cells: cells under the minimum left out, the rest
/// by operator then technology.
pub fn publish(cells: Vec<(CellKey, Cell)>, config: &StatsConfig) -> Vec<StatsCell> {
    let mut out: Vec<StatsCell> = cells
        .into_iter()
        .filter(|(_, c)| c.samples >= config.min_samples)
        .filter_map(|(k, c)| {
            let technology = Technology::from_code(k.technology)?;
            let measured = c.download.count() as u64;
            Some(StatsCell {
                operator: k.mcc_mnc,
                operator_name: c.operator.clone(),
                technology: technology.name().to_owned(),
                samples: c.samples,
                participants: c.participants,
                rated: c.samples >= config.rating_threshold,
                download_mbps: percentiles(&c.download),
                upload_mbps: percentiles(&c.upload),
                latency_ms: percentiles(&c.latency),
                share_at_or_above: if measured == 0 {
                    0.0
                } else {
                    c.at_or_above as f64 / measured as f64
                },
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.operator, &a.technology).cmp(&(&b.operator, &b.technology)));
    out
}
