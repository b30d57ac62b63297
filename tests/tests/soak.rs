//! Soak: measurements in a row against an emulated link, every result stored, memory
//! and file descriptors flat (see `ispeed_e2e::soak`). The short soak runs with the
//! other tests; the long one with `cargo xtask soak --runs N` (or
//! `ISPEED_SOAK_RUNS=N cargo test -p ispeed-e2e --test soak -- --ignored --nocapture`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use ispeed_e2e::soak::soak;
use ispeed_e2e::temp_dir;

async fn run(runs: usize, rss_tolerance_mib: f64) {
    let dir = temp_dir("soak");
    let report = soak(runs, &dir.path().join("soak.db"))
        .await
        .expect("soak runs");
    eprintln!("soak: {}", report.summary());
    if let Err(e) = report.check(runs, rss_tolerance_mib) {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_soak_stores_everything_and_stays_flat() {
    run(20, 16.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: run with cargo xtask soak"]
async fn long_soak_stores_everything_and_stays_flat() {
    let runs = std::env::var("ISPEED_SOAK_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    run(runs, 16.0).await;
}
