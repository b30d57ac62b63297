//! The statistics' tables in the PostgreSQL store (migration 0004). Uploads only
//! insert (see the `stats` steps of the store's insert statement); the fold runs
//! under an advisory lock, so concurrent collectors fold one at a time and each
//! queued sample exactly once (it is deleted in the transaction that merges it).

use std::collections::HashMap;

use deadpool_postgres::Pool;
use tokio_postgres::Row;
use uuid::Uuid;

use super::rollup::{self, Cell, CellKey};
use super::{StatSample, StatsConfig};
use crate::campaign::CampaignConfig;
use crate::store::StoreError;
use crate::store::postgres::classify;

/// Key of the advisory lock held while folding ("iSpS").
const FOLD_LOCK: i64 = 0x6953_7053;

/// The store's insert statement's steps that keep a counted sample (`$1` the
/// document's id, `$14` its [`StatSample`] as JSON, or NULL), appended to its `WITH`.
pub const INSERT_STEPS: &str = ", stat AS (
    INSERT INTO stats_samples (id, started_at, commune, mcc_mnc, operator, technology,
                               install_id, download_mbps, upload_mbps, latency_ms, verdict)
    SELECT new_id.id, s.started_at, s.commune, s.mcc_mnc, s.operator, s.technology,
           s.install_id, s.download_mbps, s.upload_mbps, s.latency_ms, s.verdict
    FROM new_id, jsonb_to_record($14::text::jsonb) AS s(started_at bigint, commune integer,
         mcc_mnc text, operator text, technology smallint, install_id uuid,
         download_mbps double precision, upload_mbps double precision, latency_ms double precision,
         verdict text)
    WHERE $14::text IS NOT NULL
    RETURNING started_at, commune, mcc_mnc, operator, technology, install_id,
              download_mbps, upload_mbps, latency_ms, verdict
), stat_queue AS (
    INSERT INTO stats_pending (started_at, commune, mcc_mnc, operator, technology,
                               install_id, download_mbps, upload_mbps, latency_ms, verdict)
    SELECT * FROM stat
)";

const SAMPLE_COLUMNS: &str = "started_at, commune, mcc_mnc, operator, technology, \
     install_id, download_mbps, upload_mbps, latency_ms, verdict";

fn sample(r: &Row, first: usize) -> StatSample {
    let commune: i32 = r.get(first + 1);
    let install: Option<Uuid> = r.get(first + 5);
    StatSample {
        started_at: r.get(first),
        commune: u32::try_from(commune).unwrap_or_default(),
        mcc_mnc: r.get(first + 2),
        operator: r.get(first + 3),
        technology: r.get(first + 4),
        install_id: install.map(|u| u.to_string()),
        download_mbps: r.get(first + 6),
        upload_mbps: r.get(first + 7),
        latency_ms: r.get(first + 8),
        verdict: r.get(first + 9),
    }
}

fn failed(e: String) -> StoreError {
    StoreError::Failed(e)
}

