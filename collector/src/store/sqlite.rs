//! The SQLite store: one file, the embedded default of `ispeed serve` and of small
//! deployments. One writer at a time behind a mutex (SQLite's own rule), WAL and
//! `synchronous = FULL` so a confirmed document survives a power cut.
//!
//! Beside the documents, `campaign_samples` keeps one row of campaign facts per
//! document (written in the transaction that stores it, back-filled for files of older
//! servers), so a day's count is one index range scan, not a parse of every document.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use uuid::Uuid;

use super::{Inserted, StoreError};
use crate::campaign::{self, CampaignConfig, Progress, SampleFacts};
use crate::ingest::Accepted;
use ispeed_spec::attestation::{RejectReason, Verdict};

/// `PRAGMA application_id` of a collector database: ASCII "iSpC".
const APPLICATION_ID: i32 = 0x6953_7043;

/// How long a write waits for another process's lock (a second server on the file).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Schema of the collector file: one row per distinct document.
const SCHEMA_SQL: &str = "
CREATE TABLE IF NOT EXISTS results (
    id          TEXT PRIMARY KEY NOT NULL,  -- the document's uuid, lower-case hyphenated
    received_at INTEGER NOT NULL,           -- Unix ms of the first copy
    document    TEXT NOT NULL               -- the JSON as received
) STRICT;
";

/// Table of what the count reads from each stored document.
const CAMPAIGN_SQL: &str = "
CREATE TABLE IF NOT EXISTS campaign_samples (
    id          TEXT PRIMARY KEY NOT NULL,  -- the document's id (results.id)
    started_at  INTEGER,                    -- Unix ms, UTC; NULL when unreadable
    install_id  TEXT,                       -- participant.install_id, NULL when absent
    area        TEXT,                       -- participant.area as JSON, NULL when absent
    platform    TEXT NOT NULL,              -- device.platform, lower-case ('' unknown)
    mode        TEXT,                       -- auto | manual | NULL
    transport   TEXT NOT NULL,              -- network.transport ('' unknown)
    valid       INTEGER NOT NULL            -- the document's `valid`
) STRICT;
CREATE INDEX IF NOT EXISTS campaign_samples_started_at ON campaign_samples (started_at);
";

/// Schema step for receipts (docs/trust.md): each sample's verdict, rejection reason
/// and receipt address block. Rows of files from before receipts read `unattested`.
const TRUST_COLUMNS: &[(&str, &str)] = &[
    ("verdict", "TEXT NOT NULL DEFAULT 'unattested'"),
    ("reason", "TEXT"),
    ("client_block", "TEXT"),
];

/// Adds the [`TRUST_COLUMNS`] a file lacks, and the index the daily caps read.
fn add_trust_columns(conn: &Connection) -> rusqlite::Result<()> {
    let held: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('campaign_samples')")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, decl) in TRUST_COLUMNS {
        if !held.iter().any(|h| h == name) {
            conn.execute_batch(&format!(
                "ALTER TABLE campaign_samples ADD COLUMN {name} {decl}"
            ))?;
        }
    }
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS campaign_samples_install \
         ON campaign_samples (install_id, started_at)",
    )
}

/// Why the collector's file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("collector database {}: {detail}", .path.display())]
pub struct CollectorError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub detail: String,
}

/// The SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// Where `ispeed serve` keeps received results unless `--collector-db` says otherwise:
/// `<data dir>/ispeed/collector.db` (`~/.local/share` on Linux, `~/Library/Application
/// Support` on macOS, `%APPDATA%` on Windows), or `<temp dir>/ispeed-collector.db`
/// where the platform has no data directory.
pub fn default_db_path() -> PathBuf {
    match dirs::data_dir() {
        Some(dir) => dir.join("ispeed").join("collector.db"),
        None => std::env::temp_dir().join("ispeed-collector.db"),
    }
}

/// A SQLite error as the store reports it: a busy or locked file is "unavailable"
/// (retry later), anything else a failure.
pub(crate) fn classify(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Failed(e.to_string()),
    }
}

