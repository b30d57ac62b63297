//! The result document `ispeed.result/1`: its type ([`MeasurementResult`] and the
//! objects it holds, from [`crate::measure`], [`crate::network`],
//! [`crate::participant`] and [`crate::device`]), its schema string, its size limit,
//! and the golden list of its field names.
//!
//! The engine fills the type (`ispeed_core::result` re-exports it); the collector reads
//! documents loosely, as JSON, so that fields added by newer clients are kept.
//! Field names are a contract: extend, never rename.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::device::DeviceInfo;
use crate::measure::{LatencyResult, Phase, ProtocolKind, TransferResult};
use crate::network::{InterfaceTraffic, NetworkChange, NetworkContext, NetworkPolicy};
use crate::participant::{MeasureMode, Participant};

/// Value of the document's `schema` field.
pub const SCHEMA: &str = "ispeed.result/1";

/// Largest result document a collector accepts, bytes. A real document with every
/// interval sample and round trip of a long test is about 6 KB; ten times that leaves
/// room to grow and still refuses a body meant to tie up the collector.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Every field path of a fully populated result document, one per line, sorted:
/// `a.b` is field `b` of the object in field `a`, `a[].b` field `b` of the objects in
/// the array `a`. A test in `ispeed-core` compares the serialised type against it, so
/// renaming a field fails the build's tests; adding one means adding its line here.
pub const GOLDEN_FIELDS: &str = include_str!("../golden/result_fields.txt");

/// The golden field paths, without blank lines.
pub fn golden_fields() -> impl Iterator<Item = &'static str> {
    GOLDEN_FIELDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
}

/// A fully populated result document (every optional field present, every list with
/// one element at least), whose field paths are exactly [`GOLDEN_FIELDS`]: the
/// fixture the golden test reads into the engine's type and writes back.
pub const FULL_EXAMPLE: &str = include_str!("../golden/result_full.json");

/// The field paths of a JSON value in the notation of [`GOLDEN_FIELDS`] (an array's
/// paths are those of its first element).
pub fn field_paths(value: &serde_json::Value) -> std::collections::BTreeSet<String> {
    fn walk(v: &serde_json::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, x) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(x, &path, out);
                    out.insert(path);
                }
            }
            serde_json::Value::Array(items) => {
                if let Some(first) = items.first() {
                    walk(first, &format!("{prefix}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(value, "", &mut out);
    out
}

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
    pub attestation: Option<crate::attestation::Attestation>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_example_has_exactly_the_golden_fields() {
        let doc: serde_json::Value = serde_json::from_str(FULL_EXAMPLE).expect("fixture is JSON");
        let golden: std::collections::BTreeSet<String> =
            golden_fields().map(str::to_owned).collect();
        assert_eq!(field_paths(&doc), golden);
        assert_eq!(doc["schema"], SCHEMA);
        assert!(FULL_EXAMPLE.len() < MAX_DOCUMENT_BYTES);
    }

    #[test]
    fn the_full_example_reads_into_the_type_and_writes_back_unchanged() {
        let fixture: serde_json::Value = serde_json::from_str(FULL_EXAMPLE).expect("fixture");
        let doc: MeasurementResult =
            serde_json::from_value(fixture.clone()).expect("the type reads the full example");
        assert_eq!(serde_json::to_value(&doc).expect("serialise"), fixture);
        // A fresh document carries the schema and leaves every optional object out.
        let fresh = MeasurementResult::new(
            doc.started_at,
            doc.server.clone(),
            doc.network.clone(),
            doc.device.clone(),
        );
        assert_eq!(fresh.schema, SCHEMA);
        assert!(fresh.valid && fresh.latency.is_none() && fresh.participant.is_none());
    }
}
