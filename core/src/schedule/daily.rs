//! Three a day (iOS): how many valid cellular measurements the user made today and
//! when to remind them to make another.
//!
//! iOS does not let an app measure by itself, so the campaign asks iPhone users to
//! measure by hand a few times a day. The shell schedules a local notification at
//! [`DailyStatus::next_reminder_at`] and asks again whenever a measurement finishes, the
//! app comes to the foreground, or [`DailyStatus::day_ends_at`] passes.
//!
//! Days are local days in the device's current time zone: a user who flies from Ho Chi
//! Minh City to Tokyo gets Tokyo's midnight. Only valid samples measured on cellular
//! count; an invalid one (Wi-Fi came up) is kept in the store but does not silence a
//! reminder.

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::PastRun;
use super::time::{day_start, local_date, local_instant, next_date};
use crate::error::{Error, Result};

/// Valid cellular measurements asked of the user each day.
pub const DEFAULT_TARGET: u32 = 3;

/// Default reminder times, local: before work, lunch, evening. Spread so the three
/// samples see the network at different loads (morning, midday, evening peak).
pub fn default_reminder_slots() -> Vec<NaiveTime> {
    [(9, 0), (13, 0), (19, 0)]
        .into_iter()
        .filter_map(|(h, m)| NaiveTime::from_hms_opt(h, m, 0))
        .collect()
}

/// The daily target and its reminders.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyPolicy {
    /// Valid cellular measurements wanted per local day.
    pub target: u32,
    /// Local times of the reminders, ascending.
    pub reminder_slots: Vec<NaiveTime>,
}

impl Default for DailyPolicy {
    fn default() -> Self {
        Self {
            target: DEFAULT_TARGET,
            reminder_slots: default_reminder_slots(),
        }
    }
}

/// Where today stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyStatus {
    /// Valid cellular measurements today.
    pub done_today: u32,
    /// The daily target.
    pub target: u32,
    /// Measurements still wanted today (0 once the target is met).
    pub remaining: u32,
    /// The next reminder: the next slot today, or tomorrow's first slot when today's
    /// are over. `None` once today's target is met: no reminder until tomorrow.
    pub next_reminder_at: Option<DateTime<Utc>>,
    /// Local midnight: the count starts again, ask for a new status.
    pub day_ends_at: DateTime<Utc>,
}

impl DailyPolicy {
    /// A policy with `target` a day and reminders at the given local times.
    pub fn new(target: u32, mut reminder_slots: Vec<NaiveTime>) -> Result<Self> {
        reminder_slots.sort();
        reminder_slots.dedup();
        let policy = Self {
            target,
            reminder_slots,
        };
        policy.validate()?;
        Ok(policy)
    }

    /// Checks the policy for settings that cannot work.
    pub fn validate(&self) -> Result<()> {
        if self.target == 0 {
            return Err(Error::Config("the daily target must be at least 1".to_owned()));
        }
        if self.reminder_slots.is_empty() {
            return Err(Error::Config("at least one reminder time is needed".to_owned()));
        }
        if self.reminder_slots.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::Config(
                "reminder times must be distinct and in ascending order".to_owned(),
            ));
        }
        Ok(())
    }

    /// The reminder instants of the local day `date` in `tz`.
    pub fn slots_on(&self, tz: Tz, date: chrono::NaiveDate) -> Vec<DateTime<Utc>> {
        self.reminder_slots
            .iter()
            .map(|&t| local_instant(tz, date, t))
            .collect()
    }

    /// Valid cellular measurements in the local day of `now`.
    ///
    /// A run the clock places after `now` (the clock was moved backwards) counts as
    /// made now, so it neither disappears nor counts for a day that has not come.
    pub fn done_today(&self, now: DateTime<Utc>, tz: Tz, history: &[PastRun]) -> u32 {
        let today = local_date(tz, now);
        let since = day_start(tz, today);
        history
            .iter()
            .filter(|r| r.counts_as_valid_cellular())
            .filter(|r| r.at.min(now) >= since)
            .count() as u32
    }

    /// Where today stands at `now`, in time zone `tz`, given every past measurement.
    pub fn status(&self, now: DateTime<Utc>, tz: Tz, history: &[PastRun]) -> DailyStatus {
        let today = local_date(tz, now);
        let tomorrow = next_date(today);
        let done_today = self.done_today(now, tz, history);
        let remaining = self.target.saturating_sub(done_today);
        let next_reminder_at = if remaining == 0 {
            None
        } else {
            self.slots_on(tz, today)
                .into_iter()
                .find(|&slot| slot > now)
                .or_else(|| self.slots_on(tz, tomorrow).into_iter().next())
        };
        DailyStatus {
            done_today,
            target: self.target,
            remaining,
            next_reminder_at,
            day_ends_at: day_start(tz, tomorrow),
        }
    }
}
