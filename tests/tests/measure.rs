//! The engine against the reference server over real loopback sockets: accuracy,
//! the stop rule, progress and the result document.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::time::Duration;

use ispeed_core::measure::sampler::StopReason;
use ispeed_core::measure::{Phase, ProgressEvent};
use ispeed_core::network::NetworkPolicy;
use ispeed_core::{
    MeasureRequest, MeasurementResult, StaticPlatform, SystemClock, Transport, measure,
};
use ispeed_e2e::{Recorder, server};
use tokio_util::sync::CancellationToken;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn measure_link(
    down: f64,
    up: f64,
    rtt_ms: u64,
) -> Result<(MeasurementResult, Recorder), Box<dyn std::error::Error>> {
    let srv = server(down, up, rtt_ms).await?;
    let recorder = Recorder::default();
    let mut request = MeasureRequest::new(srv.url());
    // Loopback is not cellular: these tests measure the engine, not the policy.
    request.policy = NetworkPolicy::AnyNetwork;
    let result = measure(
        &request,
        &StaticPlatform::new(Transport::Loopback),
        &SystemClock,
        &recorder,
        &CancellationToken::new(),
    )
    .await?;
    srv.stop().await;
    Ok((result, recorder))
}

fn within(measured: f64, expected: f64, tolerance: f64) -> bool {
    (measured / expected - 1.0).abs() <= tolerance
}