/// Folds at most `limit` queued samples into the cells, in one transaction; returns
/// how many it folded (0: the queue is empty).
pub async fn fold(
    pool: &Pool,
    campaign: &CampaignConfig,
    config: &StatsConfig,
    limit: i64,
) -> Result<usize, StoreError> {
    let q = |e: tokio_postgres::Error| classify(&e);
    let mut client = pool
        .get()
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let tx = client.transaction().await.map_err(q)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FOLD_LOCK])
        .await
        .map_err(q)?;
    let rows = tx
        .query(
            &format!(
                "DELETE FROM stats_pending WHERE seq IN \
                 (SELECT seq FROM stats_pending ORDER BY seq LIMIT $1) \
                 RETURNING {SAMPLE_COLUMNS}"
            ),
            &[&limit],
        )
        .await
        .map_err(q)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let samples: Vec<StatSample> = rows.iter().map(|r| sample(r, 0)).collect();
    let batch = rollup::fold(&samples, campaign, config);

    let mut cols = KeyColumns::default();
    let mut installs = Vec::new();
    for (k, install) in &batch.members {
        cols.push(k);
        installs.push(Uuid::parse_str(install).ok());
    }
    let new_members = tx
        .query(
            "INSERT INTO stats_members (period, level, area, mcc_mnc, technology, install_id) \
             SELECT * FROM unnest($1::text[], $2::smallint[], $3::integer[], $4::text[], \
                                  $5::smallint[], $6::uuid[]) AS m(p, l, a, o, t, i) \
             WHERE i IS NOT NULL ON CONFLICT DO NOTHING \
             RETURNING period, level, area, mcc_mnc, technology",
            &[
                &cols.periods,
                &cols.levels,
                &cols.areas,
                &cols.operators,
                &cols.technologies,
                &installs,
            ],
        )
        .await
        .map_err(q)?;
    let mut joined: HashMap<CellKey, u64> = HashMap::new();
    for r in &new_members {
        *joined.entry(key(r, 0)).or_default() += 1;
    }

    let mut cols = KeyColumns::default();
    for k in batch.cells.keys() {
        cols.push(k);
    }
    let held = tx
        .query(
            &format!(
                "SELECT {CELL_COLUMNS} FROM stats_cells c \
                 JOIN unnest($1::text[], $2::smallint[], $3::integer[], $4::text[], $5::smallint[]) \
                 AS k(p, l, a, o, t) ON (c.period, c.level, c.area, c.mcc_mnc, c.technology) \
                 = (k.p, k.l, k.a, k.o, k.t)"
            ),
            &[&cols.periods, &cols.levels, &cols.areas, &cols.operators, &cols.technologies],
        )
        .await
        .map_err(q)?;
    let mut held: HashMap<CellKey, Cell> = held
        .iter()
        .map(cell)
        .collect::<Result<_, _>>()
        .map_err(failed)?;

    let mut out = CellColumns::default();
    for (k, c) in &batch.cells {
        let mut merged = held.remove(k).unwrap_or_default();
        merged.merge(c).map_err(failed)?;
        merged.participants += joined.get(k).copied().unwrap_or_default();
        out.push(k, &merged).map_err(failed)?;
    }
    tx.execute(
        "INSERT INTO stats_cells (period, level, area, mcc_mnc, technology, operator, samples, \
         participants, at_or_above, download, upload, latency) \
         SELECT * FROM unnest($1::text[], $2::smallint[], $3::integer[], $4::text[], \
                              $5::smallint[], $6::text[], $7::bigint[], $8::bigint[], \
                              $9::bigint[], $10::text[], $11::text[], $12::text[]) \
         ON CONFLICT (period, level, area, mcc_mnc, technology) DO UPDATE SET \
         operator = excluded.operator, samples = excluded.samples, \
         participants = excluded.participants, at_or_above = excluded.at_or_above, \
         download = excluded.download, upload = excluded.upload, latency = excluded.latency",
        &[
            &out.keys.periods,
            &out.keys.levels,
            &out.keys.areas,
            &out.keys.operators,
            &out.keys.technologies,
            &out.names,
            &out.samples,
            &out.participants,
            &out.at_or_above,
            &out.download,
            &out.upload,
            &out.latency,
        ],
    )
    .await
    .map_err(q)?;
    tx.commit().await.map_err(q)?;
    Ok(samples.len())
}

const CELL_COLUMNS: &str = "c.period, c.level, c.area, c.mcc_mnc, c.technology, c.operator, \
     c.samples, c.participants, c.at_or_above, c.download, c.upload, c.latency";

fn key(r: &Row, first: usize) -> CellKey {
    let area: i32 = r.get(first + 2);
    CellKey {
        period: r.get(first),
        level: r.get(first + 1),
        area: u32::try_from(area).unwrap_or_default(),
        mcc_mnc: r.get(first + 3),
        technology: r.get(first + 4),
    }
}

