//! Auto-measure (Android): whether a background measurement runs now, and when to ask
//! again.
//!
//! [`AutoPolicy::decide`] is a pure function of the time, the [`PlatformState`] and the
//! history of past runs. The shell (WorkManager) wakes the core, the core asks
//! `decide`, measures if told to, records the run, and sleeps until `next_check_at`.
//! [`run_loop`] is that loop with every effect passed in as a closure, so the desktop
//! CLI, the simulator and the tests drive the same code.
//!
//! # Spacing
//!
//! Runs are spaced by memoryless, exponentially distributed intervals truncated to
//! `[min_interval, max_interval]`, the habit M-Lab asks of background clients
//! (m-lab/ndt7-client-go `internal/runner`): phones that enabled auto-measure at the
//! same moment drift apart instead of measuring in lockstep, and no hour of the day is
//! systematically favoured. The interval counts only time inside the active hours, so
//! a run late in the evening carries its remaining wait into the next morning rather
//! than piling every phone up at the window's opening.
//!
//! The random draw is seeded by the policy's seed and the previous run's time stamp:
//! the same history always gives the same next time, which is what lets the policy
//! keep no state of its own.
//!
//! # Data cost, the arithmetic behind the defaults
//!
//! Regulators' apps cap background use at 100-300 MB of mobile data a month. A
//! background run is capped at [`DEFAULT_RUN_DOWNLOAD_BYTES`] + [`DEFAULT_RUN_UPLOAD_BYTES`]
//! = 5 MB (see [`AutoPolicy::measure_config`]); on links slower than about 10 Mbit/s the
//! stop rule ends each phase before its cap, so most runs cost less.
//!
//! - Active hours 08:00-21:00 are 13 h; with a mean interval of 8 h of active time that
//!   is 13 / 8 ≈ 1.6 runs a day, ≈ 49 runs in a 30.4-day month, ≈ 247 MB at the cap:
//!   inside a 300 MB month with room for the occasional short interval.
//! - At most 3 runs and 15 MB a day, so a run of short draws cannot spend more than
//!   three runs' worth of a day's data; at most 300 MB a month, checked before each run
//!   against the expected cost of the next one.
//! - On a 100 MB plan, set the monthly budget to 100 MB and the daily one to 5 MB: one
//!   run a day, ≈ 152 MB worst case, stopped at 100 MB by the monthly budget.
//!
//! # Robustness
//!
//! - No catch-up burst: only the last run matters, so after days asleep one run is due,
//!   then spacing resumes.
//! - A clock moved backwards leaves runs "in the future". Up to `max_interval` ahead
//!   they are treated as having happened now: the policy does not run again at once,
//!   and waits at most the shift plus one spacing (never more than twice
//!   `max_interval`) rather than until the clock catches up plus a spacing. Further
//!   ahead (a clock set back by days or years) they are disregarded, so the policy
//!   cannot stall for that long and phantom runs do not eat today's limits; the price
//!   is at most one run earlier than its spacing.
//! - A time-zone change moves day boundaries and active hours to the new zone; spacing
//!   is measured between UTC instants, so it cannot trigger an extra run.

use std::ops::ControlFlow;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::time::{Window, day_start, local_date, month_start, next_date, next_month_first};
use super::{PastRun, PlatformState};
use crate::clock::Clock;
use crate::config::MeasureConfig;
use crate::error::{Error, Result};
use crate::network::Transport;

/// Average spacing between runs, counted in active-hours time: ≈ 1.6 runs a day in the
/// default 13-hour window (see the module docs for the data arithmetic).
pub const DEFAULT_MEAN_INTERVAL: Duration = Duration::hours(8);
/// Shortest spacing: two runs within an hour tell little more than one.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::hours(1);
/// Longest spacing: at least one run every second active day when conditions allow.
pub const DEFAULT_MAX_INTERVAL: Duration = Duration::hours(20);
/// Runs a day at most, whatever the draws.
pub const DEFAULT_MAX_PER_DAY: u32 = 3;
/// Mobile data a day at most: three capped runs.
pub const DEFAULT_DAILY_BUDGET_BYTES: u64 = 15_000_000;
/// Mobile data a month at most: the top of the 100-300 MB regulators allow.
pub const DEFAULT_MONTHLY_BUDGET_BYTES: u64 = 300_000_000;
/// Download byte cap of a background run.
pub const DEFAULT_RUN_DOWNLOAD_BYTES: u64 = 3_500_000;
/// Upload byte cap of a background run (uplinks are about a third of downlinks).
pub const DEFAULT_RUN_UPLOAD_BYTES: u64 = 1_500_000;
/// Below this charge a phone that is not charging is left alone: Android's own
/// "battery low" warning sits at 15-20 %, and a measurement is not worth getting near it.
pub const DEFAULT_MIN_BATTERY_PERCENT: u8 = 30;
/// First retry after a failed attempt.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::minutes(15);
/// Longest wait between retries: a broken server is retried a few times a day, no more.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::hours(4);
/// How soon to look again when only the battery or the network stood in the way:
/// WorkManager's shortest periodic interval.
pub const DEFAULT_RECHECK_INTERVAL: Duration = Duration::minutes(15);
/// Recent cellular runs whose cost predicts the next one.
const COST_WINDOW: usize = 3;

