//! `GET /v1/stats`: one area's statistics for one period, and the background fold.
//!
//! Bad input is a `400` naming the parameter at fault: an area code that is not an
//! official commune or province, a period that is neither a month nor a day or lies
//! more than [`super::MAX_YEARS`] years from today, an operator that is not MCC-MNC.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ispeed_spec::upload::{ErrorBody, RejectCode};

use super::areas::{self, AreaLevel};
use super::{FOLD_BATCH, FOLD_EVERY, Period, Stats, StatsQuery, is_mcc_mnc, rollup};
use crate::store::StoreError;
use crate::{Collector, campaign};

/// Folds a collector runs before answering a query at most: with uploads arriving
/// faster than one fold drains them, the answer is at most this many batches late.
const FOLDS_PER_QUERY: usize = 8;

/// A refused query: the parameter at fault and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadQuery {
    /// `area`, `period` or `operator`.
    pub field: &'static str,
    /// What is wrong, in English.
    pub message: String,
}

/// A query read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The area's code.
    pub area: u32,
    /// Commune or province.
    pub level: AreaLevel,
    /// Its official name.
    pub name: String,
    /// The period.
    pub period: Period,
    /// One operator, or all.
    pub operator: Option<String>,
}

/// Reads `query`, or says which parameter is wrong and why.
pub fn check(query: &StatsQuery, today: chrono::NaiveDate) -> Result<Checked, BadQuery> {
    let bad = |field, message| BadQuery { field, message };
    let area_text = query.area.as_deref().map(str::trim).unwrap_or_default();
    if area_text.is_empty() {
        return Err(bad(
            "area",
            "area is required: an official commune or province code".into(),
        ));
    }
    let (area, level, name) = areas::lookup(area_text).ok_or_else(|| {
        bad(
            "area",
            format!(
                "area {area_text:?} is not an official code: a province in two digits (19) \
                 or a commune in five (05755)"
            ),
        )
    })?;
    let period_text = query.period.as_deref().unwrap_or_default();
    let period = Period::parse(period_text, today).map_err(|m| bad("period", m))?;
    let operator = match query
        .operator
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        None => None,
        Some(o) if is_mcc_mnc(o) => Some(o.to_owned()),
        Some(o) => {
            return Err(bad(
                "operator",
                format!("operator must be an MCC-MNC such as 452-04, got {o:?}"),
            ));
        }
    };
    Ok(Checked {
        area,
        level,
        name,
        period,
        operator,
    })
}

/// Drains the queue of samples into the cells, a few batches at most.
pub async fn catch_up(collector: &Collector) -> Result<(), StoreError> {
    for _ in 0..FOLDS_PER_QUERY {
        let n = collector
            .store()
            .fold_stats(collector.campaign(), collector.stats(), FOLD_BATCH)
            .await?;
        if n < FOLD_BATCH as usize {
            break;
        }
    }
    Ok(())
}

/// The statistics a checked query asks for.
pub async fn answer(collector: &Collector, q: &Checked) -> Result<Stats, StoreError> {
    catch_up(collector).await?;
    let cells = collector
        .store()
        .stats_cells(
            &q.period.key(),
            q.level.code(),
            &[q.area],
            q.operator.as_deref(),
        )
        .await?;
    let config = collector.stats();
    Ok(Stats {
        area: q.area,
        area_level: q.level.name().to_owned(),
        area_name: Some(q.name.clone()),
        period: q.period.key(),
        cells: rollup::publish(cells, config),
        min_samples: config.min_samples,
        rating_threshold: config.rating_threshold,
        threshold_mbps: config.threshold_mbps,
        relative_error: super::RELATIVE_ERROR,
    })
}

/// An error answer of the statistics routes.
pub fn error(
    status: StatusCode,
    code: RejectCode,
    field: Option<&str>,
    message: String,
) -> Response {
    let body = ErrorBody {
        error: message,
        code: Some(code),
        field: field.map(str::to_owned),
    };
    let mut resp = (status, axum::Json(body)).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(ispeed_spec::upload::RETRY_AFTER_S),
        );
    }
    resp
}

/// A store failure as an answer (`503` while the database is unreachable).
pub fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::Unavailable(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            RejectCode::Unavailable,
            None,
            e.to_string(),
        ),
        StoreError::Failed(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            RejectCode::Internal,
            None,
            e.to_string(),
        ),
    }
}

/// `GET /v1/stats?area=CODE&period=2026-11[&operator=452-04]`.
pub async fn stats_json(
    State(collector): State<Arc<Collector>>,
    Query(query): Query<StatsQuery>,
) -> Response {
    let checked = match check(&query, campaign::today(collector.campaign())) {
        Ok(c) => c,
        Err(b) => {
            return error(
                StatusCode::BAD_REQUEST,
                RejectCode::BadQuery,
                Some(b.field),
                b.message,
            );
        }
    };
    match answer(&collector, &checked).await {
        Ok(stats) => axum::Json(stats).into_response(),
        Err(e) => store_error(e),
    }
}

/// Folds queued samples every [`FOLD_EVERY`], until the task is aborted; a failed
/// fold (database away) is simply tried again later.
pub async fn fold_forever(collector: Arc<Collector>) {
    let mut tick = tokio::time::interval(FOLD_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let _ = catch_up(&collector).await;
    }
}
