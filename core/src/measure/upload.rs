//! Upload: parallel POSTs of random payload, counted only as the server confirms
//! receipt (see [`UploadAccounting`]).
//!
//! Every stream sends on a connection of its own (`Connection`), whose bytes
//! acknowledged by the server's TCP the kernel tells.
//!
//! With streamed reports (the native server) a stream sends one body and counts what
//! the server's report lines say it has read. Not its TCP's acknowledgements: a
//! signing server's receipt tallies what it read, and the collector rejects a sample
//! that claims more (`BytesUnexplained`); bytes acknowledged into its socket buffer
//! but never read, when the phase's end resets the connection, would be claimed. The
//! acknowledgements only tell when bytes wait at the server behind a hole, and the
//! count is held until the hole has filled (`ReportPlacement`).
//!
//! With counting on completion (LibreSpeed, Cloudflare) a stream sends one body at a
//! time, sized by [`RequestSizing`]. While a body is in flight its bytes count as the
//! server's TCP acknowledges them, read from the kernel every 50 ms; the answer then
//! confirms the body as a whole, and the next one leaves. Where the platform cannot
//! tell acknowledged bytes, only the answers count. An answer that arrives before the
//! whole body was even handed to the connection confirms nothing and fails the phase.
//!
//! In both cases the logs are read only up to the instant by which every stream has a
//! confirmation ([`ReadAt::Confirmed`]), so that the interpolation between two
//! confirmations spreads bytes over the time they took to cross instead of counting
//! them in one step. A second body in flight per stream, on another connection,
//! measured worse on the bench's 3 and 7 Mbit/s uplinks (eight connections on a
//! shallow queue lose more): one at a time it is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream;
use reqwest::Body;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection::{Connection, ExchangeLimits, Target};
use super::report_placement::ReportPlacement;
use super::transfer::{self, Probe, ReadAt, StreamLog, TransferPlan};
use super::{Phase, ProgressEvent, ProgressListener};
use crate::config::MeasureConfig;
use crate::error::{Error, Result};
use crate::http::payload_chunks;
use crate::protocol::native::ReportReader;
use crate::protocol::{RequestSizing, ServerProtocol, UploadAccounting};
use crate::result::TransferResult;

const PHASE: Phase = Phase::Upload;

/// Size of the body chunks handed to the HTTP stack.
const CHUNK: usize = 64 * 1024;

/// Runs the upload phase.
pub async fn measure(
    protocol: &dyn ServerProtocol,
    config: &MeasureConfig,
    probe: Option<Probe>,
    listener: &dyn ProgressListener,
) -> Result<TransferResult> {
    listener.on_event(&ProgressEvent::PhaseStarted { phase: PHASE });
    let t = config.upload;
    let share = t.max_bytes.div_ceil(u64::from(t.streams));
    let uploader = match protocol.upload_accounting() {
        UploadAccounting::StreamedReports { .. } => Uploader::Reported,
        UploadAccounting::OnCompletion { sizing } => Uploader::OnCompletion(sizing),
    };
    let target = Target {
        url: protocol.upload_url(),
        config: Arc::new(config.clone()),
        result: protocol.result_id(),
    };
    let limits = Limits {
        request: config.request_timeout,
        stall: config.stall_timeout,
    };
    let plan = TransferPlan {
        phase: PHASE,
        transfer: t,
        config,
        // Counts come from the server's reports or answers: read them only up to the
        // instant by which every stream has one, so none is read stuck at its last.
        read_at: ReadAt::Confirmed,
        probe,
    };
    transfer::run(plan, listener, move |_, log, stop| {
        let target = target.clone();
        async move {
            match uploader {
                Uploader::Reported => reported_stream(target, share, log, stop, limits).await,
                Uploader::OnCompletion(sizing) => {
                    completion_stream(target, share, sizing, log, stop, limits).await
                }
            }
        }
    })
    .await
}

/// How one stream sends and counts.
#[derive(Clone, Copy)]
enum Uploader {
    /// One body, counted by the server's reports.
    Reported,
    /// Bodies sized so, counted as acknowledged and confirmed on completion.
    OnCompletion(RequestSizing),
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    request: Duration,
    stall: Duration,
}

impl Limits {
    fn exchange(self) -> ExchangeLimits {
        ExchangeLimits {
            phase: PHASE,
            stall: self.stall,
        }
    }
}

