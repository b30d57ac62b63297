//! `ispeed measure`: one measurement against a server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ispeed_core::measure::{ProgressListener, Silent};
use ispeed_core::network::NetworkPolicy;
use ispeed_core::participant::MeasureMode;
use ispeed_core::profile::Profile;
use ispeed_core::protocol::detect::ProtocolChoice;
use ispeed_core::session::{MeasurePlan, Session, SessionOptions};
use ispeed_core::{Error, MeasureConfig, MeasureRequest, MeasurementResult, Platform, SystemClock};
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
    /// Byte budget of each transfer phase, megabytes (10^6 bytes).
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
            c = c.with_max_bytes((m * 1e6) as u64);
        }
        Ok(c)
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

/// Runs one measurement with progress on stderr, cancelled by Ctrl-C.
pub async fn run_measurement(
    request: MeasureRequest,
    platform: &dyn Platform,
    json: bool,
    store: &ispeed_core::store::Store,
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
        Box::new(emitter::Human::new(&request.config))
    };
    let result =
        ispeed_core::measure(&request, platform, &SystemClock, listener.as_ref(), &cancel).await;
    drop(listener);
    watcher.abort();
    let not_cellular = matches!(result, Err(Error::NotCellular { .. }));
    crate::db::record(store, &request, platform, MeasureMode::Manual, result).map_err(|e| {
        if not_cellular {
            format!("{e}; for a lab run, pass --allow-any-network")
        } else {
            e
        }
    })
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

/// `ispeed measure`.
pub async fn run(args: MeasureArgs) -> Result<(), String> {
    if let Some(path) = args.profile.clone() {
        return run_with_profile(args, &path).await;
    }
    // Opened first: a database that cannot be used stops us before any data is spent.
    let store = args.options.db.open()?;
    args.options.campaign.apply_area(&store)?;
    let mut config = args.options.config()?;
    config.interface = args.interface.clone();
    let policy = if args.allow_any_network {
        NetworkPolicy::AnyNetwork
    } else {
        NetworkPolicy::CellularOnly
    };
    let ensure_network = async |url: &str| -> Result<(), String> {
        let platform = crate::platform::desktop(url, args.interface.clone()).await?;
        policy.check(&platform.network()).map_err(|v| {
            format!(
                "{}; for a lab run, pass --allow-any-network",
                Error::from(v)
            )
        })
    };
    if let Some(server) = args.server.as_deref() {
        // Before detection and the platform's route lookup: not even a DNS query to a
        // server that would be refused.
        ispeed_core::protocol::check_transport(server, config.allow_plain_http)
            .map_err(|e| e.to_string())?;
    }
    let (server, protocol) = super::servers::resolve(
        args.server.as_deref(),
        args.list.as_deref(),
        args.protocol,
        &config,
        args.options.json,
        ensure_network,
    )
    .await?;
    let mut request = MeasureRequest::new(server.clone());
    request.protocol = protocol;
    request.config = config;
    request.policy = policy;
    let platform = crate::platform::desktop(&server, args.interface).await?;
    let result = run_measurement(request, platform.as_ref(), args.options.json, &store).await?;
    print_result(&result, args.options.json)?;
    args.options.campaign.upload(&store).await
}

/// Opens the session of `--db` under the profile in `path`, on the desktop platform
/// of the route to the profile's first server (a desktop measures its servers through
/// one interface).
pub async fn profile_session(
    path: &std::path::Path,
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
/// (server ranking, the profile's budget, the store), then the upload.
async fn run_with_profile(args: MeasureArgs, path: &std::path::Path) -> Result<(), String> {
    let (session, profile) = profile_session(
        path,
        &args.options.db,
        args.interface.clone(),
        SessionOptions::default(),
    )
    .await?;
    args.options.campaign.apply_area(session.store())?;
    let mut config = args.options.config()?;
    config.interface = args.interface.clone();
    if let Some(m) = args.options.max_mbytes {
        // The campaign's rule: the download budget given, a third of it for the upload.
        config = ispeed_core::session::manual_budget(config, m.ceil() as u64);
    }
    let policy = if args.allow_any_network {
        NetworkPolicy::AnyNetwork
    } else {
        NetworkPolicy::CellularOnly
    };
    eprintln!("campaign: {}", profile.campaign);
    let plan = MeasurePlan {
        server: None,
        mode: Some(MeasureMode::Manual),
        config: Some(config.clone()),
        policy: Some(policy),
    };
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    let listener: Box<dyn ProgressListener> = if args.options.json {
        Box::new(Silent)
    } else {
        Box::new(emitter::Human::new(&config))
    };
    let measured = session.measure(plan, listener.as_ref(), &cancel).await;
    drop(listener);
    watcher.abort();
    let result = measured.map_err(|e| match e {
        Error::NotCellular { .. } | Error::WifiOn { .. } => {
            format!("{e}; for a lab run, pass --allow-any-network")
        }
        e => e.to_string(),
    })?;
    print_result(&result, args.options.json)?;
    if args.options.campaign.collector.is_some() {
        return args.options.campaign.upload(session.store()).await;
    }
    // stdout carries the result (the document alone with --json).
    super::upload::report(&session.upload(true).await, &profile.collector, false)
}
