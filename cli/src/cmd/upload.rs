//! `ispeed upload`: sends the samples the collector has not confirmed yet.

use clap::Args;
use ispeed_core::SystemClock;
use ispeed_core::report::Uploader;

use crate::db::DbArg;

/// Arguments of `ispeed upload`.
#[derive(Debug, Clone, Args)]
pub struct UploadArgs {
    /// Base URL of the collector (results go to POST {collector}/v1/results).
    #[arg(long, value_name = "URL")]
    pub collector: String,
    #[command(flatten)]
    pub db: DbArg,
}

/// `ispeed upload`: prints the id of every sample sent on stdout, a summary on stderr.
pub async fn run(args: UploadArgs) -> Result<(), String> {
    let store = args.db.open()?;
    let uploader = Uploader::new(&args.collector).map_err(|e| e.to_string())?;
    let summary = uploader.upload_pending(&store, &SystemClock).await;
    for id in &summary.sent {
        println!("sent {id}");
    }
    for (id, why) in &summary.rejected {
        eprintln!("refused by the collector, kept: {id}: {why}");
    }
    eprintln!(
        "{} sent to {}, {} pending",
        summary.sent.len(),
        uploader.results_url(),
        summary.remaining
    );
    match summary.error {
        Some(e) => Err(e.to_string()),
        None => Ok(()),
    }
}
