//! The measurement: phases, progress events and the runner that sequences them.
//!
//! - [`latency`]: round trips on a warm keep-alive connection;
//! - [`download`] and [`upload`]: parallel streams over [`transfer`], which samples
//!   throughput through the [`sampler`] and probes latency under load;
//! - [`receipt`]: asks a signing server for its receipt of the measurement;
//! - [`runner`]: validates the request, runs the phases in order, emits progress,
//!   honours cancellation and the overall timeout, and assembles the result document.

mod connection;
pub mod download;
pub mod latency;
pub mod receipt;
mod report_placement;
pub mod runner;
pub mod sampler;
pub mod stats;
pub mod transfer;
pub mod upload;

use serde::{Deserialize, Serialize};

/// The phases of a measurement (the wire contract, in `ispeed-spec`).
pub use ispeed_spec::measure::Phase;
pub use runner::{MeasureRequest, Phases, measure};

/// What a listener hears while a measurement runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ProgressEvent {
    /// A phase begins.
    PhaseStarted {
        /// Which phase.
        phase: Phase,
    },
    /// One round trip was timed: idle in the latency phase, under load in the others.
    Rtt {
        /// Phase during which it was timed.
        phase: Phase,
        /// Round trip, ms.
        rtt_ms: f64,
    },
    /// One throughput interval ended.
    Interval {
        /// Download or upload.
        phase: Phase,
        /// Time since the phase started, ms.
        elapsed_ms: u64,
        /// Rate of this interval, Mbit/s.
        mbps: f64,
        /// Running estimate after the ramp, Mbit/s.
        estimate_mbps: Option<f64>,
        /// Payload bytes moved so far in the phase.
        bytes: u64,
    },
    /// A phase ended.
    PhaseFinished {
        /// Which phase.
        phase: Phase,
        /// Its headline figure: median RTT in ms for latency, Mbit/s for transfers.
        value: f64,
    },
}

/// Receives progress events. Called from the measuring task: return quickly.
pub trait ProgressListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: &ProgressEvent);
}

/// A listener that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl ProgressListener for Silent {
    fn on_event(&self, _event: &ProgressEvent) {}
}

// The apps' view of the re-exported wire types. `ispeed-spec` stays free of uniffi, so
// uniffi exports them through remote declarations: the definitions restated, from which
// it generates the conversions (see `crate::ffi`). They are declared in this module, where
// the types were defined, because uniffi's checksums hash the declaring module's path:
// declared anywhere else, the generated Kotlin and Swift would change.

/// The phases of a measurement, in the order they run.
#[cfg(feature = "uniffi")]
#[uniffi::remote(Enum)]
pub enum Phase {
    /// Idle round trips.
    Latency,
    /// Server to device.
    Download,
    /// Device to server.
    Upload,
}
