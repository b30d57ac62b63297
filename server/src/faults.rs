//! Hostile-server behaviours, one per run, to test that clients fail cleanly.
//!
//! A phone meets captive portals, compressing proxies, middleboxes that reset
//! connections and servers that stall. `ispeed serve --fault SPEC` (or
//! [`crate::ServerConfig::fault`]) turns the reference server into one of them, so each
//! behaviour has an end-to-end test against the real client.

use std::io::Write;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;

use crate::AppState;

/// One way of misbehaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Payload bodies send this many bytes, then nothing, with the connection held open.
    StallAfter(u64),
    /// Payload bodies send this many bytes, then the connection is cut.
    ResetAfter(u64),
    /// Payload bodies trickle at this many bytes a second.
    Drip(u64),
    /// Payload bodies declare twice their length and end early.
    WrongLength,
    /// Payload bodies are gzip-compressed zeros (`Content-Encoding: gzip`).
    Gzip,
    /// Every route answers this status.
    Status(u16),
    /// Every route redirects to itself.
    RedirectLoop,
    /// Every answer carries about 1 MiB of headers.
    HugeHeaders,
    /// Every route answers a login page, as a captive portal does.
    CaptivePortal,
    /// `/info` answers something that is not JSON.
    GarbageInfo,
    /// The collector (`/v1/...`) answers something that is not JSON.
    GarbageCollector,
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let (name, arg) = match spec.split_once('=') {
            Some((n, a)) => (n, Some(a)),
            None => (spec, None),
        };
        let number = || -> Result<u64, String> {
            arg.ok_or_else(|| format!("fault {name} needs a value: {name}=N"))?
                .parse()
                .map_err(|_| format!("fault {name}: {arg:?} is not a whole number"))
        };
        Ok(match name {
            "stall-after" => Fault::StallAfter(number()?),
            "reset-after" => Fault::ResetAfter(number()?),
            "drip" => Fault::Drip(number()?.max(1)),
            "wrong-length" => Fault::WrongLength,
            "gzip" => Fault::Gzip,
            "status" => {
                let code = number()?;
                StatusCode::from_u16(code as u16)
                    .ok()
                    .filter(|_| code < 1000)
                    .ok_or_else(|| format!("fault status: {code} is not an HTTP status"))?;
                Fault::Status(code as u16)
            }
            "redirect-loop" => Fault::RedirectLoop,
            "huge-headers" => Fault::HugeHeaders,
            "captive-portal" => Fault::CaptivePortal,
            "garbage-info" => Fault::GarbageInfo,
            "garbage-collector" => Fault::GarbageCollector,
            other => {
                return Err(format!(
                    "unknown fault {other:?}: use stall-after=N, reset-after=N, drip=BYTES_PER_S, \
                     wrong-length, gzip, status=CODE, redirect-loop, huge-headers, captive-portal, \
                     garbage-info or garbage-collector"
                ));
            }
        })
    }
}

const PORTAL_PAGE: &str = "<!doctype html><html><head><title>Wi-Fi login</title></head>\
<body><form action=\"/login\"><p>Accept the terms to continue</p><button>OK</button></form></body></html>";

/// Middleware applying the server's fault, if any, to every exchange.
pub async fn inject(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(fault) = app.config.fault else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_owned();
    match fault {
        Fault::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Fault::RedirectLoop => {
            let to = req.uri().to_string();
            let mut resp = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&to) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp
        }
        Fault::CaptivePortal => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            PORTAL_PAGE,
        )
            .into_response(),
        Fault::HugeHeaders => {
            let mut resp = next.run(req).await;
            let filler = HeaderValue::from_static(
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            );
            for i in 0..8192 {
                if let Ok(name) = HeaderName::from_bytes(format!("x-filler-{i}").as_bytes()) {
                    resp.headers_mut().insert(name, filler.clone());
                }
            }
            resp
        }
        Fault::GarbageInfo if path.ends_with("/info") => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"name\": \"isp\u{0}eed\", [[[",
        )
            .into_response(),
        Fault::GarbageCollector if path.starts_with("/v1/") => (
            [(header::CONTENT_TYPE, "application/json")],
            "<html>502 Bad Gateway</html>",
        )
            .into_response(),
        Fault::GarbageInfo | Fault::GarbageCollector => next.run(req).await,
        Fault::StallAfter(_)
        | Fault::ResetAfter(_)
        | Fault::Drip(_)
        | Fault::WrongLength
        | Fault::Gzip => {
            let resp = next.run(req).await;
            let is_payload = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes() == b"application/octet-stream");
            if is_payload {
                corrupt_payload(fault, resp)
            } else {
                resp
            }
        }
    }
}

/// Applies a body fault to a payload response.
fn corrupt_payload(fault: Fault, resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let declared: u64 = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    let data = body.into_data_stream();
    let body = match fault {
        Fault::StallAfter(n) => {
            Body::from_stream(truncate(data, n).chain(futures_util::stream::pending()))
        }
        Fault::ResetAfter(n) => {
            Body::from_stream(truncate(data, n).chain(futures_util::stream::once(async {
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "fault: reset",
                ))
            })))
        }
        Fault::Drip(rate) => {
            // 1 KiB pieces at `rate` bytes a second.
            let every = Duration::from_secs_f64(1024.0 / rate as f64);
            let pieces = futures_util::stream::iter(0..declared.div_ceil(1024));
            Body::from_stream(pieces.then(move |i| async move {
                tokio::time::sleep(every).await;
                let n = 1024.min(declared - i * 1024) as usize;
                Ok::<_, std::io::Error>(Bytes::from(vec![0x5a; n]))
            }))
        }
        Fault::WrongLength => {
            parts.headers.insert(
                header::CONTENT_LENGTH,
                HeaderValue::from(declared.saturating_mul(2).max(1)),
            );
            Body::from_stream(data)
        }
        Fault::Gzip => {
            parts.headers.remove(header::CONTENT_LENGTH);
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            Body::from(gzip_zeros(declared))
        }
        _ => Body::from_stream(data),
    };
    Response::from_parts(parts, body)
}

/// The first `n` bytes of a body stream.
fn truncate(
    data: axum::body::BodyDataStream,
    n: u64,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold((data, 0u64), move |(mut data, sent)| async move {
        if sent >= n {
            return None;
        }
        let chunk = data.next().await?.ok()?;
        let keep = chunk.len().min((n - sent) as usize);
        Some((Ok(chunk.slice(..keep)), (data, sent + keep as u64)))
    })
}

/// `len` zero bytes, gzip-compressed (a few hundred bytes per MB).
fn gzip_zeros(len: u64) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let block = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        if enc.write_all(&block[..n]).is_err() {
            break;
        }
        left -= n as u64;
    }
    Bytes::from(enc.finish().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!("stall-after=65536".parse(), Ok(Fault::StallAfter(65536)));
        assert_eq!("status=500".parse(), Ok(Fault::Status(500)));
        assert_eq!("gzip".parse(), Ok(Fault::Gzip));
        assert!("status=99999".parse::<Fault>().is_err());
        assert!("stall-after".parse::<Fault>().is_err());
        assert!("stall-after=x".parse::<Fault>().is_err());
        assert!(
            "explode"
                .parse::<Fault>()
                .unwrap_err()
                .contains("unknown fault")
        );
    }

    #[test]
    fn gzip_of_zeros_is_tiny() {
        // deflate tops out near 1000:1; the fast level gets about 200:1 on zeros
        let z = gzip_zeros(10_000_000);
        assert!(z.len() < 100_000, "{}", z.len());
        assert_eq!(&z[..2], &[0x1f, 0x8b]);
    }
}
