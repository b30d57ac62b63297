//! Records that exist only at the boundary: how an engine is set up, which server to
//! measure against, and a finished measurement in a shape the apps can show.

use std::time::SystemTime;

use chrono::NaiveDate;

use super::error::IspeedError;
use crate::network::NetworkContext;
use crate::result::{LatencyResult, MeasurementResult, TransferResult};

pub use crate::session::Server;

/// How an app sets up its [`super::Engine`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EngineConfig {
    /// A directory private to the app (Android `filesDir`, iOS Application Support);
    /// created when missing. The sample store, with the settings, lives there.
    pub data_dir: String,
    /// The deployment profile bundled with the app (`ispeed.profile/1` JSON, see
    /// `docs/profile.md`): its servers, collector, time zone and budgets. `None`
    /// leaves the settings alone to say where to measure and report.
    #[uniffi(default = None)]
    pub profile_json: Option<String>,
}

/// A finished measurement: the headline figures for the screen, and the complete
/// `ispeed.result/1` document for sharing and uploading.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Measurement {
    /// Random id of the sample (uuid v4).
    pub id: String,
    /// When it started.
    pub started_at: SystemTime,
    /// When it finished.
    pub finished_at: SystemTime,
    /// Server measured against.
    pub server: Server,
    /// Network at the start.
    pub network: NetworkContext,
    /// Idle latency, when measured.
    pub latency: Option<LatencyResult>,
    /// Download, when measured.
    pub download: Option<TransferResult>,
    /// Upload, when measured.
    pub upload: Option<TransferResult>,
    /// Whether the sample counts in statistics and quotas.
    pub valid: bool,
    /// Why not, when it does not.
    pub invalid_reason: Option<String>,
    /// The result document, JSON (`ispeed.result/1`), exactly as the collector gets it.
    pub document_json: String,
}

impl TryFrom<&MeasurementResult> for Measurement {
    type Error = IspeedError;

    fn try_from(r: &MeasurementResult) -> Result<Self, IspeedError> {
        let document_json = serde_json::to_string(r)
            .map_err(|e| IspeedError::internal(format!("cannot encode the result: {e}")))?;
        Ok(Measurement {
            id: r.id.to_string(),
            started_at: r.started_at.into(),
            finished_at: r.finished_at.into(),
            server: Server {
                url: r.server.url.clone(),
                protocol: r.server.protocol,
            },
            network: r.network.clone(),
            latency: r.latency.clone(),
            download: r.download.clone(),
            upload: r.upload.clone(),
            valid: r.valid,
            invalid_reason: r.invalid_reason.clone(),
            document_json,
        })
    }
}

// A local date crosses as `YYYY-MM-DD` text (`store::DaySummary::date`).
uniffi::custom_type!(NaiveDate, String, {
    remote,
    lower: |date| date.format("%Y-%m-%d").to_string(),
    try_lift: |text| Ok(NaiveDate::parse_from_str(&text, "%Y-%m-%d")?),
});

/// A sample the collector refused (a 4xx): it stays stored and pending.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RejectedSample {
    /// Id of the sample.
    pub id: String,
    /// What the collector said.
    pub reason: String,
}

/// What one flush of the pending uploads did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UploadReport {
    /// Ids the collector confirmed, in the order sent; they are marked uploaded.
    pub sent: Vec<String>,
    /// Samples the collector refused.
    pub rejected: Vec<RejectedSample>,
    /// Samples the collector stored but will not count (a failed trust check,
    /// docs/trust.md): uploaded, never resent; `reason` is the stable code, then its
    /// English meaning (`rate_unexplained: ...`), for the history screen.
    pub not_counted: Vec<RejectedSample>,
    /// Samples still waiting for the collector.
    pub remaining: u32,
}

/// The auto-measure decision (Android): measure now or not, and when to ask again.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AutoDecision {
    /// Whether to measure now (with [`super::Engine::measure_auto`]).
    pub run: bool,
    /// Stable code of the reason (`first_run`, `due`, `wifi_connected`, `not_cellular`,
    /// `battery_low`, `daily_budget`, `outside_active_hours`...).
    pub reason: String,
    /// The reason, in English, for logs.
    pub message: String,
    /// When to wake up and ask again; always in the future.
    pub next_check_at: SystemTime,
}

