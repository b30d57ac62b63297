//! The PostgreSQL store: any number of stateless collector processes on one database.
//!
//! tokio-postgres behind a deadpool pool. Versioned migrations (`collector/migrations`)
//! run at connect under an advisory lock, so instances starting together apply each
//! once. One upload is one statement, hence one transaction: the id claimed in
//! `result_ids`, the document in its month's partition of `results`, and the campaign
//! counters of its day, area and channel, all or nothing. The confirmation is sent
//! after that statement returns, that is after commit. Distinct participants are
//! counted through a unique key (`campaign_members`): the counter moves only when a
//! member row is new. A day's progress reads counters (rows per area and channel),
//! never the documents, so it costs the same at ten thousand or ten million samples.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{Datelike, NaiveDate, Utc};
use deadpool_postgres::{Pool, PoolConfig, Runtime, Timeouts};
use ispeed_spec::campaign::{AreaProgress, ChannelCount, Counts, Split};
use serde_json::Value;
use tokio_postgres::NoTls;
use uuid::Uuid;

use super::{Inserted, StoreError};
use crate::campaign::{
    self, CampaignConfig, Channel, Level, Progress, SampleFacts, area_rows, normalise,
    path_contains,
};
use crate::ingest::Accepted;
use ispeed_spec::attestation::RejectReason;

/// The migrations, in order; a database records the versions it applied.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "results and campaign counters",
        include_str!("../../migrations/0001_results_and_counters.sql"),
    ),
    (
        3,
        "verdicts of samples",
        include_str!("../../migrations/0003_verdicts.sql"),
    ),
    (
        4,
        "quality statistics",
        include_str!("../../migrations/0004_quality_statistics.sql"),
    ),
];

/// Key of the advisory lock held while migrating ("iSpC").
const MIGRATION_LOCK: i64 = 0x6953_7043;

/// Connections per collector process: enough to keep two cores busy with commits in
/// flight; N processes on one database hold N times this.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long an upload waits for a connection before answering 503.
const POOL_WAIT: Duration = Duration::from_secs(5);

/// Day-wide counter rows (kinds 5 and 6) are spread over this many rows.
const SHARDS: i16 = 16;

/// Months of partitions created ahead of the current one.
const MONTHS_AHEAD: u32 = 2;

/// Separator of the names in a counter key: names never hold control characters.
const KEY_SEP: char = '\u{1f}';

/// Counter kinds (see the migration).
const KIND_DAY: i16 = 5;
const KIND_LEAF: i16 = 4;
const KIND_UNASSIGNED: i16 = 6;

fn kind_of(level: Level) -> i16 {
    match level {
        Level::Commune => 1,
        Level::Hamlet => 2,
        Level::Organisation => 3,
    }
}

fn level_of(kind: i16) -> Option<Level> {
    match kind {
        1 => Some(Level::Commune),
        2 => Some(Level::Hamlet),
        3 => Some(Level::Organisation),
        _ => None,
    }
}

fn channel_code(c: Channel) -> i16 {
    Channel::ALL
        .iter()
        .position(|x| *x == c)
        .map_or(-1, |i| i as i16)
}

/// The statement that stores one document and counts it (one transaction).
static INSERT_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    INSERT_HEAD.replace("/*stats*/", crate::stats::postgres::INSERT_STEPS)
});

