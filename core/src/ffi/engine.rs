//! [`Engine`]: the one object an app creates. Each exported method is a short
//! forward to the module that owns the work.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::error::IspeedError;
use super::handle::MeasureHandle;
use super::platform::{ForeignListener, ForeignPlatform, MeasureListener, Platform};
use super::settings::{self, Settings};
use super::types::{EngineConfig, Measurement, Server};
use crate::clock::{Clock, SystemClock};
use crate::config::MeasureConfig;
use crate::measure::{MeasureRequest, Phases};
use crate::network::NetworkPolicy;
use crate::participant::{Area, MeasureMode};
use crate::platform::Platform as _;
use crate::store::samples::FailedAttempt;
use crate::store::{AreaSetting, Store};

/// The sample database inside the app's data directory.
const STORE_FILE: &str = "ispeed.db";

/// The measurement engine of an app: settings, the platform, measurements.
///
/// Create one per process and keep it; every method may be called from any thread.
#[derive(uniffi::Object)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// What a running measurement shares with the engine.
pub(super) struct Inner {
    pub(super) store: Store,
    settings_file: PathBuf,
    settings: Mutex<Settings>,
    pub(super) platform: Arc<dyn Platform>,
}

impl Engine {
    /// The state shared with tasks on the engine's runtime.
    pub(super) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// Starts a measurement on the engine's runtime; the handle cancels it when
    /// released. `config` sets the budgets, `mode` says who started it.
    pub(super) fn spawn_measurement(
        &self,
        server: Option<Server>,
        config: MeasureConfig,
        mode: MeasureMode,
        listener: Arc<dyn MeasureListener>,
    ) -> Result<MeasureHandle, IspeedError> {
        let inner = Arc::clone(&self.inner);
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        MeasureHandle::spawn(cancel, async move {
            run_measurement(&inner, server, config, mode, listener, &token).await
        })
    }
}

impl Inner {
    pub(super) fn settings(&self) -> Settings {
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
        let store = Store::open(dir.join(STORE_FILE))?;
        Ok(Arc::new(Self {
            inner: Arc::new(Inner {
                store,
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
        settings.validate()?;
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
        let config = self.inner.settings().measure_config()?;
        let handle = self.spawn_measurement(server, config, MeasureMode::Manual, listener)?;
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

    /// The campaign area this participant chose, if any.
    pub fn area(&self) -> Result<Option<Area>, IspeedError> {
        Ok(self.inner.store.area()?)
    }

    /// Sets the campaign area, once: a participant chooses it when joining, and a
    /// later, different choice does not move their samples to another area. Returns
    /// the area in force (the earlier one when one was already set). The area is
    /// carried in every result document from then on.
    pub fn set_area(&self, area: Area) -> Result<Area, IspeedError> {
        Ok(match self.inner.store.set_area_once(area.clone())? {
            AreaSetting::Stored | AreaSetting::Unchanged => area,
            AreaSetting::Kept(old) => old,
        })
    }

    /// Parses an area typed as one line: `province/district/commune/hamlet` (most
    /// general first, a shorter path fills the first levels) or `key=value` pairs
    /// (`commune=Tản Lĩnh,hamlet=Thôn 3`, `org=THPT Ba Vì`).
    pub fn parse_area(&self, text: String) -> Result<Area, IspeedError> {
        Ok(Area::parse(&text)?)
    }
}

/// One measurement, from policy check to result, on the engine's runtime.
///
/// `config` sets the budgets (the user's settings, or the auto policy's smaller ones);
/// `mode` says who started it, for the campaign's platform split.
async fn run_measurement(
    inner: &Inner,
    server: Option<Server>,
    config: MeasureConfig,
    mode: MeasureMode,
    listener: Arc<dyn MeasureListener>,
    cancel: &CancellationToken,
) -> Result<Measurement, IspeedError> {
    let settings = inner.settings();
    let server = server.unwrap_or(settings.server.clone());
    let platform = ForeignPlatform(Arc::clone(&inner.platform));
    let request = MeasureRequest {
        server: server.url,
        protocol: server.protocol,
        config,
        phases: Phases::default(),
        policy: if settings.cellular_only {
            NetworkPolicy::CellularOnly
        } else {
            NetworkPolicy::AnyNetwork
        },
    };
    let listener = ForeignListener(listener);
    let result = crate::measure(&request, &platform, &SystemClock, &listener, cancel).await;
    // Stored before returning, so a sample is kept even when the app dies right after;
    // a failure is recorded too, so the user sees it in the history.
    match result {
        Ok(mut result) => {
            inner.store.stamp(&mut result, mode)?;
            inner.store.save_result(&result)?;
            Measurement::try_from(&result)
        }
        Err(error) => {
            let failure = FailedAttempt::new(
                SystemClock.now(),
                &request.server,
                platform.network().transport,
                &error,
            );
            // The measurement's error is what the user must see, not the store's.
            let _ = inner.store.save_failure(&failure);
            Err(error.into())
        }
    }
}
