//! `ispeed measure`: one measurement against a server.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ispeed_core::measure::{ProgressListener, Silent};
use ispeed_core::network::NetworkPolicy;
use ispeed_core::participant::MeasureMode;
use ispeed_core::profile::Profile;
use ispeed_core::protocol::detect::{self, ProtocolChoice};
use ispeed_core::report::Uploader;
use ispeed_core::session::{MeasurePlan, Server, Session, SessionOptions, data_budget};
use ispeed_core::{Error, MeasureConfig, MeasurementResult, Platform};
use tokio_util::sync::CancellationToken;

use crate::emitter;

/// Options shared by `measure` and `demo`: how to measure and how to show it.
#[derive(Debug, Clone, Args)]
pub struct MeasureOptions {
    /// Print only the result document (JSON) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Parallel TCP streams for download and upload (1-16).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=16))]
    pub streams: Option<u8>,
    /// Time budget of each transfer phase, seconds.
    #[arg(long)]
    pub max_seconds: Option<f64>,
    /// Mobile data budget of the download, megabytes (10^6 bytes); the upload gets a
    /// third of it (at least 1 MB): the phone's rule, capped by a profile's budget.
    #[arg(long)]
    pub max_mbytes: Option<f64>,
    /// Allow plain HTTP to a server that is not on this machine (labs only).
    #[arg(long)]
    pub allow_plain_http: bool,
    #[command(flatten)]
    pub db: crate::db::DbArg,
    #[command(flatten)]
    pub campaign: crate::participation::ParticipationArgs,
}

impl MeasureOptions {
    /// The engine configuration these options describe.
    pub fn config(&self) -> Result<MeasureConfig, String> {
        let mut c = MeasureConfig {
            allow_plain_http: self.allow_plain_http,
            ..MeasureConfig::default()
        };
        if let Some(s) = self.streams {
            c = c.with_streams(s);
        }
        if let Some(s) = self.max_seconds {
            let d = Duration::try_from_secs_f64(s)
                .map_err(|_| format!("--max-seconds must be a positive number, got {s}"))?;
            c = c.with_max_duration(d);
        }
        if let Some(m) = self.max_mbytes {
            if !(m.is_finite() && m > 0.0) {
                return Err(format!("--max-mbytes must be a positive number, got {m}"));
            }
            // The phone's rule (its `max_megabytes` setting), not a per-phase cap.
            c = data_budget(c, (m * 1e6) as u64);
        }
        Ok(c)
    }

    /// The session options of these flags: `--collector` receives the samples.
    /// Checked here, so a mistyped URL stops the command before any data is spent.
    pub fn session_options(&self) -> Result<SessionOptions, String> {
        if let Some(url) = &self.campaign.collector {
            Uploader::new(url).map_err(|e| e.to_string())?;
        }
        Ok(SessionOptions {
            collector: self.campaign.collector.clone(),
            ..SessionOptions::default()
        })
    }
}

/// Arguments of `ispeed measure`.
#[derive(Debug, Clone, Args)]
pub struct MeasureArgs {
    /// Base URL of the measurement server, e.g. http://127.0.0.1:8080.
    #[arg(
        long,
        required_unless_present_any = ["list", "profile"],
        conflicts_with_all = ["list", "profile"]
    )]
    pub server: Option<String>,
    /// Deployment profile (`ispeed.profile/1`, docs/profile.md): its servers are
    /// ranked by concurrent pings and the nearest is measured; the sample goes to its
    /// collector (or `--collector`), within its data budget.
    #[arg(long, value_name = "FILE", conflicts_with = "list")]
    pub profile: Option<PathBuf>,
    /// Measure against the nearest server of this list (our JSON format or
    /// LibreSpeed's); each entry's own protocol is used.
    #[arg(long, value_name = "FILE")]
    pub list: Option<PathBuf>,
    /// Protocol the server speaks: ispeed, librespeed, cloudflare or auto.
    #[arg(long, default_value = "ispeed")]
    pub protocol: ProtocolChoice,
    /// Measure on any network, not only cellular with Wi-Fi off (labs, loopback).
    #[arg(long)]
    pub allow_any_network: bool,
    /// Bind every test socket to this network interface (e.g. a USB modem's wwan0).
    #[arg(long, value_name = "IF")]
    pub interface: Option<String>,
    #[command(flatten)]
    pub options: MeasureOptions,
}

/// Runs the session's "measure now" with progress on stderr, cancelled by Ctrl-C. The
/// session stores the outcome (the result, or the failure with its code).
pub async fn measure_in(
    session: &Session,
    plan: MeasurePlan,
    config: &MeasureConfig,
    json: bool,
) -> Result<MeasurementResult, String> {
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    let listener: Box<dyn ProgressListener> = if json {
        Box::new(Silent)
    } else {
        Box::new(emitter::Human::new(config))
    };
    let measured = session.measure(plan, listener.as_ref(), &cancel).await;
    drop(listener);
    watcher.abort();
    measured.map_err(|e| lab_hint(&e))
}

/// The message of a measurement's error, with the lab flag that lifts the network
/// policy when that is what refused it.
fn lab_hint(e: &Error) -> String {
    match e {
        Error::NotCellular { .. } | Error::WifiOn { .. } => {
            format!("{e}; for a lab run, pass --allow-any-network")
        }
        e => e.to_string(),
    }
}

/// Prints a finished result: the document alone with `json`, else a summary.
pub fn print_result(result: &MeasurementResult, json: bool) -> Result<(), String> {
    if json {
        let doc = serde_json::to_string_pretty(result).map_err(|e| e.to_string())?;
        println!("{doc}");
    } else {
        print!("{}", emitter::summary(result));
    }
    Ok(())
}