fn check_accuracy(r: &MeasurementResult, down: f64, up: f64, rtt_ms: f64) {
    let l = r.latency.as_ref().expect("latency measured");
    assert!(l.samples >= 10, "{} latency samples", l.samples);
    assert!(
        l.median_ms >= rtt_ms && l.median_ms <= rtt_ms + 15.0,
        "latency median {} ms for an emulated {rtt_ms} ms",
        l.median_ms
    );
    assert!(l.min_ms <= l.median_ms && l.median_ms <= l.p90_ms);
    let d = r.download.as_ref().expect("download measured");
    let u = r.upload.as_ref().expect("upload measured");
    assert!(
        within(d.mbps, down, 0.10),
        "download {} Mbit/s for {down}",
        d.mbps
    );
    assert!(
        within(u.mbps, up, 0.10),
        "upload {} Mbit/s for {up}",
        u.mbps
    );
    for t in [d, u] {
        assert!(t.intervals.iter().all(|i| i.t_ms > 0));
        // Sampled every 250 ms. A busy machine may wake the sampler late (the rate
        // uses the real instants, so a late tick costs no accuracy), but it never
        // skips a tick: the typical gap is the period, none is two periods.
        let period = ispeed_core::config::SAMPLE_INTERVAL.as_millis() as u64;
        assert_eq!(period, 250);
        let mut gaps: Vec<u64> = t
            .intervals
            .windows(2)
            .map(|w| w[1].t_ms - w[0].t_ms)
            .collect();
        assert!(
            gaps.iter().all(|&g| g < 2 * period),
            "interval gaps {gaps:?}"
        );
        gaps.sort_unstable();
        let median = gaps[gaps.len() / 2];
        assert!(
            (period..=period + 10).contains(&median),
            "median interval gap {median} ms: {gaps:?}"
        );
        assert!(t.intervals.iter().any(|i| i.ramp), "the ramp is flagged");
        let loaded = t.loaded_latency_ms.expect("latency under load measured");
        assert!(loaded >= rtt_ms, "loaded latency {loaded}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accurate_at_20_mbps() -> TestResult {
    let (r, _) = measure_link(20.0, 20.0, 40).await?;
    check_accuracy(&r, 20.0, 20.0, 40.0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accurate_at_80_mbps() -> TestResult {
    let (r, _) = measure_link(80.0, 80.0, 20).await?;
    check_accuracy(&r, 80.0, 80.0, 20.0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_rule_ends_a_stable_transfer_before_its_budgets() -> TestResult {
    let (r, _) = measure_link(40.0, 15.0, 40).await?;
    let config = ispeed_core::MeasureConfig::default();
    for (t, budget) in [
        (r.download.as_ref(), config.download),
        (r.upload.as_ref(), config.upload),
    ] {
        let t = t.expect("phase measured");
        assert_eq!(t.stop_reason, StopReason::Stable, "{t:?}");
        assert!(Duration::from_millis(t.duration_ms) < budget.max_duration);
        assert!(
            t.bytes < budget.max_bytes,
            "{} bytes of {}",
            t.bytes,
            budget.max_bytes
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_and_result_document() -> TestResult {
    let (r, recorder) = measure_link(40.0, 15.0, 30).await?;
    let events = recorder.events();
    let started: Vec<Phase> = events
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::PhaseStarted { phase } => Some(*phase),
            _ => None,
        })
        .collect();
    assert_eq!(started, [Phase::Latency, Phase::Download, Phase::Upload]);
    for phase in [Phase::Download, Phase::Upload] {
        let intervals = events
            .iter()
            .filter(|e| matches!(e, ProgressEvent::Interval { phase: p, .. } if *p == phase))
            .count();
        assert!(intervals >= 4, "{intervals} intervals for {phase}");
        assert!(
            events
                .iter()
                .any(|e| matches!(e, ProgressEvent::Rtt { phase: p, .. } if *p == phase))
        );
    }
    let finished = events
        .iter()
        .filter(|e| matches!(e, ProgressEvent::PhaseFinished { .. }))
        .count();
    assert_eq!(finished, 3);

    let doc = serde_json::to_value(&r)?;
    assert_eq!(doc["schema"], "ispeed.result/1");
    assert_eq!(doc["network"]["transport"], "loopback");
    assert_eq!(doc["server"]["protocol"], "ispeed");
    assert!(
        doc["download"]["intervals"]
            .as_array()
            .is_some_and(|a| a.len() >= 4)
    );
    for key in ["min_ms", "median_ms", "p90_ms", "jitter_ms", "samples"] {
        assert!(doc["latency"][key].is_number(), "latency.{key}");
    }
    for key in [
        "mbps",
        "bytes",
        "duration_ms",
        "streams",
        "loaded_latency_ms",
    ] {
        assert!(doc["upload"][key].is_number(), "upload.{key}");
    }
    let back: MeasurementResult = serde_json::from_value(doc)?;
    assert_eq!(back, r);
    Ok(())
}

/// Bytes the kernel may still deliver after the sockets closed: what the client's
/// send buffers and the server's receive buffers can hold, for `streams` connections.
fn socket_buffer_bound(streams: u8) -> u64 {
    let max = |file: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/{file}"))
            .ok()
            .and_then(|s| s.split_whitespace().nth(2)?.parse().ok())
            .unwrap_or(6 << 20)
    };
    u64::from(streams) * (max("tcp_wmem") + max("tcp_rmem"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_stops_sending_when_the_measurement_returns() -> TestResult {
    // The upload phase ends on its stop rule with most of a large byte budget unsent;
    // none of that remainder may leave the phone afterwards (the app lives on after
    // the measurement, and those bytes would come out of the citizen's data plan).
    // What the kernel had already buffered still drains, at the link's rate.
    let srv = server(40.0, 30.0, 20).await?;
    let mut request = ispeed_e2e::lab_request(srv.url());
    request.config.upload.max_bytes = 400_000_000;
    let r = ispeed_e2e::measure_on_loopback(&request).await?;
    let up = r.upload.expect("upload measured");
    assert_eq!(up.stop_reason, StopReason::Stable, "{up:?}");
    let counters = &srv.state.counters;
    let at_end = counters.up();
    // Wait (at most 12 s) for a whole second without a byte arriving.
    let mut last = at_end;
    let mut quiet = false;
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = counters.up();
        if now == last {
            quiet = true;
            break;
        }
        last = now;
    }
    let after = counters.up() - at_end;
    srv.stop().await;
    eprintln!(
        "measured {} bytes; {after} more arrived after the end",
        up.bytes
    );
    assert!(
        quiet,
        "still uploading 12 s after the end: {after} bytes so far"
    );
    let bound = socket_buffer_bound(request.config.upload.streams);
    assert!(
        after <= bound,
        "{after} bytes after the end, kernel buffers hold {bound}"
    );
    Ok(())
}
