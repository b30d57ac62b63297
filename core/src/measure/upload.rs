//! Upload: parallel POSTs of random payload, counted only when the server confirms
//! receipt (see [`UploadAccounting`]).

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream;
use reqwest::{Body, Client, Url};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::transfer::{self, StreamLog, TransferPlan};
use super::{Phase, ProgressEvent, ProgressListener};
use crate::config::MeasureConfig;
use crate::error::{Error, Result};
use crate::http::payload_chunks;
use crate::protocol::native::UploadReport;
use crate::protocol::{ServerProtocol, UploadAccounting};
use crate::result::TransferResult;

const PHASE: Phase = Phase::Upload;

/// Size of the body chunks handed to the HTTP stack.
const CHUNK: usize = 64 * 1024;

/// A report line longer than this is not a report.
const MAX_REPORT_LINE: usize = 1024;

/// Runs the upload phase.
pub async fn measure(
    protocol: &dyn ServerProtocol,
    config: &MeasureConfig,
    probe: Option<(Client, Url)>,
    listener: &dyn ProgressListener,
) -> Result<TransferResult> {
    listener.on_event(&ProgressEvent::PhaseStarted { phase: PHASE });
    let t = config.upload;
    let share = t.max_bytes.div_ceil(u64::from(t.streams));
    let url = protocol.upload_url();
    let accounting = protocol.upload_accounting();
    let clients = (0..t.streams)
        .map(|_| crate::http::client(config))
        .collect::<Result<Vec<_>>>()?;
    let read_lag = match accounting {
        // Read the logs two report periods back, so every stream has a report on
        // each side of the instant.
        UploadAccounting::StreamedReports { interval } => interval * 2,
        UploadAccounting::OnCompletion { .. } => Duration::ZERO,
    };
    let limits = Limits {
        request: config.request_timeout,
        stall: config.stall_timeout,
    };
    let plan = TransferPlan {
        phase: PHASE,
        transfer: t,
        config,
        read_lag,
        probe,
    };
    transfer::run(plan, listener, move |i, log, stop| {
        let client = clients[i].clone();
        let url = url.clone();
        async move {
            match accounting {
                UploadAccounting::StreamedReports { .. } => {
                    reported_stream(client, url, share, log, stop, limits).await
                }
                UploadAccounting::OnCompletion { request_bytes } => {
                    completion_stream(client, url, share, request_bytes, log, stop, limits).await
                }
            }
        }
    })
    .await
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    request: Duration,
    stall: Duration,
}

fn body(len: u64) -> Body {
    Body::wrap_stream(stream::iter(
        payload_chunks(len, CHUNK).map(Ok::<_, std::io::Error>),
    ))
}

async fn send(client: &Client, url: &Url, len: u64, limits: Limits) -> Result<reqwest::Response> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let req = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .header(reqwest::header::CONTENT_LENGTH, len)
        .body(body(len))
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
        r = send(&client, &url, len, limits) => r?,
    };
    log.record(Instant::now(), 0);
    let mut line = Vec::new();
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
        for &b in chunk.iter() {
            if b != b'\n' {
                line.push(b);
                if line.len() > MAX_REPORT_LINE {
                    return Err(Error::Protocol {
                        phase: PHASE,
                        detail: "upload report line too long".to_owned(),
                    });
                }
                continue;
            }
            let report: UploadReport =
                serde_json::from_slice(&line).map_err(|e| Error::Protocol {
                    phase: PHASE,
                    detail: format!("bad upload report: {e}"),
                })?;
            line.clear();
            if report.bytes > len {
                return Err(Error::Protocol {
                    phase: PHASE,
                    detail: format!("server reports {} bytes of a {len}-byte body", report.bytes),
                });
            }
            log.record(Instant::now(), report.bytes);
            if report.done {
                return Ok(());
            }
        }
    }
}

/// Requests of `request_bytes` one after another, each counted when the server's
/// answer confirms it has read the whole body.
async fn completion_stream(
    client: Client,
    url: Url,
    share: u64,
    request_bytes: u64,
    log: Arc<StreamLog>,
    stop: CancellationToken,
    limits: Limits,
) -> Result<()> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let mut confirmed = 0u64;
    log.record(Instant::now(), 0);
    while confirmed < share {
        let len = request_bytes.min(share - confirmed);
        let exchange = async {
            let resp = send(&client, &url, len, limits).await?;
            resp.bytes()
                .await
                .map_err(|e| Error::from_http(PHASE, &host, &e))
        };
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            r = tokio::time::timeout(limits.stall + limits.request, exchange) => match r {
                Err(_) => return Err(Error::Stalled { phase: PHASE, after: limits.stall }),
                Ok(r) => { r?; }
            },
        }
        confirmed += len;
        log.record(Instant::now(), confirmed);
    }
    Ok(())
}
