//! Where the collector keeps documents and campaign counts: one interface, two
//! backends with one behaviour, checked by one conformance suite
//! (`collector/tests/conformance.rs`).
//!
//! - [`SqliteStore`]: one file, the embedded default (`ispeed serve`, small
//!   deployments); one row of campaign facts per sample, counted when asked.
//! - [`PgStore`]: PostgreSQL through a connection pool, for any number of stateless
//!   collector processes; results partitioned by month, campaign counts kept as
//!   counters updated in the transaction that stores the document.
//!
//! The contract: a document is stored once per `id`; [`Inserted`] is returned only
//! after the transaction that stored it committed (the confirmation the phone waits
//! for); a second copy with the same content is a duplicate, one with other content a
//! conflict and nothing changes; the campaign counts equal what the stored documents
//! say. Later additions (a verdict per sample, statistics roll-ups) travel in
//! [`Accepted`] and are written in the same transaction.

pub mod postgres;
pub mod sqlite;

use chrono::NaiveDate;
use ispeed_spec::attestation::{RejectReason, Verdict};
use uuid::Uuid;

use crate::campaign::{CampaignConfig, Progress};
use crate::ingest::Accepted;
use crate::stats::StatSample;
use crate::stats::StatsConfig;
use crate::stats::rollup::{Cell, CellKey};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// What storing a document did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now (committed).
    Stored,
    /// The same document was already held.
    Duplicate,
    /// Another document is held under this id; nothing was changed.
    Conflict,
}

/// Why a store could not answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached now (restarting, network, pool exhausted):
    /// the client should retry later; nothing was stored.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Anything else.
    #[error("the database failed: {0}")]
    Failed(String),
}

/// A collector's store: the embedded SQLite file or a PostgreSQL database.
#[derive(Debug, Clone)]
pub enum Store {
    /// One SQLite file.
    Sqlite(std::sync::Arc<SqliteStore>),
    /// A PostgreSQL database.
    Postgres(PgStore),
}

