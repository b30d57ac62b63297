//! Upload: parallel POSTs of random payload, counted only as the server confirms
//! receipt (see [`UploadAccounting`]).
//!
//! With streamed reports (the native server) a stream sends one body and counts what
//! the server's report lines say it has read. Not its TCP's acknowledgements: a
//! signing server's receipt tallies what it read, and the collector rejects a sample
//! that claims more (`BytesUnexplained`); bytes acknowledged into its socket buffer
//! but never read, when the phase's end resets the connection, would be claimed.
//!
//! With counting on completion (LibreSpeed, Cloudflare) a stream sends one body at a
//! time on a connection of its own ([`UploadConnection`]), sized by
//! [`RequestSizing`]. While a body is in flight its bytes count as the server's TCP
//! acknowledges them, read from the kernel every 50 ms; the answer then confirms the
//! body as a whole, and the next one leaves. Where the platform cannot tell
//! acknowledged bytes, only the answers count. An answer that arrives before the whole
//! body was even handed to the connection confirms nothing and fails the phase.
//!
//! In both cases the logs are read only up to the instant by which every stream has a
//! confirmation ([`ReadAt::Confirmed`]), so that the interpolation between two
//! confirmations spreads bytes over the time they took to cross instead of counting
//! them in one step. A second body in flight per stream, on another connection,
//! measured worse on the bench's 3 and 7 Mbit/s uplinks (eight connections on a
//! shallow queue lose more): one at a time it is.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::stream;
use reqwest::{Body, Client, Url};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::transfer::{self, Probe, ReadAt, StreamLog, TransferPlan};
use super::upload_connection::{ExchangeLimits, UploadConnection};
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
    // Streamed reports go through reqwest, one client (so one connection) per
    // stream; bodies counted on completion through connections of our own, whose
    // acknowledged bytes the kernel tells ([`UploadConnection`]).
    let uploaders = (0..t.streams)
        .map(|_| {
            Ok(match protocol.upload_accounting() {
                UploadAccounting::StreamedReports { .. } => {
                    Uploader::Reported(crate::http::client_for(config, protocol.result_id())?)
                }
                UploadAccounting::OnCompletion { sizing } => Uploader::OnCompletion(sizing),
            })
        })
        .collect::<Result<Vec<_>>>()?;
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
    transfer::run(plan, listener, move |i, log, stop| {
        let uploader = uploaders[i].clone();
        let target = target.clone();
        async move {
            match uploader {
                Uploader::Reported(client) => {
                    reported_stream(client, target.url, share, log, stop, limits).await
                }
                Uploader::OnCompletion(sizing) => {
                    completion_stream(target, share, sizing, log, stop, limits).await
                }
            }
        }
    })
    .await
}

/// How one stream sends and counts.
#[derive(Clone)]
enum Uploader {
    /// One body on this client's connection, counted by the server's reports.
    Reported(Client),
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

async fn send(
    client: &Client,
    url: &Url,
    len: u64,
    limits: Limits,
    stop: &CancellationToken,
) -> Result<reqwest::Response> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let req = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .header(reqwest::header::CONTENT_LENGTH, len)
        .body(body(len, None, stop.clone()))
        .send();
    let resp = tokio::time::timeout(limits.request, req)
        .await
        .map_err(|_| Error::Timeout {
            phase: PHASE,
            after: limits.request,
        })?
        .map_err(|e| Error::from_http(PHASE, &host, &e))?;
    crate::http::check_status(&resp, PHASE)?;
    Ok(resp)
}

