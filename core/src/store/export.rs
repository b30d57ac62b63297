//! Export of the stored samples: CSV for spreadsheets, JSON lines for programs.
//!
//! CSV has one row per sample with the columns of [`CSV_COLUMNS`] (RFC 4180 quoting,
//! `\n` line ends, empty cell for a missing value, times in RFC 3339 UTC, rates in
//! Mbit/s = 10^6 bit/s). JSON lines has one `ispeed.result/1` document per line,
//! exactly as stored and sent to the collector. Both are ordered by start time.

use std::io::Write;
use std::path::Path;

use chrono::SecondsFormat;
use uuid::Uuid;

use super::Store;
use crate::error::{Error, Result};
use crate::result::MeasurementResult;

/// Output format of [`Store::export`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ExportFormat {
    /// Comma-separated values with a header row: see [`CSV_COLUMNS`].
    Csv,
    /// One JSON result document per line.
    JsonLines,
}

/// The CSV columns, in order, each with what it holds. This list is the
/// documentation of the format; the header row is its first elements.
pub const CSV_COLUMNS: &[(&str, &str)] = &[
    ("id", "uuid of the sample (the result document's id)"),
    ("started_at", "start of the measurement, RFC 3339 UTC"),
    ("finished_at", "end of the measurement, RFC 3339 UTC"),
    (
        "transport",
        "cellular, wifi, ethernet, loopback or unknown, at the start",
    ),
    (
        "technology",
        "radio technology when cellular: 2g, 3g, 4g, 5g-nsa, 5g-sa, unknown",
    ),
    ("operator", "operator name as the network reports it"),
    ("mcc_mnc", "mobile country and network code"),
    ("server_url", "base URL of the measurement server"),
    ("protocol", "ispeed, librespeed or cloudflare"),
    ("latency_ms", "median idle round trip, ms"),
    ("latency_min_ms", "smallest idle round trip, ms"),
    (
        "jitter_ms",
        "mean absolute difference of consecutive round trips, ms",
    ),
    ("download_mbps", "download goodput, Mbit/s"),
    ("download_bytes", "payload bytes downloaded, ramp included"),
    (
        "download_loaded_latency_ms",
        "median round trip during the download, ms",
    ),
    ("upload_mbps", "upload goodput, Mbit/s"),
    ("upload_bytes", "payload bytes uploaded, ramp included"),
    (
        "upload_loaded_latency_ms",
        "median round trip during the upload, ms",
    ),
    ("lat", "latitude, coarsened, when the user allowed location"),
    ("lon", "longitude, coarsened"),
    ("valid", "true when the sample counts in statistics"),
    ("invalid_reason", "why it does not count"),
    ("device_platform", "android, ios, linux, ..."),
    ("app_version", "version of the app that measured"),
];

