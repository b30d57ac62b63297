//! The citizen's use cases, written once for every front end.
//!
//! A [`Session`] is one installation at work: its store (the phone's database, the
//! CLI's `--db`), its settings (kept in that store), the deployment profile it was
//! built with, the platform it runs on and the clock it reads. It owns:
//!
//! - **measure now** ([`Session::measure`]): one measurement at a time per store,
//!   whoever starts the second one (the screen while the worker measures, another
//!   process): [`Error::Busy`], never two measurements sharing a cell. With no server
//!   set, the profile's servers are ranked by concurrent pings and the nearest is
//!   measured. Every outcome is stored, then pending samples are uploaded.
//! - **the background wake** ([`Session::wake`], Android's worker and `ispeed auto`):
//!   the auto-measure decision, the measurement, the upload, and when to wake next;
//!   the spacing draws are seeded by the install id, so a restart keeps the spacing.
//! - **uploading** ([`Session::upload`]): after every measurement and on every wake,
//!   with a backoff between runs kept in the store, HTTPS only (plain HTTP to this
//!   machine), redirects refused; one upload at a time per store.
//! - **the iOS routine** ([`Session::refresh_routine`]): a week of reminders with
//!   their text keys, re-planned on every call, and the upload of what is pending.
//! - **settings**, in the store only, and **one data-budget rule**
//!   ([`settings::data_budget`], capped by the profile) for the phone and the CLI.
//!
//! `core::ffi`'s `Engine` and the CLI's `measure` (with `--server`, `--list` or
//! `--profile`), `demo`, `auto` and `upload` are forwards to it.

mod lock;
pub mod routine;
pub mod settings;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use routine::Reminder;
pub use settings::{Server, Settings, data_budget, manual_budget};

use crate::clock::{Clock, SystemClock};
use crate::config::MeasureConfig;
use crate::error::{Error, Result};
use crate::measure::{MeasureRequest, Phases, ProgressListener};
use crate::network::NetworkPolicy;
use crate::participant::MeasureMode;
use crate::platform::Platform;
use crate::profile::Profile;
use crate::report::{RetryPolicy, Uploader};
use crate::result::MeasurementResult;
use crate::schedule::auto::{AutoPolicy, Decision};
use crate::schedule::daily::{DailyPolicy, DailyStatus};
use crate::schedule::{HISTORY_WINDOW, PastRun, PlatformState, parse_time_zone};
use crate::servers::{Candidate, SelectionConfig};
use crate::store::Store;
use crate::store::samples::FailedAttempt;

/// The sample database inside an app's data directory.
pub const STORE_FILE: &str = "ispeed.db";

/// Key of the upload backoff in the store.
const UPLOAD_BACKOFF_KEY: &str = "upload_backoff";

/// First pause after an upload run that could not reach the collector.
pub const UPLOAD_BACKOFF_BASE: Duration = Duration::minutes(15);
/// Longest pause between upload runs: a collector down for a day is tried again a
/// few times that day, not at every wake.
pub const UPLOAD_BACKOFF_CAP: Duration = Duration::hours(4);

/// How a session is set up beyond its store and platform.
#[derive(Clone)]
pub struct SessionOptions {
    /// The deployment profile the app was built with, if any.
    pub profile: Option<Profile>,
    /// The clock every decision and time stamp reads.
    pub clock: Arc<dyn Clock>,
    /// Retries inside one upload run.
    pub upload_retry: RetryPolicy,
    /// How the profile's servers are pinged.
    pub selection: SelectionConfig,
    /// The auto-measure policy before the install id's seed and the profile's data
    /// budget are applied (the CLI's `--active` and spacing flags change it).
    pub auto_policy: AutoPolicy,
    /// A fixed seed of the spacing draws instead of the install id's (tests, labs).
    pub auto_seed: Option<u64>,
    /// A collector that overrides the settings' and the profile's (the CLI's
    /// `--collector`).
    pub collector: Option<String>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            profile: None,
            clock: Arc::new(SystemClock),
            upload_retry: RetryPolicy::default(),
            selection: SelectionConfig::default(),
            auto_policy: AutoPolicy::default(),
            auto_seed: None,
            collector: None,
        }
    }
}