/// A body of `len` payload bytes; `handed_over`, if given, is set when its last
/// chunk has been handed to the connection.
///
/// The body fails as soon as `stop` is cancelled. The HTTP stack sends a request body
/// on its own connection task, which outlives the response we drop when the phase
/// ends: without this, every stream would go on pushing the rest of its byte share
/// after the measurement, burning the citizen's mobile data in a long-lived app. A
/// failed body makes the stack abort the request and close the connection.
fn body(len: u64, handed_over: Option<Arc<AtomicBool>>, stop: CancellationToken) -> Body {
    let mut chunks = payload_chunks(len, CHUNK).peekable();
    let tracked = std::iter::from_fn(move || {
        if stop.is_cancelled() {
            return Some(Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "the upload phase is over",
            )));
        }
        let chunk = chunks.next()?;
        if chunks.peek().is_none()
            && let Some(flag) = &handed_over
        {
            flag.store(true, Ordering::Release);
        }
        Some(Ok(chunk))
    });
    Body::wrap_stream(stream::iter(tracked))
}

/// One body of `len` bytes on a connection of our own; the server's report lines,
/// streamed back while it reads, are the only thing counted, held while bytes wait
/// behind a hole ([`ReportPlacement`]).
async fn reported_stream(
    target: Target,
    len: u64,
    log: Arc<StreamLog>,
    stop: CancellationToken,
    limits: Limits,
) -> Result<()> {
    let exchange = async {
        let mut connection = target.open(PHASE).await?;
        log.record(Instant::now(), 0);
        let placement = Mutex::new(ReportPlacement::default());
        let placed = |update: &mut dyn FnMut(&mut ReportPlacement)| {
            let mut p = placement.lock().unwrap_or_else(|p| p.into_inner());
            update(&mut p);
            log.set_known_until(p.known_until());
        };
        let mut reports = ReportReader::new(len);
        connection
            .send(
                len,
                body(len, None, stop.clone()),
                limits.exchange(),
                |acked| placed(&mut |p| p.acknowledged(acked)),
                |chunk| {
                    reports
                        .feed(chunk, |report| {
                            let elapsed = Duration::from_millis(report.elapsed_ms);
                            placed(&mut |p| {
                                if let Some(at) = p.place(Instant::now(), elapsed, report.bytes) {
                                    log.record(at, report.bytes);
                                }
                            });
                        })
                        .map_err(|detail| Error::Protocol {
                            phase: PHASE,
                            detail,
                        })
                },
            )
            .await?;
        if reports.is_done() {
            Ok(())
        } else {
            Err(Error::Protocol {
                phase: PHASE,
                detail: "the server ended its reports before confirming the body".to_owned(),
            })
        }
    };
    tokio::select! {
        _ = stop.cancelled() => Ok(()),
        r = exchange => r,
    }
}

/// Bodies one after another on one connection, sized by `sizing`, each confirmed
/// when the server's answer says it has read the whole of it. While a body is in
/// flight its bytes are counted as the server's TCP acknowledges them, where the
/// platform tells ([`Connection`]); elsewhere only the answers count.
async fn completion_stream(
    target: Target,
    share: u64,
    sizing: RequestSizing,
    log: Arc<StreamLog>,
    stop: CancellationToken,
    limits: Limits,
) -> Result<()> {
    let mut connection: Option<Connection> = None;
    let mut confirmed = 0u64;
    let mut next_len = sizing.first_bytes.clamp(1, sizing.max_bytes.max(1));
    log.record(Instant::now(), 0);
    while confirmed < share {
        let len = next_len.min(share - confirmed);
        let sent_at = Instant::now();
        let exchange = async {
            let mut conn = match connection.take() {
                Some(mut c) => {
                    if c.is_reusable().await {
                        c
                    } else {
                        target.open(PHASE).await?
                    }
                }
                None => target.open(PHASE).await?,
            };
            let handed_over = Arc::new(AtomicBool::new(false));
            let body = body(len, Some(handed_over.clone()), stop.clone());
            let sent = conn.send(
                len,
                body,
                limits.exchange(),
                |acked| log.record(Instant::now(), confirmed + acked.payload),
                |_| Ok(()),
            );
            tokio::time::timeout(limits.request + limits.stall, sent)
                .await
                .map_err(|_| Error::Stalled {
                    phase: PHASE,
                    after: limits.stall,
                })??;
            // An answer before the body was even handed over cannot confirm it: the
            // server did not wait for the body, and its bytes would be counted unseen.
            if !handed_over.load(Ordering::Acquire) {
                return Err(Error::Protocol {
                    phase: PHASE,
                    detail: "the server answered before receiving the whole upload body".to_owned(),
                });
            }
            Ok(conn)
        };
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            r = exchange => connection = Some(r?),
        }
        let now = Instant::now();
        confirmed += len;
        log.record(now, confirmed);
        next_len = sizing.next(len, now - sent_at);
    }
    Ok(())
}
