//! Memory and open connections stay flat while a hostile server stalls or drips.
//!
//! RSS and open file descriptors are process-wide figures, so these scenarios live in
//! their own test binary and run one after the other inside a single test: no other
//! test allocates or opens sockets while they are sampled.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::time::Duration;

use ispeed_core::measure::Phase;
use ispeed_core::{Error, MeasureRequest, MeasurementResult};
use ispeed_e2e::soak::{open_fds, rss_bytes, settled_fds};
use ispeed_e2e::{loopback_any_port, measure_on_loopback, quick_request};
use ispeed_server::faults::Fault;
use ispeed_server::{LinkProfile, ServerConfig};

/// RSS may grow this much after the warm-up run: allocator arenas and pools settle,
/// while a leak of buffered 1 MB bodies would add several MiB per run.
const RSS_SLACK: u64 = 24 * 1024 * 1024;
/// Open descriptors may exceed the warm-up run's by this much once settled; a leak
/// adds two per stream and run (the client's socket and the in-process server's).
const FD_SLACK: usize = 2;

/// One fault scenario: what the server does, how many runs, and what each must return.
struct Scenario {
    name: &'static str,
    fault: Option<Fault>,
    runs: usize,
    tune: fn(&mut MeasureRequest),
    check: fn(&Result<MeasurementResult, Error>) -> bool,
}

/// Runs the scenario against one server and returns (RSS, fds) after each run, with
/// the server still up, so connections a run leaked would still be open.
async fn sample(s: &Scenario) -> Vec<(u64, usize)> {
    let mut config = ServerConfig::new(LinkProfile {
        down_mbps: Some(40.0),
        up_mbps: Some(20.0),
        rtt_ms: 5,
    });
    config.fault = s.fault;
    let server = ispeed_server::spawn(loopback_any_port(), config)
        .await
        .expect("server starts");
    let fds_before = open_fds();
    let mut samples = Vec::new();
    for run in 0..s.runs {
        let mut req = quick_request(server.url());
        (s.tune)(&mut req);
        let r = measure_on_loopback(&req).await;
        assert!((s.check)(&r), "{} run {run}: {r:?}", s.name);
        samples.push((rss_bytes(), settled_fds(fds_before).await));
    }
    server.stop().await;
    samples
}

/// Growth from the warm-up run (the first) to the last runs.
fn assert_flat(name: &str, samples: &[(u64, usize)]) {
    let (rss0, fds0) = samples[0];
    let tail = &samples[samples.len() - 2..];
    let rss_end = tail.iter().map(|s| s.0).min().expect("samples");
    let fds_end = tail.iter().map(|s| s.1).min().expect("samples");
    let peak = samples.iter().map(|s| s.0).max().expect("samples");
    let mib = |b: u64| b as f64 / 1048576.0;
    eprintln!(
        "{name}: RSS {:.1} -> {:.1} MiB (peak {:.1}), fds {fds0} -> {fds_end}, {} runs",
        mib(rss0),
        mib(rss_end),
        mib(peak),
        samples.len()
    );
    assert!(
        rss_end < rss0 + RSS_SLACK,
        "{name}: RSS grew from {:.1} to {:.1} MiB",
        mib(rss0),
        mib(rss_end)
    );
    assert!(
        fds_end <= fds0 + FD_SLACK,
        "{name}: fds grew from {fds0} to {fds_end}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_and_connections_stay_flat_under_stalls_and_drips() {
    let scenarios = [
        // Normal runs: before the upload body followed the phase's end, each run left
        // its upload connections sending the rest of their byte share.
        Scenario {
            name: "no fault",
            fault: None,
            runs: 5,
            tune: |req| req.config = req.config.clone().with_max_duration(Duration::from_secs(2)),
            check: |r| r.as_ref().is_ok_and(|r| r.download.is_some()),
        },
        // Each run reads 1 MB per stream, then waits out the stall: stalled bodies
        // must not pile up, and stalled connections must be closed, run after run.
        Scenario {
            name: "stall-after=1000000",
            fault: Some(Fault::StallAfter(1_000_000)),
            runs: 6,
            tune: |_| {},
            check: |r| {
                matches!(
                    r,
                    Err(Error::Stalled {
                        phase: Phase::Download,
                        ..
                    })
                )
            },
        },
        // A slow drip is measured, not failed, and its connections do not linger.
        Scenario {
            name: "drip=20000",
            fault: Some(Fault::Drip(20_000)),
            runs: 4,
            tune: |req| req.config = req.config.clone().with_max_duration(Duration::from_secs(2)),
            check: |r| r.as_ref().is_ok_and(|r| r.download.is_some()),
        },
    ];
    for s in &scenarios {
        assert_flat(s.name, &sample(s).await);
    }
}
