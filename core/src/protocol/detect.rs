//! Which protocol a server speaks, found with a few tiny requests.
//!
//! Tried in order, each answer checked so that a web server answering every path
//! with the same HTML page is not mistaken for a measurement server:
//! 1. native: `GET info` is JSON whose `protocols` list holds `"ispeed"`;
//! 2. LibreSpeed: `GET empty.php` is a `200` with an empty (or near empty), non-HTML
//!    body, at the base and then under `backend/` (the usual layout of a LibreSpeed
//!    installation);
//! 3. Cloudflare: `GET __down?bytes=0` is a `200` with an empty body.
//!
//! A transport failure (refused, unreachable) ends detection at once: no other path
//! of the same server would answer either.

use bytes::Bytes;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Url};

use super::{ProtocolKind, join, parse_base_url};
use crate::config::MeasureConfig;
use crate::error::{Error, Result};
use ispeed_spec::measure::Phase;

/// Detection's requests are like pings: their errors are reported as latency's.
const PHASE: Phase = Phase::Latency;

/// Largest `info` answer read; a real one is a few hundred bytes.
const MAX_INFO_BYTES: usize = 64 * 1024;

/// Largest body an `empty.php` may answer with (some installations print a newline).
const MAX_EMPTY_BYTES: usize = 64;

/// The protocol given on the command line or in a request: one, or "find out".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolChoice {
    /// Find out with [`detect`].
    Auto,
    /// This one.
    Fixed(ProtocolKind),
}

impl std::str::FromStr for ProtocolChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(ProtocolChoice::Auto);
        }
        s.parse().map(ProtocolChoice::Fixed).map_err(|_| {
            Error::Config(format!(
                "unknown protocol {s:?}: use ispeed, librespeed, cloudflare or auto"
            ))
        })
    }
}

impl std::fmt::Display for ProtocolChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolChoice::Auto => f.write_str("auto"),
            ProtocolChoice::Fixed(k) => k.fmt(f),
        }
    }
}

/// A server whose protocol has been found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// The protocol it speaks.
    pub kind: ProtocolKind,
    /// The base URL to measure against (for LibreSpeed, possibly the `backend/`
    /// directory under the one given).
    pub base: String,
}

/// Finds out which protocol the server at `base` speaks. Plain HTTP to a server that
/// is not on this machine is refused before any request, as for a measurement.
pub async fn detect(base: &str, config: &MeasureConfig) -> Result<Detected> {
    let root = parse_base_url(base)?;
    crate::http::check_transport_security(&root, config.allow_plain_http)?;
    let client = crate::http::client(config)?;
    let found = |kind, url: &Url| Detected {
        kind,
        base: url.to_string(),
    };

    if let Some(body) = get(&client, &join(&root, "info"), MAX_INFO_BYTES, config).await?
        && speaks_native(&body)
    {
        return Ok(found(ProtocolKind::Ispeed, &root));
    }
    for dir in [root.clone(), join(&root, "backend/")] {
        let url = join(&dir, "empty.php");
        if get(&client, &url, MAX_EMPTY_BYTES, config).await?.is_some() {
            return Ok(found(ProtocolKind::Librespeed, &dir));
        }
    }
    let url = join(&root, "__down?bytes=0");
    if get(&client, &url, 0, config)
        .await?
        .is_some_and(|b| b.is_empty())
    {
        return Ok(found(ProtocolKind::Cloudflare, &root));
    }
    Err(Error::UnknownProtocol {
        url: root.to_string(),
    })
}

/// Whether an `info` answer is the native server's.
pub fn speaks_native(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| {
        v.get("protocols")
            .and_then(|p| p.as_array())
            .is_some_and(|p| p.iter().any(|x| x.as_str() == Some("ispeed")))
    })
}

/// `GET url`: the body of a successful, non-HTML answer of at most `max` bytes;
/// `None` for any other answer; an error only when the server cannot be reached.
async fn get(
    client: &Client,
    url: &Url,
    max: usize,
    config: &MeasureConfig,
) -> Result<Option<Bytes>> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let exchange = async {
        let mut resp = match client.get(url.clone()).send().await {
            Ok(r) => r,
            Err(e) => {
                return match Error::from_http(PHASE, &host, &e) {
                    e @ (Error::ConnectionRefused { .. } | Error::Unreachable { .. }) => Err(e),
                    _ => Ok(None),
                };
            }
        };
        let html = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
        if !resp.status().is_success() || html {
            return Ok(None);
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                // A body cut short is not the answer a measurement server gives.
                Err(_) => return Ok(None),
            }
            if body.len() > max {
                return Ok(None);
            }
        }
        Ok(Some(Bytes::from(body)))
    };
    // A server that does not answer a tiny request in time speaks nothing we know.
    tokio::time::timeout(config.request_timeout, exchange)
        .await
        .unwrap_or(Ok(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse() {
        assert_eq!(
            "auto".parse::<ProtocolChoice>().ok(),
            Some(ProtocolChoice::Auto)
        );
        assert_eq!(
            "LibreSpeed".parse::<ProtocolChoice>().ok(),
            Some(ProtocolChoice::Fixed(ProtocolKind::Librespeed))
        );
        assert!(matches!(
            "ookla".parse::<ProtocolChoice>(),
            Err(Error::Config(m)) if m.contains("auto")
        ));
        assert_eq!(ProtocolChoice::Auto.to_string(), "auto");
    }

    #[test]
    fn only_a_native_info_document_counts() {
        assert!(speaks_native(
            br#"{"name":"x","protocols":["librespeed","ispeed"]}"#
        ));
        assert!(!speaks_native(br#"{"protocols":["librespeed"]}"#));
        assert!(!speaks_native(br#"{"protocols":"ispeed"}"#));
        assert!(!speaks_native(b"<html>ispeed</html>"));
        assert!(!speaks_native(b""));
    }
}