/// [`INSERT_SQL`] before the statistics' steps are put in at `/*stats*/`.
const INSERT_HEAD: &str = "
WITH new_id AS (
    INSERT INTO result_ids (id, received_at) VALUES ($1::uuid, now())
    ON CONFLICT (id) DO NOTHING RETURNING id, received_at
), doc AS (
    INSERT INTO results (id, received_at, document)
    SELECT id, received_at, $2::text::jsonb FROM new_id
), keys AS (
    SELECT k.kind, k.key, k.path
    FROM unnest($4::smallint[], $5::text[], $6::text[]) AS k(kind, key, path)
    WHERE EXISTS (SELECT 1 FROM new_id) AND $3::date IS NOT NULL
), counts AS (
    INSERT INTO campaign_counts AS c (day, kind, key, channel, shard, counted, not_counted, rejected)
    SELECT $3::date, kind, key, $7::smallint, CASE WHEN kind >= 5 THEN $10::smallint ELSE 0::smallint END,
           CASE WHEN $8::boolean THEN 1 ELSE 0 END, CASE WHEN $8::boolean THEN 0 ELSE 1 END,
           CASE WHEN $11::text = 'rejected' THEN 1 ELSE 0 END
    FROM keys
    ON CONFLICT (day, kind, key, channel, shard) DO UPDATE
    SET counted = c.counted + excluded.counted,
        not_counted = c.not_counted + excluded.not_counted,
        rejected = c.rejected + excluded.rejected
), rejections AS (
    INSERT INTO campaign_rejections AS r (day, kind, key, reason, samples)
    SELECT $3::date, kind, key, coalesce($13::text, 'other'), 1 FROM keys
    WHERE $11::text = 'rejected' AND kind <= 3
    ON CONFLICT (day, kind, key, reason) DO UPDATE SET samples = r.samples + 1
), spell AS (
    INSERT INTO campaign_spellings AS s (day, kind, key, path, samples)
    SELECT $3::date, kind, key, path, 1 FROM keys WHERE kind <= 3
    ON CONFLICT (day, kind, key, path) DO UPDATE SET samples = s.samples + 1
), members AS (
    INSERT INTO campaign_members (day, kind, key, channel, install_id)
    SELECT $3::date, keys.kind, keys.key, ch.c, $9::uuid FROM keys, (VALUES ($7::smallint), (-1::smallint)) AS ch(c)
    WHERE $8::boolean AND $9::uuid IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING kind, key, channel
), people AS (
    INSERT INTO campaign_people AS p (day, kind, key, channel, shard, participants)
    SELECT $3::date, kind, key, channel, CASE WHEN kind >= 5 THEN $10::smallint ELSE 0::smallint END, 1 FROM members
    ON CONFLICT (day, kind, key, channel, shard) DO UPDATE
    SET participants = p.participants + 1
), verdict AS (
    INSERT INTO result_verdicts (id, day, install_id, client_block, verdict, reason)
    SELECT id, $3::date, $9::uuid, $12::text, $11::text, $13::text FROM new_id
)/*stats*/
SELECT count(*) FROM new_id";

/// A day's progress in one statement (`$1` day, `$2` the filter's names joined by the
/// key separator, empty for none, `$3` the deepest kind read: 3, or 4 for the leaves
/// when filtering). Report rows and leaves live in shard 0 only, one row per key and
/// channel, so they are read as they are; only the day-wide rows are summed over
/// their shards. Columns: src (0 samples, 1 participants, 2 spellings), kind, key,
/// channel, a (counted, participants, samples), b (not counted), path.
const PROGRESS_SQL: &str = "
SELECT 0::smallint, kind, key, channel, counted, not_counted, NULL::text, rejected
FROM campaign_counts WHERE day = $1 AND kind BETWEEN 1 AND $3 AND strpos(key, $2) > 0
UNION ALL
SELECT 0::smallint, kind, key, channel, sum(counted)::bigint, sum(not_counted)::bigint, NULL::text,
       sum(rejected)::bigint
FROM campaign_counts WHERE day = $1 AND kind >= 5 GROUP BY kind, key, channel
UNION ALL
SELECT 1::smallint, kind, key, channel, participants, 0::bigint, NULL::text, 0::bigint
FROM campaign_people WHERE day = $1 AND kind BETWEEN 1 AND 3 AND strpos(key, $2) > 0
UNION ALL
SELECT 1::smallint, kind, key, channel, sum(participants)::bigint, 0::bigint, NULL::text, 0::bigint
FROM campaign_people WHERE day = $1 AND kind >= 5 GROUP BY kind, key, channel
UNION ALL
SELECT 2::smallint, kind, key, 0::smallint, samples, 0::bigint, path, 0::bigint
FROM campaign_spellings WHERE day = $1 AND strpos(key, $2) > 0
UNION ALL
SELECT 3::smallint, kind, key, 0::smallint, samples, 0::bigint, reason, 0::bigint
FROM campaign_rejections WHERE day = $1 AND kind BETWEEN 1 AND 3 AND strpos(key, $2) > 0";

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    described: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("database", &self.described)
            .finish_non_exhaustive()
    }
}

