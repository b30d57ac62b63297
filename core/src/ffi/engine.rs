//! [`Engine`]: the one object an app creates, a forward to the core's
//! [`Session`] (the private inner type that owns the use cases).

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::error::{IspeedError, guarded};
use super::handle::MeasureHandle;
use super::platform::{ForeignListener, ForeignPlatform, MeasureListener, Platform};
use super::settings::Settings;
use super::types::{EngineConfig, Measurement, Server};
use crate::participant::{Area, MeasureMode};
use crate::profile::Profile;
use crate::session::{MeasurePlan, Session, SessionOptions};
use crate::store::AreaSetting;

/// The measurement engine of an app: settings, the platform, measurements.
///
/// Create one per process and keep it; every method may be called from any thread.
#[derive(uniffi::Object)]
pub struct Engine {
    session: Arc<Session>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("session", &self.session)
            .finish()
    }
}

impl Engine {
    /// Opens an engine with `options` (a clock, retry policy...) besides what the
    /// apps pass: the constructor of Rust tests that drive the exported API under a
    /// simulated clock. `config.profile_json`, when set, replaces `options.profile`.
    pub fn with_options(
        config: EngineConfig,
        platform: Arc<dyn Platform>,
        mut options: SessionOptions,
    ) -> Result<Arc<Self>, IspeedError> {
        if let Some(json) = &config.profile_json {
            options.profile = Some(Profile::parse(json)?);
        }
        let platform = Arc::new(ForeignPlatform(platform));
        let session = guarded(|| {
            Ok(Session::open_dir(
                &PathBuf::from(&config.data_dir),
                platform,
                options,
            )?)
        })?;
        Ok(Arc::new(Self {
            session: Arc::new(session),
        }))
    }

    /// The session behind the engine.
    pub(super) fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// Starts a measurement on the engine's runtime; the handle cancels it when
    /// released. After the outcome is stored, pending samples are uploaded (still
    /// within the handle's task, so a cancelled handle stops that too).
    pub(super) fn spawn_measurement(
        &self,
        plan: MeasurePlan,
        listener: Arc<dyn MeasureListener>,
    ) -> Result<MeasureHandle, IspeedError> {
        let session = Arc::clone(&self.session);
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        MeasureHandle::spawn(cancel, async move {
            let listener = ForeignListener(listener);
            let measured = session.measure(plan, &listener, &token).await;
            if !matches!(measured, Err(crate::Error::Busy | crate::Error::Cancelled)) {
                tokio::select! {
                    () = token.cancelled() => {}
                    _ = session.upload(false) => {}
                }
            }
            Measurement::try_from(&measured?)
        })
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Engine {
    /// Opens the engine on `config.data_dir` (created when missing) with the app's
    /// implementation of [`Platform`] and, when given, its deployment profile.
    #[uniffi::constructor]
    pub fn new(
        config: EngineConfig,
        platform: Arc<dyn Platform>,
    ) -> Result<Arc<Self>, IspeedError> {
        Self::with_options(config, platform, SessionOptions::default())
    }

    /// Version of the engine (the core crate).
    pub fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.session.settings().unwrap_or_default()
    }

    /// Checks and stores new settings; on error nothing changes.
    pub fn update_settings(&self, settings: Settings) -> Result<(), IspeedError> {
        Ok(self.session.update_settings(&settings)?)
    }

    /// The campaign of the deployment profile, `None` without one.
    pub fn campaign(&self) -> Option<String> {
        self.session.profile().map(|p| p.campaign.clone())
    }

    /// Starts a measurement against `server` (the settings' server when `None`, else
    /// the nearest of the profile's) and returns at once. Progress goes to
    /// `listener`; the handle gives the outcome and cancels (explicitly, or when
    /// released). While another measurement runs, the outcome is `IspeedError.Busy`.
    pub fn start_measure(
        &self,
        server: Option<Server>,
        listener: Arc<dyn MeasureListener>,
    ) -> Result<Arc<MeasureHandle>, IspeedError> {
        let plan = MeasurePlan {
            server,
            mode: Some(MeasureMode::Manual),
            ..MeasurePlan::default()
        };
        Ok(Arc::new(self.spawn_measurement(plan, listener)?))
    }

    /// Measures against `server` (as [`Engine::start_measure`]) and returns the
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
        Ok(self.session.store().area()?)
    }

    /// Sets the campaign area, once: a participant chooses it when joining, and a
    /// later, different choice does not move their samples to another area. Returns
    /// the area in force (the earlier one when one was already set). The area is
    /// carried in every result document from then on.
    pub fn set_area(&self, area: Area) -> Result<Area, IspeedError> {
        // A code fills its official names: the area returned is the one stored.
        let area = crate::areas::with_official_names(area)?;
        Ok(match self.session.store().set_area_once(area.clone())? {
            AreaSetting::Stored | AreaSetting::Unchanged => area,
            AreaSetting::Kept(old) => old,
        })
    }

    /// Parses an area typed as one line: a commune code (`5755`), `key=value` pairs
    /// (`code=5755,hamlet=Thôn 3`, `commune=Tản Lĩnh,hamlet=Thôn 3`, `org=THPT Ba Vì`)
    /// or `province/district/commune/hamlet` (most general first, a shorter path fills
    /// the first levels). A code fills the official province and commune names.
    pub fn parse_area(&self, text: String) -> Result<Area, IspeedError> {
        Ok(crate::areas::parse_area(&text)?)
    }
}
