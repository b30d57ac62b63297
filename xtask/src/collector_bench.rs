//! `cargo xtask collector-bench`: builds `ispeed-collector` and its load generator in
//! release mode and runs the benchmark (`collector/examples/collector_bench.rs`):
//! simulated phones uploading real-size documents over HTTP, then the progress query
//! over millions of samples seeded inside PostgreSQL. Without `--database` it starts
//! its own throwaway cluster.

use std::path::Path;
use std::process::Command;

/// Arguments of `cargo xtask collector-bench`.
#[derive(Debug, clap::Args)]
pub struct CollectorBenchArgs {
    /// PostgreSQL URL to use (its database is filled with seeded samples); a
    /// throwaway cluster without it.
    #[arg(long)]
    database: Option<String>,
    /// Seconds of load.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Concurrent simulated phones.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Samples seeded before the progress query is timed.
    #[arg(long, default_value_t = 10_000_000)]
    seed_samples: u64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Upload documents that skip the quality statistics (to compare what their path
    /// costs an upload).
    #[arg(long)]
    without_stats: bool,
}

/// Builds and runs the benchmark from the workspace root.
pub fn run(root: &Path, args: &CollectorBenchArgs) -> Result<(), String> {
    eprintln!("==> building ispeed-collector and the load generator (release)");
    let status = Command::new("cargo")
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "ispeed-collector",
            "--bin",
            "ispeed-collector",
            "--example",
            "collector_bench",
        ])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("the release build failed ({status})"));
    }
    let release = root.join("target").join("release");
    let mut bench = Command::new(release.join("examples").join("collector_bench"));
    bench
        .arg("--collector-bin")
        .arg(release.join("ispeed-collector"))
        .args(["--seconds", &args.seconds.to_string()])
        .args(["--clients", &args.clients.to_string()])
        .args(["--seed-samples", &args.seed_samples.to_string()]);
    if let Some(db) = &args.database {
        bench.args(["--database", db]);
    }
    if args.json {
        bench.arg("--json");
    }
    if args.without_stats {
        bench.arg("--without-stats");
    }
    let status = bench
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run the benchmark: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the benchmark failed ({status})"))
    }
}
