//! The collector's HTTP face: `POST /v1/results`, `GET /v1/campaign/progress`,
//! `GET /campaign`. Every error is a JSON [`ErrorBody`] naming its code and, for a
//! refused document, the field at fault; while the database is unreachable the
//! answer is `503` with `Retry-After`, which phones treat as "keep it queued".

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ispeed_spec::campaign::{Progress, ProgressQuery};
use ispeed_spec::result::MAX_DOCUMENT_BYTES;
use ispeed_spec::routes;
use ispeed_spec::upload::{ConfirmStatus, Confirmation, ErrorBody, RETRY_AFTER_S, RejectCode};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::campaign::{official, page, parse_query};
use crate::ingest::{self, Rejection};
use crate::stats::StatSample;
use crate::{Collector, Inserted, StoreError};

/// The collector's routes, sharing `collector`.
pub fn router(collector: Arc<Collector>) -> Router {
    Router::new()
        .route(routes::RESULTS, post(post_result))
        .route(routes::CAMPAIGN_PROGRESS, get(progress_json))
        .route(routes::CAMPAIGN_PAGE, get(progress_page))
        .route(routes::STATS, get(crate::stats::http::stats_json))
        .route(routes::STATS_PAGE, get(crate::stats::page::stats_page))
        .route(routes::OPENDATA, get(crate::stats::opendata::opendata_csv))
        // One byte over the limit is enough to know the body is too large.
        .layer(DefaultBodyLimit::max(MAX_DOCUMENT_BYTES + 1))
        .with_state(collector)
}

/// An error answer.
fn error(status: StatusCode, code: RejectCode, field: Option<&str>, message: String) -> Response {
    let body = ErrorBody {
        error: message,
        code: Some(code),
        field: field.map(str::to_owned),
    };
    let mut resp = (status, axum::Json(body)).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(RETRY_AFTER_S),
        );
    }
    resp
}

fn rejected(r: Rejection) -> Response {
    error(r.status, r.code, Some(r.field), r.message)
}

fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::Unavailable(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            RejectCode::Unavailable,
            None,
            format!("{e}; retry in {RETRY_AFTER_S} s"),
        ),
        StoreError::Failed(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            RejectCode::Internal,
            None,
            e.to_string(),
        ),
    }
}

/// `POST /v1/results`: confirmed only once the store committed the document.
pub async fn post_result(
    State(collector): State<Arc<Collector>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            // The rest of the body stays unread, so this connection cannot carry
            // another request: say so, or a client may pool it and lose its next
            // request to the reset (RFC 9110, section 15.5.14).
            let mut resp = rejected(Rejection::too_large());
            resp.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            return resp;
        }
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                RejectCode::NotJson,
                Some("body"),
                format!("the body could not be read: {e}"),
            );
        }
    };
    let mut doc = match ingest::accept(&body) {
        Ok(doc) => doc,
        Err(r) => return rejected(r),
    };
    let judgement = match crate::verdict::judge_and_cap(&collector, &doc).await {
        Ok(j) => j,
        Err(e) => return store_error(e),
    };
    doc.facts = doc.facts.judged(&judgement);
    // Statistics take only what counts, which the verdict decides.
    doc.stats = StatSample::of(&doc.value, &doc.facts, collector.campaign());
    let status = match collector.store().insert(&doc, collector.campaign()).await {
        Ok(Inserted::Stored) => ConfirmStatus::Stored,
        Ok(Inserted::Duplicate) => ConfirmStatus::Duplicate,
        Ok(Inserted::Conflict) => {
            return error(
                StatusCode::CONFLICT,
                RejectCode::IdConflict,
                Some("id"),
                format!("another document is held under id {}", doc.id),
            );
        }
        Err(e) => return store_error(e),
    };
    // A duplicate is answered with the verdict its first copy was stored with.
    let (verdict, reason) = match status {
        ConfirmStatus::Stored => (judgement.verdict, judgement.reason),
        ConfirmStatus::Duplicate => match collector.store().verdict_of(doc.id).await {
            Ok(Some(held)) => held,
            Ok(None) => (judgement.verdict, judgement.reason),
            Err(e) => return store_error(e),
        },
    };
    axum::Json(Confirmation {
        id: doc.id,
        status,
        verdict: Some(verdict),
        reason,
    })
    .into_response()
}

/// Counts the day the query asks for.
async fn progress_for(collector: &Collector, query: ProgressQuery) -> Result<Progress, Response> {
    let config = *collector.campaign();
    let (date, area) = parse_query(&config, &query).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            RejectCode::BadQuery,
            Some("date"),
            e,
        )
    })?;
    if let Some(a) = &area {
        // A commune code (`area=5755`) must be one the catalogue holds.
        official::filter_path(a).map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                RejectCode::BadQuery,
                Some("area"),
                e,
            )
        })?;
    }
    collector
        .store()
        .progress(&config, date, area.as_deref())
        .await
        .map_err(store_error)
}

/// `GET /v1/campaign/progress?date=YYYY-MM-DD[&area=...]`.
pub async fn progress_json(
    State(collector): State<Arc<Collector>>,
    Query(query): Query<ProgressQuery>,
) -> Response {
    match progress_for(&collector, query).await {
        Ok(p) => axum::Json(p).into_response(),
        Err(resp) => resp,
    }
}

/// `GET /campaign?date=YYYY-MM-DD[&area=...]`: the same count as a page.
pub async fn progress_page(
    State(collector): State<Arc<Collector>>,
    Query(query): Query<ProgressQuery>,
) -> Response {
    let shown = query.clone();
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    match progress_for(&collector, query).await {
        Ok(p) => (headers, page::render(&p)).into_response(),
        Err(resp) => {
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), 64 * 1024)
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<ErrorBody>(&b).ok())
                .map_or_else(|| status.to_string(), |e| e.error);
            let mut resp = (status, headers, page::render_error(&shown, &body)).into_response();
            if status == StatusCode::SERVICE_UNAVAILABLE {
                resp.headers_mut().insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from(RETRY_AFTER_S),
                );
            }
            resp
        }
    }
}

/// Serves `collector` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    collector: Arc<Collector>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Statistics are folded in the background while the collector serves.
    let folder = tokio::spawn(crate::stats::http::fold_forever(collector.clone()));
    let served = axum::serve(listener, router(collector))
        .with_graceful_shutdown(shutdown)
        .await;
    folder.abort();
    served
}

/// A collector serving in the background of this process (tests, benchmarks).
#[derive(Debug)]
pub struct RunningCollector {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The collector.
    pub collector: Arc<Collector>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningCollector {
    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting and ends open connections.
    pub async fn stop(mut self) {
        self.stop.cancel();
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningCollector {
    fn drop(&mut self) {
        self.stop.cancel();
        self.task.abort();
    }
}

/// Binds `addr` (port 0 for any free port) and serves `collector` in the background.
pub async fn spawn(
    addr: SocketAddr,
    collector: Arc<Collector>,
) -> std::io::Result<RunningCollector> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let token = stop.clone();
    let task = tokio::spawn(serve(listener, collector.clone(), async move {
        token.cancelled().await
    }));
    Ok(RunningCollector {
        addr,
        collector,
        stop,
        task,
    })
}
