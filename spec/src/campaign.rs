//! Campaign progress as the collector reports it (`GET /v1/campaign/progress`): one
//! local day, per area, against the area's target, split by how people measured.
//! The collector computes it; the CLI and the page read it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

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

    /// The channel whose [`Channel::key`] is `key`.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
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

    /// The count of `channel`, to update.
    pub fn get_mut(&mut self, channel: Channel) -> &mut ChannelCount {
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
    /// Every sample received this day, counted or not (`samples + not_counted`).
    #[serde(default)]
    pub received: u32,
    /// Samples the collector rejected (docs/trust.md): part of `not_counted`.
    #[serde(default)]
    pub rejected: u32,
    /// The commonest rejection reasons, most frequent first (at most
    /// [`TOP_REASONS`]), so an official sees why the count is lower than people say.
    #[serde(default)]
    pub rejections: Vec<ReasonCount>,
}

/// Rejection reasons an area lists at most.
pub const TOP_REASONS: usize = 3;

/// How many samples of an area were rejected for one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    /// The reason.
    pub reason: crate::attestation::RejectReason,
    /// Samples rejected for it.
    pub samples: u32,
}

/// The top [`TOP_REASONS`] of `counts`: most samples first, ties in the reasons'
/// order, so the report is stable.
pub fn top_reasons(
    counts: impl IntoIterator<Item = (crate::attestation::RejectReason, u32)>,
) -> Vec<ReasonCount> {
    let mut v: Vec<ReasonCount> = counts
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(reason, samples)| ReasonCount { reason, samples })
        .collect();
    v.sort_by(|a, b| b.samples.cmp(&a.samples).then(a.reason.cmp(&b.reason)));
    v.truncate(TOP_REASONS);
    v
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