/// A PostgreSQL error as the store reports it: connection trouble, a server shutting
/// down or starting, resource exhaustion and serialisation failures are "unavailable"
/// (retry later, nothing was stored); anything else is a failure.
pub fn classify(e: &tokio_postgres::Error) -> StoreError {
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    let retry = match e.as_db_error() {
        None => e.is_closed() || io,
        Some(db) => {
            let code = db.code().code();
            ["08", "53", "57P", "40001", "40P01"]
                .iter()
                .any(|p| code.starts_with(p))
        }
    };
    if retry {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Failed(e.to_string())
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => classify(&e),
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// `url` without its password, for logs.
fn describe(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(c) => {
            let hosts: Vec<String> = c
                .get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(h) => h.clone(),
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .collect();
            format!(
                "{}@{}:{:?}/{}",
                c.get_user().unwrap_or_default(),
                hosts.join(","),
                c.get_ports(),
                c.get_dbname().unwrap_or_default()
            )
        }
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

impl PgStore {
    /// Connects to `url` with a pool of [`DEFAULT_POOL_SIZE`], applies the migrations
    /// it lacks, creates the coming months' partitions and checks that the database
    /// counts days in `config`'s zone.
    pub async fn connect(url: &str, config: CampaignConfig) -> Result<Self, StoreError> {
        Self::connect_with(url, config, DEFAULT_POOL_SIZE).await
    }

    /// The same with `pool_size` connections.
    pub async fn connect_with(
        url: &str,
        config: CampaignConfig,
        pool_size: usize,
    ) -> Result<Self, StoreError> {
        let mut cfg = deadpool_postgres::Config::new();
        cfg.url = Some(url.to_owned());
        cfg.pool = Some(PoolConfig {
            max_size: pool_size.max(1),
            timeouts: Timeouts {
                wait: Some(POOL_WAIT),
                create: Some(POOL_WAIT),
                recycle: Some(POOL_WAIT),
            },
            ..PoolConfig::default()
        });
        let pool = cfg
            .create_pool(Some(Runtime::Tokio1), NoTls)
            .map_err(|e| StoreError::Failed(format!("bad database URL: {e}")))?;
        let store = Self {
            pool,
            described: describe(url),
        };
        store.migrate().await?;
        store.ensure_partitions(Utc::now().date_naive()).await?;
        store.check_time_zone(&config).await?;
        Ok(store)
    }

    /// Where it is, without the password.
    pub fn describe(&self) -> &str {
        &self.described
    }

    /// The pool (tests check that refused documents leave it whole).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Applies the migrations this database lacks, one transaction each, under an
    /// advisory lock so concurrent instances do not race.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| classify(&e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| classify(&e))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS collector_migrations (
                 version    integer PRIMARY KEY,
                 name       text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(|e| classify(&e))?;
        // Every applied version, not just the highest: migrations numbered by parallel
        // branches may land out of order (0003 before 0002), and each is applied once.
        let done: Vec<i32> = tx
            .query("SELECT version FROM collector_migrations", &[])
            .await
            .map_err(|e| classify(&e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let applied = done.iter().copied().max().unwrap_or(0);
        let newest = MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0);
        if applied > newest {
            return Err(StoreError::Failed(format!(
                "the database is at schema version {applied}, newer than this collector's \
                 {newest}: upgrade the collector"
            )));
        }
        for (version, name, sql) in MIGRATIONS.iter().filter(|m| !done.contains(&m.0)) {
            tx.batch_execute(sql).await.map_err(|e| {
                StoreError::Failed(format!("migration {version} ({name}) failed: {e}"))
            })?;
            tx.execute(
                "INSERT INTO collector_migrations (version, name) VALUES ($1, $2)",
                &[version, name],
            )
            .await
            .map_err(|e| classify(&e))?;
        }
        tx.commit().await.map_err(|e| classify(&e))
    }

    /// Creates the monthly partitions of `results` from `today`'s month to
    /// [`MONTHS_AHEAD`] months later, where missing.
    pub async fn ensure_partitions(&self, today: NaiveDate) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| classify(&e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&(MIGRATION_LOCK + 1)])
            .await
            .map_err(|e| classify(&e))?;
        let mut month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
        for _ in 0..=MONTHS_AHEAD {
            let next = month
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(month);
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS results_{:04}_{:02} PARTITION OF results \
                 FOR VALUES FROM ('{month}') TO ('{next}')",
                month.year(),
                month.month()
            );
            tx.batch_execute(&sql).await.map_err(|e| classify(&e))?;
            month = next;
        }
        tx.commit().await.map_err(|e| classify(&e))
    }

    /// Records the campaign's zone on first use and refuses another one later: the
    /// counters are kept per local day of that zone.
    async fn check_time_zone(&self, config: &CampaignConfig) -> Result<(), StoreError> {
        let client = self.client().await?;
        let zone = config.time_zone.name();
        client
            .execute(
                "INSERT INTO collector_settings (name, value) VALUES ('campaign_time_zone', $1) \
                 ON CONFLICT (name) DO NOTHING",
                &[&zone],
            )
            .await
            .map_err(|e| classify(&e))?;
        let held: String = client
            .query_one(
                "SELECT value FROM collector_settings WHERE name = 'campaign_time_zone'",
                &[],
            )
            .await
            .map_err(|e| classify(&e))?
            .get(0);
        if held != zone {
            return Err(StoreError::Failed(format!(
                "this database counts campaign days in {held}; start the collector with \
                 --campaign-tz {held} (it was given {zone})"
            )));
        }
        Ok(())
    }

    /// Stores `doc` once per id and counts it, in one statement (one transaction).
    pub async fn insert(
        &self,
        doc: &Accepted,
        config: &CampaignConfig,
    ) -> Result<Inserted, StoreError> {
        let keys = CounterKeys::of(&doc.facts, config);
        let channel = channel_code(Channel::of(&doc.facts.platform, doc.facts.mode.as_deref()));
        let counted = doc.facts.counts(config);
        let install = doc
            .facts
            .install_id
            .as_deref()
            .and_then(|s| Uuid::parse_str(s).ok());
        let shard = (doc.id.as_u128() % SHARDS as u128) as i16;
        let stats = match &doc.stats {
            Some(s) => {
                Some(serde_json::to_string(s).map_err(|e| StoreError::Failed(e.to_string()))?)
            }
            None => None,
        };
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&INSERT_SQL)
            .await
            .map_err(|e| classify(&e))?;
        let row = client
            .query_one(
                &stmt,
                &[
                    &doc.id,
                    &doc.text,
                    &keys.day,
                    &keys.kinds,
                    &keys.keys,
                    &keys.paths,
                    &channel,
                    &counted,
                    &install,
                    &shard,
                    &doc.facts.verdict.as_str(),
                    &doc.facts.client_block,
                    &doc.facts.reason.map(RejectReason::as_str),
                    &stats,
                ],
            )
            .await
            .map_err(|e| classify(&e))?;
        if row.get::<_, i64>(0) == 1 {
            return Ok(Inserted::Stored);
        }
        let same: Option<bool> = client
            .query_opt(
                "SELECT r.document = $2::text::jsonb FROM result_ids i \
                 JOIN results r ON r.id = i.id AND r.received_at = i.received_at \
                 WHERE i.id = $1",
                &[&doc.id, &doc.text],
            )
            .await
            .map_err(|e| classify(&e))?
            .map(|r| r.get(0));
        match same {
            Some(true) => Ok(Inserted::Duplicate),
            Some(false) => Ok(Inserted::Conflict),
            None => Err(StoreError::Failed(format!(
                "id {} is claimed but its document is missing",
                doc.id
            ))),
        }
    }

    /// Samples not rejected on local day `day` from `install_id` and from `block`:
    /// what the daily caps compare.
    pub async fn day_usage(
        &self,
        day: NaiveDate,
        install_id: Option<&str>,
        block: Option<&str>,
    ) -> Result<(u64, u64), StoreError> {
        let install = install_id.and_then(|s| Uuid::parse_str(s).ok());
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE install_id = $2), \
                 count(*) FILTER (WHERE client_block = $3) FROM result_verdicts \
                 WHERE day = $1 AND verdict <> 'rejected' \
                 AND (install_id = $2 OR client_block = $3)",
                &[&day, &install, &block],
            )
            .await
            .map_err(|e| classify(&e))?;
        let n = |i: usize| row.get::<_, i64>(i).max(0) as u64;
        Ok((n(0), n(1)))
    }

    /// The verdict and reason stored for `id` (`unattested` for a sample stored
    /// before verdicts).
    pub async fn verdict_of(
        &self,
        id: Uuid,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT coalesce(v.verdict, 'unattested'), v.reason FROM result_ids i \
                 LEFT JOIN result_verdicts v ON v.id = i.id WHERE i.id = $1",
                &[&id],
            )
            .await
            .map_err(|e| classify(&e))?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Number of distinct documents held.
    pub async fn count(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let n: i64 = client
            .query_one("SELECT count(*) FROM result_ids", &[])
            .await
            .map_err(|e| classify(&e))?
            .get(0);
        Ok(n as u64)
    }

    /// The document held under `id`.
    pub async fn document(&self, id: Uuid) -> Result<Option<Value>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT r.document FROM result_ids i \
                 JOIN results r ON r.id = i.id AND r.received_at = i.received_at \
                 WHERE i.id = $1",
                &[&id],
            )
            .await
            .map_err(|e| classify(&e))?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The campaign's progress on `date`, from the day's counters.
    pub async fn progress(
        &self,
        config: &CampaignConfig,
        date: NaiveDate,
        area: Option<&str>,
    ) -> Result<Progress, StoreError> {
        let client = self.client().await?;
        let q = |e: tokio_postgres::Error| classify(&e);
        let needle = campaign::needle(area);
        // With a filter, only keys holding the filter's names in a row can match (names
        // never hold the separator); the exact test on whole names follows in Rust.
        let pattern = needle.join(&KEY_SEP.to_string());
        // One statement, one round trip: the report rows' counters (kinds 1 to 3, and
        // the leaves when filtering), the participants of those rows, and their
        // spellings, each row once (a report row is never sharded, so no grouping);
        // the sharded day-wide rows summed. `src`: 0 samples, 1 participants,
        // 2 spellings.
        let deepest_kind = if needle.is_empty() { 3i16 } else { KIND_LEAF };
        let all = client
            .query(PROGRESS_SQL, &[&date, &pattern, &deepest_kind])
            .await
            .map_err(q)?;
        let (mut counts, mut people, mut spellings) = (Vec::new(), Vec::new(), Vec::new());
        let mut reasons: HashMap<(i16, String), Vec<(RejectReason, u32)>> = HashMap::new();
        for r in &all {
            match r.get::<_, i16>(0) {
                0 => counts.push(r),
                1 => people.push(r),
                2 => spellings.push(r),
                _ => reasons.entry((r.get(1), r.get(2))).or_default().push((
                    RejectReason::parse(&r.get::<_, String>(6)),
                    u32::try_from(r.get::<_, i64>(4)).unwrap_or(u32::MAX),
                )),
            }
        }
        let matches = |key: &str| needle.is_empty() || path_contains(&split_key(key), &needle);

        // (kind, key) -> per channel (counted, not counted); participants per channel.
        let mut rows: HashMap<(String, Level), Row> = HashMap::new();
        let mut day = Row::default();
        let mut unassigned = Row::default();
        let mut leaves = Row::default();
        let mut leaf_keys = Vec::new();
        for r in counts {
            let (kind, key, channel): (i16, String, i16) = (r.get(1), r.get(2), r.get(3));
            let (counted, not_counted): (i64, i64) = (r.get(4), r.get(5));
            let rejected: i64 = r.get(7);
            let target = match kind {
                KIND_DAY => &mut day,
                KIND_UNASSIGNED => &mut unassigned,
                KIND_LEAF if matches(&key) => {
                    leaf_keys.push(key.clone());
                    &mut leaves
                }
                k => match level_of(k) {
                    Some(level) if matches(&key) => rows.entry((key, level)).or_default(),
                    _ => continue,
                },
            };
            target.add_samples(channel, counted, not_counted);
            target.rejected += rejected;
        }
        for r in people {
            let (kind, key, channel, n): (i16, String, i16, i64) =
                (r.get(1), r.get(2), r.get(3), r.get(4));
            let target = match kind {
                KIND_DAY => &mut day,
                KIND_UNASSIGNED => &mut unassigned,
                k => match level_of(k) {
                    Some(level) if matches(&key) => match rows.get_mut(&(key, level)) {
                        Some(row) => row,
                        None => continue,
                    },
                    _ => continue,
                },
            };
            target.add_people(channel, n);
        }
        let mut spelled: HashMap<(i16, String), Vec<(String, i64)>> = HashMap::new();
        for r in spellings {
            let (kind, key, path, n): (i16, String, String, i64) =
                (r.get(1), r.get(2), r.get(6), r.get(4));
            spelled.entry((kind, key)).or_default().push((path, n));
        }

        let totals = if needle.is_empty() {
            day.counts()
        } else {
            // Samples matching the filter, each once: their deepest rows match.
            let participants: i64 = client
                .query_one(
                    "SELECT count(DISTINCT install_id) FROM campaign_members \
                     WHERE day = $1 AND kind = $2 AND channel = -1 AND key = ANY($3)",
                    &[&date, &KIND_LEAF, &leaf_keys],
                )
                .await
                .map_err(q)?
                .get(0);
            Counts {
                participants: campaign::count(participants as usize),
                ..leaves.counts()
            }
        };
        // Sorted by names, then level, as the per-sample tally sorts them.
        let sorted: BTreeMap<(Vec<String>, Level), (String, Row)> = rows
            .into_iter()
            .map(|((key, level), row)| ((split_key(&key), level), (key, row)))
            .collect();
        let areas = sorted
            .into_iter()
            .map(|((names, level), (key, row))| {
                let path = spelled
                    .get(&(kind_of(level), key.clone()))
                    .and_then(|s| {
                        s.iter()
                            .map(|(p, n)| (split_key(p), *n))
                            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                    })
                    .map(|(p, _)| p)
                    .unwrap_or_else(|| names.clone());
                let c = row.counts();
                let target = config.target(level);
                AreaProgress {
                    level,
                    label: path.join(" / "),
                    path,
                    participants: c.participants,
                    samples: c.samples,
                    not_counted: c.not_counted,
                    target,
                    met: target.map(|n| c.participants >= n),
                    split: row.split(),
                    received: c.samples + c.not_counted,
                    rejected: campaign::count(usize::try_from(row.rejected).unwrap_or_default()),
                    rejections: ispeed_spec::campaign::top_reasons(
                        reasons.remove(&(kind_of(level), key)).unwrap_or_default(),
                    ),
                }
            })
            .collect();
        let (from, to) = campaign::day_bounds(config, date);
        Ok(Progress {
            date,
            time_zone: config.time_zone.name().to_owned(),
            from,
            to,
            area: area.map(str::to_owned),
            areas,
            totals,
            unassigned: if needle.is_empty() {
                unassigned.counts()
            } else {
                Counts::default()
            },
        })
    }
}

