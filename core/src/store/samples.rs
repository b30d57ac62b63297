//! Writing samples and failed attempts; the queries behind history, statistics and
//! the upload queue.
//!
//! A sample is written in one transaction: the full result document (what export and
//! upload send) and the columns the queries read. Calendar questions ("which day in
//! Hanoi?") are answered in Rust on rows selected by a UTC range, because SQLite
//! knows no time zones; a phone keeps a few samples a day, so this stays small.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Store;
use crate::error::{Error, Result};
use crate::measure::stats::median;
use crate::network::Transport;
use crate::result::MeasurementResult;

/// One stored sample, as history lists it (the full document is [`Store::result`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRow {
    /// Id of the result document.
    pub id: Uuid,
    /// When the measurement started.
    pub started_at: DateTime<Utc>,
    /// Transport at the start.
    pub transport: Transport,
    /// Server measured against.
    pub server_url: String,
    /// Protocol spoken.
    pub protocol: String,
    /// Download goodput, Mbit/s.
    pub download_mbps: Option<f64>,
    /// Upload goodput, Mbit/s.
    pub upload_mbps: Option<f64>,
    /// Median idle round trip, ms.
    pub latency_ms: Option<f64>,
    /// Whether it counts in statistics.
    pub valid: bool,
    /// Why not, when it does not.
    pub invalid_reason: Option<String>,
    /// When the collector confirmed it; `None` while pending.
    pub uploaded_at: Option<DateTime<Utc>>,
}

/// A measurement that did not finish, kept so the user sees it in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedAttempt {
    /// When it failed.
    pub at: DateTime<Utc>,
    /// Server it was measuring against.
    pub server_url: String,
    /// Transport at the time.
    pub transport: Transport,
    /// [`Error::code`] of the failure.
    pub code: String,
    /// The error's message, in English.
    pub message: String,
}

impl FailedAttempt {
    /// The record of `error` raised while measuring against `server_url`.
    pub fn new(at: DateTime<Utc>, server_url: &str, transport: Transport, error: &Error) -> Self {
        Self {
            at,
            server_url: server_url.to_owned(),
            transport,
            code: error.code().to_owned(),
            message: error.to_string(),
        }
    }
}

/// Statistics of one calendar day in a given time zone. Invalid samples are counted
/// in `samples` but never in `valid` or the medians.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DaySummary {
    /// The local date.
    pub date: NaiveDate,
    /// Samples stored that day, valid or not.
    pub samples: u32,
    /// Valid samples.
    pub valid: u32,
    /// Failed attempts that day.
    pub failures: u32,
    /// Median download of the valid samples, Mbit/s.
    pub download_mbps: Option<f64>,
    /// Median upload of the valid samples, Mbit/s.
    pub upload_mbps: Option<f64>,
    /// Median latency of the valid samples, ms.
    pub latency_ms: Option<f64>,
}

/// Statistics of the valid samples over one transport.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransportSummary {
    /// The transport.
    pub transport: Transport,
    /// Valid samples over it.
    pub valid: u32,
    /// Median download, Mbit/s.
    pub download_mbps: Option<f64>,
    /// Median upload, Mbit/s.
    pub upload_mbps: Option<f64>,
    /// Median latency, ms.
    pub latency_ms: Option<f64>,
}

/// Columns of [`SampleRow`], in the order [`sample_row`] reads them.
const ROW_COLUMNS: &str = "id, started_at, transport, server_url, protocol, download_mbps, \
     upload_mbps, latency_ms, valid, invalid_reason, uploaded_at";

