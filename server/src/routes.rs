//! The native protocol's routes: `/ping`, `/download`, `/upload`, `/info`.
//!
//! Every answer carries `Cache-Control: no-store` and is never compressed: the
//! payload's size on the wire must be its size in the body.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use crate::AppState;
use crate::receipts::Tally;

/// Query of `GET /download`.
#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    /// Bytes to send; capped at the server's maximum.
    pub bytes: u64,
}

/// Query of `POST /upload`.
#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// Stream a progress report every this many ms while reading (10-1000).
    pub report_ms: Option<u64>,
}

/// What the server has received of one upload body (one line of the report stream,
/// or the whole answer without `report_ms`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct UploadReport {
    /// Body bytes received so far.
    pub bytes: u64,
    /// Time since the server started reading the body, ms.
    pub elapsed_ms: u64,
    /// Whether the body has ended.
    pub done: bool,
}

/// Answer of `GET /info`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Info {
    /// Server software.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Protocols it serves.
    pub protocols: Vec<String>,
    /// The emulated link.
    pub link: crate::LinkProfile,
    /// Largest download one request may ask for.
    pub max_download_bytes: u64,
    /// Largest upload body one request may send.
    pub max_upload_bytes: u64,
    /// The key receipts are signed with (`POST /receipt`), when the server has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<ispeed_spec::attestation::ServerKey>,
}

pub(crate) fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `GET /ping`: an empty answer after the emulated round trip.
pub async fn ping(State(app): State<Arc<AppState>>) -> Response {
    let arrived = Instant::now();
    app.counters.requests.fetch_add(1, Ordering::Relaxed);
    app.link.profile.hold_round_trip(arrived).await;
    no_store(StatusCode::OK.into_response())
}

/// `GET /info`.
pub async fn info(State(app): State<Arc<AppState>>) -> Response {
    no_store(
        Json(Info {
            name: "ispeed-server".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            protocols: ["ispeed", "librespeed", "cloudflare"]
                .map(str::to_owned)
                .to_vec(),
            link: app.link.profile,
            max_download_bytes: app.config.max_download_bytes,
            max_upload_bytes: app.config.max_upload_bytes,
            signing_key: app.receipts.signer().map(|s| s.public()),
        })
        .into_response(),
    )
}

/// `GET /download?bytes=N`: N random bytes, paced by the downlink.
pub async fn download(
    State(app): State<Arc<AppState>>,
    tally: Option<Extension<Arc<Tally>>>,
    Query(q): Query<DownloadQuery>,
) -> Response {
    let arrived = Instant::now();
    let len = q.bytes.min(app.config.max_download_bytes);
    app.counters.requests.fetch_add(1, Ordering::Relaxed);
    // The request's trip up and the first byte's trip down.
    app.link.profile.hold_round_trip(arrived).await;
    paced_payload(app, len, tally.map(|t| t.0))
}

/// An answer of `len` random bytes paced by the downlink and counted as they leave,
/// for every protocol's download route. The caller has already waited the round trip.
pub(crate) fn paced_payload(app: Arc<AppState>, len: u64, tally: Option<Arc<Tally>>) -> Response {
    let chunk = app
        .link
        .down
        .as_ref()
        .map_or(256 * 1024, |p| p.chunk_size());
    let stream = futures_util::stream::unfold(0u64, move |sent| {
        let (app, tally) = (app.clone(), tally.clone());
        async move {
            if sent >= len {
                return None;
            }
            let n = chunk.min((len - sent) as usize);
            let piece = app.payload.piece(sent, n);
            if let Some(p) = &app.link.down {
                p.pass(piece.len()).await;
            }
            app.counters
                .down_bytes
                .fetch_add(piece.len() as u64, Ordering::Relaxed);
            if let Some(t) = &tally {
                t.sent(piece.len() as u64);
            }
            let next = sent + piece.len() as u64;
            Some((Ok::<Bytes, Infallible>(piece), next))
        }
    });
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    no_store(resp)
}

