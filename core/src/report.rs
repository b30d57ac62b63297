//! The upload queue: stored samples go to the operator's collector, exactly once in
//! effect.
//!
//! Each pending sample is sent as its result document to `POST {collector}/v1/results`.
//! The collector de-duplicates on the document's `id`, so sending again is harmless;
//! a sample is marked uploaded only after a 2xx answer whose body confirms that very
//! id ([`Confirmation`]). Anything else (no connection, a 5xx, a captive portal's HTML
//! page, a confirmation of another id) leaves it pending for the next run. Transient
//! failures are retried with exponential backoff and jitter, a bounded number of
//! times; the pause goes through a [`Sleeper`] so tests run in no time.
//!
//! A document carries the install id and the participant's area: it goes over HTTPS,
//! or plain HTTP only to this machine ([`Error::InsecureUrl`] otherwise), and a
//! redirect is never followed (it would hand the document to another host); it is
//! reported as the failure of that attempt and the sample stays pending.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::{StatusCode, Url};
use uuid::Uuid;

use crate::clock::Clock;
use crate::error::{Error, Result, error_chain};
use crate::result::MeasurementResult;
use crate::store::Store;

/// Route of the collector endpoint, relative to the collector's base URL.
pub const RESULTS_ROUTE: &str = "v1/results";

/// How uploads are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per sample, the first included (at least 1).
    pub attempts: u32,
    /// Pause before the first retry; doubled for each further retry.
    pub base_delay: Duration,
    /// Longest pause.
    pub max_delay: Duration,
    /// Limit of one request, connection to confirmation.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts over about 7 s at most: enough to ride out a collector restart or
    /// a radio waking up, short enough that the app's background slot is not spent
    /// waiting; whatever is left goes with the next run.
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Pause before retry number `retry` (0 for the first retry), given a uniform
    /// random `unit` in `[0, 1)`. "Equal jitter": half the exponential step is fixed,
    /// half random, so phones that lost the collector together do not come back in
    /// lockstep, and no pause collapses to zero.
    pub fn delay(&self, retry: u32, unit: f64) -> Duration {
        let step = self
            .base_delay
            .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        step / 2 + step.mul_f64(unit.clamp(0.0, 1.0) / 2.0)
    }
}

/// Waits between retries; injected so tests do not wait.
pub trait Sleeper: Send + Sync {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
}

/// The real pause, on tokio's timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

// The confirmation is a wire contract shared with the collector.
pub use ispeed_spec::attestation::{RejectReason, Verdict};
use ispeed_spec::upload::MAX_CONFIRMATION_BYTES;
pub use ispeed_spec::upload::{ConfirmStatus, Confirmation};

/// What one run of [`Uploader::upload_pending`] did.
#[derive(Debug, Default)]
pub struct UploadSummary {
    /// Samples the collector confirmed in this run, in the order sent.
    pub sent: Vec<Uuid>,
    /// Samples the collector refused outright (a 4xx: the document is wrong for it);
    /// they stay pending and are offered again next run.
    pub rejected: Vec<(Uuid, String)>,
    /// Samples the collector stored but judged untrustworthy (`verdict: rejected`,
    /// docs/trust.md): marked uploaded, never sent again, the reason kept with the
    /// sample ([`crate::store::Store::collector_note`]).
    pub judged_rejected: Vec<(Uuid, RejectReason)>,
    /// Samples still pending after the run.
    pub remaining: usize,
    /// Why the run stopped early, if it did (collector unreachable after every retry,
    /// or the store failing). Nothing was lost either way.
    pub error: Option<Error>,
}

/// Why one attempt did not end in a confirmation.
#[derive(Debug)]
struct Failure {
    /// A 4xx: retrying the same document will not help.
    permanent: bool,
    detail: String,
}

impl Failure {
    fn transient(detail: impl Into<String>) -> Self {
        Self {
            permanent: false,
            detail: detail.into(),
        }
    }
}

/// Sends result documents to one collector.
pub struct Uploader {
    client: reqwest::Client,
    collector: String,
    results_url: Url,
    policy: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("results_url", &self.results_url.as_str())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Uploader {
    /// An uploader to the collector at base URL `collector` (`https://host/` or
    /// `https://host/prefix/`), with the default [`RetryPolicy`] and real sleeps.
    /// Plain HTTP is refused unless the collector is on this machine.
    pub fn new(collector: &str) -> Result<Self> {
        let base = crate::protocol::parse_base_url(collector)?;
        crate::http::check_transport_security(&base, false)?;
        let results_url = crate::protocol::join(&base, RESULTS_ROUTE);
        let mut up = Self {
            client: reqwest::Client::new(),
            collector: collector.to_owned(),
            results_url,
            policy: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleeper),
        };
        up.client = up.build_client()?;
        Ok(up)
    }

