//! The statistics' tables in the SQLite store, written in the transaction that
//! stores a document and folded under the store's one writer.

use rusqlite::{Connection, params};

use super::StatSample;
use super::StatsConfig;
use super::rollup::{self, Cell, CellKey};
use crate::campaign::CampaignConfig;

/// Tables of the statistics (see [`super`]).
pub const SCHEMA_SQL: &str = "
CREATE TABLE IF NOT EXISTS stats_samples (
    id            TEXT PRIMARY KEY NOT NULL,   -- the document's id
    started_at    INTEGER NOT NULL,            -- Unix ms, UTC
    commune       INTEGER NOT NULL,            -- official commune code
    mcc_mnc       TEXT NOT NULL,
    operator      TEXT,
    technology    INTEGER NOT NULL,            -- 4 or 5
    install_id    TEXT,                        -- never published
    download_mbps REAL,
    upload_mbps   REAL,
    latency_ms    REAL,
    verdict       TEXT                         -- attestation verdict; NULL: unattested
) STRICT;
CREATE INDEX IF NOT EXISTS stats_samples_started_at ON stats_samples (started_at, id);
-- Samples stored but not yet folded into stats_cells (by stats_samples rowid).
CREATE TABLE IF NOT EXISTS stats_pending (sample INTEGER PRIMARY KEY NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS stats_cells (
    period       TEXT NOT NULL,                -- YYYY-MM or YYYY-MM-DD
    level        INTEGER NOT NULL,             -- 1 commune, 2 province
    area         INTEGER NOT NULL,
    mcc_mnc      TEXT NOT NULL,
    technology   INTEGER NOT NULL,
    operator     TEXT,
    samples      INTEGER NOT NULL,
    participants INTEGER NOT NULL,
    at_or_above  INTEGER NOT NULL,
    download     TEXT NOT NULL,                -- DDSketch, JSON
    upload       TEXT NOT NULL,
    latency      TEXT NOT NULL,
    PRIMARY KEY (period, level, area, mcc_mnc, technology)
) STRICT;
CREATE TABLE IF NOT EXISTS stats_members (
    period     TEXT NOT NULL,
    level      INTEGER NOT NULL,
    area       INTEGER NOT NULL,
    mcc_mnc    TEXT NOT NULL,
    technology INTEGER NOT NULL,
    install_id TEXT NOT NULL,
    PRIMARY KEY (period, level, area, mcc_mnc, technology, install_id)
) STRICT, WITHOUT ROWID;
";

fn failed(e: String) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(e.into())
}

/// Keeps `s`, the statistics row of the document `id`, and queues it for the fold,
/// in the caller's transaction.
pub fn record(conn: &Connection, id: &str, s: &StatSample) -> rusqlite::Result<()> {
    let n = conn.execute(
        "INSERT INTO stats_samples (id, started_at, commune, mcc_mnc, operator, technology, \
         install_id, download_mbps, upload_mbps, latency_ms, verdict) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (id) DO NOTHING",
        params![
            id,
            s.started_at,
            s.commune,
            s.mcc_mnc,
            s.operator,
            s.technology,
            s.install_id,
            s.download_mbps,
            s.upload_mbps,
            s.latency_ms,
            s.verdict
        ],
    )?;
    if n == 1 {
        conn.execute(
            "INSERT INTO stats_pending (sample) VALUES (?1)",
            [conn.last_insert_rowid()],
        )?;
    }
    Ok(())
}

