//! The local SQLite store: every finished measurement, every failed attempt, and the
//! upload queue to the collector.
//!
//! - [`schema`]: ownership checks, migrations by `PRAGMA user_version`;
//! - [`samples`]: writing results and failures, history and statistics queries;
//! - [`export`]: CSV and JSON lines;
//! - [`settings`]: the install id and campaign area of this installation;
//! - [`area_code`]: a free-text area of an older install matched to a commune code.
//!
//! A phone may kill the app at any instant, and the desktop harness may run twice at
//! once, so the store is built for both: WAL journal with `synchronous = FULL` (a
//! committed sample survives a crash of the process and of the OS), each write one
//! `BEGIN IMMEDIATE` transaction (the write lock is taken up front, where SQLite's
//! busy handler waits for it, instead of failing on a read-to-write upgrade), a
//! generous busy timeout, and a bounded retry of the whole transaction when SQLite
//! still answers "busy". A file that is not ours is never written: see [`Store::open`].

pub mod area_code;
pub mod export;
pub mod samples;
pub mod schema;
pub mod settings;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Error, Result};

pub use export::{CSV_COLUMNS, ExportFormat};
pub use samples::{DaySummary, FailedAttempt, SampleRow, TransportSummary};
pub use settings::AreaSetting;

/// How long one statement waits for another process's lock before SQLite gives up.
/// Writes are a few milliseconds; ten seconds covers a slow phone under I/O pressure.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a whole transaction is retried when SQLite answers "busy" despite the
/// timeout (WAL recovery by another process, a lock that bypasses the busy handler).
const BUSY_RETRIES: u32 = 6;

/// First pause between such retries; doubled each time (25 ms .. 800 ms).
const BUSY_RETRY_PAUSE: Duration = Duration::from_millis(25);

