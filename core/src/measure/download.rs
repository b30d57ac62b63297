//! Download: parallel GETs of random payload, counted as it arrives.
//!
//! Each stream asks for its share of the byte budget in one request, so the phase can
//! never move more than the budget; when the stop rule fires the connections are
//! closed, and only what was already in flight is spent beyond the measured window.

use std::sync::Arc;

use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::{Client, Response, Url};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::transfer::{self, Probe, ReadAt, StreamLog, TransferPlan};
use super::{Phase, ProgressEvent, ProgressListener};
use crate::config::MeasureConfig;
use crate::error::{Error, Result};
use crate::protocol::ServerProtocol;
use crate::result::TransferResult;

const PHASE: Phase = Phase::Download;

/// Runs the download phase.
pub async fn measure(
    protocol: &dyn ServerProtocol,
    config: &MeasureConfig,
    probe: Option<Probe>,
    listener: &dyn ProgressListener,
) -> Result<TransferResult> {
    listener.on_event(&ProgressEvent::PhaseStarted { phase: PHASE });
    let t = config.download;
    let share = t.max_bytes.div_ceil(u64::from(t.streams));
    let url = protocol.download_url(share);
    let clients = (0..t.streams)
        .map(|_| crate::http::client_for(config, protocol.result_id()))
        .collect::<Result<Vec<_>>>()?;
    let (request_timeout, stall) = (config.request_timeout, config.stall_timeout);
    let plan = TransferPlan {
        phase: PHASE,
        transfer: t,
        config,
        read_at: ReadAt::Now,
        probe,
    };
    transfer::run(plan, listener, move |i, log, stop| {
        let client = clients[i].clone();
        let url = url.clone();
        async move { stream(client, url, log, stop, request_timeout, stall).await }
    })
    .await
}

async fn stream(
    client: Client,
    url: Url,
    log: Arc<StreamLog>,
    stop: CancellationToken,
    request_timeout: std::time::Duration,
    stall: std::time::Duration,
) -> Result<()> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let send = client.get(url).send();
    let mut resp = tokio::select! {
        _ = stop.cancelled() => return Ok(()),
        r = tokio::time::timeout(request_timeout, send) => match r {
            Err(_) => return Err(Error::Timeout { phase: PHASE, after: request_timeout }),
            Ok(r) => r.map_err(|e| Error::from_http(PHASE, &host, &e))?,
        },
    };
    check_response(&resp)?;
    let mut total = 0u64;
    log.record(Instant::now(), 0);
    loop {
        let chunk = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            c = tokio::time::timeout(stall, resp.chunk()) => c,
        };
        match chunk {
            Err(_) => {
                return Err(Error::Stalled {
                    phase: PHASE,
                    after: stall,
                });
            }
            Ok(Err(e)) => return Err(Error::from_http(PHASE, &host, &e)),
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(bytes))) => {
                total += bytes.len() as u64;
                log.record(Instant::now(), total);
            }
        }
    }
}

/// Refuses answers that are not raw payload: an error status, a compressed body
/// (its wire bytes are not the payload), or an HTML page (a captive portal).
fn check_response(resp: &Response) -> Result<()> {
    crate::http::check_status(resp, PHASE)?;
    if let Some(enc) = resp.headers().get(CONTENT_ENCODING) {
        let enc = enc.to_str().unwrap_or("?");
        if !enc.eq_ignore_ascii_case("identity") {
            return Err(Error::Protocol {
                phase: PHASE,
                detail: format!(
                    "the body is {enc}-compressed, so its size says nothing about the link"
                ),
            });
        }
    }
    if let Some(ct) = resp.headers().get(CONTENT_TYPE)
        && ct.to_str().unwrap_or("").starts_with("text/html")
    {
        return Err(Error::Protocol {
            phase: PHASE,
            detail: "got an HTML page (a captive portal or login page?) instead of data".to_owned(),
        });
    }
    Ok(())
}