impl SqliteStore {
    /// Opens (or creates) the collector file at `path`, creating its directory. A file
    /// of another program is refused without being written.
    pub fn open(path: &Path) -> Result<Self, CollectorError> {
        let fail = |detail: String| CollectorError {
            path: path.to_path_buf(),
            detail,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("cannot create its directory: {e}")))?;
        }
        let conn = Connection::open(path).map_err(|e| fail(e.to_string()))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| fail(e.to_string()))?;
        let (app_id, objects): (i32, u32) = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .and_then(|app| {
                conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                    .map(|n| (app, n))
            })
            .map_err(|e| {
                fail(format!(
                    "not a usable SQLite file ({e}); it was left untouched"
                ))
            })?;
        if app_id != APPLICATION_ID && (app_id != 0 || objects != 0) {
            return Err(fail(
                "belongs to another program; it was left untouched: choose another --collector-db"
                    .to_owned(),
            ));
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .and_then(|_| conn.pragma_update(None, "synchronous", "FULL"))
            .and_then(|_| conn.execute_batch(SCHEMA_SQL))
            .and_then(|_| conn.execute_batch(CAMPAIGN_SQL))
            .and_then(|_| add_trust_columns(&conn))
            .and_then(|_| conn.execute_batch(crate::stats::sqlite::SCHEMA_SQL))
            .and_then(|_| conn.pragma_update(None, "application_id", APPLICATION_ID))
            .map_err(|e| fail(e.to_string()))?;
        let mut conn = conn;
        backfill(&mut conn)
            .map_err(|e| fail(format!("cannot index stored results for the campaign: {e}")))?;
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    /// Runs `f` on the connection (blocking: call it off the async threads).
    pub fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        f(&self.conn())
    }

    /// The file it keeps results in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `doc` under its id, with its campaign facts, in one transaction; a copy
    /// of a held id is a duplicate when its content is the same, a conflict otherwise.
    pub fn insert(&self, doc: &Accepted) -> rusqlite::Result<Inserted> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let id = doc.id.to_string();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "INSERT INTO results (id, received_at, document) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO NOTHING",
            params![id, now, doc.text],
        )?;
        let outcome = if n == 1 {
            index_facts(&tx, &id, &doc.facts)?;
            if let Some(s) = &doc.stats {
                crate::stats::sqlite::record(&tx, &id, s)?;
            }
            Inserted::Stored
        } else {
            let held: String =
                tx.query_row("SELECT document FROM results WHERE id = ?1", [&id], |r| {
                    r.get(0)
                })?;
            let held: Value = serde_json::from_str(&held).unwrap_or(Value::Null);
            if held == doc.value {
                Inserted::Duplicate
            } else {
                Inserted::Conflict
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    /// Number of distinct documents held.
    pub fn count(&self) -> rusqlite::Result<u64> {
        self.conn()
            .query_row("SELECT count(*) FROM results", [], |r| r.get(0))
    }

    /// The document held under `id`, parsed (`null` for a stored body that is not
    /// JSON, which only files of older servers hold).
    pub fn document(&self, id: Uuid) -> rusqlite::Result<Option<Value>> {
        Ok(self
            .document_text(id)?
            .map(|t| serde_json::from_str(&t).unwrap_or(Value::Null)))
    }

    /// The document held under `id`, verbatim.
    pub fn document_text(&self, id: Uuid) -> rusqlite::Result<Option<String>> {
        self.conn()
            .query_row(
                "SELECT document FROM results WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()
    }

    /// The campaign's progress on `date`.
    pub fn progress(
        &self,
        config: &CampaignConfig,
        date: NaiveDate,
        area: Option<&str>,
    ) -> rusqlite::Result<Progress> {
        self.with_conn(|c| progress(c, config, date, area))
    }

    /// Samples not rejected, measured between `from` and `to` (Unix ms), from
    /// `install_id` and from `block`: what the daily caps compare.
    pub fn day_usage(
        &self,
        from: i64,
        to: i64,
        install_id: Option<&str>,
        block: Option<&str>,
    ) -> rusqlite::Result<(u64, u64)> {
        self.conn().query_row(
            "SELECT coalesce(sum(install_id = ?3), 0), coalesce(sum(client_block = ?4), 0) \
             FROM campaign_samples WHERE started_at >= ?1 AND started_at < ?2 \
             AND verdict <> 'rejected' AND (install_id = ?3 OR client_block = ?4)",
            params![from, to, install_id, block],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// The verdict and reason stored for `id`.
    pub fn verdict_of(&self, id: Uuid) -> rusqlite::Result<Option<(String, Option<String>)>> {
        self.conn()
            .query_row(
                "SELECT verdict, reason FROM campaign_samples WHERE id = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
    }
}

/// Counts the day `date` (in the configured zone) on `conn`, keeping the areas whose
/// path contains `area`.
pub fn progress(
    conn: &Connection,
    config: &CampaignConfig,
    date: NaiveDate,
    area: Option<&str>,
) -> rusqlite::Result<Progress> {
    let (from, to) = campaign::day_bounds(config, date);
    let mut stmt = conn.prepare(
        "SELECT install_id, area, platform, mode, transport, valid, verdict, reason, \
         client_block FROM campaign_samples WHERE started_at >= ?1 AND started_at < ?2",
    )?;
    let rows = stmt
        .query_map(
            params![from.timestamp_millis(), to.timestamp_millis()],
            |r| {
                let area: Option<String> = r.get(1)?;
                Ok(SampleFacts {
                    started_at: None,
                    install_id: r.get(0)?,
                    area: area.and_then(|a| serde_json::from_str(&a).ok()),
                    platform: r.get(2)?,
                    mode: r.get(3)?,
                    transport: r.get(4)?,
                    valid: r.get(5)?,
                    verdict: Verdict::parse(&r.get::<_, String>(6)?).unwrap_or(Verdict::Rejected),
                    reason: r
                        .get::<_, Option<String>>(7)?
                        .map(|s| RejectReason::parse(&s)),
                    client_block: r.get(8)?,
                })
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(campaign::tally_day(config, date, area, rows))
}

/// Adds the campaign row of a stored document's facts, in the caller's transaction.
fn index_facts(conn: &Connection, id: &str, row: &SampleFacts) -> rusqlite::Result<()> {
    let area = row
        .area
        .as_ref()
        .and_then(|a| serde_json::to_string(a).ok());
    conn.execute(
        "INSERT INTO campaign_samples \
         (id, started_at, install_id, area, platform, mode, transport, valid, verdict, reason, \
         client_block) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (id) DO NOTHING",
        params![
            id,
            row.started_at,
            row.install_id,
            area,
            row.platform,
            row.mode,
            row.transport,
            row.valid,
            row.verdict.as_str(),
            row.reason.map(RejectReason::as_str),
            row.client_block
        ],
    )?;
    Ok(())
}

/// Adds the count's row of the document `document` stored under `id`, in the caller's
/// transaction (the one that stored the document). A document that is not JSON still
/// gets a row, which never counts, so it is not read again by [`backfill`].
pub(crate) fn index(conn: &Connection, id: &str, document: &str) -> rusqlite::Result<()> {
    let doc: Value = serde_json::from_str(document).unwrap_or(Value::Null);
    index_facts(conn, id, &SampleFacts::of(&doc))
}

/// Indexes the documents stored before the count existed (or by an older server);
/// a no-op once every document has its row.
pub(crate) fn backfill(conn: &mut Connection) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let missing: Vec<(String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT id, document FROM results \
             WHERE id NOT IN (SELECT id FROM campaign_samples)",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    for (id, document) in &missing {
        index(&tx, id, document)?;
    }
    tx.commit()?;
    Ok(missing.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use serde_json::json;

    use super::*;

    fn temp_path(tag: &str) -> PathBuf {
        std::env::temp_dir()
            .join(format!("ispeed-collector-{tag}-{}", Uuid::new_v4()))
            .join("collector.db")
    }

    fn accepted(id: Uuid, extra: u32) -> Accepted {
        let body = json!({ "schema": "ispeed.result/1", "id": id, "extra": extra }).to_string();
        crate::ingest::accept(body.as_bytes()).expect("a valid document")
    }

    #[test]
    fn a_duplicate_is_stored_once_and_survives_a_reopen() -> Result<(), CollectorError> {
        let path = temp_path("dup");
        let id = Uuid::new_v4();
        {
            let c = SqliteStore::open(&path)?;
            assert_eq!(c.insert(&accepted(id, 1)).ok(), Some(Inserted::Stored));
            assert_eq!(c.insert(&accepted(id, 1)).ok(), Some(Inserted::Duplicate));
            assert_eq!(c.insert(&accepted(id, 2)).ok(), Some(Inserted::Conflict));
            assert_eq!(c.count().ok(), Some(1));
        }
        let c = SqliteStore::open(&path)?;
        assert_eq!(
            c.document(id).ok().flatten().map(|d| d["extra"].clone()),
            Some(json!(1))
        );
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
        Ok(())
    }

    #[test]
    fn a_file_from_before_receipts_gains_the_verdict_columns_and_reads_unattested() {
        let path = temp_path("pre-trust");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        let id = Uuid::new_v4();
        {
            // The schema as collectors before receipts wrote it, with one sample.
            let c = Connection::open(&path).expect("open");
            c.execute_batch(SCHEMA_SQL).expect("results");
            c.execute_batch(CAMPAIGN_SQL).expect("campaign");
            c.pragma_update(None, "application_id", APPLICATION_ID)
                .expect("app id");
            let doc = json!({ "schema": "ispeed.result/1", "id": id }).to_string();
            c.execute(
                "INSERT INTO results (id, received_at, document) VALUES (?1, 0, ?2)",
                params![id.to_string(), doc],
            )
            .expect("row");
            c.execute(
                "INSERT INTO campaign_samples \
                 (id, started_at, install_id, area, platform, mode, transport, valid) \
                 VALUES (?1, NULL, NULL, NULL, '', NULL, '', 0)",
                [id.to_string()],
            )
            .expect("facts");
        }
        let store = SqliteStore::open(&path).expect("upgraded");
        assert_eq!(
            store.verdict_of(id).expect("verdict"),
            Some(("unattested".to_owned(), None))
        );
        // Opening again changes nothing.
        drop(store);
        let store = SqliteStore::open(&path).expect("reopened");
        assert_eq!(store.count().ok(), Some(1));
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    #[test]
    fn a_foreign_file_is_refused_untouched() {
        let path = temp_path("foreign");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, "not a database at all, just some text\n".repeat(100))
            .expect("write");
        let before = std::fs::read(&path).expect("read");
        let err = SqliteStore::open(&path).expect_err("refused");
        assert!(err.to_string().contains("collector.db"), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), before);
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
