//! The iOS routine: three measurements a day by hand, prompted by local notifications.
//!
//! iOS lets an app book local notifications but not run when it likes, so every time
//! the app is in the foreground or gets a background refresh it asks for the whole
//! plan again and replaces what it booked: today's remaining slots (none once the
//! target is met) and every slot of the next six days. A participant who does not
//! open the app for days still gets a week of reminders.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::schedule::daily::DailyPolicy;
use crate::schedule::time::{local_date, next_date};

/// Days of reminders booked ahead, today included.
pub const PLAN_DAYS: u32 = 7;

/// Text key of the first reminder of a day ("time for today's first measurement").
pub const KEY_FIRST: &str = "reminder_first";
/// Text key of a reminder between the first and the last of a day.
pub const KEY_AGAIN: &str = "reminder_again";
/// Text key of the day's last reminder ("last chance today").
pub const KEY_LAST: &str = "reminder_last";

/// One local notification to book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    /// When it fires.
    pub at: DateTime<Utc>,
    /// Key of its text in the app's strings ([`KEY_FIRST`], [`KEY_AGAIN`], [`KEY_LAST`]).
    pub text_key: &'static str,
}

/// The reminders of the next [`PLAN_DAYS`] local days after `now`, ascending.
/// `target_met_today` drops today's remaining ones.
pub fn plan(
    policy: &DailyPolicy,
    now: DateTime<Utc>,
    tz: Tz,
    target_met_today: bool,
) -> Vec<Reminder> {
    let mut date = local_date(tz, now);
    let mut reminders = Vec::new();
    for day in 0..PLAN_DAYS {
        let slots = policy.slots_on(tz, date);
        let last = slots.len().saturating_sub(1);
        if !(day == 0 && target_met_today) {
            for (i, at) in slots.into_iter().enumerate() {
                if at <= now {
                    continue;
                }
                let text_key = match i {
                    0 => KEY_FIRST,
                    i if i == last => KEY_LAST,
                    _ => KEY_AGAIN,
                };
                reminders.push(Reminder { at, text_key });
            }
        }
        date = next_date(date);
    }
    reminders
}

/// How long a plan lasts before it runs short: the app should refresh it well within.
pub fn horizon() -> Duration {
    Duration::days(i64::from(PLAN_DAYS))
}

#[cfg(test)]
mod tests {
    use chrono_tz::Asia::Ho_Chi_Minh;

    use super::*;
    use crate::schedule::testing::local;

    #[test]
    fn a_week_of_reminders_with_their_text_keys() {
        let policy = DailyPolicy::default();
        let now = local(Ho_Chi_Minh, "2026-11-25 10:00");
        let plan = plan(&policy, now, Ho_Chi_Minh, false);
        // Today's 13:00 and 19:00, then three a day for six days.
        assert_eq!(plan.len(), 2 + 6 * 3);
        assert_eq!(plan[0].at, local(Ho_Chi_Minh, "2026-11-25 13:00"));
        assert_eq!(plan[0].text_key, KEY_AGAIN);
        assert_eq!(plan[1].text_key, KEY_LAST);
        assert_eq!(plan[2].at, local(Ho_Chi_Minh, "2026-11-26 09:00"));
        assert_eq!(plan[2].text_key, KEY_FIRST);
        assert_eq!(
            plan.last().map(|r| r.at),
            Some(local(Ho_Chi_Minh, "2026-12-01 19:00"))
        );
        assert!(plan.windows(2).all(|w| w[0].at < w[1].at));
        // Target met: nothing more today.
        let met = super::plan(&policy, now, Ho_Chi_Minh, true);
        assert_eq!(met.len(), 6 * 3);
        assert_eq!(met[0].at, local(Ho_Chi_Minh, "2026-11-26 09:00"));
    }
}
