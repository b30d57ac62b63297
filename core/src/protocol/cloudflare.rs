//! Cloudflare's speed test endpoints, as `speed.cloudflare.com` serves them from the
//! edge nearest the client.
//!
//! - `GET __down?bytes=0`: an empty answer; its round trip is the latency, minus the
//!   edge's own processing time, which it reports as
//!   `Server-Timing: cfRequestDuration;dur=<ms>` (Cloudflare's client subtracts it the
//!   same way, so that a busy edge does not pass for a long path).
//! - `GET __down?bytes=N`: `N` bytes of payload.
//! - `POST __up`: the body is read and discarded; the answer (with its own
//!   `Server-Timing`) comes after the last byte.
//!
//! # Upload accounting
//!
//! `__up` answers only once it has read the whole body and reports no byte counts
//! while reading, so bytes are counted on completion
//! ([`UploadAccounting::OnCompletion`]): each stream sends one body at a time, counts
//! its bytes as the server's TCP acknowledges them and confirms the body when the
//! answer arrives, never bytes still waiting in the send buffer. Body sizes start at
//! 100 kB, as in Cloudflare's own client, and then follow the rate each stream
//! achieves, so each request lasts about a second; they never exceed 25 MB, the
//! largest upload Cloudflare's client sends.

use reqwest::Url;

use super::{PingTiming, ProtocolKind, RequestSizing, ServerProtocol, UploadAccounting, join};

/// The `Server-Timing` metric holding the edge's processing time.
pub const SERVER_TIMING_METRIC: &str = "cfRequestDuration";

/// Largest upload body sent to `__up`.
pub const MAX_UPLOAD_BODY: u64 = 25_000_000;

/// Cloudflare's endpoints under one base URL.
#[derive(Debug, Clone)]
pub struct Cloudflare {
    base: Url,
}

impl Cloudflare {
    /// The endpoints under `base` (`https://speed.cloudflare.com/` in production).
    pub fn new(base: Url) -> Self {
        Self { base }
    }
}

impl ServerProtocol for Cloudflare {
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Cloudflare
    }

    fn ping_url(&self) -> Url {
        join(&self.base, "__down?bytes=0")
    }

    fn download_url(&self, bytes: u64) -> Url {
        join(&self.base, &format!("__down?bytes={bytes}"))
    }

    fn upload_url(&self) -> Url {
        join(&self.base, "__up")
    }

    fn upload_accounting(&self) -> UploadAccounting {
        UploadAccounting::OnCompletion {
            sizing: RequestSizing::up_to(MAX_UPLOAD_BODY),
        }
    }

    fn ping_timing(&self) -> PingTiming {
        PingTiming::MinusServerTiming {
            metric: SERVER_TIMING_METRIC,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_base_url;

    #[test]
    fn routes_resolve_under_the_base() -> crate::Result<()> {
        let p = Cloudflare::new(parse_base_url("https://speed.cloudflare.com")?);
        assert_eq!(
            p.ping_url().as_str(),
            "https://speed.cloudflare.com/__down?bytes=0"
        );
        assert_eq!(
            p.download_url(12_500_000).as_str(),
            "https://speed.cloudflare.com/__down?bytes=12500000"
        );
        assert_eq!(p.upload_url().as_str(), "https://speed.cloudflare.com/__up");
        assert!(matches!(
            p.ping_timing(),
            PingTiming::MinusServerTiming {
                metric: "cfRequestDuration"
            }
        ));
        Ok(())
    }
}
