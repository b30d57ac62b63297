//! The result document `ispeed.result/1`: what the CLI prints, the store keeps and the
//! collector receives. Field names are a contract: extend, never rename.
//!
//! The types are the wire contract and live in `ispeed-spec` ([`ispeed_spec::result`],
//! [`ispeed_spec::measure`]); they are re-exported here so that the engine, the store
//! and the apps' facade name them where they always did.

pub use ispeed_spec::measure::{IntervalSample, LatencyResult, TransferResult};
pub use ispeed_spec::result::{Location, LocationSource, MeasurementResult, SCHEMA, ServerRef};

#[cfg(feature = "uniffi")]
use ispeed_spec::measure::StopReason;

// The apps' view of the re-exported wire types. `ispeed-spec` stays free of uniffi, so
// uniffi exports them through remote declarations: the definitions restated, from which
// it generates the conversions (see `crate::ffi`). They are declared in this module, where
// the types were defined, because uniffi's checksums hash the declaring module's path:
// declared anywhere else, the generated Kotlin and Swift would change.

/// Round-trip times on a warm connection, milliseconds.
#[cfg(feature = "uniffi")]
#[uniffi::remote(Record)]
pub struct LatencyResult {
    /// Smallest round trip.
    pub min_ms: f64,
    /// Median round trip.
    pub median_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// Mean absolute difference of consecutive round trips.
    pub jitter_ms: f64,
    /// Number of round trips timed.
    pub samples: u32,
    /// Every round trip, in order.
    pub rtts_ms: Vec<f64>,
}

/// One throughput sample of a transfer.
#[cfg(feature = "uniffi")]
#[uniffi::remote(Record)]
pub struct IntervalSample {
    /// End of the interval, milliseconds since the phase started.
    pub t_ms: u64,
    /// Payload bytes that completed in the interval.
    pub bytes: u64,
    /// Rate of the interval, Mbit/s.
    pub mbps: f64,
    /// Whether the interval was slow-start ramp and left out of `mbps`.
    pub ramp: bool,
}

/// Outcome of a download or upload phase.
#[cfg(feature = "uniffi")]
#[uniffi::remote(Record)]
pub struct TransferResult {
    /// Payload goodput over the measured window (ramp excluded), Mbit/s (10^6 bit/s).
    pub mbps: f64,
    /// Payload bytes moved in the whole phase, ramp included: the data it cost.
    pub bytes: u64,
    /// Length of the whole phase, milliseconds.
    pub duration_ms: u64,
    /// Parallel TCP streams used.
    pub streams: u8,
    /// Median round trip on a separate connection during the transfer, when measured.
    pub loaded_latency_ms: Option<f64>,
    /// Payload bytes inside the measured window.
    pub measured_bytes: u64,
    /// Length of the measured window, milliseconds.
    pub measured_ms: u64,
    /// Length of the slow-start ramp left out, milliseconds.
    pub ramp_ms: u64,
    /// Why the phase ended.
    pub stop_reason: StopReason,
    /// Round trips timed during the transfer.
    pub loaded_rtts_ms: Vec<f64>,
    /// Throughput of every interval, ramp included.
    pub intervals: Vec<IntervalSample>,
}