/// What the schedulers read: every attempt since a moment.
impl Store {
    /// Every sample and failed attempt started at or after `since`, oldest first, as
    /// the schedulers see them (the data a run cost is read from its document).
    pub fn past_runs(&self, since: DateTime<Utc>) -> Result<Vec<crate::schedule::PastRun>> {
        use crate::schedule::PastRun;
        let mut runs: Vec<PastRun> = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT started_at, valid, transport, \
                 COALESCE(json_extract(document, '$.download.bytes'), 0) \
                 + COALESCE(json_extract(document, '$.upload.bytes'), 0) \
                 FROM samples WHERE started_at >= ?1",
            )?;
            stmt.query_map([millis(since)], |row| {
                Ok(PastRun {
                    at: from_millis(row.get(0)?)?,
                    valid: row.get(1)?,
                    transport: transport_at(row, 2)?,
                    bytes: row.get::<_, i64>(3)?.max(0) as u64,
                    failed: false,
                })
            })?
            .collect()
        })?;
        let failures = self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT at, transport FROM failures WHERE at >= ?1")?;
            stmt.query_map([millis(since)], |row| {
                Ok(PastRun {
                    at: from_millis(row.get(0)?)?,
                    valid: false,
                    transport: transport_at(row, 1)?,
                    bytes: 0,
                    failed: true,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        runs.extend(failures);
        runs.sort_by_key(|r| r.at);
        Ok(runs)
    }
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_millis(ms: i64) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or(rusqlite::Error::IntegralValueOutOfRange(0, ms))
}

/// A text column holding a uuid.
fn uuid_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Uuid> {
    let text: String = row.get(idx)?;
    Uuid::parse_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e.into())
    })
}

/// A text column holding a transport name; names this build does not know (written
/// by a newer app) read as `Unknown` rather than failing the whole history.
fn transport_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Transport> {
    let text: String = row.get(idx)?;
    Ok(serde_json::from_value(serde_json::Value::String(text)).unwrap_or_default())
}

fn sample_row(row: &Row<'_>) -> rusqlite::Result<SampleRow> {
    Ok(SampleRow {
        id: uuid_at(row, 0)?,
        started_at: from_millis(row.get(1)?)?,
        transport: transport_at(row, 2)?,
        server_url: row.get(3)?,
        protocol: row.get(4)?,
        download_mbps: row.get(5)?,
        upload_mbps: row.get(6)?,
        latency_ms: row.get(7)?,
        valid: row.get(8)?,
        invalid_reason: row.get(9)?,
        uploaded_at: row
            .get::<_, Option<i64>>(10)?
            .map(from_millis)
            .transpose()?,
    })
}

fn failure_row(row: &Row<'_>) -> rusqlite::Result<FailedAttempt> {
    Ok(FailedAttempt {
        at: from_millis(row.get(0)?)?,
        server_url: row.get(1)?,
        transport: transport_at(row, 2)?,
        code: row.get(3)?,
        message: row.get(4)?,
    })
}

impl Store {
    /// Stores a finished measurement: document and query columns in one transaction.
    /// Returns `false` when a sample with this id was already stored (nothing changes).
    pub fn save_result(&self, result: &MeasurementResult) -> Result<bool> {
        let document = serde_json::to_string(result).map_err(|e| Error::Storage {
            path: self.path.clone(),
            detail: format!("cannot encode the result document: {e}"),
        })?;
        let inserted = self.write(|tx| {
            tx.execute(
                "INSERT INTO samples (id, started_at, finished_at, transport, server_url, protocol, \
                 download_mbps, upload_mbps, latency_ms, valid, invalid_reason, document) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
                 ON CONFLICT (id) DO NOTHING",
                params![
                    result.id.to_string(),
                    millis(result.started_at),
                    millis(result.finished_at),
                    result.network.transport.as_str(),
                    result.server.url,
                    result.server.protocol.as_str(),
                    result.download.as_ref().map(|d| d.mbps),
                    result.upload.as_ref().map(|u| u.mbps),
                    result.latency.as_ref().map(|l| l.median_ms),
                    result.valid,
                    result.invalid_reason,
                    document,
                ],
            )
        })?;
        Ok(inserted == 1)
    }

