//! The schedulers, as the shells ask them: one call per background wake (Android's
//! worker) and one per routine refresh (iOS, on every foreground and background
//! refresh), plus the separate steps for screens that show them.
//!
//! Each is a forward to [`crate::session::Session`]; the shells only wake the engine
//! (WorkManager, BGAppRefreshTask) and book what it answers (the next wake-up, the
//! week's local notifications).

use std::sync::Arc;

use super::Engine;
use super::error::IspeedError;
use super::platform::{ForeignListener, MeasureListener};
use super::runtime;
use super::types::{AutoDecision, DailyStatus, Measurement, RoutinePlan, WakeReport};
use crate::participant::MeasureMode;
use crate::session::MeasurePlan;

#[uniffi::export(async_runtime = "tokio")]
impl Engine {
    /// One background wake (Android): when auto-measure is on, the decision and the
    /// measurement it asks for (`busy` when one is already running); then the upload
    /// of what is pending; then when to wake next. Never throws: the report says what
    /// failed, and `next_wake_at` is set whenever auto-measure is on or samples wait.
    pub async fn wake(&self, listener: Arc<dyn MeasureListener>) -> WakeReport {
        let session = Arc::clone(self.session());
        let work = async move {
            let cancel = tokio_util::sync::CancellationToken::new();
            session
                .wake(&ForeignListener(listener), &cancel)
                .await
                .into()
        };
        runtime::run(work).await.unwrap_or_else(|e| WakeReport {
            decision: None,
            measurement: None,
            error_code: Some(e.code().to_owned()),
            error_message: Some(e.to_string()),
            uploaded: 0,
            pending: 0,
            next_wake_at: None,
        })
    }

    /// One refresh of the iOS routine: uploads what is pending, then where today
    /// stands and every reminder of the next seven days with its text key. Book
    /// exactly these, replacing what was booked before.
    pub async fn refresh_routine(&self) -> Result<RoutinePlan, IspeedError> {
        let session = Arc::clone(self.session());
        Ok(runtime::run(async move { session.refresh_routine().await })
            .await??
            .into())
    }

    /// Whether the phone should measure by itself now (Android auto-measure): active
    /// hours, spacing, daily and monthly data budgets, battery, cellular only and
    /// backoff after failures, from the platform's state and the stored history.
    /// [`Engine::wake`] does this, the measurement and the upload in one call.
    pub fn auto_decision(&self) -> Result<AutoDecision, IspeedError> {
        Ok(self.session().auto_decision()?.into())
    }

    /// Runs an automatic measurement within the auto policy's per-run data budgets,
    /// stored and marked `auto` for the campaign's counts.
    pub async fn measure_auto(
        &self,
        listener: Arc<dyn MeasureListener>,
    ) -> Result<Measurement, IspeedError> {
        let plan = MeasurePlan {
            mode: Some(MeasureMode::Auto),
            ..MeasurePlan::default()
        };
        // The handle lives in this future: dropping the future cancels the run.
        self.spawn_measurement(plan, listener)?.wait().await
    }

    /// Today's valid cellular measurements against the daily target of the settings,
    /// counted in the platform's time zone, and the reminders to book (iOS).
    pub fn daily_status(&self) -> Result<DailyStatus, IspeedError> {
        Ok(self.session().daily_status()?.into())
    }
}