impl From<crate::schedule::auto::Decision> for AutoDecision {
    fn from(d: crate::schedule::auto::Decision) -> Self {
        Self {
            run: d.run,
            reason: d.reason.code().to_owned(),
            message: d.message,
            next_check_at: d.next_check_at.into(),
        }
    }
}

/// Where today stands against the daily target (iOS): valid cellular measurements
/// counted in the platform's time zone, and the reminders to book.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DailyStatus {
    /// Valid cellular measurements today.
    pub done_today: u32,
    /// The daily target.
    pub target: u32,
    /// Measurements still wanted today (0 once the target is met).
    pub remaining: u32,
    /// The next reminder, `None` once today's target is met.
    pub next_reminder_at: Option<SystemTime>,
    /// Every reminder to book as a local notification now, ascending (today's
    /// remaining slots unless the target is met, then tomorrow's).
    pub upcoming_reminders: Vec<SystemTime>,
    /// Local midnight: ask for a new status after it.
    pub day_ends_at: SystemTime,
}

impl From<crate::schedule::daily::DailyStatus> for DailyStatus {
    fn from(s: crate::schedule::daily::DailyStatus) -> Self {
        Self {
            done_today: s.done_today,
            target: s.target,
            remaining: s.remaining,
            next_reminder_at: s.next_reminder_at.map(Into::into),
            upcoming_reminders: s.upcoming_reminders.into_iter().map(Into::into).collect(),
            day_ends_at: s.day_ends_at.into(),
        }
    }
}

/// What one background wake did ([`super::Engine::wake`]).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct WakeReport {
    /// The auto-measure decision; `None` when auto-measure is off.
    pub decision: Option<AutoDecision>,
    /// The measurement made, when the decision said to run and it produced a sample.
    pub measurement: Option<Measurement>,
    /// Stable code of what failed (the measurement's error first, else the upload's).
    pub error_code: Option<String>,
    /// The same, in English.
    pub error_message: Option<String>,
    /// Samples the collector confirmed during this wake.
    pub uploaded: u32,
    /// Samples still waiting for the collector.
    pub pending: u32,
    /// When to wake next; `None` when auto-measure is off and nothing is pending.
    pub next_wake_at: Option<SystemTime>,
}

/// One local notification to book (iOS).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Reminder {
    /// When it fires.
    pub at: SystemTime,
    /// Key of its text in the app's strings: `reminder_first`, `reminder_again`,
    /// `reminder_last`.
    pub text_key: String,
}

/// One refresh of the iOS routine ([`super::Engine::refresh_routine`]).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RoutinePlan {
    /// Where today stands.
    pub status: DailyStatus,
    /// Every reminder of the next seven days: replace whatever was booked with these.
    pub reminders: Vec<Reminder>,
    /// Samples the collector confirmed during this refresh.
    pub uploaded: u32,
    /// Samples still waiting for the collector.
    pub pending: u32,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<crate::session::WakeReport> for WakeReport {
    fn from(r: crate::session::WakeReport) -> Self {
        Self {
            decision: r.decision.map(Into::into),
            measurement: r
                .measurement
                .as_ref()
                .and_then(|m| Measurement::try_from(m).ok()),
            error_code: r.error.as_ref().map(|e| e.code().to_owned()),
            error_message: r.error.as_ref().map(ToString::to_string),
            uploaded: count(r.upload.sent.len()),
            pending: count(r.upload.remaining),
            next_wake_at: r.next_wake_at.map(Into::into),
        }
    }
}

impl From<crate::session::RoutinePlan> for RoutinePlan {
    fn from(r: crate::session::RoutinePlan) -> Self {
        Self {
            status: r.status.into(),
            reminders: r
                .reminders
                .into_iter()
                .map(|m| Reminder {
                    at: m.at.into(),
                    text_key: m.text_key.to_owned(),
                })
                .collect(),
            uploaded: count(r.upload.sent.len()),
            pending: count(r.upload.remaining),
        }
    }
}