/// One body of `len` bytes; the server's report lines, streamed back while it reads,
/// are the only thing counted.
async fn reported_stream(
    client: Client,
    url: Url,
    len: u64,
    log: Arc<StreamLog>,
    stop: CancellationToken,
    limits: Limits,
) -> Result<()> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let mut resp = tokio::select! {
        _ = stop.cancelled() => return Ok(()),
        r = send(&client, &url, len, limits, &stop) => r?,
    };
    log.record(Instant::now(), 0);
    let mut reports = ReportReader::new(len);
    let mut clock = ServerClock::default();
    let mut last = Instant::now();
    loop {
        let chunk = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            c = tokio::time::timeout(limits.stall, resp.chunk()) => c,
        };
        let chunk = match chunk {
            Err(_) => {
                return Err(Error::Stalled {
                    phase: PHASE,
                    after: limits.stall,
                });
            }
            Ok(Err(e)) => return Err(Error::from_http(PHASE, &host, &e)),
            Ok(Ok(None)) => {
                return Err(Error::Protocol {
                    phase: PHASE,
                    detail: "the server ended its reports before confirming the body".to_owned(),
                });
            }
            Ok(Ok(Some(c))) => c,
        };
        reports
            .feed(&chunk, |report| {
                let at = clock
                    .place(Instant::now(), Duration::from_millis(report.elapsed_ms))
                    .max(last);
                last = at;
                log.record(at, report.bytes);
            })
            .map_err(|detail| Error::Protocol {
                phase: PHASE,
                detail,
            })?;
        if reports.is_done() {
            return Ok(());
        }
    }
}

/// Places the server's read times on the client's clock.
///
/// A report made `elapsed` after the server began reading a body arrives at least a
/// one-way delay later, and later still when it waits behind other traffic on the way
/// back (a download's queue still draining, a cell's scheduler). Stamped on arrival, a
/// late report would leave the count stuck and then jump; the earliest
/// `arrival − elapsed` seen so far is the best estimate of when the server began, and
/// every report is placed at that origin plus its own `elapsed`: when the server read
/// the bytes, never after the report arrived.
#[derive(Debug, Default)]
struct ServerClock {
    origin: Option<Instant>,
}

impl ServerClock {
    /// Where a report of `elapsed` server time that arrived at `arrival` belongs.
    fn place(&mut self, arrival: Instant, elapsed: Duration) -> Instant {
        let candidate = arrival.checked_sub(elapsed).unwrap_or(arrival);
        let origin = self.origin.map_or(candidate, |o| o.min(candidate));
        self.origin = Some(origin);
        (origin + elapsed).min(arrival)
    }
}

/// Bodies one after another on one connection, sized by `sizing`, each confirmed
/// when the server's answer says it has read the whole of it. While a body is in
/// flight its bytes are counted as the server's TCP acknowledges them, where the
/// platform tells ([`UploadConnection`]); elsewhere only the answers count.
async fn completion_stream(
    target: Target,
    share: u64,
    sizing: RequestSizing,
    log: Arc<StreamLog>,
    stop: CancellationToken,
    limits: Limits,
) -> Result<()> {
    let mut connection: Option<UploadConnection> = None;
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
                        target.open().await?
                    }
                }
                None => target.open().await?,
            };
            let handed_over = Arc::new(AtomicBool::new(false));
            let body = body(len, Some(handed_over.clone()), stop.clone());
            let sent = conn.send(
                len,
                body,
                limits.exchange(),
                |acked| log.record(Instant::now(), confirmed + acked),
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

/// Where and how a stream counted on completion opens its connections.
#[derive(Clone)]
struct Target {
    url: Url,
    config: Arc<MeasureConfig>,
    result: Option<uuid::Uuid>,
}

impl Target {
    async fn open(&self) -> Result<UploadConnection> {
        UploadConnection::open(&self.url, &self.config, self.result, PHASE).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_reports_are_placed_when_the_server_read_their_bytes() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut clock = ServerClock::default();
        // Reports every 100 ms of server time, 20 ms on the way back...
        assert_eq!(clock.place(t0 + ms(120), ms(100)), t0 + ms(120));
        assert_eq!(clock.place(t0 + ms(220), ms(200)), t0 + ms(220));
        // ... then two held 600 ms behind a draining queue, arriving together: each
        // goes where its server time puts it, not at the arrival.
        assert_eq!(clock.place(t0 + ms(900), ms(300)), t0 + ms(320));
        assert_eq!(clock.place(t0 + ms(900), ms(400)), t0 + ms(420));
        // A report faster than any before moves the origin earlier; none is placed
        // after its own arrival.
        assert_eq!(clock.place(t0 + ms(505), ms(500)), t0 + ms(505));
        assert_eq!(clock.place(t0 + ms(700), ms(600)), t0 + ms(605));
    }
}