fn cell(r: &Row) -> Result<(CellKey, Cell), String> {
    let sketches: [String; 3] = [r.get(9), r.get(10), r.get(11)];
    let cell = Cell::from_stored(
        r.get(5),
        [r.get(6), r.get(7), r.get(8)],
        [&sketches[0], &sketches[1], &sketches[2]],
    )?;
    Ok((key(r, 0), cell))
}

/// Cell keys as column arrays, for `unnest`.
#[derive(Default)]
struct KeyColumns {
    periods: Vec<String>,
    levels: Vec<i16>,
    areas: Vec<i32>,
    operators: Vec<String>,
    technologies: Vec<i16>,
}

impl KeyColumns {
    fn push(&mut self, k: &CellKey) {
        self.periods.push(k.period.clone());
        self.levels.push(k.level);
        self.areas.push(i32::try_from(k.area).unwrap_or(i32::MAX));
        self.operators.push(k.mcc_mnc.clone());
        self.technologies.push(k.technology);
    }
}

/// Cells as column arrays, for `unnest`.
#[derive(Default)]
struct CellColumns {
    keys: KeyColumns,
    names: Vec<Option<String>>,
    samples: Vec<i64>,
    participants: Vec<i64>,
    at_or_above: Vec<i64>,
    download: Vec<String>,
    upload: Vec<String>,
    latency: Vec<String>,
}

impl CellColumns {
    fn push(&mut self, k: &CellKey, c: &Cell) -> Result<(), String> {
        let [d, u, l] = c.sketches_json()?;
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.keys.push(k);
        self.names.push(c.operator.clone());
        self.samples.push(n(c.samples));
        self.participants.push(n(c.participants));
        self.at_or_above.push(n(c.at_or_above));
        self.download.push(d);
        self.upload.push(u);
        self.latency.push(l);
        Ok(())
    }
}

/// The stored cells of `period` at `level` for `areas` (every area when empty), of
/// one operator or all.
pub async fn read_cells(
    pool: &Pool,
    period: &str,
    level: i16,
    areas: &[u32],
    operator: Option<&str>,
) -> Result<Vec<(CellKey, Cell)>, StoreError> {
    let client = pool
        .get()
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let areas: Vec<i32> = areas
        .iter()
        .filter_map(|a| i32::try_from(*a).ok())
        .collect();
    let rows = client
        .query(
            &format!(
                "SELECT {CELL_COLUMNS} FROM stats_cells c WHERE c.period = $1 AND c.level = $2 \
                 AND (cardinality($3::integer[]) = 0 OR c.area = ANY($3)) AND ($4::text IS NULL OR c.mcc_mnc = $4)"
            ),
            &[&period, &level, &areas, &operator],
        )
        .await
        .map_err(|e| classify(&e))?;
    rows.iter()
        .map(cell)
        .collect::<Result<_, _>>()
        .map_err(failed)
}

/// Up to `limit` samples started in `[from, to)` (Unix ms), after the sample
/// `(started_at, id)` `after`, in that order: a page of the open data.
pub async fn samples_between(
    pool: &Pool,
    from: i64,
    to: i64,
    after: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<(String, StatSample)>, StoreError> {
    let client = pool
        .get()
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let (t, id) = after.map_or((from - 1, Uuid::nil()), |(t, id)| {
        (*t, Uuid::parse_str(id).unwrap_or_default())
    });
    let rows = client
        .query(
            &format!(
                "SELECT id, {SAMPLE_COLUMNS} FROM stats_samples \
                 WHERE (started_at, id) > ($1, $2) AND started_at >= $3 AND started_at < $4 \
                 ORDER BY started_at, id LIMIT $5"
            ),
            &[&t, &id, &from, &to, &limit],
        )
        .await
        .map_err(|e| classify(&e))?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, Uuid>(0).to_string(), sample(r, 1)))
        .collect())
}