fn split_key(key: &str) -> Vec<String> {
    if key.is_empty() {
        return Vec::new();
    }
    key.split(KEY_SEP).map(str::to_owned).collect()
}

/// Counters of one report row, read back.
#[derive(Default)]
struct Row {
    /// Per channel code: (counted, not counted).
    samples: HashMap<i16, (i64, i64)>,
    /// Per channel code (-1: any): distinct participants.
    people: HashMap<i16, i64>,
    /// Rejected samples (part of the not counted).
    rejected: i64,
}

impl Row {
    fn add_samples(&mut self, channel: i16, counted: i64, not_counted: i64) {
        let e = self.samples.entry(channel).or_default();
        e.0 += counted;
        e.1 += not_counted;
    }

    fn add_people(&mut self, channel: i16, n: i64) {
        *self.people.entry(channel).or_default() += n;
    }

    fn counts(&self) -> Counts {
        let u = |n: i64| campaign::count(usize::try_from(n).unwrap_or_default());
        Counts {
            participants: u(self.people.get(&-1).copied().unwrap_or_default()),
            samples: u(self.samples.values().map(|s| s.0).sum()),
            not_counted: u(self.samples.values().map(|s| s.1).sum()),
        }
    }

    fn split(&self) -> Split {
        let u = |n: i64| campaign::count(usize::try_from(n).unwrap_or_default());
        let mut split = Split::default();
        for channel in Channel::ALL {
            let code = channel_code(channel);
            *split.get_mut(channel) = ChannelCount {
                participants: u(self.people.get(&code).copied().unwrap_or_default()),
                samples: u(self.samples.get(&code).map_or(0, |s| s.0)),
            };
        }
        split
    }
}