/// After a measurement: the session's upload run, when the session has a collector
/// (`--collector`, or the profile's). The summary goes to stderr (stdout carries the
/// result); a failure leaves the samples queued for `ispeed upload`.
pub async fn upload_after(session: &Session) -> Result<(), String> {
    let Some(uploader) = session.uploader().map_err(|e| e.to_string())? else {
        return Ok(());
    };
    let label = uploader.results_url().to_string();
    super::upload::report(&session.upload(true).await, &label, false)
}

/// The network policy of `--allow-any-network`.
fn policy(allow_any_network: bool) -> NetworkPolicy {
    if allow_any_network {
        NetworkPolicy::AnyNetwork
    } else {
        NetworkPolicy::CellularOnly
    }
}

/// `ispeed measure`: the session's "measure now" against `--server`, the nearest of
/// `--list` or the nearest of the profile's servers; stored in `--db`; uploaded to
/// `--collector` (or the profile's collector).
pub async fn run(args: MeasureArgs) -> Result<(), String> {
    if let Some(path) = args.profile.clone() {
        return run_with_profile(args, &path).await;
    }
    let mut config = args.options.config()?;
    config.interface = args.interface.clone();
    let options = args.options.session_options()?;
    let list = match &args.list {
        Some(path) => Some(super::servers::load_list(Some(path))?),
        None => None,
    };
    let route_to = match (&args.server, &list) {
        (Some(server), _) => {
            // Before detection and the platform's route lookup: not even a DNS query
            // to a server that would be refused.
            ispeed_core::protocol::check_transport(server, config.allow_plain_http)
                .map_err(|e| e.to_string())?;
            server.clone()
        }
        // A desktop pings and measures the list's servers through one interface: the
        // route to the first.
        (None, Some(list)) => list
            .candidates
            .first()
            .map(|c| c.url.clone())
            .ok_or_else(|| format!("{}: it holds no usable server", display(&args.list)))?,
        (None, None) => return Err("give --server, --list or --profile".to_owned()),
    };
    let platform: Arc<dyn Platform> =
        Arc::from(crate::platform::desktop(&route_to, args.interface.clone()).await?);
    // Opened before any request: a database that cannot be used, or a second
    // measurement of it, stops us before any data is spent.
    let session = Session::open_db(&args.options.db.path(), Arc::clone(&platform), options)
        .map_err(|e| e.to_string())?;
    args.options.campaign.apply_area(session.store())?;
    let policy = policy(args.allow_any_network);
    let server = match (&args.server, args.protocol) {
        (Some(url), ProtocolChoice::Fixed(protocol)) => Some(Server {
            url: url.clone(),
            protocol,
        }),
        (Some(url), ProtocolChoice::Auto) => {
            // Detection sends requests: a network the policy refuses moves no bytes.
            policy
                .check(&platform.network())
                .map_err(|v| lab_hint(&Error::from(v)))?;
            let found = detect::detect(url, &config)
                .await
                .map_err(|e| e.to_string())?;
            if !args.options.json {
                eprintln!("{} speaks the {} protocol", found.base, found.kind);
            }
            Some(Server {
                url: found.base,
                protocol: found.kind,
            })
        }
        (None, _) => None,
    };
    let candidates = list.map(|l| l.candidates);
    let ranked = candidates.as_ref().map_or(0, Vec::len);
    let plan = MeasurePlan {
        server,
        candidates,
        mode: Some(MeasureMode::Manual),
        config: Some(config.clone()),
        policy: Some(policy),
    };
    let result = measure_in(&session, plan, &config, args.options.json).await?;
    if ranked > 0 && !args.options.json {
        eprintln!(
            "measured the nearest of {ranked} servers: {}",
            result.server.url
        );
    }
    print_result(&result, args.options.json)?;
    upload_after(&session).await
}

fn display(path: &Option<PathBuf>) -> String {
    path.as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Opens the session of `--db` under the profile in `path`, on the desktop platform
/// of the route to the profile's first server (a desktop measures its servers through
/// one interface).
pub async fn profile_session(
    path: &Path,
    db: &crate::db::DbArg,
    interface: Option<String>,
    options: SessionOptions,
) -> Result<(Session, Profile), String> {
    let profile = Profile::load(path).map_err(|e| e.to_string())?;
    let route_to = profile
        .servers
        .first()
        .map(|c| c.url.clone())
        .or_else(|| profile.server_list_url.clone())
        .unwrap_or_else(|| profile.collector.clone());
    let platform: Arc<dyn Platform> =
        Arc::from(crate::platform::desktop(&route_to, interface).await?);
    let options = SessionOptions {
        profile: Some(profile.clone()),
        ..options
    };
    let session = Session::open_db(&db.path(), platform, options).map_err(|e| e.to_string())?;
    Ok((session, profile))
}

/// `ispeed measure --profile FILE`: the session's "measure now", as the phone runs it
/// (server ranking, the profile's budget, the store), then the upload to the
/// profile's collector (or `--collector`).
async fn run_with_profile(args: MeasureArgs, path: &Path) -> Result<(), String> {
    let mut config = args.options.config()?;
    config.interface = args.interface.clone();
    let options = args.options.session_options()?;
    let (session, profile) =
        profile_session(path, &args.options.db, args.interface.clone(), options).await?;
    args.options.campaign.apply_area(session.store())?;
    eprintln!("campaign: {}", profile.campaign);
    let plan = MeasurePlan {
        mode: Some(MeasureMode::Manual),
        config: Some(config.clone()),
        policy: Some(policy(args.allow_any_network)),
        ..MeasurePlan::default()
    };
    let result = measure_in(&session, plan, &config, args.options.json).await?;
    print_result(&result, args.options.json)?;
    upload_after(&session).await
}
