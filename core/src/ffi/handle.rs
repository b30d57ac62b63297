//! A running measurement, as the app holds it: wait for it, or cancel it.
//!
//! Cancelling (or dropping the handle, which Kotlin's `close()`/`use {}` and Swift's
//! release do) ends the measurement promptly and closes its connections: a
//! measurement nobody waits for must not keep spending the citizen's mobile data.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::error::IspeedError;
use super::runtime;
use super::types::Measurement;

/// The outcome slot: `None` while running.
type Outcome = Option<Result<Measurement, IspeedError>>;

/// A measurement running on the engine's threads.
#[derive(Debug, uniffi::Object)]
pub struct MeasureHandle {
    cancel: CancellationToken,
    outcome: watch::Receiver<Outcome>,
}

impl MeasureHandle {
    /// Spawns `run` on the engine's runtime; `run` must end soon after `cancel` fires.
    pub(crate) fn spawn<F>(cancel: CancellationToken, run: F) -> Result<Self, IspeedError>
    where
        F: Future<Output = Result<Measurement, IspeedError>> + Send + 'static,
    {
        let (tx, outcome) = watch::channel(None);
        runtime::get()?.spawn(async move {
            // A panic in the engine or in a foreign callback must reach the app as an
            // error, not tear down a thread the app knows nothing about.
            let result = AssertUnwindSafe(run)
                .catch_unwind()
                .await
                .unwrap_or_else(|payload| Err(IspeedError::from_panic(&*payload)));
            let _ = tx.send(Some(result));
        });
        Ok(Self { cancel, outcome })
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl MeasureHandle {
    /// Stops the measurement; `wait()` then fails with `IspeedError.Cancelled`.
    /// Idempotent, and harmless after the measurement finished.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Whether the measurement has ended (successfully or not).
    pub fn is_finished(&self) -> bool {
        self.outcome.borrow().is_some()
    }

    /// Waits for the measurement's outcome. May be called several times and from
    /// several places; each gets the same outcome.
    pub async fn wait(&self) -> Result<Measurement, IspeedError> {
        let mut rx = self.outcome.clone();
        let outcome = rx
            .wait_for(Option::is_some)
            .await
            .map_err(|_| IspeedError::internal("the measuring task vanished"))?;
        outcome
            .clone()
            .unwrap_or_else(|| Err(IspeedError::internal("the measuring task vanished")))
    }
}

impl Drop for MeasureHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
