//! Soak: many small measurements in a row against the in-process reference server,
//! each result stored in a SQLite store, with this process's resident memory and open
//! file descriptors sampled after every run.
//!
//! A leak per run (a connection or a task left behind, a buffer kept, a statement not
//! finalised) is invisible in one measurement and obvious after a few hundred: the
//! report compares the first runs with the last ones. `cargo xtask soak --runs N`
//! runs it at length; the test suite runs a short one.

use std::path::Path;
use std::time::{Duration, Instant};

use ispeed_core::store::Store;
use ispeed_core::{StaticPlatform, SystemClock, Transport, measure};
use ispeed_server::{LinkProfile, ServerConfig};
use tokio_util::sync::CancellationToken;

use crate::{lab_request, loopback_any_port};

/// Resident memory of this process, bytes (`VmRSS` of `/proc/self/status`; 0 where
/// there is no `/proc`).
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// Open file descriptors of this process (entries of `/proc/self/fd`; 0 where there
/// is no `/proc`).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Open file descriptors once the connections a run closed have finished closing.
///
/// When a measurement returns, its connections are closed but not yet gone: the
/// client's connection tasks and the in-process server's notice in their own time, which
/// on a loaded machine is tens of milliseconds. This waits (at most 3 s) for the count
/// to come back to `baseline`; a leaked descriptor never does, and shows in the result.
pub async fn settled_fds(baseline: usize) -> usize {
    let mut fds = open_fds();
    for _ in 0..60 {
        if fds <= baseline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        fds = open_fds();
    }
    fds
}

/// Resources after one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSample {
    /// Resident memory, bytes.
    pub rss: u64,
    /// Open file descriptors, once the run's closed connections are gone
    /// ([`settled_fds`]).
    pub fds: usize,
    /// How long the run took, storing included.
    pub took: Duration,
}

/// What a soak did.
#[derive(Debug, Clone, Default)]
pub struct SoakReport {
    /// One sample per run, in order.
    pub samples: Vec<RunSample>,
    /// Runs whose measurement failed, with the error.
    pub failures: Vec<String>,
    /// Samples in the store at the end.
    pub stored: u64,
    /// Stored samples whose document read back.
    pub readable: u64,
}

/// Median of the values `f` picks from `samples`.
fn median(samples: &[RunSample], f: impl Fn(&RunSample) -> f64) -> f64 {
    let mut v: Vec<f64> = samples.iter().map(f).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

impl SoakReport {
    /// Runs compared at each end: 20, or a quarter of a short soak.
    pub fn window(&self) -> usize {
        20.min(self.samples.len() / 4).max(1)
    }

    fn ends(&self) -> (&[RunSample], &[RunSample]) {
        let w = self.window().min(self.samples.len());
        (&self.samples[..w], &self.samples[self.samples.len() - w..])
    }

    /// Median RSS (MiB) of the first and of the last window.
    pub fn rss_mib(&self) -> (f64, f64) {
        let (first, last) = self.ends();
        let mib = |s: &RunSample| s.rss as f64 / 1_048_576.0;
        (median(first, mib), median(last, mib))
    }

    /// Largest fd count of the first and of the last window.
    pub fn fds(&self) -> (usize, usize) {
        let (first, last) = self.ends();
        let max = |s: &[RunSample]| s.iter().map(|r| r.fds).max().unwrap_or(0);
        (max(first), max(last))
    }

    /// One paragraph with the figures.
    pub fn summary(&self) -> String {
        let (rss0, rss1) = self.rss_mib();
        let (fds0, fds1) = self.fds();
        let secs: Vec<f64> = self.samples.iter().map(|s| s.took.as_secs_f64()).collect();
        let mean = secs.iter().sum::<f64>() / secs.len().max(1) as f64;
        let peak = self.samples.iter().map(|s| s.rss).max().unwrap_or(0) as f64 / 1_048_576.0;
        format!(
            "{} runs ({} failed), {} stored, {} readable; mean run {:.2} s; \
             RSS median first {w} runs {rss0:.1} MiB, last {w} runs {rss1:.1} MiB (peak {peak:.1} MiB); \
             open fds max first {w} runs {fds0}, last {w} runs {fds1}",
            self.samples.len(),
            self.failures.len(),
            self.stored,
            self.readable,
            mean,
            w = self.window(),
        )
    }

    /// Checks the soak's promises: every run measured and stored, memory and file
    /// descriptors flat between the first and the last window (RSS within
    /// `rss_tolerance_mib`, settled fds within 2).
    pub fn check(&self, runs: usize, rss_tolerance_mib: f64) -> Result<(), String> {
        if !self.failures.is_empty() {
            return Err(format!("failed runs: {:?}", self.failures));
        }
        if self.samples.len() != runs || self.stored != runs as u64 || self.readable != self.stored
        {
            return Err(format!("not every result was stored: {}", self.summary()));
        }
        let (rss0, rss1) = self.rss_mib();
        if rss1 > rss0 + rss_tolerance_mib {
            return Err(format!("memory grew: {}", self.summary()));
        }
        let (fds0, fds1) = self.fds();
        if fds1 > fds0 + 2 {
            return Err(format!("file descriptors grew: {}", self.summary()));
        }
        Ok(())
    }
}

/// Runs `runs` measurements against an emulated link (80 Mbit/s down, 40 up, 5 ms),
/// with the smallest budgets the engine accepts (10 round trips, 1 MB or 1 s per
/// transfer phase), storing each result in a new store at `db`.
pub async fn soak(runs: usize, db: &Path) -> Result<SoakReport, String> {
    let server = ispeed_server::spawn(
        loopback_any_port(),
        ServerConfig::new(LinkProfile {
            down_mbps: Some(80.0),
            up_mbps: Some(40.0),
            rtt_ms: 5,
        }),
    )
    .await
    .map_err(|e| format!("server: {e}"))?;
    let store = Store::open(db).map_err(|e| e.to_string())?;
    let mut req = lab_request(server.url());
    req.config.latency_samples = ispeed_core::config::LATENCY_SAMPLES;
    req.config = req
        .config
        .with_max_bytes(1_000_000)
        .with_max_duration(Duration::from_secs(1));
    let platform = StaticPlatform::new(Transport::Loopback);
    let mut report = SoakReport::default();
    let mut ids = Vec::with_capacity(runs);
    let fds_before = open_fds();
    for run in 0..runs {
        let start = Instant::now();
        let outcome = measure(
            &req,
            &platform,
            &SystemClock,
            &ispeed_core::measure::Silent,
            &CancellationToken::new(),
        )
        .await;
        match outcome {
            Ok(result) => {
                store.save_result(&result).map_err(|e| e.to_string())?;
                ids.push(result.id);
            }
            Err(e) => report
                .failures
                .push(format!("run {run}: [{}] {e}", e.code())),
        }
        let took = start.elapsed();
        report.samples.push(RunSample {
            rss: rss_bytes(),
            fds: settled_fds(fds_before).await,
            took,
        });
    }
    server.stop().await;
    report.stored = store.count().map_err(|e| e.to_string())?;
    for id in ids {
        if store.result(id).map_err(|e| e.to_string())?.is_some() {
            report.readable += 1;
        }
    }
    Ok(report)
}