/// Reads a `stats_samples` row from column `first` on.
fn sample(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<StatSample> {
    Ok(StatSample {
        started_at: r.get(first)?,
        commune: r.get(first + 1)?,
        mcc_mnc: r.get(first + 2)?,
        operator: r.get(first + 3)?,
        technology: r.get(first + 4)?,
        install_id: r.get(first + 5)?,
        download_mbps: r.get(first + 6)?,
        upload_mbps: r.get(first + 7)?,
        latency_ms: r.get(first + 8)?,
        verdict: r.get(first + 9)?,
    })
}

const SAMPLE_COLUMNS: &str = "s.started_at, s.commune, s.mcc_mnc, s.operator, s.technology, \
     s.install_id, s.download_mbps, s.upload_mbps, s.latency_ms, s.verdict";

/// Folds at most `limit` queued samples into the cells, in one transaction; returns
/// how many it folded (0: the queue is empty).
pub fn fold(
    conn: &Connection,
    campaign: &CampaignConfig,
    config: &StatsConfig,
    limit: i64,
) -> rusqlite::Result<usize> {
    let tx = conn.unchecked_transaction()?;
    let rows: Vec<(i64, StatSample)> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT p.sample, {SAMPLE_COLUMNS} FROM stats_pending p \
             JOIN stats_samples s ON s.rowid = p.sample ORDER BY p.sample LIMIT ?1"
        ))?;
        stmt.query_map([limit], |r| Ok((r.get(0)?, sample(r, 1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let Some(last) = rows.last().map(|r| r.0) else {
        return Ok(0);
    };
    let samples: Vec<StatSample> = rows.into_iter().map(|r| r.1).collect();
    let batch = rollup::fold(&samples, campaign, config);
    let mut new_members: std::collections::HashMap<&CellKey, u64> = Default::default();
    {
        let mut add = tx.prepare_cached(
            "INSERT INTO stats_members (period, level, area, mcc_mnc, technology, install_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        )?;
        for (k, install) in &batch.members {
            let n = add.execute(params![
                k.period,
                k.level,
                k.area,
                k.mcc_mnc,
                k.technology,
                install
            ])?;
            *new_members.entry(k).or_default() += n as u64;
        }
    }
    for (key, cell) in &batch.cells {
        let mut merged = read_cells(&tx, &key.period, key.level, &[key.area], Some(&key.mcc_mnc))?
            .into_iter()
            .find(|(k, _)| k == key)
            .map_or_else(Cell::default, |(_, c)| c);
        merged.merge(cell).map_err(failed)?;
        merged.participants += new_members.get(key).copied().unwrap_or_default();
        let [down, up, lat] = merged.sketches_json().map_err(failed)?;
        tx.execute(
            "INSERT INTO stats_cells (period, level, area, mcc_mnc, technology, operator, \
             samples, participants, at_or_above, download, upload, latency) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
             ON CONFLICT (period, level, area, mcc_mnc, technology) DO UPDATE SET \
             operator = excluded.operator, samples = excluded.samples, \
             participants = excluded.participants, at_or_above = excluded.at_or_above, \
             download = excluded.download, upload = excluded.upload, latency = excluded.latency",
            params![
                key.period,
                key.level,
                key.area,
                key.mcc_mnc,
                key.technology,
                merged.operator,
                merged.samples as i64,
                merged.participants as i64,
                merged.at_or_above as i64,
                down,
                up,
                lat
            ],
        )?;
    }
    tx.execute("DELETE FROM stats_pending WHERE sample <= ?1", [last])?;
    tx.commit()?;
    Ok(samples.len())
}

/// The stored cells of `period` at `level` for `areas` (every area when empty), of
/// one operator or all.
pub fn read_cells(
    conn: &Connection,
    period: &str,
    level: i16,
    areas: &[u32],
    operator: Option<&str>,
) -> rusqlite::Result<Vec<(CellKey, Cell)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT area, mcc_mnc, technology, operator, samples, participants, at_or_above, \
         download, upload, latency FROM stats_cells \
         WHERE period = ?1 AND level = ?2 AND (?3 IS NULL OR area = ?3) \
         AND (?4 IS NULL OR mcc_mnc = ?4)",
    )?;
    let mut out = Vec::new();
    // No area: every area of the level.
    let wanted: Vec<Option<u32>> = if areas.is_empty() {
        vec![None]
    } else {
        areas.iter().copied().map(Some).collect()
    };
    for area in wanted {
        let rows = stmt.query_map(params![period, level, area, operator], |r| {
            let key = CellKey {
                period: period.to_owned(),
                level,
                area: r.get(0)?,
                mcc_mnc: r.get(1)?,
                technology: r.get(2)?,
            };
            let sketches: [String; 3] = [r.get(7)?, r.get(8)?, r.get(9)?];
            let cell = Cell::from_stored(
                r.get(3)?,
                [r.get(4)?, r.get(5)?, r.get(6)?],
                [&sketches[0], &sketches[1], &sketches[2]],
            )
            .map_err(failed)?;
            Ok((key, cell))
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// Up to `limit` samples started in `[from, to)` (Unix ms), after the sample
/// `(started_at, id)` `after`, in that order: a page of the open data.
pub fn samples_between(
    conn: &Connection,
    from: i64,
    to: i64,
    after: Option<&(i64, String)>,
    limit: i64,
) -> rusqlite::Result<Vec<(String, StatSample)>> {
    let (t, id) = after.map_or((from - 1, String::new()), |(t, id)| (*t, id.clone()));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT s.id, {SAMPLE_COLUMNS} FROM stats_samples s \
         WHERE (s.started_at, s.id) > (?1, ?2) AND s.started_at >= ?3 AND s.started_at < ?4 \
         ORDER BY s.started_at, s.id LIMIT ?5"
    ))?;
    stmt.query_map(params![t, id, from, to, limit], |r| {
        Ok((r.get(0)?, sample(r, 1)?))
    })?
    .collect()
}
