//! The tokio runtime measurements run on.
//!
//! One per process, created on first use and never dropped: dropping a runtime from a
//! thread that is itself inside a runtime panics, and the last reference to an
//! engine may be released anywhere (a Kotlin cleaner thread, a Swift deinit).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

use futures_util::FutureExt;
use tokio::runtime::Runtime;

use super::error::IspeedError;

/// Worker threads: the transfer streams are I/O bound; two threads keep the
/// samplers' timers on time while a callback into the app is running.
const WORKERS: usize = 2;

/// The engine's runtime.
pub(crate) fn get() -> Result<&'static Runtime, IspeedError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(WORKERS)
                .thread_name("ispeed-engine")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| IspeedError::internal(format!("cannot start the engine's threads: {e}")))
}

/// A task aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `work` on the engine's runtime and waits for it from any executor (the one
/// uniffi drives a foreign `suspend`/`async` call on); a panic becomes an error.
/// Dropping the returned future (a cancelled coroutine, a killed app) aborts `work`.
pub(crate) async fn run<F, T>(work: F) -> Result<T, IspeedError>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut task = AbortOnDrop(get()?.spawn(AssertUnwindSafe(work).catch_unwind()));
    (&mut task.0)
        .await
        .map_err(|e| IspeedError::internal(format!("an engine task ended abnormally: {e}")))?
        .map_err(|payload| IspeedError::from_panic(&*payload))
}