/// One CSV cell: quoted when it holds a comma, quote or line break (RFC 4180).
fn cell(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The cells of `r` in the order of [`CSV_COLUMNS`].
fn csv_row(r: &MeasurementResult) -> Vec<String> {
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let technology = serde_json::to_value(r.network.technology)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    vec![
        r.id.to_string(),
        time(r.started_at),
        time(r.finished_at),
        r.network.transport.as_str().to_owned(),
        technology,
        r.network.operator.clone().unwrap_or_default(),
        r.network.mcc_mnc.clone().unwrap_or_default(),
        r.server.url.clone(),
        r.server.protocol.as_str().to_owned(),
        num(r.latency.as_ref().map(|l| l.median_ms)),
        num(r.latency.as_ref().map(|l| l.min_ms)),
        num(r.latency.as_ref().map(|l| l.jitter_ms)),
        num(r.download.as_ref().map(|d| d.mbps)),
        r.download
            .as_ref()
            .map(|d| d.bytes.to_string())
            .unwrap_or_default(),
        num(r.download.as_ref().and_then(|d| d.loaded_latency_ms)),
        num(r.upload.as_ref().map(|u| u.mbps)),
        r.upload
            .as_ref()
            .map(|u| u.bytes.to_string())
            .unwrap_or_default(),
        num(r.upload.as_ref().and_then(|u| u.loaded_latency_ms)),
        num(r.location.map(|l| l.lat)),
        num(r.location.map(|l| l.lon)),
        r.valid.to_string(),
        r.invalid_reason.clone().unwrap_or_default(),
        r.device.platform.clone(),
        r.device.app_version.clone(),
    ]
}

fn write_line(out: &mut dyn Write, cells: impl Iterator<Item = String>) -> std::io::Result<()> {
    let line: Vec<String> = cells.map(|c| cell(&c)).collect();
    writeln!(out, "{}", line.join(","))
}

impl Store {
    /// Writes every sample to `out` in `format`, oldest first; returns the number of
    /// samples written (the CSV header is not counted).
    pub fn export(&self, format: ExportFormat, out: &mut dyn Write) -> Result<usize> {
        let io = |e: std::io::Error| Error::Storage {
            path: self.path.clone(),
            detail: format!("writing the export failed: {e}"),
        };
        let docs: Vec<(String, String)> = self.read(|c| {
            let mut stmt = c.prepare("SELECT id, document FROM samples ORDER BY started_at, id")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })?;
        if format == ExportFormat::Csv {
            write_line(out, CSV_COLUMNS.iter().map(|(name, _)| (*name).to_owned())).map_err(io)?;
        }
        for (id, doc) in &docs {
            let id = Uuid::parse_str(id).unwrap_or_default();
            // Parse even for JSON lines: a damaged document is reported, not exported.
            let result = self.parse_document(id, doc)?;
            match format {
                ExportFormat::Csv => write_line(out, csv_row(&result).into_iter()).map_err(io)?,
                ExportFormat::JsonLines => {
                    let line = serde_json::to_string(&result).map_err(|e| Error::Storage {
                        path: self.path.clone(),
                        detail: format!("cannot encode sample {id}: {e}"),
                    })?;
                    writeln!(out, "{line}").map_err(io)?;
                }
            }
        }
        out.flush().map_err(io)?;
        Ok(docs.len())
    }

    /// Exports to the file `path`, replacing it only once the export is complete: a
    /// failure leaves any previous file as it was.
    pub fn export_to_file(&self, format: ExportFormat, path: &Path) -> Result<usize> {
        let io = |e: std::io::Error| Error::Storage {
            path: path.to_path_buf(),
            detail: e.to_string(),
        };
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".partial");
        let tmp = path.with_file_name(tmp_name);
        let written = (|| {
            let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
            let n = self.export(format, &mut file)?;
            file.into_inner()
                .map_err(|e| io(e.into_error()))?
                .sync_all()
                .map_err(io)?;
            std::fs::rename(&tmp, path).map_err(io)?;
            Ok(n)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Transport;
    use crate::store::testing::{TempDir, result};

    #[test]
    fn csv_has_the_documented_header_and_one_row_per_sample() -> Result<()> {
        let dir = TempDir::new("export-csv");
        let store = Store::open(dir.file("x.db"))?;
        let a = result(
            "2026-03-01T08:00:00Z",
            Transport::Cellular,
            40.5,
            12.25,
            35.0,
        );
        let mut b = result("2026-03-01T09:00:00Z", Transport::Wifi, 100.0, 20.0, 9.0);
        b.valid = false;
        b.invalid_reason = Some("Wi-Fi is on, \"really\"".to_owned());
        store.save_result(&b)?;
        store.save_result(&a)?;
        let mut out = Vec::new();
        assert_eq!(store.export(ExportFormat::Csv, &mut out)?, 2);
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let header: Vec<&str> = lines[0].split(',').collect();
        assert_eq!(header, CSV_COLUMNS.iter().map(|c| c.0).collect::<Vec<_>>());
        let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
        let first: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(first.len(), header.len());
        assert_eq!(first[col("id")], a.id.to_string());
        assert_eq!(first[col("started_at")], "2026-03-01T08:00:00.000Z");
        assert_eq!(first[col("transport")], "cellular");
        assert_eq!(first[col("download_mbps")], "40.5");
        assert_eq!(first[col("upload_mbps")], "12.25");
        assert_eq!(first[col("latency_ms")], "35");
        assert_eq!(first[col("valid")], "true");
        assert_eq!(first[col("lat")], "");
        // The quote and comma in the reason are escaped, keeping the row one record.
        assert!(
            lines[2].contains(",false,\"Wi-Fi is on, \"\"really\"\"\","),
            "{}",
            lines[2]
        );
        Ok(())
    }

    #[test]
    fn json_lines_are_the_stored_documents() -> Result<()> {
        let dir = TempDir::new("export-jsonl");
        let store = Store::open(dir.file("x.db"))?;
        let a = result(
            "2026-03-01T08:00:00Z",
            Transport::Cellular,
            40.0,
            12.0,
            35.0,
        );
        let b = result(
            "2026-03-02T08:00:00Z",
            Transport::Cellular,
            41.0,
            13.0,
            36.0,
        );
        store.save_result(&a)?;
        store.save_result(&b)?;
        let out = dir.file("out.jsonl");
        assert_eq!(store.export_to_file(ExportFormat::JsonLines, &out)?, 2);
        let text = std::fs::read_to_string(&out).expect("read export");
        let docs: Vec<MeasurementResult> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is a document"))
            .collect();
        assert_eq!(docs, vec![a, b]);
        assert!(!dir.file("out.jsonl.partial").exists());
        Ok(())
    }

    #[test]
    fn an_empty_store_exports_a_header_only() -> Result<()> {
        let dir = TempDir::new("export-empty");
        let store = Store::open(dir.file("x.db"))?;
        let mut out = Vec::new();
        assert_eq!(store.export(ExportFormat::Csv, &mut out)?, 0);
        assert_eq!(String::from_utf8(out).expect("utf-8").lines().count(), 1);
        Ok(())
    }
}