    /// Records a measurement that failed.
    pub fn save_failure(&self, failure: &FailedAttempt) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO failures (at, server_url, transport, code, message) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    millis(failure.at),
                    failure.server_url,
                    failure.transport.as_str(),
                    failure.code,
                    failure.message,
                ],
            )
        })?;
        Ok(())
    }

    /// The full result document of sample `id`.
    pub fn result(&self, id: Uuid) -> Result<Option<MeasurementResult>> {
        let doc: Option<String> = self.read(|c| {
            c.query_row(
                "SELECT document FROM samples WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()
        })?;
        doc.map(|d| self.parse_document(id, &d)).transpose()
    }

    /// Decodes a stored document; a document that no longer parses is damage.
    pub(crate) fn parse_document(&self, id: Uuid, doc: &str) -> Result<MeasurementResult> {
        serde_json::from_str(doc).map_err(|e| Error::CorruptDatabase {
            path: self.path.clone(),
            detail: format!("the document of sample {id} does not parse: {e}"),
        })
    }

    /// The `limit` most recent samples, newest first.
    pub fn recent(&self, limit: u32) -> Result<Vec<SampleRow>> {
        self.read(|c| {
            let sql =
                format!("SELECT {ROW_COLUMNS} FROM samples ORDER BY started_at DESC LIMIT ?1");
            let mut stmt = c.prepare_cached(&sql)?;
            stmt.query_map([limit], sample_row)?.collect()
        })
    }

    /// Samples started in `[from, to)`, oldest first.
    pub fn samples_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<SampleRow>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {ROW_COLUMNS} FROM samples WHERE started_at >= ?1 AND started_at < ?2 \
                 ORDER BY started_at, id"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            stmt.query_map([millis(from), millis(to)], sample_row)?
                .collect()
        })
    }

    /// Failed attempts in `[from, to)`, oldest first.
    pub fn failures_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FailedAttempt>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT at, server_url, transport, code, message FROM failures \
                 WHERE at >= ?1 AND at < ?2 ORDER BY at, id",
            )?;
            stmt.query_map([millis(from), millis(to)], failure_row)?
                .collect()
        })
    }

    /// Number of samples stored.
    pub fn count(&self) -> Result<u64> {
        self.read(|c| c.query_row("SELECT count(*) FROM samples", [], |r| r.get(0)))
    }

    /// One summary per local day of `tz` that has samples or failures in `[from, to)`,
    /// oldest first. Days are cut in `tz`, so a sample at 23:30 UTC counts on the next
    /// day in Hanoi; daylight-saving days of 23 or 25 hours are handled by chrono.
    pub fn daily_summaries<Tz: TimeZone>(
        &self,
        tz: &Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DaySummary>> {
        let samples = self.samples_between(from, to)?;
        let failures = self.failures_between(from, to)?;
        Ok(summarise_days(tz, &samples, &failures))
    }

    /// Statistics of the valid samples in `[from, to)` per transport.
    pub fn transport_summaries(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<TransportSummary>> {
        Ok(summarise_transports(&self.samples_between(from, to)?))
    }

    /// Ids of the samples the collector has not confirmed, oldest first.
    pub fn pending_ids(&self) -> Result<Vec<Uuid>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id FROM samples WHERE uploaded_at IS NULL ORDER BY started_at, id",
            )?;
            stmt.query_map([], |r| uuid_at(r, 0))?.collect()
        })
    }

    /// Marks sample `id` as confirmed by the collector at `at`.
    pub fn mark_uploaded(&self, id: Uuid, at: DateTime<Utc>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE samples SET uploaded_at = ?2, upload_attempts = upload_attempts + 1, \
                 last_upload_error = NULL WHERE id = ?1",
                params![id.to_string(), millis(at)],
            )
        })?;
        Ok(())
    }

    /// Marks sample `id` as delivered at `at` but judged by the collector, keeping
    /// `note` (its reason) with the sample: it is not sent again.
    pub fn mark_judged(&self, id: Uuid, at: DateTime<Utc>, note: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE samples SET uploaded_at = ?2, upload_attempts = upload_attempts + 1, \
                 last_upload_error = ?3 WHERE id = ?1",
                params![id.to_string(), millis(at), note],
            )
        })?;
        Ok(())
    }

    /// What the collector said of sample `id` beyond confirming it (a rejection's
    /// reason), or the last upload failure while it is pending.
    pub fn collector_note(&self, id: Uuid) -> Result<Option<String>> {
        self.read(|c| {
            c.query_row(
                "SELECT last_upload_error FROM samples WHERE id = ?1",
                [id.to_string()],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
        })
    }

    /// Notes a failed upload of sample `id`; it stays pending.
    pub fn note_upload_failure(&self, id: Uuid, detail: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE samples SET upload_attempts = upload_attempts + 1, last_upload_error = ?2 \
                 WHERE id = ?1",
                params![id.to_string(), detail],
            )
        })?;
        Ok(())
    }
}