/// Everything the auto-measure decision depends on besides time, platform and history.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoPolicy {
    /// Mean spacing between runs, in active-hours time.
    pub mean_interval: Duration,
    /// Spacing is never shorter than this.
    pub min_interval: Duration,
    /// Spacing is never longer than this (active-hours time).
    pub max_interval: Duration,
    /// Local time at which the active hours begin (inclusive).
    pub active_start: NaiveTime,
    /// Local time at which the active hours end (exclusive); after `active_start`.
    pub active_end: NaiveTime,
    /// Completed runs a local day at most.
    pub max_per_day: u32,
    /// Mobile-data bytes a local day at most.
    pub daily_budget_bytes: u64,
    /// Mobile-data bytes a local calendar month at most.
    pub monthly_budget_bytes: u64,
    /// Download byte cap of a run, used by [`Self::measure_config`].
    pub run_download_bytes: u64,
    /// Upload byte cap of a run.
    pub run_upload_bytes: u64,
    /// Minimum battery charge, percent, unless charging.
    pub min_battery_percent: u8,
    /// Wait after the first failed attempt; doubled after each further failure.
    pub backoff_base: Duration,
    /// Longest wait after failures.
    pub backoff_cap: Duration,
    /// Wait before looking again when battery or network blocked a due run.
    pub recheck_interval: Duration,
    /// Seed of the spacing draws: random per installation, fixed in tests.
    pub seed: u64,
}

impl Default for AutoPolicy {
    fn default() -> Self {
        Self {
            mean_interval: DEFAULT_MEAN_INTERVAL,
            min_interval: DEFAULT_MIN_INTERVAL,
            max_interval: DEFAULT_MAX_INTERVAL,
            active_start: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN),
            active_end: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or(NaiveTime::MIN),
            max_per_day: DEFAULT_MAX_PER_DAY,
            daily_budget_bytes: DEFAULT_DAILY_BUDGET_BYTES,
            monthly_budget_bytes: DEFAULT_MONTHLY_BUDGET_BYTES,
            run_download_bytes: DEFAULT_RUN_DOWNLOAD_BYTES,
            run_upload_bytes: DEFAULT_RUN_UPLOAD_BYTES,
            min_battery_percent: DEFAULT_MIN_BATTERY_PERCENT,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_cap: DEFAULT_BACKOFF_CAP,
            recheck_interval: DEFAULT_RECHECK_INTERVAL,
            seed: 0x0005_eed1_5eed,
        }
    }
}

/// Why the policy decided as it did. `code()` is stable, for logs and the apps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// Run: nothing has ever run.
    FirstRun,
    /// Run: the drawn spacing has passed since the last run.
    Due {
        /// The drawn spacing, minutes of active-hours time.
        spacing_minutes: i64,
    },
    /// Run: the wait after the last failed attempt has passed.
    Retry {
        /// Failed attempts in a row so far.
        failures: u32,
    },
    /// Skip: outside the active hours (local time).
    OutsideActiveHours,
    /// Skip: today's maximum number of runs is reached.
    DailyLimit {
        /// Completed runs today.
        runs: u32,
        /// The maximum.
        max: u32,
    },
    /// Skip: the next run would overrun today's mobile-data budget.
    DailyBudget {
        /// Bytes used today.
        used_bytes: u64,
        /// Expected cost of the next run.
        expected_bytes: u64,
        /// The budget.
        limit_bytes: u64,
    },
    /// Skip: the next run would overrun this month's mobile-data budget.
    MonthlyBudget {
        /// Bytes used this month.
        used_bytes: u64,
        /// Expected cost of the next run.
        expected_bytes: u64,
        /// The budget.
        limit_bytes: u64,
    },
    /// Skip: waiting after failed attempts.
    BackingOff {
        /// Failed attempts in a row.
        failures: u32,
        /// When the next attempt may start.
        until: DateTime<Utc>,
    },
    /// Skip: the drawn spacing since the last run has not passed yet.
    NotDue {
        /// When it will have.
        due_at: DateTime<Utc>,
    },
    /// Skip: Wi-Fi is connected; the measurement is of mobile broadband.
    WifiConnected,
    /// Skip: traffic would not go over the cellular network.
    NotCellular {
        /// What it would go over.
        transport: Transport,
    },
    /// Skip: the battery is low and not charging.
    BatteryLow {
        /// Charge, percent.
        percent: u8,
        /// The policy's minimum.
        min_percent: u8,
    },
}

impl Reason {
    /// Whether this reason means "run now".
    pub fn runs(&self) -> bool {
        matches!(
            self,
            Reason::FirstRun | Reason::Due { .. } | Reason::Retry { .. }
        )
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::FirstRun => "first_run",
            Reason::Due { .. } => "due",
            Reason::Retry { .. } => "retry",
            Reason::OutsideActiveHours => "outside_active_hours",
            Reason::DailyLimit { .. } => "daily_limit",
            Reason::DailyBudget { .. } => "daily_budget",
            Reason::MonthlyBudget { .. } => "monthly_budget",
            Reason::BackingOff { .. } => "backing_off",
            Reason::NotDue { .. } => "not_due",
            Reason::WifiConnected => "wifi_connected",
            Reason::NotCellular { .. } => "not_cellular",
            Reason::BatteryLow { .. } => "battery_low",
        }
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::FirstRun => write!(f, "first run"),
            Reason::Due { spacing_minutes } => write!(
                f,
                "due: the drawn spacing of {}h{:02} (active time) has passed",
                spacing_minutes / 60,
                spacing_minutes % 60
            ),
            Reason::Retry { failures } => {
                write!(f, "retry after {failures} failed attempt(s)")
            }
            Reason::OutsideActiveHours => write!(f, "outside active hours"),
            Reason::DailyLimit { runs, max } => {
                write!(f, "daily limit reached: {runs} of {max} runs today")
            }
            Reason::DailyBudget {
                used_bytes,
                expected_bytes,
                limit_bytes,
            } => write!(
                f,
                "daily data budget: {:.1} MB used + {:.1} MB expected > {:.1} MB",
                mb(*used_bytes),
                mb(*expected_bytes),
                mb(*limit_bytes)
            ),
            Reason::MonthlyBudget {
                used_bytes,
                expected_bytes,
                limit_bytes,
            } => write!(
                f,
                "monthly data budget: {:.1} MB used + {:.1} MB expected > {:.1} MB",
                mb(*used_bytes),
                mb(*expected_bytes),
                mb(*limit_bytes)
            ),
            // Times are left to `next_check_at`, which callers show in local time.
            Reason::BackingOff { failures, .. } => {
                write!(f, "backing off after {failures} failed attempt(s)")
            }
            Reason::NotDue { .. } => write!(f, "spacing since the last run not over yet"),
            Reason::WifiConnected => write!(f, "Wi-Fi is connected"),
            Reason::NotCellular { transport } => {
                write!(f, "not on cellular (on {transport})")
            }
            Reason::BatteryLow {
                percent,
                min_percent,
            } => write!(
                f,
                "battery at {percent} % and not charging (minimum {min_percent} %)"
            ),
        }
    }
}