/// An open i-Speed database.
///
/// The connection sits behind a mutex so one `Store` can be shared between threads
/// (the FFI layer hands it to the app's threads); every call holds it briefly.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Store {
    /// Opens the database at `path`, creating it when the file is missing or empty and
    /// bringing an older schema up to date.
    ///
    /// Before anything is written the file is checked to be ours: a file that is not
    /// SQLite, or a SQLite database of another application, gives
    /// [`Error::ForeignDatabase`]; a damaged one [`Error::CorruptDatabase`]; one written
    /// by a newer app [`Error::DatabaseTooNew`]. In each case the file is left
    /// byte-for-byte untouched.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| map_err(&path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| map_err(&path, e))?;
        let state =
            retry_busy(|| schema::inspect_snapshot(&conn)).map_err(|e| map_err(&path, e))?;
        schema::check_ours(&path, &state)?;
        if state.is_ours() {
            schema::check_integrity(&path, &conn)?;
        }
        // From here on the file is ours (or brand new): writing is allowed.
        retry_busy(|| {
            // WAL cannot be entered inside a transaction; it persists in the file, so
            // this is a no-op on every open but the first.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", true)
        })
        .map_err(|e| map_err(&path, e))?;
        let store = Self {
            conn: Mutex::new(conn),
            path,
        };
        match store.write(|tx| schema::migrate(tx))? {
            schema::Migration::Done { .. } => {}
            // Another process changed the file between our checks and our write lock.
            schema::Migration::TooNew(found) => {
                return Err(Error::DatabaseTooNew {
                    path: store.path,
                    found,
                    supported: schema::VERSION,
                });
            }
            schema::Migration::Foreign => {
                return Err(Error::ForeignDatabase {
                    path: store.path,
                    detail: "another program claimed the file while it was opened".to_owned(),
                });
            }
        }
        Ok(store)
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, even if another thread panicked while holding it: SQLite's own
    /// transaction rollback keeps the data consistent, the mutex guards no Rust state.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction and commits, retrying the whole
    /// transaction while SQLite answers "busy". `f` may run more than once.
    pub(crate) fn write<T>(
        &self,
        mut f: impl FnMut(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let mut conn = self.conn();
        retry_busy(|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .map_err(|e| self.error(e))
    }

    /// Runs `f` on the connection (reads see one consistent snapshot per statement).
    pub(crate) fn read<T>(&self, f: impl Fn(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.conn();
        retry_busy(|| f(&conn)).map_err(|e| self.error(e))
    }

    /// Converts a SQLite error into the core's error, naming this store's file.
    pub(crate) fn error(&self, e: rusqlite::Error) -> Error {
        map_err(&self.path, e)
    }

    /// Result of `PRAGMA integrity_check`: `"ok"` when the file is sound.
    pub fn integrity_check(&self) -> Result<String> {
        self.read(|c| {
            let mut stmt = c.prepare("PRAGMA integrity_check")?;
            let lines: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(lines.join("; "))
        })
    }
}

/// Whether SQLite refused for a lock held by someone else.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Calls `f` until it succeeds, fails for a reason other than "busy", or the retries
/// run out. Blocks the calling thread in between: store calls are synchronous.
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let mut pause = BUSY_RETRY_PAUSE;
    let mut attempt = 0;
    loop {
        match f() {
            Err(e) if is_busy(&e) && attempt < BUSY_RETRIES => {
                attempt += 1;
                std::thread::sleep(pause);
                pause *= 2;
            }
            other => return other,
        }
    }
}

/// Maps a SQLite error on the file at `path` to the error a person can act on.
pub(crate) fn map_err(path: &Path, e: rusqlite::Error) -> Error {
    let path = path.to_path_buf();
    let detail = e.to_string();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => Error::ForeignDatabase { path, detail },
        Some(ErrorCode::DatabaseCorrupt) => Error::CorruptDatabase { path, detail },
        _ => Error::Storage { path, detail },
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers shared by the store's tests.

    use std::path::PathBuf;

    use chrono::{DateTime, Duration, Utc};

    use crate::network::{NetworkContext, Transport};
    use crate::platform::DeviceInfo;
    use crate::protocol::ProtocolKind;
    use crate::result::{LatencyResult, MeasurementResult, ServerRef, TransferResult};

    /// A fresh directory under the system's temp dir, removed on drop.
    pub struct TempDir(tempfile::TempDir);

    impl TempDir {
        pub fn new(tag: &str) -> Self {
            let dir = tempfile::Builder::new()
                .prefix(&format!("ispeed-{tag}-"))
                .tempdir()
                .expect("create temp dir");
            Self(dir)
        }

        pub fn file(&self, name: &str) -> PathBuf {
            self.0.path().join(name)
        }
    }

    /// `s` as a UTC time; panics on a typo in a test literal.
    pub fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test time literal")
            .with_timezone(&Utc)
    }

    fn transfer(mbps: f64) -> TransferResult {
        TransferResult {
            mbps,
            bytes: (mbps * 1e6 / 8.0 * 5.0) as u64,
            duration_ms: 5000,
            streams: 4,
            loaded_latency_ms: Some(80.0),
            measured_bytes: 1000,
            measured_ms: 4000,
            ramp_ms: 1000,
            stop_reason: crate::measure::sampler::StopReason::Stable,
            loaded_rtts_ms: vec![80.0],
            intervals: Vec::new(),
        }
    }

    /// A plausible result document started at `started`.
    pub fn result(
        started: &str,
        transport: Transport,
        down: f64,
        up: f64,
        rtt: f64,
    ) -> MeasurementResult {
        let started_at = at(started);
        let mut r = MeasurementResult::new(
            started_at,
            ServerRef {
                url: "http://127.0.0.1:8080".to_owned(),
                protocol: ProtocolKind::Ispeed,
            },
            NetworkContext::with_transport(transport),
            DeviceInfo::this_machine("test"),
        );
        r.finished_at = started_at + Duration::seconds(12);
        r.latency = Some(LatencyResult {
            min_ms: rtt - 1.0,
            median_ms: rtt,
            p90_ms: rtt + 2.0,
            jitter_ms: 0.5,
            samples: 10,
            rtts_ms: vec![rtt; 10],
        });
        r.download = Some(transfer(down));
        r.upload = Some(transfer(up));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{TempDir, result};
    use super::*;
    use crate::network::Transport;

    #[test]
    fn a_new_file_becomes_a_wal_database_of_the_current_schema() -> Result<()> {
        let dir = TempDir::new("store-new");
        let path = dir.file("new.db");
        let store = Store::open(&path)?;
        let (mode, version, app): (String, u32, i32) = store.read(|c| {
            Ok((
                c.pragma_query_value(None, "journal_mode", |r| r.get(0))?,
                c.pragma_query_value(None, "user_version", |r| r.get(0))?,
                c.pragma_query_value(None, "application_id", |r| r.get(0))?,
            ))
        })?;
        assert_eq!(mode, "wal");
        assert_eq!(version, schema::VERSION);
        assert_eq!(app, schema::APPLICATION_ID);
        assert_eq!(store.integrity_check()?, "ok");
        drop(store);
        // Reopening an up-to-date file changes nothing and keeps the data.
        let store = Store::open(&path)?;
        let r = result(
            "2026-03-01T08:00:00Z",
            Transport::Cellular,
            40.0,
            10.0,
            30.0,
        );
        assert!(store.save_result(&r)?);
        drop(store);
        assert_eq!(Store::open(&path)?.result(r.id)?, Some(r));
        Ok(())
    }

    #[test]
    fn an_empty_file_is_initialised() -> Result<()> {
        let dir = TempDir::new("store-empty");
        let path = dir.file("empty.db");
        std::fs::write(&path, b"").expect("create empty file");
        let store = Store::open(&path)?;
        assert_eq!(store.integrity_check()?, "ok");
        Ok(())
    }

    /// Opens `path`, expects the error `code`, and checks that the file is unchanged
    /// and that no WAL or shared-memory file appeared beside it.
    fn refused_untouched(path: &Path, code: &str) -> Error {
        let before = std::fs::read(path).expect("read file before");
        let err = Store::open(path).expect_err("the file must be refused");
        assert_eq!(err.code(), code, "{err}");
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("file name");
        assert!(
            err.to_string().contains(name),
            "error names the file: {err}"
        );
        assert_eq!(std::fs::read(path).expect("read file after"), before);
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            assert!(!Path::new(&side).exists(), "{suffix} file created");
        }
        err
    }

    #[test]
    fn a_text_file_is_refused_and_left_untouched() {
        let dir = TempDir::new("store-text");
        let path = dir.file("notes.txt");
        std::fs::write(&path, "shopping: rice, fish sauce, limes\n".repeat(200)).expect("write");
        refused_untouched(&path, "foreign_database");
    }

    #[test]
    fn another_programs_database_is_refused_and_left_untouched() {
        let dir = TempDir::new("store-foreign");
        let plain = dir.file("contacts.db");
        {
            let c = Connection::open(&plain).expect("create");
            c.execute_batch(
                "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('An');",
            )
            .expect("fill");
        }
        let err = refused_untouched(&plain, "foreign_database");
        assert!(err.to_string().contains("another program"), "{err}");
        // Marked by another application, even without any table.
        let marked = dir.file("other-app.db");
        {
            let c = Connection::open(&marked).expect("create");
            c.pragma_update(None, "application_id", 0x1234_5678)
                .expect("mark");
        }
        let err = refused_untouched(&marked, "foreign_database");
        assert!(err.to_string().contains("0x12345678"), "{err}");
    }

    #[test]
    fn a_damaged_database_is_refused_and_left_untouched() -> Result<()> {
        let dir = TempDir::new("store-corrupt");
        let path = dir.file("damaged.db");
        {
            let store = Store::open(&path)?;
            for i in 0..200 {
                let t = format!("2026-03-01T{:02}:{:02}:00Z", i / 60, i % 60);
                store.save_result(&result(&t, Transport::Cellular, 10.0, 2.0, 30.0))?;
            }
        }
        // Closing the last connection checkpointed the WAL into the main file.
        let mut bytes = std::fs::read(&path).expect("read db");
        assert!(bytes.len() > 16 * 4096, "{} bytes", bytes.len());
        // Keep page 1 (header and catalogue), trash the middle of the file.
        let mid = bytes.len() / 2;
        for b in &mut bytes[mid - 8192..mid + 8192] {
            *b = 0xA5;
        }
        std::fs::write(&path, &bytes).expect("damage db");
        refused_untouched(&path, "corrupt_database");
        Ok(())
    }

    #[test]
    fn a_missing_directory_is_a_storage_error_naming_the_file() {
        let dir = TempDir::new("store-missing");
        let path = dir.file("no/such/dir/x.db");
        let err = Store::open(&path).expect_err("cannot create a file in a missing dir");
        assert_eq!(err.code(), "storage");
        assert!(err.to_string().contains("x.db"), "{err}");
    }
}