    fn build_client(&self) -> Result<reqwest::Client> {
        reqwest::Client::builder()
            .no_proxy()
            .timeout(self.policy.request_timeout)
            .connect_timeout(self.policy.request_timeout)
            .user_agent(concat!("ispeed/", env!("CARGO_PKG_VERSION")))
            // The document would follow a redirect to any host; report it instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot set up HTTP: {e}")))
    }

    /// The same uploader with another retry policy.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Result<Self> {
        if policy.attempts == 0 {
            return Err(Error::Config(
                "upload attempts must be at least 1".to_owned(),
            ));
        }
        self.policy = policy;
        self.client = self.build_client()?;
        Ok(self)
    }

    /// The same uploader pausing through `sleeper`.
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// The endpoint documents are posted to.
    pub fn results_url(&self) -> &Url {
        &self.results_url
    }

    /// One request: the document out, a confirmation of its id back.
    async fn attempt(&self, doc: &MeasurementResult) -> std::result::Result<Confirmation, Failure> {
        let body = serde_json::to_vec(doc)
            .map_err(|e| Failure::transient(format!("cannot encode the document: {e}")))?;
        let resp = self
            .client
            .post(self.results_url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| Failure::transient(error_chain(&e)))?;
        let status = resp.status();
        if status.is_redirection() {
            let to = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("nowhere")
                .to_owned();
            return Err(Failure::transient(format!(
                "HTTP {status}: redirected to {to}; redirects are not followed"
            )));
        }
        let body = read_capped(resp).await;
        if !status.is_success() {
            // 408 and 429 are "later, please"; other 4xx mean this document will never
            // be taken as it is; 5xx is the collector's trouble.
            let permanent = status.is_client_error()
                && status != StatusCode::REQUEST_TIMEOUT
                && status != StatusCode::TOO_MANY_REQUESTS;
            let text = body
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let excerpt: String = text.chars().take(200).collect();
            return Err(Failure {
                permanent,
                detail: format!("HTTP {status}: {excerpt}"),
            });
        }
        let body =
            body.ok_or_else(|| Failure::transient("the confirmation did not arrive whole"))?;
        let confirmation = Confirmation::parse(&body, doc.id)
            .map_err(|e| Failure::transient(format!("HTTP {status}: {e}")))?;
        Ok(confirmation)
    }

    /// Sends `doc` until confirmed, retrying transient failures per the policy.
    async fn send_with_retries(
        &self,
        doc: &MeasurementResult,
    ) -> std::result::Result<Confirmation, Failure> {
        let mut retry = 0;
        loop {
            match self.attempt(doc).await {
                Ok(c) => return Ok(c),
                Err(f) if f.permanent || retry + 1 >= self.policy.attempts => return Err(f),
                Err(_) => {
                    let unit: f64 = rand::rng().random();
                    self.sleeper.sleep(self.policy.delay(retry, unit)).await;
                    retry += 1;
                }
            }
        }
    }

    /// Sends one document, with retries; the collector's confirmation on success.
    pub async fn send(&self, doc: &MeasurementResult) -> Result<Confirmation> {
        self.send_with_retries(doc)
            .await
            .map_err(|f| self.error(f.detail))
    }

    fn error(&self, detail: String) -> Error {
        Error::Collector {
            url: self.collector.clone(),
            detail,
        }
    }

    /// Sends every pending sample of `store`, oldest first, marking each uploaded once
    /// confirmed. Stops at the first sample that still fails after every retry (the
    /// collector is down: the others would fail too); a sample refused with a 4xx is
    /// noted and skipped. Store calls are short and synchronous.
    pub async fn upload_pending(&self, store: &Store, clock: &dyn Clock) -> UploadSummary {
        let mut summary = UploadSummary::default();
        if let Err(e) = self.upload_into(store, clock, &mut summary).await {
            summary.error = Some(e);
        }
        match store.pending_ids() {
            Ok(ids) => summary.remaining = ids.len(),
            Err(e) => {
                summary.error.get_or_insert(e);
            }
        }
        summary
    }

    async fn upload_into(
        &self,
        store: &Store,
        clock: &dyn Clock,
        summary: &mut UploadSummary,
    ) -> Result<()> {
        for id in store.pending_ids()? {
            let Some(doc) = store.result(id)? else {
                continue;
            };
            match self.send_with_retries(&doc).await {
                // Stored for audit but never counted: sending it again changes
                // nothing, so it is done; the reason stays with the sample.
                Ok(Confirmation {
                    verdict: Some(Verdict::Rejected),
                    reason,
                    ..
                }) => {
                    let reason = reason.unwrap_or(RejectReason::Other);
                    store.mark_judged(id, clock.now(), &rejection_note(reason))?;
                    summary.sent.push(id);
                    summary.judged_rejected.push((id, reason));
                }
                Ok(_) => {
                    store.mark_uploaded(id, clock.now())?;
                    summary.sent.push(id);
                }
                Err(f) => {
                    store.note_upload_failure(id, &f.detail)?;
                    if !f.permanent {
                        return Err(self.error(f.detail));
                    }
                    summary.rejected.push((id, f.detail));
                }
            }
        }
        Ok(())
    }
}

