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
    /// Every reminder to schedule now, ascending: today's slots still ahead while the
    /// target is not met, then all of tomorrow's. iOS apps do not run in the
    /// background, so the shell books them all as local notifications and replaces
    /// them whenever it gets a new status; the day's reminders fire even if the app is
    /// not opened in between.
    pub upcoming_reminders: Vec<DateTime<Utc>>,
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
            return Err(Error::Config(
                "the daily target must be at least 1".to_owned(),
            ));
        }
        if self.reminder_slots.is_empty() {
            return Err(Error::Config(
                "at least one reminder time is needed".to_owned(),
            ));
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
        let mut upcoming_reminders: Vec<DateTime<Utc>> = if remaining == 0 {
            Vec::new()
        } else {
            self.slots_on(tz, today)
                .into_iter()
                .filter(|&slot| slot > now)
                .collect()
        };
        upcoming_reminders.extend(self.slots_on(tz, tomorrow));
        let next_reminder_at = (remaining > 0)
            .then(|| upcoming_reminders.first().copied())
            .flatten();
        DailyStatus {
            done_today,
            target: self.target,
            remaining,
            next_reminder_at,
            day_ends_at: day_start(tz, tomorrow),
            upcoming_reminders,
        }
    }
}

#[cfg(test)]
// A failed expectation in a test is the test failing, with its context.
#[allow(clippy::expect_used)]
mod tests {
    use chrono::Duration;
    use chrono_tz::Asia::{Ho_Chi_Minh, Tokyo};

