//! The schedulers, as the shells ask them: the auto-measure decision and the
//! automatic measurement (Android), the daily status and its reminders (iOS).
//!
//! Both are the core's pure policies fed with the platform's state and the stored
//! history; the shells only wake the engine (WorkManager) or book the reminders
//! (local notifications).

use std::sync::Arc;

use chrono_tz::Tz;

use super::Engine;
use super::error::{IspeedError, guarded};
use super::platform::{ForeignPlatform, MeasureListener};
use super::types::{AutoDecision, DailyStatus, Measurement};
use crate::clock::{Clock, SystemClock};
use crate::participant::MeasureMode;
use crate::schedule::auto::AutoPolicy;
use crate::schedule::{HISTORY_WINDOW, PastRun, PlatformState, parse_time_zone};

impl Engine {
    /// The platform's time zone, parsed.
    pub(super) fn time_zone(&self) -> Result<Tz, IspeedError> {
        let name = guarded(|| Ok(self.inner().platform.time_zone()))?;
        Ok(parse_time_zone(&name)?)
    }

    /// Every attempt the schedulers need to see.
    fn past_runs(&self) -> Result<Vec<PastRun>, IspeedError> {
        Ok(self
            .inner()
            .store
            .past_runs(SystemClock.now() - HISTORY_WINDOW)?)
    }

    /// The auto-measure policy of this installation: the core's defaults, with the
    /// spacing draws seeded by the random install id so that phones do not measure
    /// in lockstep, while one phone keeps its draws across restarts.
    fn auto_policy(&self) -> Result<AutoPolicy, IspeedError> {
        let (high, low) = self.inner().store.install_id()?.as_u64_pair();
        Ok(AutoPolicy {
            seed: high ^ low,
            ..AutoPolicy::default()
        })
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Engine {
    /// Whether the phone should measure by itself now (Android auto-measure): active
    /// hours, spacing, daily and monthly data budgets, battery, cellular only and
    /// backoff after failures, from the platform's state and the stored history.
    /// Call it on each wake-up; measure with [`Engine::measure_auto`] when `run`, and
    /// wake up again at `next_check_at` either way.
    pub fn auto_decision(&self) -> Result<AutoDecision, IspeedError> {
        let policy = self.auto_policy()?;
        let tz = self.time_zone()?;
        let platform = ForeignPlatform(Arc::clone(&self.inner().platform));
        let state = guarded(|| Ok(PlatformState::observe(&platform, tz)))?;
        let history = self.past_runs()?;
        Ok(policy.decide(SystemClock.now(), &state, &history).into())
    }

    /// Runs the automatic measurement [`Engine::auto_decision`] asked for, within the
    /// auto policy's per-run data budgets (smaller than a manual run's), against the
    /// settings' server; stored and marked `auto` for the campaign's counts.
    pub async fn measure_auto(
        &self,
        listener: Arc<dyn MeasureListener>,
    ) -> Result<Measurement, IspeedError> {
        let config = self.auto_policy()?.measure_config();
        // The handle lives in this future: dropping the future cancels the run.
        self.spawn_measurement(None, config, MeasureMode::Auto, listener)?
            .wait()
            .await
    }

    /// Today's valid cellular measurements against the daily target of the settings,
    /// counted in the platform's time zone, and the reminders to book (iOS).
    pub fn daily_status(&self) -> Result<DailyStatus, IspeedError> {
        let policy = self.inner().settings().daily_policy()?;
        let tz = self.time_zone()?;
        let history = self.past_runs()?;
        Ok(policy.status(SystemClock.now(), tz, &history).into())
    }
}