/// `POST /upload[?report_ms=T]`: reads the body at the uplink's pace and discards it.
pub async fn upload(
    State(app): State<Arc<AppState>>,
    tally: Option<Extension<Arc<Tally>>>,
    Query(q): Query<UploadQuery>,
    body: Body,
) -> Response {
    app.counters.requests.fetch_add(1, Ordering::Relaxed);
    let tally = tally.map(|t| t.0);
    match q.report_ms {
        None => {
            let (bytes, elapsed, err) = drain(&app, body, tally, |_, _| {}).await;
            if let Some(e) = err {
                return (StatusCode::BAD_REQUEST, e).into_response();
            }
            no_store(
                Json(UploadReport {
                    bytes,
                    elapsed_ms: elapsed.as_millis() as u64,
                    done: true,
                })
                .into_response(),
            )
        }
        Some(ms) => reported_upload(app, body, tally, Duration::from_millis(ms.clamp(10, 1000))),
    }
}

/// Answers at once with an NDJSON stream of reports while a task reads the body.
///
/// Reading (paced by the uplink) and reporting run in separate tasks, so a report
/// leaves every `every` however long the pacer holds a read.
fn reported_upload(
    app: Arc<AppState>,
    body: Body,
    tally: Option<Arc<Tally>>,
    every: Duration,
) -> Response {
    let start = Instant::now();
    let received = Arc::new(AtomicU64::new(0));
    let (done_tx, mut done_rx) = watch::channel(false);
    let counter = received.clone();
    tokio::spawn(async move {
        let (_, _, err) = drain(&app, body, tally, |n, _| {
            counter.store(n, Ordering::Relaxed)
        })
        .await;
        // Only a complete body is confirmed as done; a broken one just stops reporting.
        if err.is_none() {
            let _ = done_tx.send(true);
        }
    });
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    tokio::spawn(async move {
        let line = |done: bool| {
            let r = UploadReport {
                bytes: received.load(Ordering::Relaxed),
                elapsed_ms: start.elapsed().as_millis() as u64,
                done,
            };
            let mut s = serde_json::to_vec(&r).unwrap_or_default();
            s.push(b'\n');
            Bytes::from(s)
        };
        let mut ticker = tokio::time::interval_at(start + every, every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    if tx.send(line(false)).await.is_err() {
                        return; // the client went away
                    }
                }
                changed = done_rx.changed() => {
                    if changed.is_ok() && *done_rx.borrow() {
                        let _ = tx.send(line(true)).await;
                    }
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    no_store(resp)
}

/// Reads a body to its end at the uplink's pace, calling `seen` after each frame.
/// Returns bytes, time taken and the error that ended it early, if any.
pub(crate) async fn drain(
    app: &AppState,
    body: Body,
    tally: Option<Arc<Tally>>,
    mut seen: impl FnMut(u64, Duration),
) -> (u64, Duration, Option<String>) {
    let start = Instant::now();
    let mut data = body.into_data_stream();
    let mut received = 0u64;
    while let Some(frame) = data.next().await {
        match frame {
            Ok(bytes) => {
                // hyper hands over frames of up to a few hundred KiB; pace and count
                // them in link-sized pieces so the count moves as smoothly as a wire.
                match &app.link.up {
                    Some(p) => {
                        for piece in bytes.chunks(p.chunk_size()) {
                            p.pass(piece.len()).await;
                            app.counters
                                .up_bytes
                                .fetch_add(piece.len() as u64, Ordering::Relaxed);
                            if let Some(t) = &tally {
                                t.received(piece.len() as u64);
                            }
                            received += piece.len() as u64;
                            seen(received, start.elapsed());
                        }
                    }
                    None => {
                        app.counters
                            .up_bytes
                            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                        if let Some(t) = &tally {
                            t.received(bytes.len() as u64);
                        }
                        received += bytes.len() as u64;
                        seen(received, start.elapsed());
                    }
                }
                if received > app.config.max_upload_bytes {
                    return (
                        received,
                        start.elapsed(),
                        Some("upload too large".to_owned()),
                    );
                }
            }
            Err(e) => return (received, start.elapsed(), Some(e.to_string())),
        }
    }
    (received, start.elapsed(), None)
}
