//! The collector endpoint, `POST /v1/results`: where clients send their result
//! documents, kept in the server's own SQLite file.
//!
//! Clients retry until they see a confirmation, so the same document can arrive more
//! than once: it is stored once, keyed by its `id`, and every copy is answered
//! `200 {"id": ..., "status": "stored" | "duplicate"}`. The server does not depend on
//! the client's crate; it checks the document loosely (a JSON object whose `schema` is
//! `ispeed.result/1` and whose `id` is a uuid) and keeps it verbatim, so fields added by
//! newer clients are never lost.
//!
//! The same file answers the campaign's daily count ([`crate::campaign`]), whose routes
//! this router serves too.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::campaign::{self, CampaignConfig};

/// The `schema` a document must declare.
pub const RESULT_SCHEMA: &str = "ispeed.result/1";

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

/// Why the collector's file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("collector database {}: {detail}", .path.display())]
pub struct CollectorError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub detail: String,
}

/// The collector's store.
#[derive(Debug)]
pub struct Collector {
    conn: Mutex<Connection>,
    path: PathBuf,
    campaign: CampaignConfig,
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

impl Collector {
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
            .and_then(|_| conn.execute_batch(campaign::SCHEMA_SQL))
            .and_then(|_| conn.pragma_update(None, "application_id", APPLICATION_ID))
            .map_err(|e| fail(e.to_string()))?;
        let mut conn = conn;
        campaign::backfill(&mut conn)
            .map_err(|e| fail(format!("cannot index stored results for the campaign: {e}")))?;
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            campaign: CampaignConfig::default(),
        })
    }

    /// The same collector counting campaign progress with `config`.
    pub fn with_campaign(mut self, config: CampaignConfig) -> Self {
        self.campaign = config;
        self
    }

    /// How campaign progress is counted.
    pub fn campaign(&self) -> &CampaignConfig {
        &self.campaign
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

    /// Keeps `document` under `id`; `false` when that id was already held (the stored
    /// copy is kept as it was).
    pub fn insert(&self, id: Uuid, document: &str) -> rusqlite::Result<bool> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let mut conn = self.conn();
        // The document and what the campaign count reads from it, in one transaction.
        let tx = conn.transaction()?;
        let n = tx.execute(
            "INSERT INTO results (id, received_at, document) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO NOTHING",
            params![id.to_string(), now, document],
        )?;
        if n == 1 {
            campaign::index(&tx, &id.to_string(), document)?;
        }
        tx.commit()?;
        Ok(n == 1)
    }

    /// Number of distinct documents held.
    pub fn count(&self) -> rusqlite::Result<u64> {
        self.conn()
            .query_row("SELECT count(*) FROM results", [], |r| r.get(0))
    }

    /// The document held under `id`.
    pub fn document(&self, id: Uuid) -> rusqlite::Result<Option<String>> {
        self.conn()
            .query_row(
                "SELECT document FROM results WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()
    }
}

/// The collector's routes, sharing `collector`.
pub fn router(collector: Arc<Collector>) -> Router {
    Router::new()
        .route("/v1/results", post(post_result))
        .route("/v1/campaign/progress", get(campaign::progress_json))
        .route("/campaign", get(campaign::progress_page))
        .with_state(collector)
}

fn problem(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

/// Checks a posted document loosely (a JSON object declaring [`RESULT_SCHEMA`] with a
/// uuid `id`) and returns its id, or what is wrong with it.
pub fn validate(body: &[u8]) -> Result<Uuid, String> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let obj = doc.as_object().ok_or("the document is not a JSON object")?;
    match obj.get("schema").and_then(Value::as_str) {
        Some(RESULT_SCHEMA) => {}
        other => return Err(format!("schema must be {RESULT_SCHEMA:?}, got {other:?}")),
    }
    obj.get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| "id must be a uuid".to_owned())
}

/// `POST /v1/results`.
pub async fn post_result(State(collector): State<Arc<Collector>>, body: Bytes) -> Response {
    let id = match validate(&body) {
        Ok(id) => id,
        Err(message) => return problem(StatusCode::BAD_REQUEST, message),
    };
    let Ok(document) = String::from_utf8(body.to_vec()) else {
        return problem(StatusCode::BAD_REQUEST, "the body is not UTF-8".to_owned());
    };
    // SQLite blocks: keep it off the threads that serve measurements.
    let outcome = tokio::task::spawn_blocking(move || collector.insert(id, &document)).await;
    match outcome {
        Ok(Ok(stored)) => {
            let status = if stored { "stored" } else { "duplicate" };
            axum::Json(json!({ "id": id, "status": status })).into_response()
        }
        Ok(Err(e)) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot store the result: {e}"),
        ),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the store task failed: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(tag: &str) -> PathBuf {
        std::env::temp_dir()
            .join(format!("ispeed-collector-{tag}-{}", Uuid::new_v4()))
            .join("collector.db")
    }

    #[test]
    fn documents_are_checked_loosely() {
        let id = Uuid::new_v4();
        let ok = json!({ "schema": RESULT_SCHEMA, "id": id, "anything": [1, 2] }).to_string();
        assert_eq!(validate(ok.as_bytes()), Ok(id));
        for bad in [
            "<html>".to_owned(),
            "[]".to_owned(),
            json!({ "schema": "other/1", "id": id }).to_string(),
            json!({ "schema": RESULT_SCHEMA, "id": "42" }).to_string(),
            json!({ "schema": RESULT_SCHEMA }).to_string(),
        ] {
            assert!(validate(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_duplicate_is_stored_once_and_survives_a_reopen() -> Result<(), CollectorError> {
        let path = temp_path("dup");
        let id = Uuid::new_v4();
        {
            let c = Collector::open(&path)?;
            assert_eq!(c.insert(id, "{\"first\":1}").ok(), Some(true));
            assert_eq!(c.insert(id, "{\"second\":2}").ok(), Some(false));
            assert_eq!(c.count().ok(), Some(1));
        }
        let c = Collector::open(&path)?;
        assert_eq!(
            c.document(id).ok().flatten().as_deref(),
            Some("{\"first\":1}")
        );
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
        Ok(())
    }

    #[test]
    fn a_foreign_file_is_refused_untouched() {
        let path = temp_path("foreign");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, "not a database at all, just some text\n".repeat(100))
            .expect("write");
        let before = std::fs::read(&path).expect("read");
        let err = Collector::open(&path).expect_err("refused");
        assert!(err.to_string().contains("collector.db"), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), before);
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