/// Medians of the download, upload and latency of `rows`.
fn medians(rows: &[&SampleRow]) -> (Option<f64>, Option<f64>, Option<f64>) {
    let of = |f: fn(&SampleRow) -> Option<f64>| {
        let values: Vec<f64> = rows.iter().filter_map(|r| f(r)).collect();
        median(&values)
    };
    (
        of(|r| r.download_mbps),
        of(|r| r.upload_mbps),
        of(|r| r.latency_ms),
    )
}

/// Groups samples and failures by local date in `tz`.
pub fn summarise_days<Tz: TimeZone>(
    tz: &Tz,
    samples: &[SampleRow],
    failures: &[FailedAttempt],
) -> Vec<DaySummary> {
    let day = |t: DateTime<Utc>| t.with_timezone(tz).date_naive();
    let mut by_day: BTreeMap<NaiveDate, (Vec<&SampleRow>, u32)> = BTreeMap::new();
    for s in samples {
        by_day.entry(day(s.started_at)).or_default().0.push(s);
    }
    for f in failures {
        by_day.entry(day(f.at)).or_default().1 += 1;
    }
    by_day
        .into_iter()
        .map(|(date, (rows, failures))| {
            let valid: Vec<&SampleRow> = rows.iter().copied().filter(|r| r.valid).collect();
            let (download_mbps, upload_mbps, latency_ms) = medians(&valid);
            DaySummary {
                date,
                samples: rows.len() as u32,
                valid: valid.len() as u32,
                failures,
                download_mbps,
                upload_mbps,
                latency_ms,
            }
        })
        .collect()
}