    use super::*;
    use crate::clock::{Clock, FakeClock};
    use crate::network::Transport;
    use crate::schedule::testing::{local, run};

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
    }

    fn invalid(at: DateTime<Utc>) -> PastRun {
        PastRun {
            valid: false,
            ..run(at, 1)
        }
    }

    #[test]
    fn status_table_over_a_day_in_ho_chi_minh_city() {
        let tz = Ho_Chi_Minh;
        let policy = DailyPolicy::default();
        let t = |s: &str| local(tz, &format!("2026-11-25 {s}"));
        let wifi = PastRun {
            transport: Transport::Wifi,
            ..run(t("09:05"), 1)
        };
        let failed = PastRun {
            failed: true,
            ..run(t("09:06"), 0)
        };
        // (now, history, done, next reminder)
        type Row<'a> = (&'a str, Vec<PastRun>, u32, Option<DateTime<Utc>>);
        let rows: Vec<Row> = vec![
            ("00:10", vec![], 0, Some(t("09:00"))),
            ("09:00", vec![], 0, Some(t("13:00"))),
            ("09:30", vec![run(t("09:10"), 1)], 1, Some(t("13:00"))),
            // Invalid, Wi-Fi and failed attempts do not count.
            (
                "09:30",
                vec![invalid(t("09:10")), wifi, failed],
                0,
                Some(t("13:00")),
            ),
            (
                "14:00",
                vec![run(t("09:10"), 1), run(t("13:10"), 1)],
                2,
                Some(t("19:00")),
            ),
            // Target met: no reminder, even with a slot still ahead.
            (
                "15:00",
                vec![run(t("09:10"), 1), run(t("13:10"), 1), run(t("14:50"), 1)],
                3,
                None,
            ),
            // Today's slots are over but one is missing: tomorrow's first slot.
            (
                "20:00",
                vec![run(t("09:10"), 1)],
                1,
                Some(local(tz, "2026-11-26 09:00")),
            ),
        ];
        for (now, history, done, next) in rows {
            let s = policy.status(t(now), tz, &history);
            assert_eq!(s.done_today, done, "at {now}");
            assert_eq!(s.remaining, 3 - done, "at {now}");
            assert_eq!(s.next_reminder_at, next, "at {now}");
            assert_eq!(s.day_ends_at, local(tz, "2026-11-26 00:00"));
        }
    }

    #[test]
    fn upcoming_reminders_cover_the_rest_of_today_and_tomorrow() {
        let tz = Ho_Chi_Minh;
        let policy = DailyPolicy::default();
        let today = |s: &str| local(tz, &format!("2026-11-25 {s}"));
        let tomorrow: Vec<_> = ["09:00", "13:00", "19:00"]
            .iter()
            .map(|s| local(tz, &format!("2026-11-26 {s}")))
            .collect();
        let s = policy.status(today("10:00"), tz, &[run(today("09:10"), 1)]);
        let mut expected = vec![today("13:00"), today("19:00")];
        expected.extend(&tomorrow);
        assert_eq!(s.upcoming_reminders, expected);
        assert_eq!(s.next_reminder_at, Some(today("13:00")));
        // Target met: nothing more today, but tomorrow's reminders stay booked.
        let done: Vec<_> = ["09:10", "09:20", "09:30"]
            .iter()
            .map(|t| run(today(t), 1))
            .collect();
        let s = policy.status(today("10:00"), tz, &done);
        assert_eq!(s.upcoming_reminders, tomorrow);
        assert_eq!(s.next_reminder_at, None);
    }

    #[test]
    fn midnight_starts_a_new_count() {
        let tz = Ho_Chi_Minh;
        let policy = DailyPolicy::default();
        let clock = FakeClock::new(local(tz, "2026-11-25 23:50"));
        let history = [
            run(local(tz, "2026-11-25 09:10"), 1),
            run(local(tz, "2026-11-25 13:10"), 1),
            run(local(tz, "2026-11-25 23:40"), 1),
        ];
        assert_eq!(
            policy.status(clock.now(), tz, &history).next_reminder_at,
            None
        );
        clock.advance(Duration::minutes(20));
        let s = policy.status(clock.now(), tz, &history);
        assert_eq!((s.done_today, s.remaining), (0, 3));
        assert_eq!(s.next_reminder_at, Some(local(tz, "2026-11-26 09:00")));
    }

    #[test]
    fn day_boundaries_follow_the_time_zone_the_phone_is_in() {
        let policy = DailyPolicy::default();
        // 21:30 in Ho Chi Minh City is 23:30 in Tokyo; 22:30 is 00:30 next day there.
        let history = [
            run(local(Ho_Chi_Minh, "2026-11-25 21:30"), 1),
            run(local(Ho_Chi_Minh, "2026-11-25 22:30"), 1),
        ];
        let now = local(Ho_Chi_Minh, "2026-11-25 23:30");
        let hcm = policy.status(now, Ho_Chi_Minh, &history);
        let tokyo = policy.status(now, Tokyo, &history);
        assert_eq!(hcm.done_today, 2);
        assert_eq!(tokyo.done_today, 1, "in Tokyo it is already the 26th");
        assert_eq!(hcm.day_ends_at, local(Ho_Chi_Minh, "2026-11-26 00:00"));
        assert_eq!(tokyo.day_ends_at, local(Tokyo, "2026-11-27 00:00"));
        assert_eq!(
            tokyo.next_reminder_at,
            Some(local(Tokyo, "2026-11-26 09:00"))
        );
    }

    #[test]
    fn clock_moved_backwards_keeps_todays_count() {
        let tz = Ho_Chi_Minh;
        let policy = DailyPolicy::default();
        let history = [run(local(tz, "2026-11-25 13:10"), 1)];
        // Clock set back an hour after the measurement: it still counts today.
        let s = policy.status(local(tz, "2026-11-25 12:20"), tz, &history);
        assert_eq!(s.done_today, 1);
        assert_eq!(s.next_reminder_at, Some(local(tz, "2026-11-25 13:00")));
    }

    #[test]
    fn slots_and_target_are_configurable_and_checked() -> Result<()> {
        let tz = Ho_Chi_Minh;
        let policy = DailyPolicy::new(2, vec![hm(21, 0), hm(7, 30)])?;
        assert_eq!(policy.reminder_slots, vec![hm(7, 30), hm(21, 0)]);
        let s = policy.status(local(tz, "2026-11-25 08:00"), tz, &[]);
        assert_eq!(s.remaining, 2);
        assert_eq!(s.next_reminder_at, Some(local(tz, "2026-11-25 21:00")));
        assert!(DailyPolicy::new(0, vec![hm(9, 0)]).is_err());
        assert!(DailyPolicy::new(3, vec![]).is_err());
        Ok(())
    }
}
