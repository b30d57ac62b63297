//! The core of the i-Speed mobile broadband measurement client.
//!
//! Everything that can be decided without the operating system lives here: the
//! measurement engine ([`measure`]), server protocols ([`protocol`]), the network
//! context ([`network`]) and what the OS must tell us ([`platform`]), tunables
//! ([`config`]) and the result document ([`result`]). The phone apps and the desktop
//! harness are thin shells around it. See `DESIGN.md` for the architecture.

pub mod areas;
pub mod clock;
pub mod config;
pub mod error;
#[cfg(feature = "uniffi")]
pub mod ffi;
mod http;
pub mod measure;
pub mod network;
pub mod participant;
pub mod platform;
pub mod profile;
pub mod protocol;
pub mod report;
pub mod result;
pub mod schedule;
pub mod servers;
pub mod session;
pub mod store;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("ispeed");

pub use clock::{Clock, FakeClock, SystemClock};
pub use config::MeasureConfig;
pub use error::{Error, Result};
pub use measure::{MeasureRequest, Phase, Phases, ProgressEvent, ProgressListener, measure};
pub use network::{NetworkContext, Transport};
pub use platform::{Platform, StaticPlatform};
pub use result::MeasurementResult;
