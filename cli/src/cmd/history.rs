//! `ispeed history`: the samples of the last days, per-day statistics in the local
//! time zone, the split per transport, and the failed attempts.

use std::io::Write;

use chrono::{Duration, Local, Utc};
use clap::Args;
use ispeed_core::store::{DaySummary, FailedAttempt, SampleRow, TransportSummary};
use serde::Serialize;

use crate::db::DbArg;

/// Arguments of `ispeed history`.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// How many days back to list.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=36600))]
    pub days: u32,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: DbArg,
}

/// The `--json` output.
#[derive(Debug, Serialize)]
struct History {
    /// Days covered.
    days: u32,
    /// Samples, oldest first.
    samples: Vec<SampleRow>,
    /// Failed attempts, oldest first.
    failures: Vec<FailedAttempt>,
    /// Per local day.
    daily: Vec<DaySummary>,
    /// Per transport.
    by_transport: Vec<TransportSummary>,
}

fn fmt(v: Option<f64>, unit: &str) -> String {
    v.map_or("-".to_owned(), |v| format!("{v:.1} {unit}"))
}

/// `ispeed history`.
pub fn run(args: HistoryArgs) -> Result<(), String> {
    let store = args.db.open()?;
    let to = Utc::now() + Duration::seconds(1);
    let from = to - Duration::days(i64::from(args.days));
    let err = |e: ispeed_core::Error| e.to_string();
    let history = History {
        days: args.days,
        samples: store.samples_between(from, to).map_err(err)?,
        failures: store.failures_between(from, to).map_err(err)?,
        daily: store.daily_summaries(&Local, from, to).map_err(err)?,
        by_transport: store.transport_summaries(from, to).map_err(err)?,
    };
    if args.json {
        let doc = serde_json::to_string_pretty(&history).map_err(|e| e.to_string())?;
        // A reader that stops early (`| head`) is not an error worth a panic.
        let mut out = std::io::stdout().lock();
        return match writeln!(out, "{doc}") {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
            _ => Ok(()),
        };
    }
    println!(
        "{} samples and {} failed attempts in the last {} days ({})",
        history.samples.len(),
        history.failures.len(),
        args.days,
        store.path().display()
    );
    for s in &history.samples {
        // A sample the collector stored but will not count says why.
        let note = match store.collector_note(s.id) {
            Ok(Some(n)) if s.uploaded_at.is_some() => format!(" ({n})"),
            _ => String::new(),
        };
        println!(
            "{}  {}  {:<9} down {:>12}  up {:>12}  latency {:>9}  {}{}{note}",
            s.started_at.with_timezone(&Local).format("%Y-%m-%d %H:%M"),
            s.id,
            s.transport.as_str(),
            fmt(s.download_mbps, "Mbit/s"),
            fmt(s.upload_mbps, "Mbit/s"),
            fmt(s.latency_ms, "ms"),
            if s.valid { "valid" } else { "INVALID" },
            if s.uploaded_at.is_some() {
                ", uploaded"
            } else {
                ""
            },
        );
    }
    for f in &history.failures {
        println!(
            "{}  failed: {} ({})",
            f.at.with_timezone(&Local).format("%Y-%m-%d %H:%M"),
            f.message,
            f.code
        );
    }
    if !history.daily.is_empty() {
        println!("\nper day (local time; medians of valid samples):");
        for d in &history.daily {
            println!(
                "{}  {} valid of {}, {} failed  down {}  up {}  latency {}",
                d.date,
                d.valid,
                d.samples,
                d.failures,
                fmt(d.download_mbps, "Mbit/s"),
                fmt(d.upload_mbps, "Mbit/s"),
                fmt(d.latency_ms, "ms"),
            );
        }
    }
    if !history.by_transport.is_empty() {
        println!("\nper transport (valid samples):");
        for t in &history.by_transport {
            println!(
                "{:<9} {} samples  down {}  up {}  latency {}",
                t.transport.as_str(),
                t.valid,
                fmt(t.download_mbps, "Mbit/s"),
                fmt(t.upload_mbps, "Mbit/s"),
                fmt(t.latency_ms, "ms"),
            );
        }
    }
    Ok(())
}
