//! Replays scripted days through a policy with a fake clock: what `ispeed schedule
//! simulate` prints, and a way to see a policy's behaviour over weeks in milliseconds.
//!
//! A [`Scenario`] scripts what the phone would report (battery, charger, network, time
//! zone), clock changes, server outages, and for the daily policy when the user measures.
//! Times in a scenario are `day` (1 = the first simulated day) and `time` (`HH:MM`) in
//! the scenario's starting time zone, whatever zone the phone is in by then.
//!
//! ```json
//! {
//!   "description": "Wi-Fi at lunch, low battery in the evening",
//!   "time_zone": "Asia/Ho_Chi_Minh",
//!   "start_date": "2026-11-23",
//!   "initial": { "transport": "cellular", "wifi_connected": false,
//!                "battery_percent": 80, "charging": false },
//!   "events": [
//!     { "day": 1, "time": "12:00", "wifi_connected": true, "transport": "wifi" },
//!     { "day": 1, "time": "18:00", "battery_percent": 20 },
//!     { "day": 2, "time": "07:00", "time_zone": "Asia/Tokyo" },
//!     { "day": 2, "time": "10:00", "clock_shift_minutes": -120 },
//!     { "day": 2, "time": "14:00", "server_down": true }
//!   ],
//!   "measurements": [ { "day": 1, "time": "09:20" }, { "day": 1, "time": "11:00", "valid": false } ],
//!   "run_bytes": 4200000
//! }
//! ```
//!
//! The simulated device wakes at every check time the policy asks for and at every
//! scripted event; real time and the device's clock differ only after a
//! `clock_shift_minutes` event.

use std::cell::RefCell;
use std::ops::ControlFlow;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::auto::{AutoPolicy, run_loop};
use super::daily::DailyPolicy;
use super::time::{local_date, local_instant, next_date};
use super::{PastRun, PlatformState, parse_time_zone};
use crate::clock::{Clock, FakeClock};
use crate::error::{Error, Result};
use crate::network::{NetworkContext, Transport};
use crate::platform::Battery;

/// First simulated day when a scenario names none: fixed, so timelines are reproducible.
pub const DEFAULT_START_DATE: (i32, u32, u32) = (2026, 11, 23);
/// Zone when neither the command line nor the scenario names one: the first users'.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Ho_Chi_Minh";
/// Bytes a simulated background run moves: a capped run on a link of about 15 Mbit/s.
pub const DEFAULT_SIM_RUN_BYTES: u64 = 4_200_000;
/// Longest simulation, and latest scenario day: ten years. Dates and clocks stay far
/// inside what the calendar arithmetic can hold, whatever a scenario file says.
pub const MAX_SIM_DAYS: u32 = 3_660;
/// Largest total clock shift of a scenario, either way: a hundred years.
pub const MAX_CLOCK_SHIFT_DAYS: i64 = 36_600;
/// Largest `run_bytes` of a scenario: 10 GB, far beyond any capped run, small enough
/// that a lifetime of runs adds up without overflow.
pub const MAX_SIM_RUN_BYTES: u64 = 10_000_000_000;
/// Years a scenario may start in.
const START_YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

/// The phone's state as a scenario sets it; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateChange {
    /// Transport the traffic would take.
    pub transport: Option<Transport>,
    /// Whether Wi-Fi is connected.
    pub wifi_connected: Option<bool>,
    /// Battery charge, percent.
    pub battery_percent: Option<u8>,
    /// Whether the charger is plugged in.
    pub charging: Option<bool>,
    /// The phone's time zone from now on (IANA name).
    pub time_zone: Option<String>,
    /// Moves the phone's clock by this many minutes (negative: backwards).
    pub clock_shift_minutes: Option<i64>,
    /// Whether the measurement server fails every attempt from now on.
    pub server_down: Option<bool>,
}

