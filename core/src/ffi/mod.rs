//! The API the phone apps call, exported through uniffi (cargo feature `uniffi`).
//!
//! Nothing else in the core knows about uniffi: this module adapts the engine to what
//! crosses a foreign-function boundary, and every exported method is a short forward
//! to [`crate::session::Session`], which owns the use cases.
//!
//! - [`Engine`]: one per app; holds the data directory, the settings and the
//!   platform the shell implements; starts measurements (`engine`), reads and sends
//!   the stored samples (`samples`), and answers the schedulers (`routine`).
//! - [`MeasureHandle`]: a running measurement; `cancel()` or dropping it stops it.
//! - [`Platform`] and [`MeasureListener`]: implemented in Kotlin and Swift.
//! - [`search_areas`] and [`area_by_code`]: the official catalogue of communes for
//!   the area screens (free functions: no engine needed).
//! - [`IspeedError`]: the small error enum the apps see, each case with a stable code.
//!
//! Threads: measurements run on a runtime owned by this module (see [`runtime`]), so
//! a shell may call in from its UI thread; callbacks arrive on the engine's threads.

mod areas;
mod engine;
mod error;
mod handle;
mod platform;
mod routine;
mod runtime;
mod samples;
mod settings;
mod types;

pub use areas::{OfficialArea, area_by_code, areas_version, search_areas};
pub use engine::Engine;
pub use error::IspeedError;
pub use handle::MeasureHandle;
pub use platform::{MeasureListener, Platform};
pub use settings::Settings;
pub use types::{
    AutoDecision, DailyStatus, EngineConfig, Measurement, RejectedSample, Reminder, RoutinePlan,
    Server, UploadReport, WakeReport,
};
