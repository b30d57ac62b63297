//! When to measure without being asked: the schedulers.
//!
//! - [`auto`] (Android): decides whether a background measurement runs now, from the
//!   clock, the platform state and the history of past runs; the shell only wakes the
//!   core (WorkManager) and asks again at [`auto::Decision::next_check_at`].
//! - [`daily`] (iOS): counts today's valid cellular measurements and says when to
//!   remind the user, since iOS does not let an app measure by itself.
//! - `simulate` (cargo feature `simulate`, enabled by the CLI): replays a scripted day (battery, charger, network, time zone, the
//!   user's own measurements) through either policy with a fake clock; the CLI's
//!   `ispeed schedule simulate` prints its timeline.
//!
//! Both policies are pure functions of time, platform state and history. They keep no
//! state of their own: a "next run at" stored somewhere would go stale when the clock
//! or the time zone changes, while history (UTC instants of what really ran) does not.
//! The store supplies that history with one query, as a slice of [`PastRun`].

pub mod auto;
pub mod daily;
#[cfg(feature = "simulate")]
pub mod simulate;
pub(crate) mod time;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::network::{NetworkContext, Transport};
use crate::platform::{Battery, Platform};

/// How far back the schedulers read the history: the monthly data budget needs the
/// whole local month, with margin for a clock that was wrong for a while.
pub const HISTORY_WINDOW: chrono::Duration = chrono::Duration::days(40);

/// One past measurement attempt, as much of it as the schedulers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastRun {
    /// When it started (UTC, as recorded by the device's clock at the time).
    pub at: DateTime<Utc>,
    /// Whether the sample may count in quotas and statistics.
    pub valid: bool,
    /// Transport at the start of the measurement.
    pub transport: Transport,
    /// Payload bytes it moved, download and upload together (the data it cost).
    pub bytes: u64,
    /// Whether the attempt failed without producing a sample (server down, no network).
    pub failed: bool,
}

impl PastRun {
    /// Whether the bytes of this run were paid for from the mobile-data plan.
    pub fn on_cellular(&self) -> bool {
        self.transport == Transport::Cellular
    }

    /// Whether it counts toward the daily target of valid cellular measurements.
    pub fn counts_as_valid_cellular(&self) -> bool {
        self.valid && !self.failed && self.on_cellular()
    }
}

/// What the operating system reports at the moment a scheduler is asked.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformState {
    /// The network the measurement would use.
    pub network: NetworkContext,
    /// Battery, where the platform knows it (desktops often do not).
    pub battery: Option<Battery>,
    /// The device's current time zone: day boundaries and active hours follow it.
    pub time_zone: Tz,
}

impl PlatformState {
    /// Reads network and battery from `platform`; the time zone comes from the shell
    /// (an IANA name such as `Asia/Ho_Chi_Minh`), since [`Platform`] does not carry it.
    pub fn observe(platform: &dyn Platform, time_zone: Tz) -> Self {
        Self {
            network: platform.network(),
            battery: platform.battery(),
            time_zone,
        }
    }
}

/// Parses an IANA time-zone name (`Asia/Tokyo`), with an error naming the input.
pub fn parse_time_zone(name: &str) -> crate::Result<Tz> {
    name.parse::<Tz>().map_err(|_| {
        crate::Error::Config(format!(
            "unknown time zone {name:?}: use an IANA name such as Asia/Ho_Chi_Minh"
        ))
    })
}

/// Helpers shared by the schedulers' tests.
#[cfg(test)]
#[allow(clippy::expect_used)]
pub(crate) mod testing {
    use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
    use chrono_tz::Tz;

    use super::{PastRun, PlatformState};
    use crate::network::{NetworkContext, Transport};
    use crate::platform::Battery;

    /// `YYYY-MM-DD HH:MM` on the wall clock of `tz`.
    pub fn local(tz: Tz, s: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test time parses");
        tz.from_local_datetime(&naive)
            .earliest()
            .expect("test time exists")
            .with_timezone(&Utc)
    }

    /// A phone on cellular, Wi-Fi off, battery 80 % discharging, in `tz`.
    pub fn on_cellular(tz: Tz) -> PlatformState {
        PlatformState {
            network: NetworkContext::with_transport(Transport::Cellular),
            battery: Some(Battery {
                percent: 80,
                charging: false,
            }),
            time_zone: tz,
        }
    }

    /// A completed, valid cellular run of `bytes` at `at`.
    pub fn run(at: DateTime<Utc>, bytes: u64) -> PastRun {
        PastRun {
            at,
            valid: true,
            transport: Transport::Cellular,
            bytes,
            failed: false,
        }
    }
}