/// A scripted change at a moment of the simulation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioEvent {
    /// Simulated day, 1-based.
    pub day: u32,
    /// Local time (`HH:MM`) in the scenario's starting zone.
    pub time: NaiveTime,
    /// What changes.
    #[serde(flatten)]
    pub change: StateChange,
}

/// A measurement the user starts by hand (daily policy).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualMeasurement {
    /// Simulated day, 1-based.
    pub day: u32,
    /// Local time (`HH:MM`) in the scenario's starting zone.
    pub time: NaiveTime,
    /// Whether the sample is valid; by default, whether the phone was on cellular with
    /// Wi-Fi off at that moment.
    #[serde(default)]
    pub valid: Option<bool>,
}

/// A scripted run of days. See the module docs for the file format.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows.
    #[serde(default)]
    pub description: Option<String>,
    /// Starting time zone (IANA); the command line's `--tz` overrides it.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// First simulated day.
    #[serde(default)]
    pub start_date: Option<NaiveDate>,
    /// State at the start (defaults: cellular, Wi-Fi off, 80 %, not charging).
    #[serde(default)]
    pub initial: StateChange,
    /// Scripted changes.
    #[serde(default)]
    pub events: Vec<ScenarioEvent>,
    /// Measurements the user makes by hand.
    #[serde(default)]
    pub measurements: Vec<ManualMeasurement>,
    /// Bytes a background run moves (auto policy).
    #[serde(default)]
    pub run_bytes: Option<u64>,
}

impl Scenario {
    /// Parses a scenario from JSON.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Config(format!("scenario is not valid: {e}")))
    }
}

/// What happened at one moment of a simulated timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A scripted change of the phone's state.
    Event,
    /// The auto policy started a measurement.
    Run,
    /// The auto policy looked and did not measure.
    Skip,
    /// The daily policy showed a reminder.
    Reminder,
    /// A reminder slot passed without a reminder (target met).
    NoReminder,
    /// The user measured by hand.
    Measurement,
}

impl EntryKind {
    /// Short upper-case label for text output.
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Event => "EVENT",
            EntryKind::Run => "RUN",
            EntryKind::Skip => "skip",
            EntryKind::Reminder => "REMIND",
            EntryKind::NoReminder => "quiet",
            EntryKind::Measurement => "MEASURE",
        }
    }
}

/// One line of a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// The phone's clock at that moment.
    pub at: DateTime<Utc>,
    /// The same in the phone's zone at that moment, `YYYY-MM-DD HH:MM` and offset.
    pub local: String,
    /// What happened.
    pub kind: EntryKind,
    /// Stable code: the decision's reason, the event's or the measurement's kind.
    pub code: String,
    /// For people.
    pub message: String,
    /// When the policy will look again (auto) or remind next (daily), where it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_check_at: Option<DateTime<Utc>>,
    /// The same on the phone's wall clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_check_local: Option<String>,
}

/// Per local day totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaySummary {
    /// Local date.
    pub date: NaiveDate,
    /// Background runs started (auto) or manual measurements made (daily).
    pub runs: u32,
    /// Of those, valid cellular ones.
    pub valid: u32,
    /// Mobile-data bytes used.
    pub cellular_bytes: u64,
    /// Reminders shown (daily).
    pub reminders: u32,
}

/// A simulated timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// `auto` or `daily`.
    pub policy: String,
    /// Starting time zone.
    pub time_zone: String,
    /// Everything that happened, in order.
    pub entries: Vec<TimelineEntry>,
    /// Totals per local day (in the starting zone).
    pub days: Vec<DaySummary>,
}

/// The simulated world: real time, the phone's clock offset, its state, the history.
struct World {
    tz0: Tz,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    offset: Duration,
    state: PlatformState,
    server_down: bool,
    events: Vec<(DateTime<Utc>, StateChange)>,
    next_event: usize,
    history: Vec<PastRun>,
    entries: Vec<TimelineEntry>,
}

