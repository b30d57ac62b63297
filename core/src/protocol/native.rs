//! The native protocol of `ispeed-server`.
//!
//! - `GET ping`: an empty `200`; its round trip is the latency.
//! - `GET download?bytes=N`: `N` bytes of random payload, never compressed.
//! - `POST upload?report_ms=T`: the server answers at once with `application/x-ndjson`
//!   and, while reading the body, writes one [`UploadReport`] line every `T` ms and a
//!   last one with `done: true` when the body ends. Bytes are counted as the server
//!   reads them, so the client's figure is what crossed the link, never what waits in
//!   its send buffer (the technique of RTR's RMBT, which reports received bytes from
//!   the server during the upload). Without `report_ms` the server answers a single
//!   JSON [`UploadReport`] after the body.

use std::time::Duration;

use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::{ProtocolKind, ServerProtocol, UploadAccounting, join};

/// Default period of upload reports; short against the 250 ms sample interval.
pub const REPORT_INTERVAL: Duration = Duration::from_millis(100);

/// What the server has received of one upload body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadReport {
    /// Body bytes received so far.
    pub bytes: u64,
    /// Server time since it started reading the body, ms.
    pub elapsed_ms: u64,
    /// Whether the body has ended.
    #[serde(default)]
    pub done: bool,
}

/// The native protocol at one base URL.
#[derive(Debug, Clone)]
pub struct Native {
    base: Url,
    report_interval: Duration,
}

impl Native {
    /// Talks to the server at `base` (a directory URL).
    pub fn new(base: Url) -> Self {
        Self {
            base,
            report_interval: REPORT_INTERVAL,
        }
    }
}

impl ServerProtocol for Native {
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Ispeed
    }

    fn ping_url(&self) -> Url {
        join(&self.base, "ping")
    }

    fn download_url(&self, bytes: u64) -> Url {
        join(&self.base, &format!("download?bytes={bytes}"))
    }

    fn upload_url(&self) -> Url {
        join(
            &self.base,
            &format!("upload?report_ms={}", self.report_interval.as_millis()),
        )
    }

    fn upload_accounting(&self) -> UploadAccounting {
        UploadAccounting::StreamedReports {
            interval: self.report_interval,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_base_url;

    #[test]
    fn routes_resolve_under_the_base_path() -> crate::Result<()> {
        let p = Native::new(parse_base_url("http://h:1/speed")?);
        assert_eq!(p.ping_url().as_str(), "http://h:1/speed/ping");
        assert_eq!(
            p.download_url(1000).as_str(),
            "http://h:1/speed/download?bytes=1000"
        );
        assert_eq!(
            p.upload_url().as_str(),
            "http://h:1/speed/upload?report_ms=100"
        );
        Ok(())
    }

    #[test]
    fn reports_parse_with_and_without_done() {
        let r: Result<UploadReport, _> = serde_json::from_str(r#"{"bytes":5,"elapsed_ms":7}"#);
        assert_eq!(
            r.ok(),
            Some(UploadReport {
                bytes: 5,
                elapsed_ms: 7,
                done: false
            })
        );
        assert!(serde_json::from_str::<UploadReport>(r#"{"bytes":-1}"#).is_err());
    }
}
