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

/// A report line longer than this is not a report (a real one is about 50 bytes).
pub const MAX_REPORT_LINE: usize = 1024;

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

/// Reads the report lines a server streams back during one upload body.
///
/// The answer arrives in chunks that split lines anywhere; [`ReportReader::feed`]
/// keeps the unfinished line between calls. Every report is checked against what the
/// server can honestly claim: never more than the body's length, never fewer bytes
/// than an earlier report (a counter of received bytes cannot go back, and counting
/// a report that does would count bytes twice or not at all).
#[derive(Debug, Clone)]
pub struct ReportReader {
    body_len: u64,
    line: Vec<u8>,
    last: u64,
    done: bool,
}

impl ReportReader {
    /// A reader for the reports about a body of `body_len` bytes.
    pub fn new(body_len: u64) -> Self {
        Self {
            body_len,
            line: Vec::new(),
            last: 0,
            done: false,
        }
    }

    /// Whether a report has said the body ended.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Reads the next chunk of the answer, handing each complete report to
    /// `on_report`. Bytes after the report that says `done` are ignored. The error
    /// says what was wrong with the answer, for an [`crate::Error::Protocol`].
    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut on_report: impl FnMut(UploadReport),
    ) -> Result<(), String> {
        for &b in chunk {
            if self.done {
                break;
            }
            if b != b'\n' {
                if self.line.len() >= MAX_REPORT_LINE {
                    return Err("upload report line too long".to_owned());
                }
                self.line.push(b);
                continue;
            }
            let report: UploadReport = serde_json::from_slice(&self.line)
                .map_err(|e| format!("bad upload report: {e}"))?;
            self.line.clear();
            if report.bytes > self.body_len {
                return Err(format!(
                    "server reports {} bytes of a {}-byte body",
                    report.bytes, self.body_len
                ));
            }
            if report.bytes < self.last {
                return Err(format!(
                    "server reports {} bytes after reporting {}",
                    report.bytes, self.last
                ));
            }
            self.last = report.bytes;
            self.done = report.done;
            on_report(report);
        }
        Ok(())
    }
}

/// The native protocol at one base URL.
#[derive(Debug, Clone)]
pub struct Native {
    base: Url,
    report_interval: Duration,
    result: Option<uuid::Uuid>,
}

impl Native {
    /// Talks to the server at `base` (a directory URL).
    pub fn new(base: Url) -> Self {
        Self {
            base,
            report_interval: REPORT_INTERVAL,
            result: None,
        }
    }

    /// The same protocol naming result `id` on every request (receipts).
    pub fn with_result(mut self, id: uuid::Uuid) -> Self {
        self.result = Some(id);
        self
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

    fn result_id(&self) -> Option<uuid::Uuid> {
        self.result
    }

    fn info_url(&self) -> Option<Url> {
        Some(join(&self.base, "info"))
    }

    fn receipt_url(&self) -> Option<Url> {
        let route = ispeed_spec::attestation::RECEIPT_ROUTE;
        Some(join(&self.base, ispeed_spec::routes::relative(route)))
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

    /// Feeds `answer` in chunks of `split` bytes; the reports read, or the error.
    fn read(answer: &[u8], body_len: u64, split: usize) -> Result<Vec<UploadReport>, String> {
        let mut reader = ReportReader::new(body_len);
        let mut got = Vec::new();
        for chunk in answer.chunks(split.max(1)) {
            reader.feed(chunk, |r| got.push(r))?;
        }
        Ok(got)
    }

    #[test]
    fn reports_split_anywhere_read_the_same() {
        let answer = b"{\"bytes\":0,\"elapsed_ms\":0}\n{\"bytes\":700,\"elapsed_ms\":100}\n\
{\"bytes\":1000,\"elapsed_ms\":150,\"done\":true}\nignored after done";
        let whole = read(answer, 1000, answer.len());
        for split in 1..answer.len() {
            assert_eq!(read(answer, 1000, split), whole, "split {split}");
        }
        let bytes: Vec<u64> = whole.unwrap_or_default().iter().map(|r| r.bytes).collect();
        assert_eq!(bytes, [0, 700, 1000]);
    }

    #[test]
    fn dishonest_or_malformed_reports_are_errors() {
        let err = |answer: &[u8]| read(answer, 1000, 7).err().unwrap_or_default();
        assert!(err(b"{\"bytes\":1001,\"elapsed_ms\":1}\n").contains("1000-byte body"));
        assert!(
            err(b"{\"bytes\":500,\"elapsed_ms\":1}\n{\"bytes\":400,\"elapsed_ms\":2}\n")
                .contains("after reporting 500")
        );
        assert!(err(b"<html>portal</html>\n").contains("bad upload report"));
        assert!(err(&[b'x'; MAX_REPORT_LINE + 1]).contains("too long"));
        // A line of exactly the limit is still a report.
        let report = b"{\"bytes\":1,\"elapsed_ms\":1}";
        let mut long = vec![b' '; MAX_REPORT_LINE - report.len()];
        long.extend_from_slice(report);
        long.push(b'\n');
        assert_eq!(read(&long, 1000, 100).map(|r| r.len()), Ok(1));
    }
}