impl World {
    fn new(scenario: &Scenario, tz_override: Option<&str>, days: u32) -> Result<Self> {
        if !(1..=MAX_SIM_DAYS).contains(&days) {
            return Err(Error::Config(format!(
                "simulate 1 to {MAX_SIM_DAYS} days, not {days}"
            )));
        }
        if scenario.run_bytes.is_some_and(|b| b > MAX_SIM_RUN_BYTES) {
            return Err(Error::Config(format!(
                "run_bytes is more than {MAX_SIM_RUN_BYTES}"
            )));
        }
        let tz0 = parse_time_zone(
            tz_override
                .or(scenario.time_zone.as_deref())
                .unwrap_or(DEFAULT_TIME_ZONE),
        )?;
        let (y, m, d) = DEFAULT_START_DATE;
        let first = scenario
            .start_date
            .or_else(|| NaiveDate::from_ymd_opt(y, m, d))
            .ok_or_else(|| Error::Config("bad start date".to_owned()))?;
        if !START_YEARS.contains(&first.year()) {
            return Err(Error::Config(format!(
                "the start date {first} is not between the years {} and {}",
                START_YEARS.start(),
                START_YEARS.end()
            )));
        }
        let start = local_instant(tz0, first, NaiveTime::MIN);
        let end = local_instant(tz0, first + Duration::days(i64::from(days)), NaiveTime::MIN);
        let at = |day: u32, time: NaiveTime| -> Result<DateTime<Utc>> {
            if day == 0 {
                return Err(Error::Config("scenario days count from 1".to_owned()));
            }
            if day > MAX_SIM_DAYS {
                return Err(Error::Config(format!(
                    "scenario day {day} is after the last one a simulation reaches ({MAX_SIM_DAYS})"
                )));
            }
            Ok(local_instant(
                tz0,
                first + Duration::days(i64::from(day) - 1),
                time,
            ))
        };
        let mut events = Vec::new();
        for e in &scenario.events {
            events.push((at(e.day, e.time)?, e.change.clone()));
        }
        for m in &scenario.measurements {
            // Manual measurements are events too; the daily simulator handles them.
            let _ = at(m.day, m.time)?;
        }
        events.sort_by_key(|(t, _)| *t);
        let mut world = Self {
            tz0,
            start,
            end,
            offset: Duration::zero(),
            state: PlatformState {
                network: NetworkContext::with_transport(Transport::Cellular),
                battery: Some(Battery {
                    percent: 80,
                    charging: false,
                }),
                time_zone: tz0,
            },
            server_down: false,
            events,
            next_event: 0,
            history: Vec::new(),
            entries: Vec::new(),
        };
        world.apply(&scenario.initial.clone(), start, false)?;
        Ok(world)
    }

    fn local(&self, device_time: DateTime<Utc>) -> String {
        device_time
            .with_timezone(&self.state.time_zone)
            .format("%Y-%m-%d %H:%M %:z")
            .to_string()
    }

    fn push(&mut self, device_time: DateTime<Utc>, kind: EntryKind, code: &str, message: String) {
        let local = self.local(device_time);
        self.entries.push(TimelineEntry {
            at: device_time,
            local,
            kind,
            code: code.to_owned(),
            message,
            next_check_at: None,
            next_check_local: None,
        });
    }

    /// Sets the next check (or reminder) of the last entry.
    fn set_next(&mut self, next: Option<DateTime<Utc>>) {
        let local = next.map(|t| self.local(t));
        if let Some(last) = self.entries.last_mut() {
            last.next_check_at = next;
            last.next_check_local = local;
        }
    }

