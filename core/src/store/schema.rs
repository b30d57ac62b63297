//! The database schema, who owns a file, and migrations by `PRAGMA user_version`.
//!
//! Step `n` of [`STEPS`] brings a database at version `n - 1` to version `n`; a new
//! file runs every step from version 0, so a fresh database and an upgraded one are
//! built by the same statements. Each step is tested from the schema it upgrades,
//! loaded from a committed SQL snapshot of what that version shipped
//! (`fixtures/v1.sql`, `fixtures/v2.sql`): editing an old step instead of adding a new one breaks that
//! test. `PRAGMA application_id` marks the file as ours, so a path that points at
//! some other program's database is refused before anything is written to it.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// `PRAGMA application_id` of an i-Speed database: ASCII "iSpd".
pub const APPLICATION_ID: i32 = 0x6953_7064;

/// The schema version this build writes.
pub const VERSION: u32 = STEPS.len() as u32;

/// Version 1: samples with their query columns, and failed attempts.
///
/// Times are Unix milliseconds (UTC): range queries stay index lookups, and the
/// calendar (which day, which zone) is applied when reading.
const V1: &str = "
CREATE TABLE samples (
    id             TEXT PRIMARY KEY NOT NULL,   -- uuid of the result document
    started_at     INTEGER NOT NULL,            -- Unix ms, UTC
    finished_at    INTEGER NOT NULL,
    transport      TEXT NOT NULL,               -- cellular | wifi | ethernet | loopback | unknown
    server_url     TEXT NOT NULL,
    protocol       TEXT NOT NULL,
    download_mbps  REAL,
    upload_mbps    REAL,
    latency_ms     REAL,                        -- median idle round trip
    valid          INTEGER NOT NULL CHECK (valid IN (0, 1)),
    invalid_reason TEXT,
    document       TEXT NOT NULL                -- the full ispeed.result/1 JSON
) STRICT;
CREATE INDEX samples_started_at ON samples (started_at);
CREATE TABLE failures (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,                -- Unix ms, UTC
    server_url TEXT NOT NULL,
    transport  TEXT NOT NULL,
    code       TEXT NOT NULL,                   -- Error::code()
    message    TEXT NOT NULL
) STRICT;
CREATE INDEX failures_at ON failures (at);
";

/// Version 2: the upload queue. A sample is pending until the collector confirmed it.
const V2: &str = "
ALTER TABLE samples ADD COLUMN uploaded_at INTEGER;        -- Unix ms of the confirmation
ALTER TABLE samples ADD COLUMN upload_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE samples ADD COLUMN last_upload_error TEXT;
CREATE INDEX samples_pending ON samples (started_at) WHERE uploaded_at IS NULL;
";

/// Version 3: settings of this installation (campaign area, install id), one JSON
/// value per key. See `store::settings`.
const V3: &str = "
CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL                          -- JSON
) STRICT;
";

/// Migration steps; step `n` (1-based) upgrades version `n - 1` to `n`. Append only.
const STEPS: &[&str] = &[V1, V2, V3];

/// What a file's header and catalogue say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileState {
    /// `PRAGMA application_id`.
    pub application_id: i32,
    /// `PRAGMA user_version`.
    pub user_version: u32,
    /// Tables, indexes, views and triggers in the file.
    pub objects: u32,
}

impl FileState {
    /// Marked as an i-Speed database.
    pub fn is_ours(&self) -> bool {
        self.application_id == APPLICATION_ID
    }

    /// A new or empty SQLite file that nobody has claimed: ours to initialise.
    pub fn is_blank(&self) -> bool {
        self.application_id == 0 && self.user_version == 0 && self.objects == 0
    }
}

/// Reads the file's marks without writing anything. On a file that is not SQLite,
/// SQLite answers `NotADatabase` here.
pub(crate) fn inspect(conn: &Connection) -> rusqlite::Result<FileState> {
    Ok(FileState {
        application_id: conn.pragma_query_value(None, "application_id", |r| r.get(0))?,
        user_version: conn.pragma_query_value(None, "user_version", |r| r.get(0))?,
        objects: conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?,
    })
}