/// The counter rows one sample moves.
struct CounterKeys {
    day: Option<NaiveDate>,
    kinds: Vec<i16>,
    keys: Vec<String>,
    paths: Vec<String>,
}

impl CounterKeys {
    fn of(facts: &SampleFacts, config: &CampaignConfig) -> Self {
        let day = facts
            .started_at
            .and_then(|ms| campaign::local_day(config, ms));
        let mut k = Self {
            day,
            kinds: Vec::new(),
            keys: Vec::new(),
            paths: Vec::new(),
        };
        if day.is_none() {
            return k;
        }
        let sep = KEY_SEP.to_string();
        let rows = facts.area.as_ref().map(area_rows).unwrap_or_default();
        let mut push = |kind: i16, key: String, path: String| {
            k.kinds.push(kind);
            k.keys.push(key);
            k.paths.push(path);
        };
        if rows.is_empty() {
            push(KIND_UNASSIGNED, String::new(), String::new());
        }
        let mut leaf = None;
        for (level, path) in &rows {
            let key: Vec<String> = path.iter().map(|p| normalise(p)).collect();
            let key = key.join(&sep);
            push(kind_of(*level), key.clone(), path.join(&sep));
            leaf = Some(key);
        }
        if let Some(leaf) = leaf {
            push(KIND_LEAF, leaf, String::new());
        }
        push(KIND_DAY, String::new(), String::new());
        k
    }
}
