//! `ispeed auto`: the phone's background wake ([`Session::wake_with`]) in a loop on the
//! desktop. Sleeps until the next wake, measures when the policy says so, uploads, and
//! stores every outcome in the SQLite store, which is also the policy's only memory
//! (with the install id that seeds the spacing): a restarted loop carries on where it
//! stopped.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{Duration, NaiveTime};
use clap::Args;
use ispeed_core::measure::Silent;
use ispeed_core::network::Transport;
use ispeed_core::profile::Profile;
use ispeed_core::schedule::auto::AutoPolicy;
use ispeed_core::schedule::parse_time_zone;
use ispeed_core::session::{MeasurePlan, Server, Session, SessionOptions};
use ispeed_core::{NetworkContext, Platform};
use tokio_util::sync::CancellationToken;

/// The loop wakes at least this often, so a clock or time-zone change is noticed
/// without waiting out a long sleep computed on the old clock.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Arguments of `ispeed auto`.
#[derive(Debug, Clone, Args)]
pub struct AutoArgs {
    /// Base URL of the measurement server, e.g. http://127.0.0.1:8080.
    #[arg(long, required_unless_present = "profile", conflicts_with = "profile")]
    pub server: Option<String>,
    /// Deployment profile: its servers (the nearest is measured), collector (each
    /// wake uploads), time zone and auto-measure data budgets.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
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
    /// Seed of the random spacing (by default derived from the store's install id,
    /// as on the phone, so a restarted loop keeps its spacing).
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
    p.validate().map_err(|e| e.to_string())?;
    Ok(p)
}

/// The system's IANA zone, when it can be read.
fn system_time_zone() -> Option<String> {
    iana_time_zone::get_timezone()
        .ok()
        .filter(|n| n.parse::<chrono_tz::Tz>().is_ok())
}

/// The desktop platform as the auto loop sees it: `--tz` or the system's zone, and
/// under `--assume-cellular` a cellular network.
struct AutoPlatform {
    inner: Box<dyn Platform>,
    time_zone: Option<String>,
    assume_cellular: bool,
}

impl Platform for AutoPlatform {
    fn network(&self) -> NetworkContext {
        let n = self.inner.network();
        if self.assume_cellular {
            NetworkContext {
                transport: Transport::Cellular,
                wifi_connected: false,
                ..n
            }
        } else {
            n
        }
    }
    fn interface_counters(
        &self,
        interface: &str,
    ) -> Option<ispeed_core::network::InterfaceCounters> {
        self.inner.interface_counters(interface)
    }
    fn battery(&self) -> Option<ispeed_core::platform::Battery> {
        self.inner.battery()
    }
    fn device(&self) -> ispeed_core::platform::DeviceInfo {
        self.inner.device()
    }
    fn time_zone(&self) -> Option<String> {
        self.time_zone.clone()
    }
}

/// `ispeed auto`: the session's background wake in a loop, as the phone's worker
/// runs it (decision, measurement, upload, next wake), until Ctrl-C or `--max-runs`.
pub async fn run(args: AutoArgs) -> Result<(), String> {
    let mut options = SessionOptions {
        auto_policy: policy(&args)?,
        auto_seed: args.seed,
        ..SessionOptions::default()
    };
    let tz_name = match &args.tz {
        Some(name) => Some(
            parse_time_zone(name)
                .map_err(|e| e.to_string())?
                .name()
                .to_owned(),
        ),
        None => None,
    };
    let (route_to, target) = match (&args.server, &args.profile) {
        (Some(server), _) => (server.clone(), server.clone()),
        (None, Some(path)) => {
            let profile = Profile::load(path).map_err(|e| e.to_string())?;
            let first = profile
                .servers
                .first()
                .map(|c| c.url.clone())
                .or_else(|| profile.server_list_url.clone())
                .unwrap_or_else(|| profile.collector.clone());
            let label = format!("the nearest server of {}", profile.campaign);
            options.profile = Some(profile);
            (first, label)
        }
        (None, None) => return Err("give --server or --profile".to_owned()),
    };
    let time_zone = tz_name.or_else(|| {
        if options.profile.is_some() {
            None // the profile's zone
        } else {
            system_time_zone()
        }
    });
    let platform = Arc::new(AutoPlatform {
        inner: crate::platform::desktop(&route_to, None).await?,
        time_zone,
        assume_cellular: args.assume_cellular,
    });
    // Opened first: a database that cannot be used stops us before any data is spent.
    let session =
        Session::open_db(&args.db.path(), platform, options).map_err(|e| e.to_string())?;
    let tz = session.time_zone().map_err(|e| e.to_string())?;
    let plan = MeasurePlan {
        server: args.server.as_ref().map(|url| Server {
            url: url.clone(),
            protocol: ispeed_core::protocol::ProtocolKind::Ispeed,
        }),
        // A lab flag: the desktop is taken to be the phone's cellular link.
        policy: args
            .assume_cellular
            .then_some(ispeed_core::network::NetworkPolicy::AnyNetwork),
        ..MeasurePlan::default()
    };
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    eprintln!(
        "auto: measuring {target} in {}, active {}; Ctrl-C to stop",
        tz.name(),
        args.active
    );
    let (mut runs, mut checks) = (0u32, 0u32);
    while !cancel.is_cancelled() && args.max_runs.is_none_or(|max| runs < max) {
        let report = session
            .wake_with(plan.clone(), Some(true), &Silent, &cancel)
            .await;
        checks += 1;
        let now = session.now();
        if let Some(d) = &report.decision {
            let verb = if d.run { "RUN " } else { "skip" };
            eprintln!(
                "{}  {verb}  {} ({})",
                stamp(now, tz),
                d.message,
                d.reason.code()
            );
        }
        match (&report.measurement, &report.error) {
            (Some(r), _) => {
                runs += 1;
                eprintln!(
                    "{}  done  down {:.1} Mbit/s, up {:.1} Mbit/s, {:.1} MB{}",
                    stamp(now, tz),
                    r.download.as_ref().map_or(0.0, |d| d.mbps),
                    r.upload.as_ref().map_or(0.0, |u| u.mbps),
                    (r.download.as_ref().map_or(0, |d| d.bytes)
                        + r.upload.as_ref().map_or(0, |u| u.bytes)) as f64
                        / 1e6,
                    if r.valid { "" } else { " (invalid)" }
                );
            }
            (None, Some(e)) => eprintln!("{}  fail  {e}", stamp(now, tz)),
            (None, None) => {}
        }
        if !report.upload.sent.is_empty() {
            eprintln!(
                "{}  sent  {} sample(s)",
                stamp(now, tz),
                report.upload.sent.len()
            );
        }
        if args.max_runs.is_some_and(|max| runs >= max) {
            break;
        }
        let next = report.next_wake_at.unwrap_or(now + Duration::minutes(15));
        eprintln!("{}  next check {}", stamp(now, tz), stamp(next, tz));
        let wait = (next - now).to_std().unwrap_or_default().min(MAX_SLEEP);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = cancel.cancelled() => {}
        }
    }
    watcher.abort();
    eprintln!("auto: {runs} measurement(s), {checks} check(s)");
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
            server: Some("http://127.0.0.1:1".to_owned()),
            profile: None,
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
