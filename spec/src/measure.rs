//! What one measurement is made of, as the result document reports it: the phases, the
//! protocol spoken, and each phase's figures.
//!
//! The engine (`ispeed_core::measure`) produces these; the collector, the CLI and the
//! apps (through uniffi declarations in `ispeed_core::ffi`) read them. Field and
//! variant names are part of `ispeed.result/1`: extend, never rename.

use serde::{Deserialize, Serialize};

/// The phases of a measurement, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Idle round trips.
    Latency,
    /// Server to device.
    Download,
    /// Device to server.
    Upload,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Latency => "latency",
            Phase::Download => "download",
            Phase::Upload => "upload",
        })
    }
}

/// Why a transfer phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The estimate settled.
    Stable,
    /// The phase's time budget ran out.
    TimeBudget,
    /// The phase's byte budget was used up.
    ByteBudget,
}

/// The protocols the engine speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolKind {
    /// The native protocol of `ispeed-server` (`/ping`, `/download`, `/upload`).
    #[default]
    Ispeed,
    /// A LibreSpeed backend (`garbage.php`, `empty.php`).
    Librespeed,
    /// Cloudflare's speed test endpoints (`/__down`, `/__up`).
    Cloudflare,
}

impl ProtocolKind {
    /// Name as it appears in the result document and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolKind::Ispeed => "ispeed",
            ProtocolKind::Librespeed => "librespeed",
            ProtocolKind::Cloudflare => "cloudflare",
        }
    }
}

impl std::fmt::Display for ProtocolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol name that is none of [`ProtocolKind`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownProtocol(pub String);

impl std::fmt::Display for UnknownProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown protocol {:?}: use ispeed, librespeed or cloudflare",
            self.0
        )
    }
}

impl std::error::Error for UnknownProtocol {}

impl std::str::FromStr for ProtocolKind {
    type Err = UnknownProtocol;

    /// A protocol by name, ignoring case; `native` is `ispeed`.
    fn from_str(s: &str) -> Result<Self, UnknownProtocol> {
        match s.to_ascii_lowercase().as_str() {
            "ispeed" | "native" => Ok(ProtocolKind::Ispeed),
            "librespeed" => Ok(ProtocolKind::Librespeed),
            "cloudflare" => Ok(ProtocolKind::Cloudflare),
            other => Err(UnknownProtocol(other.to_owned())),
        }
    }
}

/// Round-trip times on a warm connection, milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(default)]
    pub rtts_ms: Vec<f64>,
}

/// One throughput sample of a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(default)]
    pub loaded_rtts_ms: Vec<f64>,
    /// Throughput of every interval, ramp included.
    pub intervals: Vec<IntervalSample>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_round_trip_and_unknown_ones_are_refused() {
        for k in [
            ProtocolKind::Ispeed,
            ProtocolKind::Librespeed,
            ProtocolKind::Cloudflare,
        ] {
            assert_eq!(k.as_str().parse::<ProtocolKind>(), Ok(k));
            assert_eq!(
                serde_json::to_value(k).ok(),
                Some(serde_json::json!(k.as_str()))
            );
        }
        assert_eq!("NATIVE".parse::<ProtocolKind>(), Ok(ProtocolKind::Ispeed));
        let err = "gopher".parse::<ProtocolKind>().expect_err("gopher");
        assert!(err.to_string().contains("\"gopher\""), "{err}");
    }
}
