//! LibreSpeed-compatible routes, as the PHP backend of librespeed/speedtest serves
//! them, at the root and under `backend/` (the layout of a LibreSpeed installation):
//!
//! - `GET garbage.php?ckSize=N`: `N` chunks of 1 MiB (1-1024, 4 when absent or not a
//!   number, as in `garbage.php`), paced by the downlink;
//! - `GET empty.php`: an empty answer after the emulated round trip (the ping);
//! - `POST empty.php`: reads the whole body at the uplink's pace, then answers, empty,
//!   after the round trip: the answer confirms that every byte has arrived, which is
//!   what a client counting on completion relies on;
//! - `GET getIP.php`: `{"processedString": "<client address>", "rawIspInfo": ""}`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tokio::time::Instant;

use crate::AppState;
use crate::routes::{drain, no_store, paced_payload};

/// Size of one `garbage.php` chunk.
pub const CHUNK_BYTES: u64 = 1 << 20;
/// Most chunks one answer holds (`garbage.php`'s own cap).
pub const MAX_CHUNKS: u64 = 1024;
/// Chunks when `ckSize` is absent or not a number.
pub const DEFAULT_CHUNKS: u64 = 4;

/// The LibreSpeed routes, at the root and under `/backend`.
pub fn routes() -> Router<Arc<AppState>> {
    let mut router = Router::new();
    for prefix in ["", "/backend"] {
        router = router
            .route(&format!("{prefix}/garbage.php"), get(garbage))
            .route(&format!("{prefix}/empty.php"), get(ping).post(upload))
            .route(&format!("{prefix}/getIP.php"), get(ip));
    }
    router
}

/// Query of `garbage.php`; kept as text because the PHP accepts anything there.
#[derive(Debug, Deserialize)]
pub struct GarbageQuery {
    /// Chunks of 1 MiB.
    #[serde(rename = "ckSize")]
    pub ck_size: Option<String>,
}

/// Chunks `garbage.php` sends for a `ckSize` parameter.
pub fn chunks(ck_size: Option<&str>) -> u64 {
    ck_size
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_CHUNKS)
        .clamp(1, MAX_CHUNKS)
}

fn empty() -> Response {
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
    no_store(resp)
}

/// `GET garbage.php?ckSize=N`.
pub async fn garbage(State(app): State<Arc<AppState>>, Query(q): Query<GarbageQuery>) -> Response {
    let arrived = Instant::now();
    app.counters.requests.fetch_add(1, Ordering::Relaxed);
    let len = (chunks(q.ck_size.as_deref()) * CHUNK_BYTES).min(app.config.max_download_bytes);
    app.link.profile.hold_round_trip(arrived).await;
    let mut resp = paced_payload(app, len, None);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=random.dat"),
    );
    h.insert(
        "content-description",
        HeaderValue::from_static("File Transfer"),
    );
    resp
}

/// `GET empty.php`.
pub async fn ping(State(app): State<Arc<AppState>>) -> Response {
    let arrived = Instant::now();
    app.counters.requests.fetch_add(1, Ordering::Relaxed);
    app.link.profile.hold_round_trip(arrived).await;
    empty()
}

/// `POST empty.php`.
pub async fn upload(State(app): State<Arc<AppState>>, body: Body) -> Response {
    app.counters.requests.fetch_add(1, Ordering::Relaxed);
    let (_, _, err) = drain(&app, body, None, |_, _| {}).await;
    if let Some(e) = err {
        return (StatusCode::BAD_REQUEST, e).into_response();
    }
    // The last byte's trip up and the answer's trip down.
    app.link.profile.hold_round_trip(Instant::now()).await;
    empty()
}

/// `GET getIP.php`.
pub async fn ip(
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    let arrived = Instant::now();
    app.counters.requests.fetch_add(1, Ordering::Relaxed);
    app.link.profile.hold_round_trip(arrived).await;
    // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; PHP strips that.
    let addr = match peer.ip() {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.to_string(), |v4| v4.to_string()),
        v4 => v4.to_string(),
    };
    no_store(
        axum::Json(serde_json::json!({ "processedString": addr, "rawIspInfo": "" }))
            .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ck_size_is_read_like_the_php_reads_it() {
        assert_eq!(chunks(None), 4);
        assert_eq!(chunks(Some("20")), 20);
        assert_eq!(chunks(Some("0")), 1);
        assert_eq!(chunks(Some("5000")), 1024);
        assert_eq!(chunks(Some("abc")), 4);
        assert_eq!(chunks(Some("-3")), 4);
    }
}