/// [`inspect`] in a read transaction of its own, so that the three figures come from one
/// snapshot. Read one statement at a time, a migration that another process commits
/// in between shows our tables without our mark, and a new file looks foreign.
pub(crate) fn inspect_snapshot(conn: &Connection) -> rusqlite::Result<FileState> {
    let tx = conn.unchecked_transaction()?;
    let state = inspect(&tx)?;
    tx.commit()?;
    Ok(state)
}

/// Refuses a file that is not ours or is newer than this build.
pub(crate) fn check_ours(path: &Path, state: &FileState) -> Result<()> {
    if state.is_ours() {
        if state.user_version > VERSION {
            return Err(Error::DatabaseTooNew {
                path: path.to_path_buf(),
                found: state.user_version,
                supported: VERSION,
            });
        }
        return Ok(());
    }
    if state.is_blank() {
        return Ok(());
    }
    let detail = if state.application_id != 0 {
        format!(
            "SQLite database of another application (application_id {:#010x})",
            state.application_id
        )
    } else {
        format!(
            "SQLite database with {} objects of another program",
            state.objects
        )
    };
    Err(Error::ForeignDatabase {
        path: path.to_path_buf(),
        detail,
    })
}

/// Runs `PRAGMA quick_check`: a damaged file is refused before it is written to,
/// where writing could spread the damage. Linear in the file size, a few
/// milliseconds for the years of samples a phone keeps.
pub(crate) fn check_integrity(path: &Path, conn: &Connection) -> Result<()> {
    let corrupt = |detail: String| Error::CorruptDatabase {
        path: path.to_path_buf(),
        detail,
    };
    let lines: Vec<String> = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(|e| match super::map_err(path, e) {
            Error::Storage { detail, .. } => corrupt(detail),
            other => other,
        })?;
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(())
    } else {
        Err(corrupt(lines.join("; ")))
    }
}

/// What [`migrate`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Migration {
    /// The file is at [`VERSION`] now, upgraded from the version given.
    Done {
        /// Version before the upgrade (0 for a new file).
        from: u32,
    },
    /// Another process marked the file with a newer version meanwhile.
    TooNew(u32),
    /// Another program claimed the file meanwhile.
    Foreign,
}