impl std::fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionOptions")
            .field("profile", &self.profile)
            .field("upload_retry", &self.upload_retry)
            .field("collector", &self.collector)
            .finish_non_exhaustive()
    }
}

/// What to measure; `None` fields come from the settings and the profile.
#[derive(Debug, Clone, Default)]
pub struct MeasurePlan {
    /// The server; else the nearest of `candidates`, else the settings', else the
    /// nearest of the profile's.
    pub server: Option<Server>,
    /// Servers to rank by concurrent pings when `server` is `None`, in place of the
    /// settings' and the profile's (the CLI's `--list`).
    pub candidates: Option<Vec<Candidate>>,
    /// Who started it (campaign split; auto runs get the auto policy's budgets).
    pub mode: Option<MeasureMode>,
    /// Tunables; by default the settings' (manual) or the auto policy's (auto),
    /// within the profile's data budget either way.
    pub config: Option<MeasureConfig>,
    /// Networks allowed; by default cellular only unless the settings lift it.
    pub policy: Option<NetworkPolicy>,
}

/// What one upload run did.
#[derive(Debug, Default)]
pub struct UploadOutcome {
    /// Samples the collector confirmed, in the order sent.
    pub sent: Vec<uuid::Uuid>,
    /// Samples the collector refused (kept, pending).
    pub rejected: Vec<(uuid::Uuid, String)>,
    /// Samples the collector stored but judged untrustworthy: uploaded, not sent
    /// again, their reason kept (docs/trust.md).
    pub judged_rejected: Vec<(uuid::Uuid, crate::report::RejectReason)>,
    /// Samples still pending.
    pub remaining: usize,
    /// Why the run stopped early (nothing lost).
    pub error: Option<Error>,
    /// The run was not attempted: no collector, another upload running, or the
    /// backoff after failures lasts until this instant.
    pub deferred_until: Option<DateTime<Utc>>,
}

/// What one background wake did.
#[derive(Debug)]
pub struct WakeReport {
    /// The auto-measure decision; `None` when auto-measure is off.
    pub decision: Option<Decision>,
    /// The measurement made, when the decision said to run and it produced a sample.
    pub measurement: Option<MeasurementResult>,
    /// Why the measurement (or, failing that, the upload) failed.
    pub error: Option<Error>,
    /// The upload run of this wake.
    pub upload: UploadOutcome,
    /// When to wake next; `None` when auto-measure is off and nothing is pending.
    pub next_wake_at: Option<DateTime<Utc>>,
}

/// What one refresh of the iOS routine did.
#[derive(Debug)]
pub struct RoutinePlan {
    /// Where today stands against the daily target.
    pub status: DailyStatus,
    /// Every reminder to book now (replacing those booked before), ascending.
    pub reminders: Vec<Reminder>,
    /// The upload run of this refresh.
    pub upload: UploadOutcome,
}

/// The upload backoff between runs, kept in the store.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Backoff {
    failures: u32,
    not_before: Option<DateTime<Utc>>,
}

