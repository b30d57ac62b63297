//! Local calendar arithmetic shared by the schedulers: day and month boundaries and
//! daily windows in a time zone, robust to daylight-saving gaps and overlaps.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// How far the window walks look ahead or back before giving up: a phone that slept
/// longer than this is simply "long ago".
pub(crate) const MAX_DAYS_WALKED: i64 = 400;

/// The local date of `t` in `tz`.
pub(crate) fn local_date(tz: Tz, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// The instant at which the wall clock in `tz` shows `time` on `date`.
///
/// In a daylight-saving overlap the earlier instant is taken; in a gap (the wall clock
/// skips that time) the first instant after the gap, so a window never vanishes.
pub(crate) fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    if let Some(t) = tz.from_local_datetime(&naive).earliest() {
        return t.with_timezone(&Utc);
    }
    // Gaps are at most a few hours long; step forward by quarter hours until out of it.
    for quarter in 1..=16 {
        if let Some(t) = tz
            .from_local_datetime(&(naive + Duration::minutes(15 * quarter)))
            .earliest()
        {
            return t.with_timezone(&Utc);
        }
    }
    // No real zone has a gap this long; fall back to reading the wall time as UTC.
    naive.and_utc()
}

/// Start of the local day `date` in `tz`.
pub(crate) fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_instant(tz, date, NaiveTime::MIN)
}

/// The day after `date` (dates at the end of chrono's range stay put).
pub(crate) fn next_date(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(date)
}

/// Start of the local month that contains `date`.
pub(crate) fn month_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let first = date.with_day(1).unwrap_or(date);
    day_start(tz, first)
}

/// First day of the month after the one that contains `date`.
pub(crate) fn next_month_first(date: NaiveDate) -> NaiveDate {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(date)
}

/// A daily window of local wall-clock time, `start` inclusive to `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Window {
    /// The window on local `date`, as UTC instants.
    pub(crate) fn on(self, tz: Tz, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            local_instant(tz, date, self.start),
            local_instant(tz, date, self.end),
        )
    }

    /// Whether `t` lies inside the window of its local day.
    pub(crate) fn contains(self, tz: Tz, t: DateTime<Utc>) -> bool {
        let (s, e) = self.on(tz, local_date(tz, t));
        s <= t && t < e
    }

    /// The first instant at or after `t` that lies inside a window.
    pub(crate) fn next_open(self, tz: Tz, t: DateTime<Utc>) -> DateTime<Utc> {
        let mut date = local_date(tz, t);
        for _ in 0..MAX_DAYS_WALKED {
            let (s, e) = self.on(tz, date);
            if t < e {
                return s.max(t);
            }
            date = next_date(date);
        }
        t
    }

    /// Time inside windows between `from` and `to` (zero when `to <= from`).
    pub(crate) fn time_inside(self, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        let mut total = Duration::zero();
        let mut date = local_date(tz, from);
        let last = local_date(tz, to);
        for _ in 0..MAX_DAYS_WALKED {
            let (s, e) = self.on(tz, date);
            let (a, b) = (s.max(from), e.min(to));
            if b > a {
                total += b - a;
            }
            if date >= last {
                return total;
            }
            date = next_date(date);
        }
        // Longer than the walk: report at least the walked time, which exceeds any
        // spacing the policies use.
        total.max(Duration::days(MAX_DAYS_WALKED))
    }

    /// The instant at which `amount` of in-window time has passed since `from`.
    pub(crate) fn advance(self, tz: Tz, from: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        let mut left = amount.max(Duration::zero());
        let mut date = local_date(tz, from);
        for _ in 0..MAX_DAYS_WALKED {
            let (s, e) = self.on(tz, date);
            let a = s.max(from);
            if e > a {
                if left <= e - a {
                    return a + left;
                }
                left -= e - a;
            }
            date = next_date(date);
        }
        from + amount
    }
}

#[cfg(test)]
// A failed expectation in a test is the test failing, with its context.
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .expect("test time parses")
    }

    #[test]
    fn window_time_and_advance_skip_the_night() {
        let tz = chrono_tz::Asia::Ho_Chi_Minh; // UTC+7, no DST
        let w = Window {
            start: hm(8, 0),
            end: hm(21, 0),
        };
        // 20:00 local to 09:00 local next day: 1 h + 1 h inside.
        let from = utc("2026-11-25T13:00:00Z");
        let to = utc("2026-11-26T02:00:00Z");
        assert_eq!(w.time_inside(tz, from, to), Duration::hours(2));
        assert_eq!(w.advance(tz, from, Duration::hours(2)), to);
        assert_eq!(
            w.next_open(tz, utc("2026-11-25T15:00:00Z")),
            utc("2026-11-26T01:00:00Z")
        );
        assert!(w.contains(tz, utc("2026-11-25T01:00:00Z")));
        assert!(!w.contains(tz, utc("2026-11-25T00:59:00Z")));
    }

    #[test]
    fn daylight_saving_gap_does_not_lose_the_window() {
        // Europe/Berlin skips 02:00-03:00 on 2026-03-29.
        let tz = chrono_tz::Europe::Berlin;
        let date = NaiveDate::from_ymd_opt(2026, 3, 29).expect("date");
        let t = local_instant(tz, date, hm(2, 30));
        assert_eq!(t, utc("2026-03-29T01:00:00Z"));
    }
}