/// Groups the valid samples by transport (in the order of [`Transport`]'s names).
pub fn summarise_transports(samples: &[SampleRow]) -> Vec<TransportSummary> {
    let mut by: BTreeMap<&'static str, (Transport, Vec<&SampleRow>)> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.valid) {
        by.entry(s.transport.as_str())
            .or_insert_with(|| (s.transport, Vec::new()))
            .1
            .push(s);
    }
    by.into_values()
        .map(|(transport, rows)| {
            let (download_mbps, upload_mbps, latency_ms) = medians(&rows);
            TransportSummary {
                transport,
                valid: rows.len() as u32,
                download_mbps,
                upload_mbps,
                latency_ms,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::store::testing::{TempDir, at, result};

    fn open(dir: &TempDir) -> Store {
        Store::open(dir.file("samples.db")).expect("open store")
    }

    #[test]
    fn past_runs_list_samples_and_failures_with_their_cost() -> Result<()> {
        let dir = TempDir::new("samples-past-runs");
        let store = open(&dir);
        let old = result(
            "2026-11-20T08:00:00Z",
            Transport::Cellular,
            40.0,
            15.0,
            40.0,
        );
        let mut wifi = result("2026-11-24T09:00:00Z", Transport::Wifi, 80.0, 20.0, 20.0);
        wifi.valid = false;
        let cell = result(
            "2026-11-24T10:00:00Z",
            Transport::Cellular,
            40.0,
            15.0,
            40.0,
        );
        for r in [&old, &wifi, &cell] {
            store.save_result(r)?;
        }
        let refused = Error::ConnectionRefused {
            host: "h".to_owned(),
        };
        store.save_failure(&FailedAttempt::new(
            at("2026-11-24T09:30:00Z"),
            "http://h",
            Transport::Cellular,
            &refused,
        ))?;
        let runs = store.past_runs(at("2026-11-24T00:00:00Z"))?;
        let summary: Vec<_> = runs
            .iter()
            .map(|r| (r.at, r.transport, r.valid, r.failed))
            .collect();
        assert_eq!(
            summary,
            [
                (wifi.started_at, Transport::Wifi, false, false),
                (at("2026-11-24T09:30:00Z"), Transport::Cellular, false, true),
                (cell.started_at, Transport::Cellular, true, false),
            ]
        );
        let cost = |r: &MeasurementResult| {
            r.download.as_ref().map_or(0, |d| d.bytes) + r.upload.as_ref().map_or(0, |u| u.bytes)
        };
        assert!(cost(&cell) > 0);
        assert_eq!(runs[2].bytes, cost(&cell));
        assert_eq!(runs[1].bytes, 0);
        Ok(())
    }

    #[test]
    fn a_result_is_stored_whole_and_only_once() -> Result<()> {
        let dir = TempDir::new("samples-once");
        let store = open(&dir);
        let r = result(
            "2026-03-01T08:00:00Z",
            Transport::Cellular,
            40.0,
            12.0,
            35.0,
        );
        assert!(store.save_result(&r)?);
        assert!(!store.save_result(&r)?, "same id twice is a no-op");
        assert_eq!(store.count()?, 1);
        assert_eq!(store.result(r.id)?.as_ref(), Some(&r));
        let rows = store.recent(10)?;
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.id, r.id);
        assert_eq!(row.started_at, r.started_at);
        assert_eq!(row.transport, Transport::Cellular);
        assert_eq!(row.protocol, "ispeed");
        assert_eq!(row.download_mbps, Some(40.0));
        assert_eq!(row.upload_mbps, Some(12.0));
        assert_eq!(row.latency_ms, Some(35.0));
        assert!(row.valid && row.uploaded_at.is_none());
        Ok(())
    }

    #[test]
    fn recent_is_newest_first_and_limited() -> Result<()> {
        let dir = TempDir::new("samples-recent");
        let store = open(&dir);
        let times = [
            "2026-03-01T08:00:00Z",
            "2026-03-03T08:00:00Z",
            "2026-03-02T08:00:00Z",
        ];
        for t in times {
            store.save_result(&result(t, Transport::Cellular, 10.0, 5.0, 40.0))?;
        }
        let rows = store.recent(2)?;
        let got: Vec<_> = rows.iter().map(|r| r.started_at).collect();
        assert_eq!(got, vec![at(times[1]), at(times[2])]);
        Ok(())
    }

    #[test]
    fn failures_are_recorded_with_their_code() -> Result<()> {
        let dir = TempDir::new("samples-fail");
        let store = open(&dir);
        let err = Error::ConnectionRefused {
            host: "127.0.0.1:9".to_owned(),
        };
        let f = FailedAttempt::new(
            at("2026-03-01T08:00:00Z"),
            "http://127.0.0.1:9",
            Transport::Cellular,
            &err,
        );
        store.save_failure(&f)?;
        let got = store.failures_between(at("2026-03-01T00:00:00Z"), at("2026-03-02T00:00:00Z"))?;
        assert_eq!(got, vec![f]);
        assert_eq!(got[0].code, "connection_refused");
        Ok(())
    }

    #[test]
    fn days_are_cut_in_the_given_zone_and_invalid_samples_do_not_count() -> Result<()> {
        let dir = TempDir::new("samples-days");
        let store = open(&dir);
        // Hanoi is UTC+7 all year.
        let hanoi = chrono_tz::Asia::Ho_Chi_Minh;
        // 2026-03-01 16:59 UTC is 23:59 on the 1st in Hanoi; 17:00 UTC is the 2nd.
        store.save_result(&result(
            "2026-03-01T01:00:00Z",
            Transport::Cellular,
            10.0,
            2.0,
            50.0,
        ))?;
        store.save_result(&result(
            "2026-03-01T16:59:00Z",
            Transport::Cellular,
            30.0,
            6.0,
            30.0,
        ))?;
        store.save_result(&result(
            "2026-03-01T17:00:00Z",
            Transport::Cellular,
            20.0,
            4.0,
            40.0,
        ))?;
        let mut invalid = result("2026-03-01T18:00:00Z", Transport::Wifi, 500.0, 100.0, 5.0);
        invalid.valid = false;
        invalid.invalid_reason = Some("Wi-Fi came up".to_owned());
        store.save_result(&invalid)?;
        let err = Error::Cancelled;
        store.save_failure(&FailedAttempt::new(
            at("2026-03-01T20:00:00Z"),
            "http://x",
            Transport::Cellular,
            &err,
        ))?;
        let days = store.daily_summaries(
            &hanoi,
            at("2026-02-28T00:00:00Z"),
            at("2026-03-03T00:00:00Z"),
        )?;
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date literal");
        assert_eq!(
            days,
            vec![
                DaySummary {
                    date: d("2026-03-01"),
                    samples: 2,
                    valid: 2,
                    failures: 0,
                    download_mbps: Some(20.0),
                    upload_mbps: Some(4.0),
                    latency_ms: Some(40.0),
                },
                DaySummary {
                    date: d("2026-03-02"),
                    samples: 2,
                    valid: 1,
                    failures: 1,
                    download_mbps: Some(20.0),
                    upload_mbps: Some(4.0),
                    latency_ms: Some(40.0),
                },
            ]
        );
        // The same samples in UTC fall on one day.
        let utc =
            store.daily_summaries(&Utc, at("2026-02-28T00:00:00Z"), at("2026-03-03T00:00:00Z"))?;
        assert_eq!(utc.len(), 1);
        assert_eq!((utc[0].samples, utc[0].valid, utc[0].failures), (4, 3, 1));
        assert_eq!(utc[0].download_mbps, Some(20.0));
        Ok(())
    }

    #[test]
    fn a_daylight_saving_day_is_one_day() -> Result<()> {
        let dir = TempDir::new("samples-dst");
        let store = open(&dir);
        // Paris leaves summer time on 2026-10-25: that day has 25 hours, 22:00 UTC
        // on the 24th to 23:00 UTC on the 25th.
        let paris = chrono_tz::Europe::Paris;
        // 00:30 and 23:30 local on the 25th are both that day; 00:30 on the 26th is not.
        let times = [
            "2026-10-24T22:30:00Z",
            "2026-10-25T12:00:00Z",
            "2026-10-25T22:30:00Z",
            "2026-10-25T23:30:00Z",
        ];
        for t in times {
            store.save_result(&result(t, Transport::Cellular, 10.0, 1.0, 20.0))?;
        }
        let start = at("2026-10-24T00:00:00Z");
        let days = store.daily_summaries(&paris, start, start + Duration::days(3))?;
        let counts: Vec<_> = days
            .iter()
            .map(|d| (d.date.to_string(), d.samples))
            .collect();
        assert_eq!(
            counts,
            vec![("2026-10-25".to_owned(), 3), ("2026-10-26".to_owned(), 1)]
        );
        Ok(())
    }

    #[test]
    fn transports_are_split_and_invalid_samples_left_out() -> Result<()> {
        let dir = TempDir::new("samples-transport");
        let store = open(&dir);
        store.save_result(&result(
            "2026-03-01T08:00:00Z",
            Transport::Cellular,
            10.0,
            2.0,
            50.0,
        ))?;
        store.save_result(&result(
            "2026-03-01T09:00:00Z",
            Transport::Cellular,
            30.0,
            4.0,
            30.0,
        ))?;
        store.save_result(&result(
            "2026-03-01T10:00:00Z",
            Transport::Wifi,
            200.0,
            50.0,
            8.0,
        ))?;
        let mut invalid = result(
            "2026-03-01T11:00:00Z",
            Transport::Cellular,
            900.0,
            900.0,
            1.0,
        );
        invalid.valid = false;
        store.save_result(&invalid)?;
        let split =
            store.transport_summaries(at("2026-03-01T00:00:00Z"), at("2026-03-02T00:00:00Z"))?;
        assert_eq!(
            split,
            vec![
                TransportSummary {
                    transport: Transport::Cellular,
                    valid: 2,
                    download_mbps: Some(20.0),
                    upload_mbps: Some(3.0),
                    latency_ms: Some(40.0),
                },
                TransportSummary {
                    transport: Transport::Wifi,
                    valid: 1,
                    download_mbps: Some(200.0),
                    upload_mbps: Some(50.0),
                    latency_ms: Some(8.0),
                },
            ]
        );
        Ok(())
    }

    #[test]
    fn pending_until_marked_uploaded() -> Result<()> {
        let dir = TempDir::new("samples-pending");
        let store = open(&dir);
        let a = result("2026-03-01T08:00:00Z", Transport::Cellular, 10.0, 2.0, 50.0);
        let b = result("2026-03-01T09:00:00Z", Transport::Cellular, 10.0, 2.0, 50.0);
        store.save_result(&b)?;
        store.save_result(&a)?;
        assert_eq!(store.pending_ids()?, vec![a.id, b.id]);
        store.note_upload_failure(a.id, "HTTP 500")?;
        assert_eq!(store.pending_ids()?, vec![a.id, b.id]);
        store.mark_uploaded(a.id, at("2026-03-01T10:00:00Z"))?;
        assert_eq!(store.pending_ids()?, vec![b.id]);
        let rows = store.recent(10)?;
        let row_a = rows.iter().find(|r| r.id == a.id).expect("a is listed");
        assert_eq!(row_a.uploaded_at, Some(at("2026-03-01T10:00:00Z")));
        Ok(())
    }
}