/// The answer of [`AutoPolicy::decide`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether to measure now.
    pub run: bool,
    /// Why.
    pub reason: Reason,
    /// The same, for people.
    pub message: String,
    /// When to ask again (after the run, when running). Always after `now`.
    pub next_check_at: DateTime<Utc>,
}

impl Decision {
    fn new(now: DateTime<Utc>, reason: Reason, next_check_at: DateTime<Utc>) -> Self {
        Self {
            run: reason.runs(),
            message: reason.to_string(),
            // A check time in the past would make a caller spin.
            next_check_at: next_check_at.max(now + Duration::minutes(1)),
            reason,
        }
    }
}

impl AutoPolicy {
    /// Checks the policy for settings that cannot work.
    pub fn validate(&self) -> Result<()> {
        if self.active_start >= self.active_end {
            return Err(Error::Config(format!(
                "active hours must start before they end, got {}-{}",
                self.active_start.format("%H:%M"),
                self.active_end.format("%H:%M")
            )));
        }
        let positive = [
            ("mean interval", self.mean_interval),
            ("minimum interval", self.min_interval),
            ("backoff base", self.backoff_base),
            ("recheck interval", self.recheck_interval),
        ];
        for (name, d) in positive {
            if d <= Duration::zero() {
                return Err(Error::Config(format!("{name} must be positive")));
            }
        }
        if self.min_interval > self.max_interval || self.backoff_base > self.backoff_cap {
            return Err(Error::Config(
                "minimum interval and backoff base must not exceed their maxima".to_owned(),
            ));
        }
        if self.max_per_day == 0 {
            return Err(Error::Config(
                "at least one run a day must be allowed".to_owned(),
            ));
        }
        self.measure_config().validate()
    }

    /// The measurement settings of a background run: the engine's defaults with the
    /// policy's byte caps, so the budgets above hold whatever the link speed.
    pub fn measure_config(&self) -> MeasureConfig {
        let mut c = MeasureConfig::default();
        c.download.max_bytes = self.run_download_bytes;
        c.upload.max_bytes = self.run_upload_bytes;
        c
    }

    fn window(&self) -> Window {
        Window {
            start: self.active_start,
            end: self.active_end,
        }
    }

