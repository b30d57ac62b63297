//! Records that exist only at the boundary: how an engine is set up, which server to
//! measure against, and a finished measurement in a shape the apps can show.

use std::time::SystemTime;

use super::error::IspeedError;
use crate::network::NetworkContext;
use crate::protocol::ProtocolKind;
use crate::result::{LatencyResult, MeasurementResult, TransferResult};

/// How an app sets up its [`super::Engine`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EngineConfig {
    /// A directory private to the app (Android `filesDir`, iOS Application Support);
    /// created when missing. Settings, and later the sample store, live there.
    pub data_dir: String,
}

/// A measurement server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, uniffi::Record)]
pub struct Server {
    /// Base URL, `https://speed.example.vn`.
    pub url: String,
    /// Protocol the server speaks.
    pub protocol: ProtocolKind,
}

/// A finished measurement: the headline figures for the screen, and the complete
/// `ispeed.result/1` document for sharing and uploading.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Measurement {
    /// Random id of the sample (uuid v4).
    pub id: String,
    /// When it started.
    pub started_at: SystemTime,
    /// When it finished.
    pub finished_at: SystemTime,
    /// Server measured against.
    pub server: Server,
    /// Network at the start.
    pub network: NetworkContext,
    /// Idle latency, when measured.
    pub latency: Option<LatencyResult>,
    /// Download, when measured.
    pub download: Option<TransferResult>,
    /// Upload, when measured.
    pub upload: Option<TransferResult>,
    /// Whether the sample counts in statistics and quotas.
    pub valid: bool,
    /// Why not, when it does not.
    pub invalid_reason: Option<String>,
    /// The result document, JSON (`ispeed.result/1`), exactly as the collector gets it.
    pub document_json: String,
}

impl TryFrom<&MeasurementResult> for Measurement {
    type Error = IspeedError;

    fn try_from(r: &MeasurementResult) -> Result<Self, IspeedError> {
        let document_json = serde_json::to_string(r)
            .map_err(|e| IspeedError::internal(format!("cannot encode the result: {e}")))?;
        Ok(Measurement {
            id: r.id.to_string(),
            started_at: r.started_at.into(),
            finished_at: r.finished_at.into(),
            server: Server {
                url: r.server.url.clone(),
                protocol: r.server.protocol,
            },
            network: r.network.clone(),
            latency: r.latency.clone(),
            download: r.download.clone(),
            upload: r.upload.clone(),
            valid: r.valid,
            invalid_reason: r.invalid_reason.clone(),
            document_json,
        })
    }
}