/// Brings the database to [`VERSION`] inside the caller's write transaction.
///
/// The state is read again under the write lock: two processes opening a new file at
/// once both pass the checks, and only the first to get the lock migrates.
pub(crate) fn migrate(tx: &Connection) -> rusqlite::Result<Migration> {
    let state = inspect(tx)?;
    if !state.is_ours() && !state.is_blank() {
        return Ok(Migration::Foreign);
    }
    let from = state.user_version;
    if from > VERSION {
        return Ok(Migration::TooNew(from));
    }
    for step in &STEPS[from as usize..] {
        tx.execute_batch(step)?;
    }
    if from < VERSION {
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", VERSION)?;
    }
    Ok(Migration::Done { from })
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::network::Transport;
    use crate::store::Store;
    use crate::store::testing::{TempDir, at};

    /// What version 1 shipped, with two samples and one failure written by it.
    const V1_SNAPSHOT: &str = include_str!("fixtures/v1.sql");

    /// What version 2 shipped: the same data, one sample uploaded, one pending after
    /// two failed attempts.
    const V2_SNAPSHOT: &str = include_str!("fixtures/v2.sql");

    /// Every schema object's SQL, for comparing two databases.
    fn catalogue(conn: &Connection) -> Vec<(String, String, Option<String>)> {
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .expect("prepare catalogue query");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query catalogue")
            .collect::<rusqlite::Result<_>>()
            .expect("read catalogue")
    }

    #[test]
    fn version_1_snapshot_is_what_step_1_builds() {
        // The snapshot is history: if this fails, an old step was edited. Add a step.
        let from_snapshot = Connection::open_in_memory().expect("open");
        from_snapshot.execute_batch(V1_SNAPSHOT).expect("load v1");
        let from_step = Connection::open_in_memory().expect("open");
        from_step.execute_batch(STEPS[0]).expect("run step 1");
        assert_eq!(catalogue(&from_snapshot), catalogue(&from_step));
    }

    #[test]
    fn step_2_upgrades_version_1_and_keeps_every_row() -> Result<()> {
        let dir = TempDir::new("schema-v1");
        let path = dir.file("v1.db");
        {
            let conn = Connection::open(&path).expect("create v1 file");
            conn.execute_batch(V1_SNAPSHOT).expect("load v1");
            assert_eq!(inspect(&conn).expect("inspect").user_version, 1);
        }
        let store = Store::open(&path)?;
        // Same catalogue as a database created by this build.
        let fresh = Store::open(dir.file("fresh.db"))?;
        let upgraded = store.read(|c| Ok(catalogue(c)))?;
        assert_eq!(upgraded, fresh.read(|c| Ok(catalogue(c)))?);
        assert_eq!(
            store.read(inspect)?,
            FileState {
                application_id: APPLICATION_ID,
                user_version: VERSION,
                objects: fresh.read(inspect)?.objects,
            }
        );
        // The v1 samples are intact, and pending upload since v1 never uploaded.
        let rows = store.samples_between(at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))?;
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.uploaded_at.is_none()));
        assert_eq!(rows[0].transport, Transport::Cellular);
        assert_eq!(rows[0].download_mbps, Some(42.5));
        let pending = store.pending_ids()?;
        assert_eq!(pending, rows.iter().map(|r| r.id).collect::<Vec<_>>());
        for id in pending {
            let doc = store.result(id)?.expect("document of a v1 sample");
            assert_eq!(doc.id, id);
        }
        let failures =
            store.failures_between(at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))?;
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].code, "connection_refused");
        Ok(())
    }

    #[test]
    fn version_2_snapshot_is_what_steps_1_and_2_build() {
        let from_snapshot = Connection::open_in_memory().expect("open");
        from_snapshot.execute_batch(V2_SNAPSHOT).expect("load v2");
        let from_steps = Connection::open_in_memory().expect("open");
        for step in &STEPS[..2] {
            from_steps.execute_batch(step).expect("run step");
        }
        assert_eq!(catalogue(&from_snapshot), catalogue(&from_steps));
    }

    #[test]
    fn step_3_upgrades_version_2_keeps_the_queue_and_starts_empty_settings() -> Result<()> {
        let dir = TempDir::new("schema-v2");
        let path = dir.file("v2.db");
        {
            let conn = Connection::open(&path).expect("create v2 file");
            conn.execute_batch(V2_SNAPSHOT).expect("load v2");
            assert_eq!(inspect(&conn).expect("inspect").user_version, 2);
        }
        let store = Store::open(&path)?;
        let fresh = Store::open(dir.file("fresh.db"))?;
        assert_eq!(
            store.read(|c| Ok(catalogue(c)))?,
            fresh.read(|c| Ok(catalogue(c)))?
        );
        assert_eq!(store.read(inspect)?.user_version, VERSION);
        // The upload queue is as v2 left it: one confirmed, one pending.
        let rows = store.samples_between(at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))?;
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].uploaded_at,
            Some(at("2026-05-04T01:15:20Z")),
            "{rows:?}"
        );
        assert_eq!(store.pending_ids()?, vec![rows[1].id]);
        // Documents written before participants existed read without one.
        let doc = store.result(rows[1].id)?.expect("v2 document");
        assert_eq!((doc.participant, doc.mode), (None, None));
        // Settings start empty; the install id is drawn on first use and kept.
        assert_eq!(store.area()?, None);
        let id = store.install_id()?;
        drop(store);
        assert_eq!(Store::open(&path)?.install_id()?, id);
        Ok(())
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_alone() {
        let dir = TempDir::new("schema-new");
        let path = dir.file("v99.db");
        {
            let conn = Connection::open(&path).expect("create");
            conn.execute_batch(STEPS[0]).expect("v1");
            conn.pragma_update(None, "application_id", APPLICATION_ID)
                .expect("mark");
            conn.pragma_update(None, "user_version", 99)
                .expect("version");
        }
        let before = std::fs::read(&path).expect("read file");
        let err = Store::open(&path).expect_err("a newer schema must be refused");
        assert_eq!(err.code(), "database_too_new");
        assert!(err.to_string().contains("v99.db"), "{err}");
        assert_eq!(std::fs::read(&path).expect("read file"), before);
    }
}
