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

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
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
        serde_json::from_str(text)
            .map_err(|e| Error::Config(format!("scenario is not valid: {e}")))
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
    /// When the policy will look again, where it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_check_at: Option<DateTime<Utc>>,
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
        if days == 0 {
            return Err(Error::Config("simulate at least one day".to_owned()));
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
        let start = local_instant(tz0, first, NaiveTime::MIN);
        let end = local_instant(tz0, first + Duration::days(i64::from(days)), NaiveTime::MIN);
        let at = |day: u32, time: NaiveTime| -> Result<DateTime<Utc>> {
            if day == 0 {
                return Err(Error::Config("scenario days count from 1".to_owned()));
            }
            Ok(local_instant(tz0, first + Duration::days(i64::from(day) - 1), time))
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
        });
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
            self.offset += Duration::minutes(s);
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
                    .map(|r| r.bytes)
                    .sum(),
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
            w.push(now, EntryKind::Skip, decision.reason.code(), decision.message.clone());
            if let Some(last) = w.entries.last_mut() {
                last.next_check_at = Some(decision.next_check_at);
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
        let mut next = w.end;
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
            if let Some(last) = w.entries.last_mut() {
                last.next_check_at = after.next_reminder_at;
            }
        }
    }
    Ok(w.into_timeline("daily"))
}