    /// Applies one change at real time `real`; `log` adds a timeline entry.
    fn apply(&mut self, c: &StateChange, real: DateTime<Utc>, log: bool) -> Result<()> {
        let mut what = Vec::new();
        if let Some(t) = c.transport {
            self.state.network.transport = t;
            what.push(format!("transport {t}"));
        }
        if let Some(w) = c.wifi_connected {
            self.state.network.wifi_connected = w;
            what.push(format!("Wi-Fi {}", if w { "on" } else { "off" }));
        }
        if c.battery_percent.is_some() || c.charging.is_some() {
            let mut b = self.state.battery.unwrap_or(Battery {
                percent: 80,
                charging: false,
            });
            if let Some(p) = c.battery_percent {
                b.percent = p.min(100);
            }
            if let Some(ch) = c.charging {
                b.charging = ch;
            }
            self.state.battery = Some(b);
            what.push(format!(
                "battery {} %{}",
                b.percent,
                if b.charging { ", charging" } else { "" }
            ));
        }
        if let Some(z) = &c.time_zone {
            self.state.time_zone = parse_time_zone(z)?;
            what.push(format!("time zone {z}"));
        }
        if let Some(s) = c.clock_shift_minutes {
            self.offset = Duration::try_minutes(s)
                .and_then(|shift| self.offset.checked_add(&shift))
                .filter(|o| o.num_days().abs() <= MAX_CLOCK_SHIFT_DAYS)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "clock shifts add up to more than {MAX_CLOCK_SHIFT_DAYS} days"
                    ))
                })?;
            what.push(format!("clock moved {s:+} min"));
        }
        if let Some(d) = c.server_down {
            self.server_down = d;
            what.push(format!("server {}", if d { "down" } else { "back up" }));
        }
        if log && !what.is_empty() {
            let device = real + self.offset;
            self.push(device, EntryKind::Event, "event", what.join(", "));
        }
        Ok(())
    }

    /// Applies every scripted change due at or before real time `real`.
    fn apply_due(&mut self, real: DateTime<Utc>) -> Result<()> {
        while let Some((t, c)) = self.events.get(self.next_event).cloned() {
            if t > real {
                break;
            }
            self.next_event += 1;
            self.apply(&c, t, true)?;
        }
        Ok(())
    }

    fn next_event_at(&self) -> Option<DateTime<Utc>> {
        self.events.get(self.next_event).map(|(t, _)| *t)
    }

    fn network_allows_valid(&self) -> bool {
        self.state.network.transport == Transport::Cellular && !self.state.network.wifi_connected
    }

    fn summaries(&self) -> Vec<DaySummary> {
        let mut days = Vec::new();
        let mut date = local_date(self.tz0, self.start);
        while local_instant(self.tz0, date, NaiveTime::MIN) < self.end {
            let runs: Vec<&PastRun> = self
                .history
                .iter()
                .filter(|r| local_date(self.tz0, r.at) == date)
                .collect();
            let reminders = self
                .entries
                .iter()
                .filter(|e| e.kind == EntryKind::Reminder && local_date(self.tz0, e.at) == date)
                .count() as u32;
            days.push(DaySummary {
                date,
                runs: runs.len() as u32,
                valid: runs.iter().filter(|r| r.counts_as_valid_cellular()).count() as u32,
                cellular_bytes: runs
                    .iter()
                    .filter(|r| r.on_cellular())
                    .fold(0u64, |sum, r| sum.saturating_add(r.bytes)),
                reminders,
            });
            date = next_date(date);
        }
        days
    }

    fn into_timeline(self, policy: &str) -> Timeline {
        Timeline {
            policy: policy.to_owned(),
            time_zone: self.tz0.name().to_owned(),
            days: self.summaries(),
            entries: self.entries,
        }
    }
}