    /// The spacing drawn after a run that started at `anchor`: exponential with mean
    /// `mean_interval`, truncated to `[min_interval, max_interval]`.
    pub fn spacing_after(&self, anchor: DateTime<Utc>) -> Duration {
        // SplitMix64's finaliser spreads neighbouring time stamps over the seed space.
        let mut z = (anchor.timestamp_millis() as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let mut rng = StdRng::seed_from_u64(self.seed ^ z ^ (z >> 31));
        let u: f64 = rng.random();
        let mean = self.mean_interval.num_seconds() as f64;
        let secs = -(1.0 - u).ln() * mean;
        let lo = self.min_interval.num_seconds() as f64;
        let hi = self.max_interval.num_seconds() as f64;
        Duration::seconds(secs.clamp(lo, hi) as i64)
    }

    /// Expected mobile-data cost of the next run: the largest of the last few
    /// completed cellular runs (cautious: the citizen pays for an underestimate), or
    /// the byte caps when there is no such run yet.
    pub fn expected_run_bytes(&self, history: &[PastRun]) -> u64 {
        let mut cellular: Vec<&PastRun> = history
            .iter()
            .filter(|r| r.on_cellular() && !r.failed)
            .collect();
        cellular.sort_by_key(|r| r.at);
        cellular
            .iter()
            .rev()
            .take(COST_WINDOW)
            .map(|r| r.bytes)
            .max()
            .unwrap_or(self.run_download_bytes + self.run_upload_bytes)
    }

    /// Whether to measure at `now`, given the platform state and every past run
    /// (in any order; failed attempts included).
    pub fn decide(
        &self,
        now: DateTime<Utc>,
        state: &PlatformState,
        history: &[PastRun],
    ) -> Decision {
        let tz = state.time_zone;
        let window = self.window();
        // Runs the clock places after now happened before the clock was moved back.
        // Up to `max_interval` ahead they count as having happened now; further ahead
        // the clock that dated them was wrong and they are disregarded (module docs).
        // Each run keeps its recorded time beside the clamped one: the spacing draw is
        // seeded by the recorded time, so a clock change does not change the draw.
        let mut runs: Vec<(PastRun, DateTime<Utc>)> = history
            .iter()
            .filter(|r| r.at <= now + self.max_interval)
            .map(|r| {
                (
                    PastRun {
                        at: r.at.min(now),
                        ..*r
                    },
                    r.at,
                )
            })
            .collect();
        runs.sort_by_key(|(r, recorded)| (r.at, *recorded));
        let recorded_last = runs.last().map(|(_, t)| *t);
        let runs: Vec<PastRun> = runs.into_iter().map(|(r, _)| r).collect();
        let open_after = |t: DateTime<Utc>| window.next_open(tz, t);

        if !window.contains(tz, now) {
            return Decision::new(now, Reason::OutsideActiveHours, open_after(now));
        }

        let today = local_date(tz, now);
        let tomorrow = open_after(day_start(tz, next_date(today)));
        let since_today = day_start(tz, today);
        let today_runs: Vec<&PastRun> = runs.iter().filter(|r| r.at >= since_today).collect();
        let completed = today_runs.iter().filter(|r| !r.failed).count() as u32;
        if completed >= self.max_per_day {
            let reason = Reason::DailyLimit {
                runs: completed,
                max: self.max_per_day,
            };
            return Decision::new(now, reason, tomorrow);
        }

        let expected = self.expected_run_bytes(&runs);
        // Saturating: a history with absurd byte counts (a damaged store) must read as
        // "budget spent", never wrap around to "nothing used".
        let used_today: u64 = today_runs
            .iter()
            .filter(|r| r.on_cellular())
            .fold(0u64, |sum, r| sum.saturating_add(r.bytes));
        if used_today.saturating_add(expected) > self.daily_budget_bytes {
            let reason = Reason::DailyBudget {
                used_bytes: used_today,
                expected_bytes: expected,
                limit_bytes: self.daily_budget_bytes,
            };
            return Decision::new(now, reason, tomorrow);
        }
        let since_month = month_start(tz, today);
        let used_month: u64 = runs
            .iter()
            .filter(|r| r.at >= since_month && r.on_cellular())
            .fold(0u64, |sum, r| sum.saturating_add(r.bytes));
        if used_month.saturating_add(expected) > self.monthly_budget_bytes {
            let reason = Reason::MonthlyBudget {
                used_bytes: used_month,
                expected_bytes: expected,
                limit_bytes: self.monthly_budget_bytes,
            };
            let next_month = open_after(day_start(tz, next_month_first(today)));
            return Decision::new(now, reason, next_month);
        }

        let failures = runs.iter().rev().take_while(|r| r.failed).count() as u32;
        let due_reason = match (runs.last(), failures) {
            (None, _) => Reason::FirstRun,
            (Some(last), 0) => {
                let anchor = recorded_last.unwrap_or(last.at);
                let spacing = self.spacing_after(anchor);
                let waited = window.time_inside(tz, last.at, now);
                if waited < spacing {
                    let due_at = window.advance(tz, now, spacing - waited);
                    return Decision::new(now, Reason::NotDue { due_at }, due_at);
                }
                Reason::Due {
                    spacing_minutes: spacing.num_minutes(),
                }
            }
            (Some(last), n) => {
                let until = last.at + self.backoff(n);
                if now < until {
                    let reason = Reason::BackingOff { failures: n, until };
                    return Decision::new(now, reason, open_after(until));
                }
                Reason::Retry { failures: n }
            }
        };

        let recheck = open_after(now + self.recheck_interval);
        let network = &state.network;
        if network.wifi_connected || network.transport == Transport::Wifi {
            return Decision::new(now, Reason::WifiConnected, recheck);
        }
        if network.transport != Transport::Cellular {
            let reason = Reason::NotCellular {
                transport: network.transport,
            };
            return Decision::new(now, reason, recheck);
        }
        if let Some(b) = state.battery
            && !b.charging
            && b.percent < self.min_battery_percent
        {
            let reason = Reason::BatteryLow {
                percent: b.percent,
                min_percent: self.min_battery_percent,
            };
            return Decision::new(now, reason, recheck);
        }
        Decision::new(now, due_reason, open_after(now + self.min_interval))
    }

    /// Wait after `failures` failed attempts in a row: base, doubled each time, capped.
    fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        let wait = self.backoff_base * (1_i32 << doublings);
        wait.min(self.backoff_cap)
    }
}

/// What [`run_loop`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoopSummary {
    /// Measurements started.
    pub runs: u32,
    /// Decisions taken.
    pub checks: u64,
}

/// The auto-measure loop: decide, measure when told to, wait until the next check.
///
/// - `observe` reads the platform state at each check;
/// - `history` returns every past run (one store query); the loop keeps nothing in
///   memory, so it sees runs made by anyone (a manual test counts against the budgets);
/// - `measure` runs one measurement and must record it, failed or not, where `history`
///   will see it: the loop stops with an error if it does not, rather than measure again
///   and again;
/// - `wait` sleeps until the decision's `next_check_at` (or less: the loop decides again
///   on waking), or returns `Break` to end the loop;
/// - after `max_runs` measurements the loop ends.
pub async fn run_loop<O, H, M, W>(
    policy: &AutoPolicy,
    clock: &dyn Clock,
    mut observe: O,
    mut history: H,
    mut measure: M,
    mut wait: W,
    max_runs: Option<u32>,
) -> Result<LoopSummary>
where
    O: FnMut() -> PlatformState,
    H: FnMut() -> Result<Vec<PastRun>>,
    M: AsyncFnMut(&Decision),
    W: AsyncFnMut(&Decision) -> ControlFlow<()>,
{
    policy.validate()?;
    let mut summary = LoopSummary::default();
    loop {
        if max_runs.is_some_and(|max| summary.runs >= max) {
            return Ok(summary);
        }
        let now = clock.now();
        let state = observe();
        let past = history()?;
        let decision = policy.decide(now, &state, &past);
        summary.checks += 1;
        if decision.run {
            measure(&decision).await;
            summary.runs += 1;
            let recorded = history()?.iter().filter(|r| r.at >= now).count()
                > past.iter().filter(|r| r.at >= now).count();
            if !recorded {
                return Err(Error::Schedule(
                    "the measurement was not recorded in the history; stopping so it does not repeat"
                        .to_owned(),
                ));
            }
            continue;
        }
        if wait(&decision).await.is_break() {
            return Ok(summary);
        }
    }
}

