//! [`Engine`]: the one object an app creates. Each exported method is a short
//! forward to the module that owns the work.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::error::IspeedError;
use super::guard;
use super::handle::MeasureHandle;
use super::platform::{ForeignListener, ForeignPlatform, MeasureListener, Platform};
use super::settings::{self, Settings};
use super::types::{EngineConfig, Measurement, Server};
use crate::clock::SystemClock;
use crate::measure::{MeasureRequest, Phases};
use crate::platform::Platform as _;

/// The measurement engine of an app: settings, the platform, measurements.
///
/// Create one per process and keep it; every method may be called from any thread.
#[derive(uniffi::Object)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// What a running measurement shares with the engine.
struct Inner {
    settings_file: PathBuf,
    settings: Mutex<Settings>,
    platform: Arc<dyn Platform>,
}

impl Inner {
    fn settings(&self) -> Settings {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Engine {
    /// Opens the engine on `config.data_dir` (created when missing) with the app's
    /// implementation of [`Platform`].
    #[uniffi::constructor]
    pub fn new(
        config: EngineConfig,
        platform: Arc<dyn Platform>,
    ) -> Result<Arc<Self>, IspeedError> {
        let dir = PathBuf::from(&config.data_dir);
        std::fs::create_dir_all(&dir).map_err(|e| {
            IspeedError::storage(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })?;
        let settings_file = settings::path(&dir);
        let settings = settings::load(&settings_file)?;
        // Extension point: open the sample store here (`store::Store::open(&dir)`)
        // once it merges, and keep it in `Inner` beside the settings.
        Ok(Arc::new(Self {
            inner: Arc::new(Inner {
                settings_file,
                settings: Mutex::new(settings),
                platform,
            }),
        }))
    }

    /// Version of the engine (the core crate).
    pub fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.inner.settings()
    }

    /// Checks and stores new settings; on error nothing changes.
    pub fn update_settings(&self, settings: Settings) -> Result<(), IspeedError> {
        settings.measure_config()?;
        let mut current = self
            .inner
            .settings
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        settings::save(&self.inner.settings_file, &settings)?;
        *current = settings;
        Ok(())
    }

    /// Starts a measurement against `server` (the settings' server when `None`) and
    /// returns at once. Progress goes to `listener`; the handle gives the outcome and
    /// cancels (explicitly, or when released).
    pub fn start_measure(
        &self,
        server: Option<Server>,
        listener: Arc<dyn MeasureListener>,
    ) -> Result<Arc<MeasureHandle>, IspeedError> {
        let inner = Arc::clone(&self.inner);
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let handle = MeasureHandle::spawn(cancel, async move {
            run_measurement(&inner, server, listener, &token).await
        })?;
        Ok(Arc::new(handle))
    }

    /// Measures against `server` (the settings' server when `None`) and returns the
    /// result. Cancelling the calling coroutine or task cancels the measurement; use
    /// [`Engine::start_measure`] for a handle that a button can cancel.
    pub async fn measure(
        &self,
        server: Option<Server>,
        listener: Arc<dyn MeasureListener>,
    ) -> Result<Measurement, IspeedError> {
        // The handle lives in this future: when the caller drops the future, the
        // handle is dropped and the measurement cancelled.
        self.start_measure(server, listener)?.wait().await
    }

    // Extension points, forwarded once the store and the schedulers merge (each a
    // one-line call into its module; none is faked here):
    //   fn history(&self, limit: u32) -> Result<Vec<Measurement>, IspeedError>        store
    //   fn daily_summaries(&self, days: u32) -> Result<Vec<DailySummary>, IspeedError> store
    //   fn export(&self, format: ExportFormat) -> Result<String, IspeedError>          store::export
    //   async fn flush_uploads(&self) -> Result<UploadReport, IspeedError>             report
    //   fn auto_decision(&self) -> Result<AutoDecision, IspeedError>                   schedule::auto
    //   fn daily_status(&self) -> Result<DailyStatus, IspeedError>                     schedule::daily
}

/// One measurement, from policy check to result, on the engine's runtime.
async fn run_measurement(
    inner: &Inner,
    server: Option<Server>,
    listener: Arc<dyn MeasureListener>,
    cancel: &CancellationToken,
) -> Result<Measurement, IspeedError> {
    let settings = inner.settings();
    let server = server.unwrap_or(settings.server.clone());
    let platform = ForeignPlatform(Arc::clone(&inner.platform));
    if settings.cellular_only {
        // TEMPORARY (see `guard`): becomes the core network policy's check.
        guard::require_no_wifi(&platform.network())?;
    }
    let request = MeasureRequest {
        server: server.url,
        protocol: server.protocol,
        config: settings.measure_config()?,
        phases: Phases::default(),
    };
    let listener = ForeignListener(listener);
    let result = crate::measure(&request, &platform, &SystemClock, &listener, cancel).await?;
    // Extension point: `store.insert(&result)` and enqueue for upload, before
    // returning, so a sample is kept even when the app dies right after.
    Measurement::try_from(&result)
}