/// Runs the auto policy over `days` days of `scenario` through [`run_loop`], with a
/// fake clock that jumps to each check the policy asks for (or the next scripted event).
pub async fn simulate_auto(
    policy: &AutoPolicy,
    scenario: &Scenario,
    tz: Option<&str>,
    days: u32,
) -> Result<Timeline> {
    let world = RefCell::new(World::new(scenario, tz, days)?);
    let run_bytes = scenario.run_bytes.unwrap_or(DEFAULT_SIM_RUN_BYTES);
    let start = world.borrow().start;
    world.borrow_mut().apply_due(start)?;
    let clock = FakeClock::new(start);
    run_loop(
        policy,
        &clock,
        || world.borrow().state.clone(),
        || Ok(world.borrow().history.clone()),
        async |decision| {
            let mut w = world.borrow_mut();
            let now = clock.now();
            let failed = w.server_down;
            let valid = !failed && w.network_allows_valid();
            let transport = w.state.network.transport;
            w.history.push(PastRun {
                at: now,
                valid,
                transport,
                bytes: if failed { 0 } else { run_bytes },
                failed,
            });
            let outcome = if failed {
                "failed: server down".to_owned()
            } else {
                format!("measured {:.1} MB", run_bytes as f64 / 1e6)
            };
            let message = format!("{} — {outcome}", decision.message);
            w.push(now, EntryKind::Run, decision.reason.code(), message);
        },
        async |decision| {
            let mut w = world.borrow_mut();
            let now = clock.now();
            // A wake-up (for a scripted event) that changes nothing is not news.
            let repeat = w
                .entries
                .iter()
                .rev()
                .find(|e| e.kind != EntryKind::Event)
                .is_some_and(|e| {
                    e.kind == EntryKind::Skip
                        && e.code == decision.reason.code()
                        && e.next_check_at == Some(decision.next_check_at)
                });
            if !repeat {
                w.push(
                    now,
                    EntryKind::Skip,
                    decision.reason.code(),
                    decision.message.clone(),
                );
                w.set_next(Some(decision.next_check_at));
            }
            let real_now = now - w.offset;
            let mut real_next = decision.next_check_at - w.offset;
            if let Some(e) = w.next_event_at() {
                real_next = real_next.min(e.max(real_now + Duration::seconds(1)));
            }
            if real_next >= w.end {
                return ControlFlow::Break(());
            }
            if w.apply_due(real_next).is_err() {
                return ControlFlow::Break(());
            }
            clock.set(real_next + w.offset);
            ControlFlow::Continue(())
        },
        None,
    )
    .await?;
    Ok(world.into_inner().into_timeline("auto"))
}

