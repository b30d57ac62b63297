//! `ispeed auto`: the real auto-measure loop on the desktop. Sleeps until the policy's
//! next check, measures when due, and stores every outcome in the SQLite store, which
//! is also the policy's only memory: a restarted loop carries on where it stopped.

use std::ops::ControlFlow;

use chrono::{Duration, NaiveTime};
use clap::Args;
use ispeed_core::measure::Silent;
use ispeed_core::network::Transport;
use ispeed_core::schedule::auto::{AutoPolicy, Decision, run_loop};
use ispeed_core::schedule::{HISTORY_WINDOW, PastRun, PlatformState, parse_time_zone};
use ispeed_core::{Clock, MeasureRequest, NetworkContext, SystemClock};
use tokio_util::sync::CancellationToken;

/// The loop wakes at least this often, so a clock or time-zone change is noticed
/// without waiting out a long sleep computed on the old clock.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Arguments of `ispeed auto`.
#[derive(Debug, Clone, Args)]
pub struct AutoArgs {
    /// Base URL of the measurement server, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub server: String,
    /// Stop after this many measurements (runs until Ctrl-C without it).
    #[arg(long)]
    pub max_runs: Option<u32>,
    /// Time zone for active hours and days (IANA name); the system's by default.
    #[arg(long)]
    pub tz: Option<String>,
    /// Active hours, local, `HH:MM-HH:MM`.
    #[arg(long, default_value = "08:00-21:00")]
    pub active: String,
    /// Mean spacing between runs, minutes of active time (default 480).
    #[arg(long)]
    pub mean_minutes: Option<i64>,
    /// Shortest spacing between runs, minutes (default 60).
    #[arg(long)]
    pub min_minutes: Option<i64>,
    /// Seed of the random spacing (random by default).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Treat this machine's network as cellular (a lab behind a cellular modem or
    /// router, where the desktop cannot tell); without it the policy refuses to run on
    /// anything but cellular.
    #[arg(long)]
    pub assume_cellular: bool,
    #[command(flatten)]
    pub db: crate::db::DbArg,
}

fn parse_active(s: &str) -> Result<(NaiveTime, NaiveTime), String> {
    let bad = || format!("--active must look like 08:00-21:00, got {s:?}");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").map_err(|_| bad())?;
    let b = NaiveTime::parse_from_str(b.trim(), "%H:%M").map_err(|_| bad())?;
    Ok((a, b))
}

fn policy(args: &AutoArgs) -> Result<AutoPolicy, String> {
    let mut p = AutoPolicy::default();
    (p.active_start, p.active_end) = parse_active(&args.active)?;
    if let Some(m) = args.mean_minutes {
        p.mean_interval = Duration::minutes(m);
    }
    if let Some(m) = args.min_minutes {
        p.min_interval = Duration::minutes(m);
    }
    p.seed = args.seed.unwrap_or_else(rand_seed);
    p.validate().map_err(|e| e.to_string())?;
    Ok(p)
}

/// A seed that differs between runs and machines, without a dependency: the point is
/// only that two desktops started together do not draw the same spacings.
fn rand_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(SystemClock.now().timestamp_nanos_opt().unwrap_or_default());
    h.finish()
}

/// The system's IANA zone, or UTC when it cannot be read.
fn system_time_zone() -> chrono_tz::Tz {
    iana_time_zone::get_timezone()
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(chrono_tz::UTC)
}

/// `ispeed auto`.
pub async fn run(args: AutoArgs) -> Result<(), String> {
    let policy = policy(&args)?;
    let tz = match &args.tz {
        Some(name) => parse_time_zone(name).map_err(|e| e.to_string())?,
        None => system_time_zone(),
    };
    let platform = crate::platform::desktop(&args.server, None).await?;
    let observe = || {
        let mut state = PlatformState::observe(platform.as_ref(), tz);
        if args.assume_cellular {
            state.network = NetworkContext {
                transport: Transport::Cellular,
                wifi_connected: false,
                ..state.network
            };
        }
        state
    };
    // Opened first: a database that cannot be used stops us before any data is spent.
    let store = args.db.open()?;
    // Stored documents keep the transport as it was; under --assume-cellular the
    // policy is told every run was cellular, so its budgets count them.
    let history = || -> ispeed_core::Result<Vec<PastRun>> {
        let mut runs = store.past_runs(SystemClock.now() - HISTORY_WINDOW)?;
        if args.assume_cellular {
            for r in &mut runs {
                r.transport = Transport::Cellular;
            }
        }
        Ok(runs)
    };
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    eprintln!(
        "auto: measuring {} in {}, active {}; Ctrl-C to stop",
        args.server,
        tz.name(),
        args.active
    );
    let clock = SystemClock;
    let outcome = run_loop(
        &policy,
        &clock,
        observe,
        history,
        async |decision: &Decision| {
            let at = clock.now();
            eprintln!("{}  RUN   {}", stamp(at, tz), decision.message);
            let mut request = MeasureRequest::new(args.server.clone());
            request.config = policy.measure_config();
            // A lab flag: the desktop is taken to be the phone's cellular link.
            if args.assume_cellular {
                request.policy = ispeed_core::network::NetworkPolicy::AnyNetwork;
            }
            let outcome =
                ispeed_core::measure(&request, platform.as_ref(), &clock, &Silent, &cancel).await;
            let mode = ispeed_core::participant::MeasureMode::Auto;
            match crate::db::record(&store, &request, platform.as_ref(), mode, outcome) {
                Ok(r) => eprintln!(
                    "{}  done  down {:.1} Mbit/s, up {:.1} Mbit/s, {:.1} MB{}",
                    stamp(clock.now(), tz),
                    r.download.as_ref().map_or(0.0, |d| d.mbps),
                    r.upload.as_ref().map_or(0.0, |u| u.mbps),
                    (r.download.as_ref().map_or(0, |d| d.bytes)
                        + r.upload.as_ref().map_or(0, |u| u.bytes)) as f64
                        / 1e6,
                    if r.valid { "" } else { " (invalid)" }
                ),
                Err(e) => eprintln!("{}  fail  {e}", stamp(clock.now(), tz)),
            }
        },
        async |decision: &Decision| {
            let now = clock.now();
            eprintln!(
                "{}  skip  {} ({}); next check {}",
                stamp(now, tz),
                decision.message,
                decision.reason.code(),
                stamp(decision.next_check_at, tz)
            );
            let wait = (decision.next_check_at - now)
                .to_std()
                .unwrap_or_default()
                .min(MAX_SLEEP);
            tokio::select! {
                () = tokio::time::sleep(wait) => ControlFlow::Continue(()),
                () = cancel.cancelled() => ControlFlow::Break(()),
            }
        },
        args.max_runs,
    )
    .await;
    watcher.abort();
    let summary = outcome.map_err(|e| e.to_string())?;
    eprintln!(
        "auto: {} measurement(s), {} check(s)",
        summary.runs, summary.checks
    );
    Ok(())
}

fn stamp(t: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_hours_parse_or_explain() {
        assert!(parse_active("08:00-21:00").is_ok());
        assert!(parse_active("8-21").is_err());
        let args = AutoArgs {
            server: "http://127.0.0.1:1".to_owned(),
            max_runs: None,
            tz: None,
            active: "21:00-08:00".to_owned(),
            mean_minutes: None,
            min_minutes: None,
            seed: Some(1),
            assume_cellular: false,
            db: crate::db::DbArg { db: None },
        };
        assert!(
            policy(&args).is_err(),
            "windows across midnight are refused"
        );
    }
}