#[cfg(test)]
// A failed expectation in a test is the test failing, with its context.
#[allow(clippy::expect_used)]
mod tests {
    use std::cell::RefCell;

    use chrono_tz::Asia::{Ho_Chi_Minh, Tokyo};

    use super::*;
    use crate::clock::FakeClock;
    use crate::platform::Battery;
    use crate::schedule::testing::{local, on_cellular, run};

    const MB: u64 = 1_000_000;

    #[test]
    fn spacing_is_exponential_within_bounds_and_reproducible() {
        let policy = AutoPolicy::default();
        let base = local(Ho_Chi_Minh, "2026-11-25 08:00");
        let draws: Vec<Duration> = (0..4000)
            .map(|i| policy.spacing_after(base + Duration::seconds(i * 37)))
            .collect();
        assert!(
            draws
                .iter()
                .all(|d| *d >= policy.min_interval && *d <= policy.max_interval)
        );
        // Mean of an exponential (mean 8 h) clamped to [1 h, 20 h]:
        // 1 + 8 (e^{-1/8} - e^{-20/8}) ≈ 7.40 h.
        let mean_h =
            draws.iter().map(|d| d.num_seconds() as f64).sum::<f64>() / draws.len() as f64 / 3600.0;
        assert!((mean_h - 7.40).abs() < 0.4, "mean spacing {mean_h:.2} h");
        // Memoryless: about e^{-1} ≈ 37 % of draws exceed the mean, not half.
        let above = draws.iter().filter(|d| **d > Duration::hours(8)).count() as f64;
        assert!((above / draws.len() as f64 - 0.368).abs() < 0.04);
        // Same history, same answer; another installation, another answer.
        assert_eq!(policy.spacing_after(base), policy.spacing_after(base));
        let other = AutoPolicy {
            seed: 7,
            ..policy.clone()
        };
        let differ = (0..50)
            .filter(|i| {
                let t = base + Duration::minutes(*i);
                policy.spacing_after(t) != other.spacing_after(t)
            })
            .count();
        assert!(differ > 45);
    }

    #[test]
    fn expected_cost_follows_recent_cellular_runs() {
        let policy = AutoPolicy::default();
        let t = local(Ho_Chi_Minh, "2026-11-25 08:00");
        assert_eq!(
            policy.expected_run_bytes(&[]),
            5 * MB,
            "caps when no history"
        );
        let mut wifi = run(t, 40 * MB);
        wifi.transport = Transport::Wifi;
        let history = [
            run(t, 9 * MB), // old: out of the window of three
            run(t + Duration::hours(1), 2 * MB),
            run(t + Duration::hours(2), 3 * MB),
            run(t + Duration::hours(3), MB),
            wifi,
        ];
        assert_eq!(policy.expected_run_bytes(&history), 3 * MB);
    }

