//! The result document `ispeed.result/1`: what the CLI prints, the store keeps and the
//! collector receives. Field names are a contract: extend, never rename.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::measure::Phase;
use crate::measure::sampler::StopReason;
use crate::network::{InterfaceTraffic, NetworkChange, NetworkContext, NetworkPolicy};
use crate::participant::{MeasureMode, Participant};
use crate::platform::DeviceInfo;
use crate::protocol::ProtocolKind;

/// Value of the `schema` field (the contract lives in `ispeed-spec`).
pub const SCHEMA: &str = ispeed_spec::result::SCHEMA;

/// One measurement, as stored and sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementResult {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Random id of this sample (uuid v4); the collector de-duplicates on it.
    pub id: Uuid,
    /// When the measurement started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// Server measured against.
    pub server: ServerRef,
    /// Network at the start of the measurement.
    pub network: NetworkContext,
    /// The device, never identifying it.
    pub device: DeviceInfo,
    /// Coarse location, when the user allowed it.
    pub location: Option<Location>,
    /// Idle latency.
    pub latency: Option<LatencyResult>,
    /// Download phase.
    pub download: Option<TransferResult>,
    /// Upload phase.
    pub upload: Option<TransferResult>,
    /// Whether the sample may count in statistics and quotas.
    pub valid: bool,
    /// Why not, when it may not.
    pub invalid_reason: Option<String>,
    /// The network policy the measurement ran under.
    #[serde(default)]
    pub network_policy: Option<NetworkPolicy>,
    /// Network at the end of the measurement (or when a policy violation stopped it).
    #[serde(default)]
    pub network_end: Option<NetworkContext>,
    /// Every change of network noticed during the measurement, in order: handovers
    /// that kept the sample valid, and the change that invalidated it, if any.
    #[serde(default)]
    pub network_changes: Vec<NetworkChange>,
    /// The phase a policy violation stopped; its figures are absent, the phases
    /// before it are kept.
    #[serde(default)]
    pub interrupted_phase: Option<Phase>,
    /// What crossed the interface against the payload moved, where the platform
    /// reads interface counters.
    #[serde(default)]
    pub interface_traffic: Option<InterfaceTraffic>,
    /// Who measured: the random install id and the campaign area chosen in the
    /// settings ([`crate::participant`]).
    #[serde(default)]
    pub participant: Option<Participant>,
    /// Whether a scheduler or a person started the measurement.
    #[serde(default)]
    pub mode: Option<MeasureMode>,
    /// The measurement server's signed receipt for this measurement, when the server
    /// holds a key (docs/trust.md); `None` for LibreSpeed and Cloudflare servers.
    #[serde(default)]
    pub attestation: Option<ispeed_spec::attestation::Attestation>,
}

impl MeasurementResult {
    /// A document with a fresh id and no phase measured yet: valid until found otherwise.
    pub fn new(
        started_at: DateTime<Utc>,
        server: ServerRef,
        network: NetworkContext,
        device: DeviceInfo,
    ) -> Self {
        Self {
            schema: SCHEMA.to_owned(),
            id: Uuid::new_v4(),
            started_at,
            finished_at: started_at,
            server,
            network,
            network_policy: None,
            network_end: None,
            network_changes: Vec::new(),
            interrupted_phase: None,
            interface_traffic: None,
            participant: None,
            mode: None,
            attestation: None,
            device,
            location: None,
            latency: None,
            download: None,
            upload: None,
            valid: true,
            invalid_reason: None,
        }
    }
}

/// Which server, speaking which protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRef {
    /// Base URL.
    pub url: String,
    /// Protocol spoken.
    pub protocol: ProtocolKind,
}

/// A coarsened position (about 1 km), only with the user's permission.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Accuracy radius, metres.
    pub accuracy_m: f64,
    /// Where the fix came from.
    pub source: LocationSource,
}

/// Origin of a location fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocationSource {
    /// Satellite fix.
    Gps,
    /// Cell or Wi-Fi based fix.
    Network,
}

/// Round-trip times on a warm connection, milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
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
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
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
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
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