/// One installation at work (see the module documentation).
pub struct Session {
    store: Store,
    platform: Arc<dyn Platform>,
    options: SessionOptions,
    measure_lock: PathBuf,
    upload_lock: PathBuf,
    /// Serialises settings changes in this process.
    settings_write: Mutex<()>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("store", &self.store.path())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Opens the session of an app's data directory (created when missing): the
    /// store `ispeed.db`, with an earlier version's `settings.json` migrated into it.
    pub fn open_dir(
        dir: &Path,
        platform: Arc<dyn Platform>,
        options: SessionOptions,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Storage {
            path: dir.to_path_buf(),
            detail: format!("cannot create the data directory: {e}"),
        })?;
        let store = Store::open(dir.join(STORE_FILE))?;
        settings::migrate_legacy_file(&store, dir)?;
        Ok(Self::with_store(store, platform, options))
    }

    /// Opens the session of the database at `path` (the CLI's `--db`).
    pub fn open_db(
        path: &Path,
        platform: Arc<dyn Platform>,
        options: SessionOptions,
    ) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Storage {
                path: dir.to_path_buf(),
                detail: format!("cannot create the directory: {e}"),
            })?;
        }
        Ok(Self::with_store(Store::open(path)?, platform, options))
    }

    fn with_store(store: Store, platform: Arc<dyn Platform>, options: SessionOptions) -> Self {
        Self {
            measure_lock: lock::path_beside(store.path(), "measure"),
            upload_lock: lock::path_beside(store.path(), "upload"),
            store,
            platform,
            options,
            settings_write: Mutex::new(()),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The platform.
    pub fn platform(&self) -> &Arc<dyn Platform> {
        &self.platform
    }

    /// The deployment profile, if any.
    pub fn profile(&self) -> Option<&Profile> {
        self.options.profile.as_ref()
    }

    /// Now, on the session's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.options.clock.now()
    }

    /// The current settings.
    pub fn settings(&self) -> Result<Settings> {
        settings::load(&self.store)
    }

    /// Checks and stores new settings; on error nothing changes.
    pub fn update_settings(&self, new: &Settings) -> Result<()> {
        new.validate()?;
        let _one = self
            .settings_write
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        self.store.put_setting(settings::KEY, new)
    }

    /// The time zone days are counted in: the platform's, else the profile's, else UTC.
    pub fn time_zone(&self) -> Result<Tz> {
        match self.platform.time_zone() {
            Some(name) => parse_time_zone(&name),
            None => self
                .profile()
                .map_or(Ok(chrono_tz::UTC), |p| parse_time_zone(&p.time_zone)),
        }
    }

    /// The collector: the options', else the settings', else the profile's; `None`
    /// when none names one.
    pub fn uploader(&self) -> Result<Option<Uploader>> {
        if let Some(url) = &self.options.collector {
            return Ok(Some(
                Uploader::new(url)?.with_policy(self.options.upload_retry)?,
            ));
        }
        let settings = self.settings()?;
        let url = match settings.collector.trim() {
            "" => match self.profile() {
                Some(p) => p.collector.clone(),
                None => return Ok(None),
            },
            url => url.to_owned(),
        };
        Ok(Some(
            Uploader::new(&url)?.with_policy(self.options.upload_retry)?,
        ))
    }

    /// The configuration of a measurement started by hand: the settings' budgets
    /// within the profile's.
    pub fn manual_config(&self) -> Result<MeasureConfig> {
        let settings = self.settings()?;
        let config = settings.measure_config()?;
        Ok(self.capped(config))
    }

    /// `config` within the profile's manual data budget, by the one rule
    /// ([`data_budget`]).
    fn capped(&self, config: MeasureConfig) -> MeasureConfig {
        match self.profile() {
            Some(p) => {
                let cap = u64::from(p.data_budget.manual_megabytes) * 1_000_000;
                if config.download.max_bytes > cap {
                    data_budget(config, cap)
                } else {
                    config
                }
            }
            None => config,
        }
    }

    /// The auto-measure policy of this installation: the options' policy, its spacing
    /// seeded by the install id (phones drift apart, one phone keeps its draws across
    /// restarts), its daily and monthly budgets the profile's.
    pub fn auto_policy(&self) -> Result<AutoPolicy> {
        let mut policy = self.options.auto_policy.clone();
        policy.seed = match self.options.auto_seed {
            Some(seed) => seed,
            None => {
                let (high, low) = self.store.install_id()?.as_u64_pair();
                high ^ low
            }
        };
        if let Some(p) = self.profile() {
            policy.daily_budget_bytes = u64::from(p.data_budget.auto_daily_megabytes) * 1_000_000;
            policy.monthly_budget_bytes =
                u64::from(p.data_budget.auto_monthly_megabytes) * 1_000_000;
        }
        policy.validate()?;
        Ok(policy)
    }

    /// The iOS routine's target and reminder times.
    pub fn daily_policy(&self) -> Result<DailyPolicy> {
        self.settings()?.daily_policy()
    }

    fn history(&self) -> Result<Vec<PastRun>> {
        self.store.past_runs(self.now() - HISTORY_WINDOW)
    }

    /// Whether the phone should measure by itself now, and when to ask again.
    pub fn auto_decision(&self) -> Result<Decision> {
        let policy = self.auto_policy()?;
        let state = PlatformState::observe(self.platform.as_ref(), self.time_zone()?);
        Ok(policy.decide(self.now(), &state, &self.history()?))
    }

    /// Where today stands against the daily target.
    pub fn daily_status(&self) -> Result<DailyStatus> {
        let policy = self.daily_policy()?;
        Ok(policy.status(self.now(), self.time_zone()?, &self.history()?))
    }

    /// The profile's servers: the inline ones, then those of its server list.
    pub async fn profile_servers(&self) -> Result<Vec<Candidate>> {
        let Some(profile) = self.profile() else {
            return Ok(Vec::new());
        };
        let mut servers = profile.servers.clone();
        if let Some(url) = &profile.server_list_url {
            match fetch_list(url).await {
                Ok(list) => servers.extend(list.candidates),
                // The inline servers still work; without them the list's error is
                // the answer.
                Err(e) if servers.is_empty() => return Err(e),
                Err(_) => {}
            }
        }
        Ok(servers)
    }

    /// The server to measure: the nearest of `candidates` when given, else the
    /// settings', else the nearest of the profile's.
    pub async fn choose_server(
        &self,
        config: &MeasureConfig,
        candidates: Option<Vec<Candidate>>,
    ) -> Result<Server> {
        let candidates = match candidates {
            Some(list) => list,
            None => {
                let settings = self.settings()?;
                if !settings.server.url.trim().is_empty() {
                    return Ok(settings.server);
                }
                let servers = self.profile_servers().await?;
                if servers.is_empty() {
                    return Err(Error::InvalidUrl {
                        url: String::new(),
                        reason: "no server is set and no deployment profile names one".to_owned(),
                    });
                }
                servers
            }
        };
        let (best, _) =
            crate::servers::select(&candidates, &self.options.selection, config).await?;
        Ok(Server {
            url: best.candidate.url,
            protocol: best.candidate.protocol,
        })
    }

    /// Measures once (see the module documentation) and stores the outcome; does not
    /// upload (see [`Session::measure_and_upload`]). [`Error::Busy`] when another
    /// measurement of this store is running.
    pub async fn measure(
        &self,
        plan: MeasurePlan,
        listener: &dyn ProgressListener,
        cancel: &CancellationToken,
    ) -> Result<MeasurementResult> {
        let _one_at_a_time = lock::FileLock::try_acquire(&self.measure_lock)?;
        let mode = plan.mode.unwrap_or(MeasureMode::Manual);
        let config = match plan.config {
            Some(c) => self.capped(c),
            None if mode == MeasureMode::Auto => self.auto_policy()?.measure_config(),
            None => self.manual_config()?,
        };
        let policy = match plan.policy {
            Some(p) => p,
            None if self.settings()?.cellular_only => NetworkPolicy::CellularOnly,
            None => NetworkPolicy::AnyNetwork,
        };
        // A network that breaks the policy is refused before any server is pinged.
        if let Err(v) = policy.check(&self.platform.network()) {
            let e = Error::from(v);
            self.record_failure("", &e)?;
            return Err(e);
        }
        let server = match plan.server {
            Some(s) => s,
            None => match self.choose_server(&config, plan.candidates).await {
                Ok(s) => s,
                Err(e) => {
                    self.record_failure("", &e)?;
                    return Err(e);
                }
            },
        };
        let request = MeasureRequest {
            server: server.url,
            protocol: server.protocol,
            config,
            phases: Phases::default(),
            policy,
        };
        let clock = self.options.clock.as_ref();
        let outcome =
            crate::measure(&request, self.platform.as_ref(), clock, listener, cancel).await;
        // Stored before returning, so a sample is kept even when the app dies right
        // after; a failure is recorded too, so the user sees it in the history.
        match outcome {
            Ok(mut result) => {
                self.store.stamp(&mut result, mode)?;
                self.store.save_result(&result)?;
                Ok(result)
            }
            Err(e) => {
                self.record_failure(&request.server, &e)?;
                Err(e)
            }
        }
    }

    fn record_failure(&self, server: &str, error: &Error) -> Result<()> {
        if matches!(error, Error::Busy | Error::Cancelled) {
            return Ok(());
        }
        let failure =
            FailedAttempt::new(self.now(), server, self.platform.network().transport, error);
        self.store.save_failure(&failure)
    }

    /// [`Session::measure`], then an upload run (which may be deferred by the backoff).
    pub async fn measure_and_upload(
        &self,
        plan: MeasurePlan,
        listener: &dyn ProgressListener,
        cancel: &CancellationToken,
    ) -> (Result<MeasurementResult>, UploadOutcome) {
        let measured = self.measure(plan, listener, cancel).await;
        let upload = self.upload(false).await;
        (measured, upload)
    }

    /// Sends pending samples to the collector. Unless `force`, a run is deferred while
    /// the backoff after failed runs lasts (15 min doubling to 4 h); one run at a time
    /// per store. A sample is marked sent only once the collector confirmed it.
    pub async fn upload(&self, force: bool) -> UploadOutcome {
        match self.try_upload(force).await {
            Ok(outcome) => outcome,
            Err(e) => UploadOutcome {
                remaining: self.store.pending_ids().map_or(0, |ids| ids.len()),
                error: Some(e),
                ..UploadOutcome::default()
            },
        }
    }

    async fn try_upload(&self, force: bool) -> Result<UploadOutcome> {
        let pending = self.store.pending_ids()?.len();
        let Some(uploader) = self.uploader()? else {
            return Ok(UploadOutcome {
                remaining: pending,
                ..UploadOutcome::default()
            });
        };
        if pending == 0 {
            return Ok(UploadOutcome::default());
        }
        let backoff: Backoff = self
            .store
            .setting(UPLOAD_BACKOFF_KEY)
            .ok()
            .flatten()
            .unwrap_or_default();
        let now = self.now();
        if let Some(until) = backoff.not_before.filter(|&t| !force && t > now) {
            return Ok(UploadOutcome {
                remaining: pending,
                deferred_until: Some(until),
                ..UploadOutcome::default()
            });
        }
        let _one_at_a_time = match lock::FileLock::try_acquire(&self.upload_lock) {
            Ok(l) => l,
            // Another run is sending the same samples: nothing to add.
            Err(Error::Busy) => {
                return Ok(UploadOutcome {
                    remaining: pending,
                    deferred_until: Some(now),
                    ..UploadOutcome::default()
                });
            }
            Err(e) => return Err(e),
        };
        let summary = uploader
            .upload_pending(&self.store, self.options.clock.as_ref())
            .await;
        let next = match &summary.error {
            None => Backoff::default(),
            Some(_) => {
                let failures = backoff.failures.saturating_add(1);
                let pause = UPLOAD_BACKOFF_BASE
                    .checked_mul(1 << (failures - 1).min(8))
                    .unwrap_or(UPLOAD_BACKOFF_CAP)
                    .min(UPLOAD_BACKOFF_CAP);
                Backoff {
                    failures,
                    not_before: Some(self.now() + pause),
                }
            }
        };
        self.store.put_setting(UPLOAD_BACKOFF_KEY, &next)?;
        Ok(UploadOutcome {
            sent: summary.sent,
            rejected: summary.rejected,
            judged_rejected: summary.judged_rejected,
            remaining: summary.remaining,
            error: summary.error,
            deferred_until: next.not_before,
        })
    }

    /// One background wake (Android's worker): when auto-measure is on in the
    /// settings, the decision and the measurement it asks for; then an upload run;
    /// then when to wake next. Never fails: what went wrong is in the report, and the
    /// next wake time is always set while auto-measure is on.
    pub async fn wake(
        &self,
        listener: &dyn ProgressListener,
        cancel: &CancellationToken,
    ) -> WakeReport {
        self.wake_with(MeasurePlan::default(), None, listener, cancel)
            .await
    }

    /// [`Session::wake`] with the measurement's server, tunables or network policy
    /// given by `plan` (its mode is always `auto`), and auto-measure forced on or off
    /// by `auto` instead of the settings (`ispeed auto` forces it on).
    pub async fn wake_with(
        &self,
        plan: MeasurePlan,
        auto: Option<bool>,
        listener: &dyn ProgressListener,
        cancel: &CancellationToken,
    ) -> WakeReport {
        let auto = match auto {
            Some(on) => Ok(on),
            None => self.settings().map(|s| s.auto_measure),
        };
        let mut report = WakeReport {
            decision: None,
            measurement: None,
            error: None,
            upload: UploadOutcome::default(),
            next_wake_at: None,
        };
        match auto {
            Ok(true) => match self.auto_decision() {
                Ok(decision) => {
                    if decision.run {
                        let plan = MeasurePlan {
                            mode: Some(MeasureMode::Auto),
                            ..plan
                        };
                        match self.measure(plan, listener, cancel).await {
                            Ok(result) => report.measurement = Some(result),
                            Err(e) => report.error = Some(e),
                        }
                    }
                    // Asked again after the run: the history now holds it.
                    let next = if decision.run {
                        self.auto_decision()
                            .map_or(decision.next_check_at, |d| d.next_check_at)
                    } else {
                        decision.next_check_at
                    };
                    report.next_wake_at = Some(next);
                    report.decision = Some(decision);
                }
                Err(e) => {
                    report.error = Some(e);
                    report.next_wake_at = Some(self.now() + RETRY_AFTER_ERROR);
                }
            },
            Ok(false) => {}
            Err(e) => report.error = Some(e),
        }
        report.upload = self.upload(false).await;
        if report.upload.remaining > 0 && report.next_wake_at.is_none() {
            report.next_wake_at = Some(
                report
                    .upload
                    .deferred_until
                    .unwrap_or_else(|| self.now() + UPLOAD_BACKOFF_BASE),
            );
        }
        if report.error.is_none() {
            report.error = report.upload.error.take();
        }
        report
    }

    /// Refreshes the iOS routine: an upload run, then where today stands and every
    /// reminder of the next seven days, to book in place of the earlier ones.
    pub async fn refresh_routine(&self) -> Result<RoutinePlan> {
        let upload = self.upload(false).await;
        let policy = self.daily_policy()?;
        let tz = self.time_zone()?;
        let now = self.now();
        let status = policy.status(now, tz, &self.history()?);
        let reminders = routine::plan(&policy, now, tz, status.remaining == 0);
        Ok(RoutinePlan {
            status,
            reminders,
            upload,
        })
    }
}

/// When a wake could not even decide (the store failed), the next try.
const RETRY_AFTER_ERROR: Duration = Duration::minutes(15);

/// Fetches and parses a server list (HTTPS, or plain HTTP on this machine).
async fn fetch_list(url: &str) -> Result<crate::servers::ServerList> {
    let parsed = reqwest::Url::parse(url).map_err(|e| Error::InvalidUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    crate::http::check_transport_security(&parsed, false)?;
    let client = crate::http::client(&MeasureConfig::default())?;
    let resp = client
        .get(parsed)
        .send()
        .await
        .map_err(|e| Error::ServerList(format!("cannot fetch {url}: {e}")))?;
    if !resp.status().is_success() {
        return Err(Error::ServerList(format!(
            "{url} answered HTTP {}",
            resp.status()
        )));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| Error::ServerList(format!("cannot read {url}: {e}")))?;
    crate::servers::parse_list(&String::from_utf8_lossy(&body))
}

#[cfg(test)]
mod tests;
