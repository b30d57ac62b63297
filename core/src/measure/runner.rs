//! Sequences the phases of one measurement and assembles the result document.

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Phase, ProgressEvent, ProgressListener, download, latency, upload};
use crate::clock::Clock;
use crate::config::MeasureConfig;
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::protocol::{self, ProtocolKind, ServerProtocol};
use crate::result::{MeasurementResult, SCHEMA, ServerRef};

/// Which phases to run (all by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phases {
    /// Idle latency.
    pub latency: bool,
    /// Download.
    pub download: bool,
    /// Upload.
    pub upload: bool,
}

impl Default for Phases {
    fn default() -> Self {
        Self {
            latency: true,
            download: true,
            upload: true,
        }
    }
}

/// What to measure, against which server.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureRequest {
    /// Base URL of the server.
    pub server: String,
    /// Protocol the server speaks.
    pub protocol: ProtocolKind,
    /// Tunables.
    pub config: MeasureConfig,
    /// Phases to run.
    pub phases: Phases,
}

impl MeasureRequest {
    /// A request with default settings against a native server.
    pub fn new(server: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            protocol: ProtocolKind::Ispeed,
            config: MeasureConfig::default(),
            phases: Phases::default(),
        }
    }
}

/// Runs one measurement: latency, then download, then upload.
///
/// Returns within the overall timeout; cancelling `cancel` ends it promptly with
/// [`Error::Cancelled`] and closes every connection it opened.
pub async fn measure(
    request: &MeasureRequest,
    platform: &dyn Platform,
    clock: &dyn Clock,
    listener: &dyn ProgressListener,
    cancel: &CancellationToken,
) -> Result<MeasurementResult> {
    request.config.validate()?;
    let protocol = protocol::for_server(request.protocol, &request.server)?;
    crate::http::check_transport_security(&protocol.ping_url(), request.config.allow_plain_http)?;
    let limit = request.config.overall_timeout;
    let run = run_phases(request, protocol.as_ref(), platform, clock, listener);
    tokio::select! {
        _ = cancel.cancelled() => Err(Error::Cancelled),
        r = tokio::time::timeout(limit, run) => r.unwrap_or(Err(Error::OverallTimeout { after: limit })),
    }
}

async fn run_phases(
    request: &MeasureRequest,
    protocol: &dyn ServerProtocol,
    platform: &dyn Platform,
    clock: &dyn Clock,
    listener: &dyn ProgressListener,
) -> Result<MeasurementResult> {
    let config = &request.config;
    let started_at = clock.now();
    let network = platform.network();
    let ping = protocol.ping_url();
    // One warm connection for idle latency; a second, separate one for latency under
    // load, so that probes never queue behind the transfer's own bytes on one socket.
    let idle_client = crate::http::client(config)?;
    let probe = || crate::http::client(config).map(|c| Some((c, ping.clone())));

    let latency = if request.phases.latency {
        listener.on_event(&ProgressEvent::PhaseStarted {
            phase: Phase::Latency,
        });
        let r = latency::measure(
            &idle_client,
            &ping,
            config.latency_samples,
            config.request_timeout,
            listener,
        )
        .await?;
        listener.on_event(&ProgressEvent::PhaseFinished {
            phase: Phase::Latency,
            value: r.median_ms,
        });
        Some(r)
    } else {
        None
    };
    let download = if request.phases.download {
        Some(download::measure(protocol, config, probe()?, listener).await?)
    } else {
        None
    };
    let upload = if request.phases.upload {
        Some(upload::measure(protocol, config, probe()?, listener).await?)
    } else {
        None
    };

    Ok(MeasurementResult {
        schema: SCHEMA.to_owned(),
        id: Uuid::new_v4(),
        started_at,
        finished_at: clock.now(),
        server: ServerRef {
            url: request.server.clone(),
            protocol: protocol.kind(),
        },
        network,
        device: platform.device(),
        location: None,
        latency,
        download,
        upload,
        valid: true,
        invalid_reason: None,
    })
}
