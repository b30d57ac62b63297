//! Sequences the phases of one measurement and assembles the result document.

use std::sync::Mutex;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Phase, ProgressEvent, ProgressListener, download, latency, upload};
use crate::clock::Clock;
use crate::config::MeasureConfig;
use crate::error::{Error, Result};
use crate::network::guard::{NetworkGuard, POLL_INTERVAL};
use crate::network::{NetworkContext, NetworkPolicy, traffic};
use crate::platform::Platform;
use crate::protocol::{self, ProtocolKind, ServerProtocol};
use crate::result::{LatencyResult, MeasurementResult, SCHEMA, ServerRef, TransferResult};

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
    /// On which networks the measurement may run.
    pub policy: NetworkPolicy,
}

impl MeasureRequest {
    /// A request with default settings against a native server, under
    /// [`NetworkPolicy::CellularOnly`].
    pub fn new(server: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            protocol: ProtocolKind::Ispeed,
            config: MeasureConfig::default(),
            phases: Phases::default(),
            policy: NetworkPolicy::default(),
        }
    }
}

/// Runs one measurement: latency, then download, then upload.
///
/// Refuses to start, before any request, when the network breaks `request.policy`
/// ([`Error::WifiOn`], [`Error::NotCellular`]). Watches the network while it runs: a
/// change that breaks the policy stops it within a second and returns the sample with
/// the phases completed so far, `valid: false` and the reason; handovers that keep
/// the policy are recorded in `network_changes`.
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
    let id = Uuid::new_v4();
    let protocol = protocol::for_measurement(request.protocol, &request.server, id)?;
    crate::http::check_transport_security(&protocol.ping_url(), request.config.allow_plain_http)?;
    let limit = request.config.overall_timeout;
    let run = run_phases(id, request, protocol.as_ref(), platform, clock, listener);
    tokio::select! {
        _ = cancel.cancelled() => Err(Error::Cancelled),
        r = tokio::time::timeout(limit, run) => r.unwrap_or(Err(Error::OverallTimeout { after: limit })),
    }
}

/// Figures of the phases that completed.
#[derive(Default)]
struct Completed {
    latency: Option<LatencyResult>,
    download: Option<TransferResult>,
    upload: Option<TransferResult>,
}

async fn run_phases(
    id: Uuid,
    request: &MeasureRequest,
    protocol: &dyn ServerProtocol,
    platform: &dyn Platform,
    clock: &dyn Clock,
    listener: &dyn ProgressListener,
) -> Result<MeasurementResult> {
    let started_at = clock.now();
    // The policy is checked before the first request: a refused measurement moves no
    // bytes, not even a ping.
    let mut guard = NetworkGuard::start(request.policy, platform, clock)?;
    let network = guard.initial().clone();
    let counters = |n: &NetworkContext| {
        n.interface
            .as_deref()
            .and_then(|i| platform.interface_counters(i))
    };
    let counters_start = counters(&network);
    let tracker = PhaseTracker::new(listener);
    let mut done = Completed::default();

    // The guard polls alongside the phases; when it returns, the phases' future is
    // dropped, which cancels the transfer and closes its connections.
    let outcome = {
        let phases = sequence(request, protocol, &tracker, &mut done);
        tokio::pin!(phases);
        tokio::select! {
            v = guard.watch(POLL_INTERVAL, || tracker.current()) => Err(v),
            r = &mut phases => Ok(r),
        }
    };
    let violation = match outcome {
        Err(v) => Some((v, tracker.current())),
        // One last look: a change between the last poll and the end counts, and a
        // phase that failed because the network went away is a violation, not an error.
        Ok(r) => match (guard.poll(tracker.current()), r) {
            (Err(v), _) => Some((v, tracker.current())),
            (Ok(()), Err(e)) => return Err(e),
            (Ok(()), Ok(())) => None,
        },
    };
    let (network_end, network_changes) = guard.finish();
    // Asked last, so the receipt covers every byte the phases moved; not after a
    // policy violation (the sample never counts, and the network may be gone).
    let attestation = match violation {
        None => super::receipt::fetch(protocol, &request.config).await,
        Some(_) => None,
    };

    let payload = [&done.download, &done.upload]
        .iter()
        .filter_map(|t| t.as_ref().map(|t| t.bytes))
        .sum();
    let interface_traffic = match (network.interface.as_deref(), counters_start) {
        (Some(interface), Some(start)) if network_end.interface == network.interface => {
            counters(&network_end)
                .and_then(|end| traffic::assess(interface, network.transport, start, end, payload))
        }
        _ => None,
    };

    Ok(MeasurementResult {
        schema: SCHEMA.to_owned(),
        id,
        started_at,
        finished_at: clock.now(),
        server: ServerRef {
            url: request.server.clone(),
            protocol: protocol.kind(),
        },
        network,
        device: platform.device(),
        location: None,
        latency: done.latency,
        download: done.download,
        upload: done.upload,
        valid: violation.is_none(),
        invalid_reason: violation.as_ref().map(|(v, phase)| v.reason(*phase)),
        network_policy: Some(request.policy),
        network_end: Some(network_end),
        network_changes,
        interrupted_phase: violation.and_then(|(_, phase)| phase),
        interface_traffic,
        // Filled from the settings by whoever stores the sample (`Store::stamp`).
        participant: None,
        mode: None,
        attestation,
    })
}

/// Runs the requested phases in order, storing each one's figures in `done` as soon as
/// it completes, so that they survive the future being dropped.
async fn sequence(
    request: &MeasureRequest,
    protocol: &dyn ServerProtocol,
    listener: &dyn ProgressListener,
    done: &mut Completed,
) -> Result<()> {
    let config = &request.config;
    let ping = protocol.ping_url();
    let timing = protocol.ping_timing();
    // One warm connection for idle latency; a second, separate one for latency under
    // load, so that probes never queue behind the transfer's own bytes on one socket.
    let result = protocol.result_id();
    let idle_client = crate::http::client_for(config, result)?;
    let probe = || crate::http::client_for(config, result).map(|c| Some((c, ping.clone(), timing)));

    if request.phases.latency {
        listener.on_event(&ProgressEvent::PhaseStarted {
            phase: Phase::Latency,
        });
        let r = latency::measure(
            &idle_client,
            &ping,
            timing,
            config.latency_samples,
            config.request_timeout,
            listener,
        )
        .await?;
        listener.on_event(&ProgressEvent::PhaseFinished {
            phase: Phase::Latency,
            value: r.median_ms,
        });
        done.latency = Some(r);
    }
    if request.phases.download {
        done.download = Some(download::measure(protocol, config, probe()?, listener).await?);
    }
    if request.phases.upload {
        done.upload = Some(upload::measure(protocol, config, probe()?, listener).await?);
    }
    Ok(())
}

/// Forwards progress and remembers which phase is running, for the network record.
struct PhaseTracker<'a> {
    inner: &'a dyn ProgressListener,
    current: Mutex<Option<Phase>>,
}

impl<'a> PhaseTracker<'a> {
    fn new(inner: &'a dyn ProgressListener) -> Self {
        Self {
            inner,
            current: Mutex::new(None),
        }
    }

    /// The phase started and not yet finished, if any.
    fn current(&self) -> Option<Phase> {
        *self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ProgressListener for PhaseTracker<'_> {
    fn on_event(&self, event: &ProgressEvent) {
        match event {
            ProgressEvent::PhaseStarted { phase } => {
                *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(*phase);
            }
            ProgressEvent::PhaseFinished { .. } => {
                *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
            }
            _ => {}
        }
        self.inner.on_event(event);
    }
}
