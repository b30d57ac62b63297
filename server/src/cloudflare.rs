//! Cloudflare-compatible routes, as `speed.cloudflare.com` serves them:
//!
//! - `GET __down?bytes=N`: `N` bytes (0 when absent), paced by the downlink;
//!   `bytes=0` is the ping;
//! - `POST __up`: reads the whole body at the uplink's pace, then answers, empty,
//!   after the round trip, so the answer confirms every byte.
//!
//! Both carry `Server-Timing: cfRequestDuration;dur=<ms>`, the time the server
//! itself spent on the request: for `__down` its processing before the first byte
//! (the emulated path delay is the link's, not the server's, so it is left out), for
//! `__up` the time it took to read the body.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::time::Instant;

use crate::AppState;
use crate::routes::{drain, no_store, paced_payload};

/// The Cloudflare routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/__down", get(down))
        .route("/__up", post(up))
}

/// Query of `__down`.
#[derive(Debug, Deserialize)]
pub struct DownQuery {
    /// Bytes to send.
    #[serde(default)]
    pub bytes: u64,
}

/// The `Server-Timing` value for `took` of server work.
pub fn server_timing(took: Duration) -> HeaderValue {
    let value = format!("cfRequestDuration;dur={:.3}", took.as_secs_f64() * 1000.0);
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("cfRequestDuration;dur=0"))
}

/// `GET __down?bytes=N`.
pub async fn down(State(app): State<Arc<AppState>>, Query(q): Query<DownQuery>) -> Response {
    let start = Instant::now();
    app.counters.requests.fetch_add(1, Ordering::Relaxed);
    let len = q.bytes.min(app.config.max_download_bytes);
    let worked = start.elapsed();
    app.link.profile.hold_round_trip(start).await;
    let mut resp = paced_payload(app, len, None);
    resp.headers_mut()
        .insert("server-timing", server_timing(worked));
    resp
}

/// `POST __up`.
pub async fn up(State(app): State<Arc<AppState>>, body: Body) -> Response {
    app.counters.requests.fetch_add(1, Ordering::Relaxed);
    let (_, took, err) = drain(&app, body, None, |_, _| {}).await;
    if let Some(e) = err {
        return (StatusCode::BAD_REQUEST, e).into_response();
    }
    // The last byte's trip up and the answer's trip down.
    app.link.profile.hold_round_trip(Instant::now()).await;
    let mut resp = no_store(StatusCode::OK.into_response());
    resp.headers_mut()
        .insert("server-timing", server_timing(took));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timing_has_cloudflares_shape() {
        let v = server_timing(Duration::from_micros(12_345));
        assert_eq!(v.to_str().ok(), Some("cfRequestDuration;dur=12.345"));
    }
}