/// Runs the daily policy over `days` days of `scenario`: reminders at the times
/// [`DailyPolicy::status`] gives, the user's scripted measurements, and a `quiet` entry
/// for each reminder slot that passes without a reminder because the target was met.
pub fn simulate_daily(
    policy: &DailyPolicy,
    scenario: &Scenario,
    tz: Option<&str>,
    days: u32,
) -> Result<Timeline> {
    policy.validate()?;
    let mut w = World::new(scenario, tz, days)?;
    let first = local_date(w.tz0, w.start);
    let mut manual: Vec<(DateTime<Utc>, Option<bool>)> = scenario
        .measurements
        .iter()
        .map(|m| {
            let date = first + Duration::days(i64::from(m.day) - 1);
            (local_instant(w.tz0, date, m.time), m.valid)
        })
        .collect();
    manual.sort_by_key(|(t, _)| *t);
    let mut next_manual = 0;
    let mut real = w.start;
    w.apply_due(real)?;
    // Bounded: every step moves real time forward by at least a second.
    let max_steps = 20 * (days as usize + 1) * (policy.reminder_slots.len() + 4)
        + w.events.len()
        + manual.len();
    for _ in 0..max_steps {
        let device = real + w.offset;
        let tz = w.state.time_zone;
        let status = policy.status(device, tz, &w.history);
        // The next reminder slot, shown or not, in the phone's current zone.
        let today = local_date(tz, device);
        let next_slot = policy
            .slots_on(tz, today)
            .into_iter()
            .chain(policy.slots_on(tz, next_date(today)))
            .find(|&s| s > device);
        // The shell asks again at local midnight, as DailyStatus::day_ends_at says.
        let mut next = w.end.min(status.day_ends_at - w.offset);
        if let Some(s) = next_slot {
            next = next.min(s - w.offset);
        }
        if let Some(e) = w.next_event_at() {
            next = next.min(e);
        }
        if let Some((m, _)) = manual.get(next_manual) {
            next = next.min(*m);
        }
        next = next.max(real + Duration::seconds(1));
        if next >= w.end {
            break;
        }
        real = next;
        w.apply_due(real)?;
        let device = real + w.offset;
        if next_slot == Some(device) {
            if status.next_reminder_at == Some(device) {
                let msg = format!(
                    "reminder: {} of {} valid measurements today, {} to go",
                    status.done_today, status.target, status.remaining
                );
                w.push(device, EntryKind::Reminder, "reminder", msg);
            } else {
                let msg = format!(
                    "no reminder: target met ({} of {} valid today)",
                    status.done_today, status.target
                );
                w.push(device, EntryKind::NoReminder, "target_met", msg);
            }
        }
        while let Some(&(m, valid)) = manual.get(next_manual) {
            if m > real {
                break;
            }
            next_manual += 1;
            let valid = valid.unwrap_or_else(|| w.network_allows_valid());
            let transport = w.state.network.transport;
            w.history.push(PastRun {
                at: device,
                valid,
                transport,
                bytes: scenario.run_bytes.unwrap_or(DEFAULT_SIM_RUN_BYTES),
                failed: false,
            });
            let after = policy.status(device, w.state.time_zone, &w.history);
            let msg = format!(
                "{} sample: {} of {} valid today{}",
                if valid { "valid" } else { "invalid" },
                after.done_today,
                after.target,
                if after.remaining == 0 {
                    ", target met: no more reminders today"
                } else {
                    ""
                }
            );
            let code = if valid { "valid" } else { "invalid" };
            w.push(device, EntryKind::Measurement, code, msg);
            w.set_next(after.next_reminder_at);
        }
    }
    Ok(w.into_timeline("daily"))
}