/// What a sample keeps of the collector's rejection: the stable code first, so the
/// apps can show the reason in the user's language, then its English meaning.
pub fn rejection_note(reason: RejectReason) -> String {
    format!(
        "{}{}: {}",
        REJECTION_PREFIX,
        reason.as_str(),
        reason.meaning()
    )
}

/// Prefix of [`rejection_note`].
pub const REJECTION_PREFIX: &str = "rejected by the collector: ";

/// The body of `resp` if it is at most [`MAX_CONFIRMATION_BYTES`] and arrives whole.
async fn read_capped(mut resp: reqwest::Response) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.ok()? {
        if body.len() + chunk.len() > MAX_CONFIRMATION_BYTES {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::{Ipv4Addr, SocketAddr};
    use std::sync::Mutex;

    use axum::Router;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;

    use super::*;
    use crate::clock::FakeClock;
    use crate::network::Transport;
    use crate::store::testing::{TempDir, at, result};

    /// How the fake collector answers.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Mode {
        Confirm,
        Status(u16),
        Garbage,
        WrongId,
        Redirect,
        Judged,
    }

    #[derive(Default)]
    struct Fake {
        mode: Mutex<Option<Mode>>,
        requests: Mutex<u32>,
        held: Mutex<HashMap<Uuid, u32>>,
    }

    async fn collect(State(fake): State<Arc<Fake>>, body: axum::body::Bytes) -> Response {
        *fake.requests.lock().expect("lock") += 1;
        let mode = fake.mode.lock().expect("lock").unwrap_or(Mode::Confirm);
        let doc: serde_json::Value = serde_json::from_slice(&body).expect("a JSON document");
        let id: Uuid = doc["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("an id");
        match mode {
            Mode::Confirm => {
                let mut held = fake.held.lock().expect("lock");
                let n = held.entry(id).or_default();
                *n += 1;
                let status = if *n == 1 { "stored" } else { "duplicate" };
                axum::Json(serde_json::json!({ "id": id, "status": status })).into_response()
            }
            Mode::Status(s) => (StatusCode::from_u16(s).expect("status"), "nope").into_response(),
            Mode::Garbage => "<html>Welcome to the hotel Wi-Fi</html>".into_response(),
            Mode::Redirect => (
                StatusCode::TEMPORARY_REDIRECT,
                [(axum::http::header::LOCATION, "/v1/results?again=1")],
            )
                .into_response(),
            Mode::Judged => axum::Json(serde_json::json!({
                "id": id, "status": "stored", "verdict": "rejected", "reason": "rate_unexplained"
            }))
            .into_response(),
            Mode::WrongId => {
                axum::Json(serde_json::json!({ "id": Uuid::new_v4(), "status": "stored" }))
                    .into_response()
            }
        }
    }

    async fn fake_collector() -> (String, Arc<Fake>) {
        let fake = Arc::new(Fake::default());
        let app = Router::new()
            .route("/v1/results", post(collect))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, fake)
    }

    /// A sleeper that records the pauses asked for and returns at once.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Duration>>);

    impl Sleeper for Recorder {
        fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
            self.0.lock().expect("lock").push(d);
            Box::pin(std::future::ready(()))
        }
    }

    fn uploader(url: &str, sleeps: &Arc<Recorder>) -> Uploader {
        Uploader::new(url)
            .expect("valid collector URL")
            .with_policy(RetryPolicy {
                attempts: 4,
                base_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(30),
                request_timeout: Duration::from_secs(10),
            })
            .expect("valid policy")
            .with_sleeper(sleeps.clone())
    }

    fn store_with_two(dir: &TempDir) -> (Store, Vec<Uuid>) {
        let store = Store::open(dir.file("up.db")).expect("open");
        let a = result("2026-03-01T08:00:00Z", Transport::Cellular, 10.0, 2.0, 40.0);
        let b = result("2026-03-01T09:00:00Z", Transport::Cellular, 12.0, 3.0, 45.0);
        store.save_result(&a).expect("save");
        store.save_result(&b).expect("save");
        (store, vec![a.id, b.id])
    }

    fn clock() -> FakeClock {
        FakeClock::new(at("2026-03-01T10:00:00Z"))
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_half_a_step() {
        let p = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            request_timeout: Duration::from_secs(1),
        };
        assert_eq!(p.delay(0, 0.0), Duration::from_millis(500));
        assert_eq!(p.delay(0, 1.0), Duration::from_secs(1));
        assert_eq!(p.delay(1, 0.0), Duration::from_secs(1));
        assert_eq!(p.delay(2, 0.5), Duration::from_secs(3));
        assert_eq!(p.delay(3, 1.0), Duration::from_secs(8));
        assert_eq!(p.delay(4, 1.0), Duration::from_secs(10), "capped");
        assert_eq!(p.delay(40, 0.0), Duration::from_secs(5), "no overflow");
    }

    #[tokio::test]
    async fn pending_samples_are_sent_once_and_marked() {
        let dir = TempDir::new("report-ok");
        let (store, ids) = store_with_two(&dir);
        let (url, fake) = fake_collector().await;
        let sleeps = Arc::new(Recorder::default());
        let up = uploader(&url, &sleeps);
        let s = up.upload_pending(&store, &clock()).await;
        assert!(s.error.is_none(), "{:?}", s.error);
        assert_eq!(s.sent, ids);
        assert_eq!(s.remaining, 0);
        assert!(store.pending_ids().expect("pending").is_empty());
        let rows = store.recent(10).expect("rows");
        assert!(
            rows.iter()
                .all(|r| r.uploaded_at == Some(at("2026-03-01T10:00:00Z")))
        );
        // A second run has nothing to send.
        let again = up.upload_pending(&store, &clock()).await;
        assert!(again.sent.is_empty() && again.error.is_none());
        assert_eq!(*fake.requests.lock().expect("lock"), 2);
        assert!(sleeps.0.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn a_sample_the_collector_rejects_is_done_with_its_reason_kept() {
        let dir = TempDir::new("report-judged");
        let (store, ids) = store_with_two(&dir);
        let (url, fake) = fake_collector().await;
        *fake.mode.lock().expect("lock") = Some(Mode::Judged);
        let sleeps = Arc::new(Recorder::default());
        let up = uploader(&url, &sleeps);
        let s = up.upload_pending(&store, &clock()).await;
        assert!(s.error.is_none(), "{:?}", s.error);
        assert_eq!(s.sent, ids);
        let judged: Vec<_> = s.judged_rejected.iter().map(|(_, r)| *r).collect();
        assert_eq!(judged, [RejectReason::RateUnexplained; 2]);
        assert!(
            store.pending_ids().expect("pending").is_empty(),
            "never retried"
        );
        let note = store.collector_note(ids[0]).expect("note");
        assert_eq!(note, Some(rejection_note(RejectReason::RateUnexplained)));
        assert!(note.is_some_and(|n| n.contains("rate_unexplained")));
        // A second run sends nothing.
        let before = *fake.requests.lock().expect("lock");
        let again = up.upload_pending(&store, &clock()).await;
        assert!(again.sent.is_empty());
        assert_eq!(*fake.requests.lock().expect("lock"), before);
    }

    #[tokio::test]
    async fn a_duplicate_confirmation_counts_as_confirmed() -> Result<()> {
        let (url, fake) = fake_collector().await;
        let up = uploader(&url, &Arc::new(Recorder::default()));
        let doc = result("2026-03-01T08:00:00Z", Transport::Cellular, 10.0, 2.0, 40.0);
        assert_eq!(up.send(&doc).await?.status, ConfirmStatus::Stored);
        assert_eq!(up.send(&doc).await?.status, ConfirmStatus::Duplicate);
        assert_eq!(fake.held.lock().expect("lock").get(&doc.id), Some(&2));
        Ok(())
    }

    /// Runs one upload against a collector in `mode` and checks that nothing was marked
    /// and every attempt was made; then a healthy collector gets everything.
    async fn nothing_lost(mode: Mode) {
        let dir = TempDir::new("report-fault");
        let (store, ids) = store_with_two(&dir);
        let (url, fake) = fake_collector().await;
        *fake.mode.lock().expect("lock") = Some(mode);
        let sleeps = Arc::new(Recorder::default());
        let up = uploader(&url, &sleeps);
        let s = up.upload_pending(&store, &clock()).await;
        let err = s.error.expect("the run reports the failure");
        assert_eq!(err.code(), "collector");
        assert!(s.sent.is_empty());
        assert_eq!(s.remaining, 2);
        assert_eq!(store.pending_ids().expect("pending"), ids);
        // The first sample used every attempt, then the run stopped.
        assert_eq!(*fake.requests.lock().expect("lock"), 4, "{mode:?}");
        let pauses = sleeps.0.lock().expect("lock").clone();
        assert_eq!(pauses.len(), 3);
        for (i, p) in pauses.iter().enumerate() {
            let step = Duration::from_secs(1 << i);
            assert!(*p >= step / 2 && *p <= step, "pause {i}: {p:?}");
        }
        // Next run, collector healthy: both go.
        *fake.mode.lock().expect("lock") = Some(Mode::Confirm);
        let s = up.upload_pending(&store, &clock()).await;
        assert_eq!(s.sent, ids);
        assert!(store.pending_ids().expect("pending").is_empty());
    }

    #[tokio::test]
    async fn a_collector_answering_500_loses_nothing() {
        nothing_lost(Mode::Status(500)).await;
    }

    #[tokio::test]
    async fn a_collector_answering_garbage_loses_nothing() {
        nothing_lost(Mode::Garbage).await;
    }

    #[tokio::test]
    async fn a_confirmation_of_another_id_is_not_a_confirmation() {
        nothing_lost(Mode::WrongId).await;
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed_and_loses_nothing() {
        // Were it followed, the second request would land on the same route; the
        // request count of 4 (one per attempt) shows it was not.
        nothing_lost(Mode::Redirect).await;
    }

    #[test]
    fn plain_http_to_another_host_is_refused() {
        let err = Uploader::new("http://collector.example.org/").expect_err("plain HTTP");
        assert_eq!(err.code(), "insecure_url");
        Uploader::new("https://collector.example.org/").expect("HTTPS is fine");
        Uploader::new("http://127.0.0.1:9/").expect("loopback is fine");
        Uploader::new("http://localhost:9/").expect("loopback is fine");
    }

    #[tokio::test]
    async fn a_collector_that_is_down_loses_nothing() {
        let dir = TempDir::new("report-down");
        let (store, ids) = store_with_two(&dir);
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let sleeps = Arc::new(Recorder::default());
        let up = uploader(&format!("http://127.0.0.1:{port}"), &sleeps);
        let s = up.upload_pending(&store, &clock()).await;
        assert_eq!(s.error.map(|e| e.code()), Some("collector"));
        assert_eq!((s.sent.len(), s.remaining), (0, 2));
        assert_eq!(sleeps.0.lock().expect("lock").len(), 3);
        assert_eq!(store.pending_ids().expect("pending"), ids);
    }

    #[tokio::test]
    async fn a_refused_document_is_not_retried_and_stays_pending() {
        let dir = TempDir::new("report-400");
        let (store, ids) = store_with_two(&dir);
        let (url, fake) = fake_collector().await;
        *fake.mode.lock().expect("lock") = Some(Mode::Status(400));
        let sleeps = Arc::new(Recorder::default());
        let s = uploader(&url, &sleeps)
            .upload_pending(&store, &clock())
            .await;
        assert!(s.error.is_none());
        assert_eq!(s.rejected.iter().map(|r| r.0).collect::<Vec<_>>(), ids);
        assert_eq!(s.remaining, 2);
        assert_eq!(*fake.requests.lock().expect("lock"), 2, "one request each");
        assert!(sleeps.0.lock().expect("lock").is_empty());
    }

    #[test]
    fn a_bad_collector_url_is_refused() {
        let err = Uploader::new("ftp://example.org").expect_err("not http");
        assert_eq!(err.code(), "invalid_url");
    }
}
