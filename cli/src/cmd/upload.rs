//! `ispeed upload`: sends the samples the collector has not confirmed yet.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use ispeed_core::session::{Session, SessionOptions, UploadOutcome};
use ispeed_core::{StaticPlatform, Transport};

use crate::db::DbArg;

/// Arguments of `ispeed upload`.
#[derive(Debug, Clone, Args)]
pub struct UploadArgs {
    /// Base URL of the collector (results go to POST {collector}/v1/results).
    #[arg(long, value_name = "URL", required_unless_present = "profile")]
    pub collector: Option<String>,
    /// Deployment profile whose collector receives the samples (`--collector`
    /// overrides it).
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArg,
}

/// Prints what an upload run did (ids on stdout when `ids_on_stdout`, else with the
/// summary on stderr); its error, if any, as the command's.
pub fn report(outcome: &UploadOutcome, collector: &str, ids_on_stdout: bool) -> Result<(), String> {
    for id in &outcome.sent {
        if ids_on_stdout {
            println!("sent {id}");
        } else {
            eprintln!("sent {id}");
        }
    }
    for (id, why) in &outcome.rejected {
        eprintln!("refused by the collector, kept: {id}: {why}");
    }
    for (id, reason) in &outcome.judged_rejected {
        eprintln!(
            "stored by the collector but not counted: {id}: {} ({})",
            reason.meaning(),
            reason.as_str()
        );
    }
    eprintln!(
        "{} sent to {collector}, {} pending",
        outcome.sent.len(),
        outcome.remaining
    );
    match &outcome.error {
        Some(e) => Err(format!("{e} (`ispeed upload` sends it later)")),
        None => Ok(()),
    }
}

/// `ispeed upload`: the session's upload run to `--collector` (else the profile's);
/// prints the id of every sample sent on stdout, a summary on stderr.
pub async fn run(args: UploadArgs) -> Result<(), String> {
    let profile = match &args.profile {
        Some(path) => Some(ispeed_core::profile::Profile::load(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let options = SessionOptions {
        profile,
        collector: args.collector.clone(),
        ..SessionOptions::default()
    };
    // Uploading needs no view of the network.
    let platform = Arc::new(StaticPlatform::new(Transport::Unknown));
    let session =
        Session::open_db(&args.db.path(), platform, options).map_err(|e| e.to_string())?;
    let collector = match session.uploader().map_err(|e| e.to_string())? {
        Some(uploader) => uploader.results_url().to_string(),
        None => return Err("give --collector or --profile".to_owned()),
    };
    report(&session.upload(true).await, &collector, true)
}