    /// One row of the decision table.
    struct Case {
        name: &'static str,
        now: &'static str,
        state: fn(PlatformState) -> PlatformState,
        /// (local time, bytes, failed, transport)
        history: &'static [(&'static str, u64, bool, Transport)],
        policy: fn(AutoPolicy) -> AutoPolicy,
        code: &'static str,
        /// Expected next check, local time, when the row cares.
        next_check: Option<&'static str>,
    }

    fn same<T>(x: T) -> T {
        x
    }

    const C: Transport = Transport::Cellular;

    #[test]
    fn decision_table() {
        let cases = [
            Case {
                name: "nothing ever ran",
                now: "2026-11-25 10:00",
                state: same,
                history: &[],
                policy: same,
                code: "first_run",
                next_check: Some("2026-11-25 11:00"),
            },
            Case {
                name: "before the active hours",
                now: "2026-11-25 07:59",
                state: same,
                history: &[],
                policy: same,
                code: "outside_active_hours",
                next_check: Some("2026-11-25 08:00"),
            },
            Case {
                name: "after the active hours: tomorrow morning",
                now: "2026-11-25 21:00",
                state: same,
                history: &[],
                policy: same,
                code: "outside_active_hours",
                next_check: Some("2026-11-26 08:00"),
            },
            Case {
                name: "Wi-Fi connected even though cellular carries the traffic",
                now: "2026-11-25 10:00",
                state: |mut s| {
                    s.network.wifi_connected = true;
                    s
                },
                history: &[],
                policy: same,
                code: "wifi_connected",
                next_check: Some("2026-11-25 10:15"),
            },
            Case {
                name: "on Ethernet",
                now: "2026-11-25 10:00",
                state: |mut s| {
                    s.network.transport = Transport::Ethernet;
                    s
                },
                history: &[],
                policy: same,
                code: "not_cellular",
                next_check: None,
            },
            Case {
                name: "battery low and discharging",
                now: "2026-11-25 10:00",
                state: |mut s| {
                    s.battery = Some(Battery {
                        percent: 20,
                        charging: false,
                    });
                    s
                },
                history: &[],
                policy: same,
                code: "battery_low",
                next_check: Some("2026-11-25 10:15"),
            },
            Case {
                name: "battery low but charging",
                now: "2026-11-25 10:00",
                state: |mut s| {
                    s.battery = Some(Battery {
                        percent: 20,
                        charging: true,
                    });
                    s
                },
                history: &[],
                policy: same,
                code: "first_run",
                next_check: None,
            },
            Case {
                name: "battery unknown (desktop)",
                now: "2026-11-25 10:00",
                state: |mut s| {
                    s.battery = None;
                    s
                },
                history: &[],
                policy: same,
                code: "first_run",
                next_check: None,
            },
            Case {
                name: "three runs today already",
                now: "2026-11-25 20:00",
                state: same,
                history: &[
                    ("2026-11-25 08:10", MB, false, C),
                    ("2026-11-25 10:10", MB, false, C),
                    ("2026-11-25 12:10", MB, false, C),
                ],
                policy: same,
                code: "daily_limit",
                next_check: Some("2026-11-26 08:00"),
            },
            Case {
                name: "yesterday's runs do not count today (across midnight)",
                now: "2026-11-26 08:30",
                state: same,
                history: &[
                    ("2026-11-25 08:10", MB, false, C),
                    ("2026-11-25 14:10", MB, false, C),
                    ("2026-11-25 20:59", MB, false, C),
                ],
                policy: |p| AutoPolicy {
                    min_interval: Duration::minutes(1),
                    mean_interval: Duration::minutes(1),
                    ..p
                },
                code: "due",
                next_check: None,
            },
            Case {
                name: "next run would overrun the daily budget",
                now: "2026-11-25 18:00",
                state: same,
                history: &[
                    ("2026-11-25 08:10", 5 * MB, false, C),
                    ("2026-11-25 12:10", 5 * MB, false, C),
                ],
                policy: |p| AutoPolicy {
                    daily_budget_bytes: 14 * MB,
                    ..p
                },
                code: "daily_budget",
                next_check: Some("2026-11-26 08:00"),
            },
            Case {
                name: "small recent runs fit where the caps would not",
                now: "2026-11-25 18:00",
                state: same,
                history: &[
                    ("2026-11-25 08:10", 6 * MB, false, C),
                    ("2026-11-25 09:10", 2 * MB, false, C),
                    ("2026-11-25 10:10", 2 * MB, false, C),
                    ("2026-11-25 11:10", 2 * MB, false, C),
                ],
                policy: |p| AutoPolicy {
                    max_per_day: 10,
                    min_interval: Duration::minutes(1),
                    mean_interval: Duration::minutes(2),
                    ..p
                },
                code: "due",
                next_check: None,
            },
            Case {
                name: "Wi-Fi runs cost no mobile data",
                now: "2026-11-25 18:00",
                state: same,
                history: &[
                    ("2026-11-25 08:10", 50 * MB, false, Transport::Wifi),
                    ("2026-11-25 09:10", 2 * MB, false, C),
                ],
                policy: |p| AutoPolicy {
                    min_interval: Duration::minutes(1),
                    mean_interval: Duration::minutes(2),
                    ..p
                },
                code: "due",
                next_check: None,
            },
            Case {
                name: "monthly budget spent: wait for next month",
                now: "2026-11-25 10:00",
                state: same,
                history: &[
                    ("2026-11-02 10:00", 100 * MB, false, C),
                    ("2026-11-10 10:00", 100 * MB, false, C),
                    ("2026-11-20 10:00", 98 * MB, false, C),
                    ("2026-10-31 10:00", 100 * MB, false, C), // last month
                ],
                policy: |p| AutoPolicy {
                    daily_budget_bytes: 200 * MB,
                    ..p
                },
                code: "monthly_budget",
                next_check: Some("2026-12-01 08:00"),
            },
            Case {
                name: "spacing not yet passed",
                now: "2026-11-25 10:30",
                state: same,
                history: &[("2026-11-25 10:00", MB, false, C)],
                policy: same,
                code: "not_due",
                next_check: None,
            },
            Case {
                name: "days asleep: one run due, not a burst",
                now: "2026-11-30 10:00",
                state: same,
                history: &[("2026-11-25 10:00", MB, false, C)],
                policy: same,
                code: "due",
                next_check: None,
            },
            Case {
                name: "first failure: retry after 15 min",
                now: "2026-11-25 10:10",
                state: same,
                history: &[
                    ("2026-11-25 08:00", MB, false, C),
                    ("2026-11-25 10:00", 0, true, C),
                ],
                policy: same,
                code: "backing_off",
                next_check: Some("2026-11-25 10:15"),
            },
            Case {
                name: "three failures: wait 60 min",
                now: "2026-11-25 11:50",
                state: same,
                history: &[
                    ("2026-11-25 10:00", 0, true, C),
                    ("2026-11-25 10:15", 0, true, C),
                    ("2026-11-25 11:00", 0, true, C),
                ],
                policy: same,
                code: "backing_off",
                next_check: Some("2026-11-25 12:00"),
            },
            Case {
                name: "three failures, wait over",
                now: "2026-11-25 12:00",
                state: same,
                history: &[
                    ("2026-11-25 10:00", 0, true, C),
                    ("2026-11-25 10:15", 0, true, C),
                    ("2026-11-25 11:00", 0, true, C),
                ],
                policy: same,
                code: "retry",
                next_check: None,
            },
            Case {
                name: "many failures: the wait is capped",
                now: "2026-11-25 14:00",
                state: same,
                history: &[
                    ("2026-11-25 08:00", 0, true, C),
                    ("2026-11-25 08:01", 0, true, C),
                    ("2026-11-25 08:02", 0, true, C),
                    ("2026-11-25 08:03", 0, true, C),
                    ("2026-11-25 08:04", 0, true, C),
                    ("2026-11-25 08:05", 0, true, C),
                    ("2026-11-25 08:06", 0, true, C),
                    ("2026-11-25 08:07", 0, true, C),
                    ("2026-11-25 10:00", 0, true, C),
                ],
                policy: same,
                code: "retry",
                next_check: None,
            },
        ];
        for case in cases {
            let policy = (case.policy)(AutoPolicy::default());
            policy.validate().expect("test policy is valid");
            let history: Vec<PastRun> = case
                .history
                .iter()
                .map(|&(t, bytes, failed, transport)| PastRun {
                    at: local(Ho_Chi_Minh, t),
                    valid: !failed,
                    transport,
                    bytes,
                    failed,
                })
                .collect();
            let now = local(Ho_Chi_Minh, case.now);
            let state = (case.state)(on_cellular(Ho_Chi_Minh));
            let d = policy.decide(now, &state, &history);
            assert_eq!(d.reason.code(), case.code, "{}: {}", case.name, d.message);
            assert_eq!(d.run, d.reason.runs(), "{}", case.name);
            assert!(d.next_check_at > now, "{}", case.name);
            if let Some(next) = case.next_check {
                assert_eq!(
                    d.next_check_at,
                    local(Ho_Chi_Minh, next),
                    "{}: {}",
                    case.name,
                    d.message
                );
            }
        }
    }

    #[test]
    fn a_run_is_followed_by_its_drawn_spacing_never_by_a_second_run() {
        let policy = AutoPolicy::default();
        let state = on_cellular(Ho_Chi_Minh);
        let t = local(Ho_Chi_Minh, "2026-11-30 10:00");
        let history = [run(local(Ho_Chi_Minh, "2026-11-25 10:00"), MB), run(t, MB)];
        let d = policy.decide(t + Duration::seconds(30), &state, &history);
        assert_eq!(d.reason.code(), "not_due");
        let Reason::NotDue { due_at } = d.reason else {
            panic!("not_due carries its time");
        };
        let window = policy.window();
        assert_eq!(
            window.time_inside(Ho_Chi_Minh, t, due_at),
            policy.spacing_after(t)
        );
    }

    #[test]
    fn clock_moved_backwards_neither_stalls_nor_runs_twice() {
        let policy = AutoPolicy::default();
        let state = on_cellular(Ho_Chi_Minh);
        let ran = local(Ho_Chi_Minh, "2026-11-25 15:00");
        let history = [run(ran, MB)];
        let spacing = policy.spacing_after(ran);
        // The user sets the clock back five hours right after the run.
        let now = ran - Duration::hours(5) + Duration::minutes(1);
        let d = policy.decide(now, &state, &history);
        assert!(!d.run, "a run one minute ago (real time) must not repeat");
        assert_eq!(d.reason.code(), "not_due");
        // Still counted today, on the new clock.
        let tight = AutoPolicy {
            max_per_day: 1,
            ..policy.clone()
        };
        assert_eq!(
            tight.decide(now, &state, &history).reason.code(),
            "daily_limit"
        );
        // It runs once the new clock has passed the run plus its spacing: a delay of
        // the shift, not a stall.
        let due = policy.window().advance(Ho_Chi_Minh, ran, spacing);
        assert!(policy.decide(due, &state, &history).run);
        assert!(
            !policy
                .decide(due - Duration::minutes(1), &state, &history)
                .run
        );

        // Set back by three days: the future-dated run is disregarded, so the policy
        // runs now instead of waiting three days, and no phantom run fills today.
        let far = ran - Duration::days(3);
        let d = tight.decide(far, &state, &history);
        assert!(d.run, "{}", d.message);
    }

    #[test]
    fn time_zone_change_moves_the_hours_but_not_the_spacing() {
        let policy = AutoPolicy::default();
        let ran = local(Ho_Chi_Minh, "2026-11-25 10:00");
        let history = [run(ran, MB)];
        let hcm = on_cellular(Ho_Chi_Minh);
        let tokyo = on_cellular(Tokyo);
        let now = ran + Duration::minutes(20);
        let a = policy.decide(now, &hcm, &history);
        let b = policy.decide(now, &tokyo, &history);
        assert!(!a.run && !b.run, "a zone change is no reason to run again");
        // 06:30 in Ho Chi Minh City is 08:30 in Tokyo: outside, then inside active hours.
        let early = local(Ho_Chi_Minh, "2026-11-26 06:30");
        assert_eq!(
            policy.decide(early, &hcm, &[]).reason.code(),
            "outside_active_hours"
        );
        assert_eq!(policy.decide(early, &tokyo, &[]).reason.code(), "first_run");
    }

    #[test]
    fn invalid_policies_are_rejected() {
        let bad_hours = AutoPolicy {
            active_start: NaiveTime::from_hms_opt(22, 0, 0).unwrap_or(NaiveTime::MIN),
            ..AutoPolicy::default()
        };
        assert!(
            matches!(bad_hours.validate(), Err(Error::Config(m)) if m.contains("active hours"))
        );
        let bad_bounds = AutoPolicy {
            min_interval: Duration::hours(30),
            ..AutoPolicy::default()
        };
        assert!(bad_bounds.validate().is_err());
        let tiny_runs = AutoPolicy {
            run_upload_bytes: 10,
            ..AutoPolicy::default()
        };
        assert!(tiny_runs.validate().is_err());
        assert!(AutoPolicy::default().validate().is_ok());
    }

    /// Drives [`run_loop`] over `days` with a fake clock that jumps to each check, a
    /// platform given by `state_at`, and runs of `bytes`; returns the history.
    async fn drive(
        policy: &AutoPolicy,
        start: DateTime<Utc>,
        days: i64,
        state_at: impl Fn(DateTime<Utc>) -> PlatformState,
        bytes: u64,
    ) -> Vec<PastRun> {
        let clock = FakeClock::new(start);
        let history = RefCell::new(Vec::new());
        let end = start + Duration::days(days);
        let summary = run_loop(
            policy,
            &clock,
            || state_at(clock.now()),
            || Ok(history.borrow().clone()),
            async |_| {
                let now = clock.now();
                let transport = state_at(now).network.transport;
                history.borrow_mut().push(PastRun {
                    transport,
                    ..run(now, bytes)
                });
            },
            async |d| {
                if d.next_check_at >= end {
                    return ControlFlow::Break(());
                }
                clock.set(d.next_check_at);
                ControlFlow::Continue(())
            },
            None,
        )
        .await
        .expect("loop runs");
        assert_eq!(summary.runs as usize, history.borrow().len());
        history.into_inner()
    }

    #[tokio::test]
    async fn two_weeks_of_checks_keep_every_rule() {
        let policy = AutoPolicy::default();
        let tz = Ho_Chi_Minh;
        let start = local(tz, "2026-11-23 00:00");
        let runs = drive(&policy, start, 14, |_| on_cellular(tz), 4_500_000).await;
        // ≈ 1.6 a day expected; generous bounds for one seed.
        assert!((12..=40).contains(&runs.len()), "{} runs", runs.len());
        let window = policy.window();
        let mut minutes = std::collections::HashSet::new();
        for pair in runs.windows(2) {
            assert!(pair[1].at - pair[0].at >= policy.min_interval);
        }
        for r in &runs {
            assert!(window.contains(tz, r.at), "run at {} outside hours", r.at);
            minutes.insert(r.at.with_timezone(&tz).format("%H:%M").to_string());
        }
        assert!(
            minutes.len() > runs.len() / 2,
            "runs spread over the day: {minutes:?}"
        );
        for day in 0..14 {
            let from = start + Duration::days(day);
            let today: Vec<_> = runs
                .iter()
                .filter(|r| r.at >= from && r.at < from + Duration::days(1))
                .collect();
            assert!(today.len() as u32 <= policy.max_per_day);
            assert!(today.iter().map(|r| r.bytes).sum::<u64>() <= policy.daily_budget_bytes);
        }
    }

    #[tokio::test]
    async fn monthly_budget_runs_out_and_comes_back_next_month() {
        let policy = AutoPolicy {
            monthly_budget_bytes: 30 * MB,
            ..AutoPolicy::default()
        };
        let tz = Ho_Chi_Minh;
        let start = local(tz, "2026-11-20 00:00");
        let runs = drive(&policy, start, 15, |_| on_cellular(tz), 5 * MB).await;
        let dec1 = local(tz, "2026-12-01 00:00");
        let november: u64 = runs.iter().filter(|r| r.at < dec1).map(|r| r.bytes).sum();
        assert_eq!(
            november,
            30 * MB,
            "spends the month's budget exactly, no more"
        );
        assert!(runs.iter().any(|r| r.at >= dec1), "resumes in December");
    }

    #[tokio::test]
    async fn wifi_and_low_battery_hold_runs_back_until_they_clear() {
        let policy = AutoPolicy::default();
        let tz = Ho_Chi_Minh;
        let start = local(tz, "2026-11-23 00:00");
        let wifi_until = local(tz, "2026-11-23 12:00");
        let flat_until = local(tz, "2026-11-23 15:00");
        let runs = drive(
            &policy,
            start,
            1,
            |t| {
                let mut s = on_cellular(tz);
                if t < wifi_until {
                    s.network.wifi_connected = true;
                    s.network.transport = Transport::Wifi;
                } else if t < flat_until {
                    s.battery = Some(Battery {
                        percent: 10,
                        charging: false,
                    });
                }
                s
            },
            MB,
        )
        .await;
        let first = runs.first().expect("runs once conditions clear");
        assert!(first.at >= flat_until && first.at < flat_until + policy.recheck_interval);
    }

    #[tokio::test]
    async fn loop_stops_at_max_runs_and_refuses_unrecorded_runs() -> Result<()> {
        let policy = AutoPolicy::default();
        let tz = Ho_Chi_Minh;
        let clock = FakeClock::new(local(tz, "2026-11-23 09:00"));
        let history = RefCell::new(Vec::new());
        let summary = run_loop(
            &policy,
            &clock,
            || on_cellular(tz),
            || Ok(history.borrow().clone()),
            async |_| history.borrow_mut().push(run(clock.now(), MB)),
            async |d| {
                clock.set(d.next_check_at);
                ControlFlow::Continue(())
            },
            Some(4),
        )
        .await?;
        assert_eq!(summary.runs, 4);
        assert_eq!(history.borrow().len(), 4);

        let forgetful = run_loop(
            &policy,
            &clock,
            || on_cellular(tz),
            || Ok(Vec::new()),
            async |_| {},
            async |_| ControlFlow::Break(()),
            Some(10),
        )
        .await;
        assert!(matches!(forgetful, Err(Error::Schedule(_))));
        Ok(())
    }
}
