//! `ispeed-collector`: where phones send their result documents, and where officials
//! read the campaign's progress.
//!
//! - [`ingest`] checks a posted document ([`ingest::accept`]);
//! - [`store`] keeps it once per id, on SQLite (one file, the embedded default) or
//!   PostgreSQL (any number of stateless collector processes on one database), with
//!   the campaign's counts in the same transaction;
//! - [`campaign`] counts a local day per area against its targets, served as JSON and
//!   as a page ([`campaign::page`]);
//! - [`http`] serves it all (`POST /v1/results`, `GET /v1/campaign/progress`,
//!   `GET /campaign`); the binary `ispeed-collector` and `ispeed serve` mount it.
//!
//! The wire types are `ispeed-spec`'s. [`pgtest`] starts throwaway PostgreSQL clusters
//! for tests and benchmarks.

pub mod campaign;
pub mod http;
pub mod ingest;
pub mod keys;
pub mod pgtest;
pub mod stats;
pub mod store;
pub mod verdict;

use std::path::Path;

pub use campaign::CampaignConfig;
pub use http::{RunningCollector, router, serve, spawn};
pub use stats::StatsConfig;
pub use store::sqlite::{CollectorError, default_db_path};
pub use store::{Inserted, Store, StoreError};
use uuid::Uuid;

/// The collector service: a store and how the campaign is counted. Stateless apart
/// from its store, so any number may share one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct Collector {
    store: Store,
    campaign: CampaignConfig,
    trust: std::sync::Arc<verdict::TrustPolicy>,
    stats: StatsConfig,
}

impl Collector {
    /// A collector on `store`, counting the campaign with the default settings.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            campaign: CampaignConfig::default(),
            trust: Default::default(),
            stats: StatsConfig::default(),
        }
    }

    /// A collector on the SQLite file at `path` (created when missing; a file of
    /// another program is refused untouched). Blocking: it opens the file.
    pub fn open(path: &Path) -> Result<Self, CollectorError> {
        let store = store::SqliteStore::open(path)?;
        Ok(Self::new(Store::Sqlite(std::sync::Arc::new(store))))
    }

    /// A collector on `location`: a `postgres://` URL or a SQLite path.
    pub async fn connect(location: &str, campaign: CampaignConfig) -> Result<Self, StoreError> {
        let store = Store::open(location, &campaign).await?;
        Ok(Self {
            store,
            campaign,
            trust: Default::default(),
            stats: StatsConfig::default(),
        })
    }

    /// The same collector counting campaign progress with `config`. A PostgreSQL
    /// store counts days in the zone it was connected with: give the same zone.
    pub fn with_campaign(mut self, config: CampaignConfig) -> Self {
        self.campaign = config;
        self
    }

    /// The same collector trusting `policy`'s keys and applying its caps (without,
    /// it trusts no key: every receipt is from an unknown key).
    pub fn with_trust(mut self, policy: verdict::TrustPolicy) -> Self {
        self.trust = std::sync::Arc::new(policy);
        self
    }

    /// What it trusts.
    pub fn trust(&self) -> &verdict::TrustPolicy {
        &self.trust
    }

    /// The same collector publishing statistics with `config`.
    pub fn with_stats(mut self, config: StatsConfig) -> Self {
        self.stats = config;
        self
    }

    /// How the quality statistics are kept and published.
    pub fn stats(&self) -> &StatsConfig {
        &self.stats
    }

    /// How campaign progress is counted.
    pub fn campaign(&self) -> &CampaignConfig {
        &self.campaign
    }

    /// Its store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The SQLite file it keeps results in, when it is on SQLite.
    pub fn path(&self) -> Option<&Path> {
        match &self.store {
            Store::Sqlite(s) => Some(s.path()),
            Store::Postgres(_) => None,
        }
    }

    /// Number of distinct documents held.
    pub async fn count(&self) -> Result<u64, StoreError> {
        self.store.count().await
    }

    /// The document held under `id`.
    pub async fn document(&self, id: Uuid) -> Result<Option<serde_json::Value>, StoreError> {
        self.store.document(id).await
    }
}
