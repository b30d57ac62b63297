//! Idle latency: round trips on an already open keep-alive connection.
//!
//! The first request opens the connection (DNS, TCP, TLS) and is not counted: those
//! handshakes are not the latency a user feels on an open connection.

use std::time::Duration;

use reqwest::{Client, Url};
use tokio::time::Instant;

use super::{Phase, ProgressEvent, ProgressListener, stats};
use crate::error::{Error, Result};
use crate::result::LatencyResult;

/// Times one request/response on `client`, body included.
pub(crate) async fn round_trip(
    client: &Client,
    url: &Url,
    phase: Phase,
    timeout: Duration,
) -> Result<Duration> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let start = Instant::now();
    let exchange = async {
        let resp = client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| Error::from_http(phase, &host, &e))?;
        crate::http::check_status(&resp, phase)?;
        let html = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
        if html {
            return Err(Error::Protocol {
                phase,
                detail:
                    "got an HTML page (a captive portal or login page?) instead of a ping answer"
                        .to_owned(),
            });
        }
        // Ping answers are a few bytes; a large body is a portal page, not a ping.
        let body = resp
            .bytes()
            .await
            .map_err(|e| Error::from_http(phase, &host, &e))?;
        if body.len() > 4096 {
            return Err(Error::Protocol {
                phase,
                detail: format!("ping answered with {} bytes", body.len()),
            });
        }
        Ok(())
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(())) => Ok(start.elapsed()),
        Ok(Err(Error::Timeout { .. })) | Err(_) => Err(Error::Timeout {
            phase,
            after: timeout,
        }),
        Ok(Err(e)) => Err(e),
    }
}

/// Runs the latency phase: one warm-up, then `samples` timed round trips.
pub async fn measure(
    client: &Client,
    url: &Url,
    samples: u32,
    timeout: Duration,
    listener: &dyn ProgressListener,
) -> Result<LatencyResult> {
    round_trip(client, url, Phase::Latency, timeout).await?;
    let mut rtts = Vec::with_capacity(samples as usize);
    for _ in 0..samples {
        let rtt = round_trip(client, url, Phase::Latency, timeout).await?;
        let ms = rtt.as_secs_f64() * 1000.0;
        listener.on_event(&ProgressEvent::Rtt {
            phase: Phase::Latency,
            rtt_ms: ms,
        });
        rtts.push(ms);
    }
    Ok(summarize(rtts))
}

/// Statistics of a list of round trips (ms).
pub fn summarize(rtts: Vec<f64>) -> LatencyResult {
    LatencyResult {
        min_ms: stats::percentile(&rtts, 0.0).unwrap_or(0.0),
        median_ms: stats::median(&rtts).unwrap_or(0.0),
        p90_ms: stats::percentile(&rtts, 90.0).unwrap_or(0.0),
        jitter_ms: stats::jitter(&rtts),
        samples: rtts.len() as u32,
        rtts_ms: rtts,
    }
}