impl Store {
    /// Opens the store `location` names: a `postgres://` or `postgresql://` URL, or
    /// the path of a SQLite file (created when missing).
    pub async fn open(location: &str, config: &CampaignConfig) -> Result<Self, StoreError> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            Ok(Store::Postgres(PgStore::connect(location, *config).await?))
        } else {
            let path = std::path::PathBuf::from(location);
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
                .await
                .map_err(|e| StoreError::Failed(e.to_string()))?
                .map_err(|e| StoreError::Failed(e.to_string()))?;
            Ok(Store::Sqlite(std::sync::Arc::new(store)))
        }
    }

    /// Stores `doc` once per id, counting it for the campaign in the same transaction.
    pub async fn insert(
        &self,
        doc: &Accepted,
        config: &CampaignConfig,
    ) -> Result<Inserted, StoreError> {
        match self {
            Store::Sqlite(s) => {
                let (s, doc) = (s.clone(), doc.clone());
                blocking(move || s.insert(&doc)).await
            }
            Store::Postgres(p) => p.insert(doc, config).await,
        }
    }

    /// The campaign's progress on local day `date`, keeping areas whose path contains
    /// `area`.
    pub async fn progress(
        &self,
        config: &CampaignConfig,
        date: NaiveDate,
        area: Option<&str>,
    ) -> Result<Progress, StoreError> {
        match self {
            Store::Sqlite(s) => {
                let (s, config, area) = (s.clone(), *config, area.map(str::to_owned));
                blocking(move || s.progress(&config, date, area.as_deref())).await
            }
            Store::Postgres(p) => p.progress(config, date, area).await,
        }
    }

    /// Samples not rejected on the local day `day` from `install_id` and from the
    /// address block `block`: what the daily caps ([`crate::verdict::Caps`]) compare.
    pub async fn day_usage(
        &self,
        config: &CampaignConfig,
        day: NaiveDate,
        install_id: Option<&str>,
        block: Option<&str>,
    ) -> Result<(u64, u64), StoreError> {
        if install_id.is_none() && block.is_none() {
            return Ok((0, 0));
        }
        match self {
            Store::Sqlite(s) => {
                let (from, to) = crate::campaign::day_bounds(config, day);
                let (s, install, block) = (
                    s.clone(),
                    install_id.map(str::to_owned),
                    block.map(str::to_owned),
                );
                blocking(move || {
                    s.day_usage(
                        from.timestamp_millis(),
                        to.timestamp_millis(),
                        install.as_deref(),
                        block.as_deref(),
                    )
                })
                .await
            }
            Store::Postgres(p) => p.day_usage(day, install_id, block).await,
        }
    }

    /// The verdict and rejection reason stored for `id`, when it is held.
    pub async fn verdict_of(
        &self,
        id: Uuid,
    ) -> Result<Option<(Verdict, Option<RejectReason>)>, StoreError> {
        let held = match self {
            Store::Sqlite(s) => {
                let s = s.clone();
                blocking(move || s.verdict_of(id)).await?
            }
            Store::Postgres(p) => p.verdict_of(id).await?,
        };
        Ok(held.map(|(v, r)| {
            (
                Verdict::parse(&v).unwrap_or(Verdict::Rejected),
                r.map(|r| RejectReason::parse(&r)),
            )
        }))
    }

    /// Number of distinct documents held.
    pub async fn count(&self) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => {
                let s = s.clone();
                blocking(move || s.count()).await
            }
            Store::Postgres(p) => p.count().await,
        }
    }

    /// The document held under `id`, parsed.
    pub async fn document(&self, id: Uuid) -> Result<Option<serde_json::Value>, StoreError> {
        match self {
            Store::Sqlite(s) => {
                let s = s.clone();
                blocking(move || s.document(id)).await
            }
            Store::Postgres(p) => p.document(id).await,
        }
    }

    /// Folds at most `limit` queued statistics samples into their cells; returns how
    /// many it folded (0 when none was queued).
    pub async fn fold_stats(
        &self,
        campaign: &CampaignConfig,
        config: &StatsConfig,
        limit: i64,
    ) -> Result<usize, StoreError> {
        match self {
            Store::Sqlite(s) => {
                let (s, campaign, config) = (s.clone(), *campaign, *config);
                blocking(move || {
                    s.with_conn(|c| crate::stats::sqlite::fold(c, &campaign, &config, limit))
                })
                .await
            }
            Store::Postgres(p) => {
                crate::stats::postgres::fold(p.pool(), campaign, config, limit).await
            }
        }
    }

    /// The statistics cells of `period` (its key) at `level` for `areas`, of one
    /// operator or all, as last folded.
    pub async fn stats_cells(
        &self,
        period: &str,
        level: i16,
        areas: &[u32],
        operator: Option<&str>,
    ) -> Result<Vec<(CellKey, Cell)>, StoreError> {
        match self {
            Store::Sqlite(s) => {
                let (s, period, areas) = (s.clone(), period.to_owned(), areas.to_vec());
                let operator = operator.map(str::to_owned);
                blocking(move || {
                    s.with_conn(|c| {
                        crate::stats::sqlite::read_cells(
                            c,
                            &period,
                            level,
                            &areas,
                            operator.as_deref(),
                        )
                    })
                })
                .await
            }
            Store::Postgres(p) => {
                crate::stats::postgres::read_cells(p.pool(), period, level, areas, operator).await
            }
        }
    }

    /// A page of the counted samples started in `[from, to)` (Unix ms), after the
    /// `(started_at, id)` `after`, in that order (the open data).
    pub async fn stats_samples(
        &self,
        from: i64,
        to: i64,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<(String, StatSample)>, StoreError> {
        match self {
            Store::Sqlite(s) => {
                let s = s.clone();
                blocking(move || {
                    s.with_conn(|c| {
                        crate::stats::sqlite::samples_between(c, from, to, after.as_ref(), limit)
                    })
                })
                .await
            }
            Store::Postgres(p) => {
                crate::stats::postgres::samples_between(p.pool(), from, to, after.as_ref(), limit)
                    .await
            }
        }
    }

    /// Where the store is, for logs (a PostgreSQL URL without its password).
    pub fn describe(&self) -> String {
        match self {
            Store::Sqlite(s) => format!("SQLite file {}", s.path().display()),
            Store::Postgres(p) => format!("PostgreSQL {}", p.describe()),
        }
    }
}

/// Runs SQLite work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Failed(format!("the store task failed: {e}")))?
        .map_err(sqlite::classify)
}
