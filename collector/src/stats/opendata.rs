//! `GET /v1/opendata/YYYY-MM.csv`: one row per counted sample of a campaign month,
//! with nothing that identifies a person (columns in `docs/opendata.md`).
//!
//! No install id and no document id; the place is the commune code, the time is
//! rounded down to the hour (UTC). Samples of a commune × operator × technology with
//! fewer than the minimum samples that month are left out, as they are from the
//! statistics. Streamed in pages read by key, so a month of millions of rows never
//! sits in memory.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Timelike, Utc};
use futures_util::StreamExt;
use ispeed_spec::upload::RejectCode;

use super::areas::{self, AreaLevel};
use super::http::{catch_up, error, store_error};
use super::{Period, StatSample, Technology};
use crate::{Collector, campaign};

/// The header row: the columns, in order.
pub const COLUMNS: [&str; 10] = [
    "hour_utc",
    "province_code",
    "commune_code",
    "mcc_mnc",
    "operator",
    "technology",
    "download_mbps",
    "upload_mbps",
    "latency_ms",
    "verdict",
];

/// Verdict written until the collector verifies attestations.
pub const UNATTESTED: &str = "unattested";

/// Rows read from the store per page.
const PAGE: i64 = 5_000;

/// The CSV record of one sample.
pub fn record(s: &StatSample) -> [String; 10] {
    let hour = DateTime::<Utc>::from_timestamp_millis(s.started_at)
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .map(|t| t.format("%Y-%m-%dT%H:00:00Z").to_string())
        .unwrap_or_default();
    let figure = |v: Option<f64>| v.map(|v| format!("{:.3}", v)).unwrap_or_default();
    [
        hour,
        areas::province_of(s.commune)
            .map(|p| p.to_string())
            .unwrap_or_default(),
        s.commune.to_string(),
        s.mcc_mnc.clone(),
        s.operator.clone().unwrap_or_default(),
        Technology::from_code(s.technology)
            .map(Technology::name)
            .unwrap_or_default()
            .to_owned(),
        figure(s.download_mbps),
        figure(s.upload_mbps),
        figure(s.latency_ms),
        s.verdict.clone().unwrap_or_else(|| UNATTESTED.to_owned()),
    ]
}

/// Writes `records` as CSV text (RFC 4180 quoting).
fn csv_text<'a>(records: impl IntoIterator<Item = &'a [String; 10]>) -> Result<Vec<u8>, String> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for r in records {
        w.write_record(r).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// Reads `YYYY-MM.csv` into its month.
pub fn parse_file(file: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let month = file
        .strip_suffix(".csv")
        .ok_or_else(|| format!("open data is served as YYYY-MM.csv, got {file:?}"))?;
    match Period::parse(month, today)? {
        Period::Month(d) => Ok(d),
        Period::Day(_) => Err(format!(
            "open data is per month (YYYY-MM.csv), got {file:?}"
        )),
    }
}

/// `GET /v1/opendata/YYYY-MM.csv`.
pub async fn opendata_csv(
    State(collector): State<Arc<Collector>>,
    Path(file): Path<String>,
) -> Response {
    let config = *collector.campaign();
    let month = match parse_file(&file, campaign::today(&config)) {
        Ok(m) => m,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                RejectCode::BadQuery,
                Some("month"),
                e,
            );
        }
    };
    if let Err(e) = catch_up(&collector).await {
        return store_error(e);
    }
    // The month's commune cells that reach the minimum: only their samples are public.
    let period = Period::Month(month);
    let published: HashSet<(u32, String, i16)> = match collector
        .store()
        .stats_cells(&period.key(), AreaLevel::Commune.code(), &[], None)
        .await
    {
        Ok(cells) => cells
            .into_iter()
            .filter(|(_, c)| c.samples >= collector.stats().min_samples)
            .map(|(k, _)| (k.area, k.mcc_mnc, k.technology))
            .collect(),
        Err(e) => return store_error(e),
    };
    let from = campaign::day_start(config.time_zone, month).timestamp_millis();
    let to = campaign::day_start(config.time_zone, period.end()).timestamp_millis();
    let header = csv_text([&COLUMNS.map(str::to_owned)]).unwrap_or_default();
    let pages = futures_util::stream::unfold(Some(None::<(i64, String)>), move |cursor| {
        let collector = collector.clone();
        let published = published.clone();
        async move {
            let after = cursor?;
            let page = match collector.store().stats_samples(from, to, after, PAGE).await {
                Ok(p) => p,
                Err(e) => return Some((Err(std::io::Error::other(e.to_string())), None)),
            };
            let next = if (page.len() as i64) < PAGE {
                None
            } else {
                page.last().map(|(id, s)| Some((s.started_at, id.clone())))
            };
            if page.is_empty() {
                return None;
            }
            let rows: Vec<[String; 10]> = page
                .iter()
                .filter(|(_, s)| published.contains(&(s.commune, s.mcc_mnc.clone(), s.technology)))
                .map(|(_, s)| record(s))
                .collect();
            Some((csv_text(&rows).map_err(std::io::Error::other), next))
        }
    });
    let body =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(header) }).chain(pages);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"ispeed-{}.csv\"", period.key()),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