#[cfg(test)]
// A failed expectation in a test is the test failing, with its context.
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use crate::schedule::time::Window;

    fn scenario(json: &str) -> Scenario {
        Scenario::from_json(json).expect("test scenario parses")
    }

    fn runs(t: &Timeline) -> Vec<&TimelineEntry> {
        t.entries
            .iter()
            .filter(|e| e.kind == EntryKind::Run)
            .collect()
    }

    #[tokio::test]
    async fn days_of_auto_runs_stay_in_hours_spread_and_in_budget() -> Result<()> {
        let policy = AutoPolicy::default();
        let t = simulate_auto(&policy, &Scenario::default(), None, 10).await?;
        let window = Window {
            start: policy.active_start,
            end: policy.active_end,
        };
        let tz = parse_time_zone(DEFAULT_TIME_ZONE)?;
        let r = runs(&t);
        assert!(r.len() >= 10, "{} runs in 10 days", r.len());
        assert!(r.iter().all(|e| window.contains(tz, e.at)));
        let minutes: std::collections::HashSet<String> =
            r.iter().map(|e| e.local[11..16].to_owned()).collect();
        assert!(minutes.len() > r.len() / 2, "spread: {minutes:?}");
        assert_eq!(t.days.len(), 10);
        for d in &t.days {
            assert!(d.runs <= policy.max_per_day);
            assert!(d.cellular_bytes <= policy.daily_budget_bytes);
        }
        // Every skipped check says why.
        assert!(
            t.entries
                .iter()
                .filter(|e| e.kind == EntryKind::Skip)
                .all(|e| !e.code.is_empty() && e.next_check_at.is_some())
        );
        Ok(())
    }

    #[tokio::test]
    async fn time_zone_change_from_ho_chi_minh_to_tokyo_runs_no_extra() -> Result<()> {
        let policy = AutoPolicy::default();
        let s = scenario(
            r#"{ "events": [ { "day": 2, "time": "05:30", "time_zone": "Asia/Tokyo" } ] }"#,
        );
        let t = simulate_auto(&policy, &s, Some("Asia/Ho_Chi_Minh"), 4).await?;
        let r = runs(&t);
        for pair in r.windows(2) {
            assert!(pair[1].at - pair[0].at >= policy.min_interval);
        }
        // After the move, active hours are Tokyo's: 08:00 Tokyo is 06:00 in Ho Chi Minh City.
        let tokyo = parse_time_zone("Asia/Tokyo")?;
        let window = Window {
            start: policy.active_start,
            end: policy.active_end,
        };
        let moved = t
            .entries
            .iter()
            .find(|e| e.kind == EntryKind::Event)
            .map(|e| e.at);
        let moved = moved.expect("the move is in the timeline");
        let after: Vec<_> = r.iter().filter(|e| e.at > moved).collect();
        assert!(!after.is_empty());
        assert!(after.iter().all(|e| window.contains(tokyo, e.at)));
        assert!(after.iter().all(|e| e.local.ends_with("+09:00")));
        Ok(())
    }

    #[tokio::test]
    async fn clock_set_back_an_evening_does_not_repeat_or_stall() -> Result<()> {
        let policy = AutoPolicy {
            mean_interval: Duration::hours(3),
            ..AutoPolicy::default()
        };
        let s = scenario(
            r#"{ "events": [ { "day": 1, "time": "15:00", "clock_shift_minutes": -180 } ] }"#,
        );
        let t = simulate_auto(&policy, &s, None, 3).await?;
        let shift = t
            .entries
            .iter()
            .position(|e| e.kind == EntryKind::Event)
            .expect("shift logged");
        let before = t.entries[..shift]
            .iter()
            .filter(|e| e.kind == EntryKind::Run)
            .count();
        let after = t.entries[shift..]
            .iter()
            .filter(|e| e.kind == EntryKind::Run)
            .count();
        assert!(
            before >= 1 && after >= 2,
            "{before} runs before, {after} after"
        );
        // The first run after the shift is not at the moment of the shift.
        let first_after = t.entries[shift..]
            .iter()
            .find(|e| e.kind == EntryKind::Run)
            .expect("runs after the shift");
        assert!(first_after.at > t.entries[shift].at);
        Ok(())
    }

    #[tokio::test]
    async fn data_budget_runs_out_and_says_so() -> Result<()> {
        let policy = AutoPolicy {
            monthly_budget_bytes: 20_000_000,
            ..AutoPolicy::default()
        };
        let s = scenario(r#"{ "start_date": "2026-11-24", "run_bytes": 5000000 }"#);
        let t = simulate_auto(&policy, &s, None, 9).await?;
        let november: u64 = t
            .days
            .iter()
            .filter(|d| d.date.format("%m").to_string() == "11")
            .map(|d| d.cellular_bytes)
            .sum();
        assert_eq!(november, 20_000_000);
        assert!(t.entries.iter().any(|e| e.code == "monthly_budget"));
        let december = t
            .days
            .iter()
            .filter(|d| d.date.format("%m").to_string() == "12");
        assert!(
            december.map(|d| d.runs).sum::<u32>() >= 1,
            "resumes next month"
        );
        Ok(())
    }

    #[tokio::test]
    async fn server_outage_backs_off_then_recovers() -> Result<()> {
        let policy = AutoPolicy::default();
        let s = scenario(
            r#"{ "events": [ { "day": 1, "time": "07:00", "server_down": true },
                             { "day": 1, "time": "11:00", "server_down": false } ] }"#,
        );
        let t = simulate_auto(&policy, &s, None, 1).await?;
        let failed: Vec<_> = runs(&t)
            .into_iter()
            .filter(|e| e.message.contains("failed: server down"))
            .collect();
        // 08:00, 08:15, 08:45, 09:45 (15, 30, 60 min), next at 11:45 is after the outage.
        assert_eq!(failed.len(), 4, "{failed:?}");
        assert!(
            t.entries
                .iter()
                .any(|e| e.code == "retry" && e.message.contains("measured"))
        );
        Ok(())
    }

    #[test]
    fn daily_reminders_stop_once_the_target_is_met() -> Result<()> {
        let s = scenario(
            r#"{ "measurements": [ { "day": 1, "time": "09:10" }, { "day": 1, "time": "10:00" },
                                   { "day": 1, "time": "12:00", "valid": false },
                                   { "day": 1, "time": "12:30" } ] }"#,
        );
        let t = simulate_daily(&DailyPolicy::default(), &s, Some("Asia/Ho_Chi_Minh"), 2)?;
        let day1: Vec<_> = t
            .entries
            .iter()
            .filter(|e| e.local.starts_with("2026-11-23"))
            .collect();
        let kinds: Vec<EntryKind> = day1
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::Reminder | EntryKind::NoReminder))
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                EntryKind::Reminder,
                EntryKind::NoReminder,
                EntryKind::NoReminder
            ],
            "the invalid sample at 12:00 does not count, the valid one at 12:30 meets the target"
        );
        // Day 2 with no measurements: all three reminders.
        assert_eq!(t.days[1].reminders, 3);
        assert_eq!(t.days[0].valid, 3);
        Ok(())
    }

    /// Found by the `scenario` fuzz target: each of these panicked in date or clock
    /// arithmetic (`NaiveDate + TimeDelta` or `TimeDelta::minutes` overflowing).
    #[test]
    fn scenarios_beyond_the_calendar_are_refused_not_panicked_on() {
        let refused = |json: &str| {
            let s = scenario(json);
            let daily = simulate_daily(&DailyPolicy::default(), &s, None, 3);
            assert!(matches!(daily, Err(Error::Config(_))), "{json}: {daily:?}");
        };
        refused(r#"{ "events": [ { "day": 4000000000, "time": "10:00" } ] }"#);
        refused(r#"{ "measurements": [ { "day": 3661, "time": "10:00" } ] }"#);
        refused(r#"{ "start_date": "+262000-01-01" }"#);
        refused(r#"{ "start_date": "-0001-01-01" }"#);
        refused(
            r#"{ "events": [ { "day": 1, "time": "10:00", "clock_shift_minutes": -9223372036854775807 } ] }"#,
        );
        refused(
            r#"{ "events": [ { "day": 1, "time": "10:00", "clock_shift_minutes": 40000000 },
                             { "day": 1, "time": "11:00", "clock_shift_minutes": 40000000 } ] }"#,
        );
        refused(r#"{ "run_bytes": 18446744073709551615 }"#);
        let s = Scenario::default();
        assert!(simulate_daily(&DailyPolicy::default(), &s, None, MAX_SIM_DAYS + 1).is_err());
        // The limits themselves are fine.
        let s = scenario(
            r#"{ "start_date": "9999-01-01",
                 "events": [ { "day": 3, "time": "10:00", "clock_shift_minutes": 52000000 } ] }"#,
        );
        assert!(simulate_daily(&DailyPolicy::default(), &s, None, 3).is_ok());
    }

    #[test]
    fn bad_scenarios_are_refused_with_a_reason() {
        assert!(Scenario::from_json(r#"{ "evnts": [] }"#).is_err());
        let s = scenario(r#"{ "events": [ { "day": 0, "time": "10:00" } ] }"#);
        assert!(simulate_daily(&DailyPolicy::default(), &s, None, 1).is_err());
        assert!(
            simulate_daily(
                &DailyPolicy::default(),
                &Scenario::default(),
                Some("Mars/Base"),
                1
            )
            .is_err()
        );
    }
}
