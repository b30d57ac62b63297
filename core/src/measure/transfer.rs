//! What download and upload share: parallel streams, one byte log per stream, the
//! sampling loop with the stop rule, and latency probes under load.
//!
//! Each stream appends (time, cumulative payload bytes) to its [`StreamLog`]. Every
//! sample interval the loop reads all logs *at one instant* (interpolating each
//! stream between its points, as RTR's RMBT interpolates per-stream counts to a
//! common end time) and feeds the total to the [`Sampler`]. Uploads read the logs a
//! little in the past, so that each stream has a server report on both sides of the
//! instant and the interpolation never extrapolates.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Client, Url};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::sampler::{Sampler, StopReason};
use super::{Phase, ProgressEvent, ProgressListener, latency, stats};
use crate::config::{MeasureConfig, TransferConfig};
use crate::error::{Error, Result};
use crate::protocol::PingTiming;
use crate::result::TransferResult;

/// What latency probes under load use: their own client, the ping URL and how its
/// round trips become latency.
pub(crate) type Probe = (Client, Url, PingTiming);

/// Points closer together than this are merged, bounding a log to a few hundred
/// points a second however small the chunks are.
const MIN_POINT_SPACING: Duration = Duration::from_millis(5);

/// Cumulative payload bytes of one stream over time.
#[derive(Debug, Default)]
pub struct StreamLog {
    points: Mutex<Vec<(Instant, u64)>>,
}

impl StreamLog {
    /// Records that `cumulative` bytes had moved at `at`.
    pub fn record(&self, at: Instant, cumulative: u64) {
        let mut points = self.points.lock().unwrap_or_else(|p| p.into_inner());
        let n = points.len();
        if n >= 2 && at.duration_since(points[n - 2].0) < MIN_POINT_SPACING {
            points[n - 1] = (at, cumulative);
        } else {
            points.push((at, cumulative));
        }
    }

    /// Bytes moved by `at`, linearly interpolated between the points around it; the
    /// last count when `at` is past the last point, zero before the first.
    pub fn bytes_at(&self, at: Instant) -> u64 {
        let points = self.points.lock().unwrap_or_else(|p| p.into_inner());
        let i = points.partition_point(|&(t, _)| t <= at);
        match (i.checked_sub(1).map(|j| points[j]), points.get(i)) {
            (None, _) => 0,
            (Some((_, b)), None) => b,
            (Some((t0, b0)), Some(&(t1, b1))) => {
                let span = t1.duration_since(t0).as_secs_f64();
                let frac = if span > 0.0 {
                    at.duration_since(t0).as_secs_f64() / span
                } else {
                    1.0
                };
                b0 + ((b1.saturating_sub(b0)) as f64 * frac) as u64
            }
        }
    }

    /// The latest count.
    pub fn latest(&self) -> u64 {
        let points = self.points.lock().unwrap_or_else(|p| p.into_inner());
        points.last().map_or(0, |p| p.1)
    }
}

/// One transfer phase's set-up.
pub(crate) struct TransferPlan<'a> {
    pub phase: Phase,
    pub transfer: TransferConfig,
    pub config: &'a MeasureConfig,
    /// How far in the past the logs are read (zero for downloads).
    pub read_lag: Duration,
    /// Latency probes on their own connection.
    pub probe: Option<Probe>,
}

/// Runs `plan.transfer.streams` copies of `stream` until the stop rule, a budget,
/// cancellation by the caller (dropping this future) or an error ends the phase.
///
/// `stream(index, log, stop)` moves payload, records it in `log`, and returns when
/// its share is done or `stop` is cancelled.
pub(crate) async fn run<F, Fut>(
    plan: TransferPlan<'_>,
    listener: &dyn ProgressListener,
    stream: F,
) -> Result<TransferResult>
where
    F: Fn(usize, Arc<StreamLog>, CancellationToken) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let TransferPlan {
        phase,
        transfer,
        config,
        read_lag,
        probe,
    } = plan;
    let streams = usize::from(transfer.streams);
    let stop = CancellationToken::new();
    // Cancel the streams however this function ends, including by being dropped.
    let _stop_guard = stop.clone().drop_guard();
    let logs: Vec<Arc<StreamLog>> = (0..streams).map(|_| Arc::default()).collect();

    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for (i, log) in logs.iter().enumerate() {
        tasks.spawn(stream(i, log.clone(), stop.child_token()));
    }
    let rtts = Arc::new(Mutex::new(Vec::new()));
    if let Some((client, url, timing)) = probe {
        tasks.spawn(probe_loop(
            client,
            url,
            timing,
            phase,
            config.loaded_latency_interval,
            rtts.clone(),
            stop.child_token(),
        ));
    }

    let mut sampler = Sampler::new(config.stability);
    let mut ticker =
        tokio::time::interval_at(start + config.sample_interval, config.sample_interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut streams_done = 0usize;
    let mut rtts_emitted = 0usize;
    let stop_reason = loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = Instant::now();
                rtts_emitted = emit_new_rtts(&rtts, rtts_emitted, phase, listener);
                // Once every stream has finished, every count is final: read them now.
                let lag = if streams_done == streams { Duration::ZERO } else { read_lag };
                let at = now.checked_sub(lag).unwrap_or(start).max(start);
                let total: u64 = logs.iter().map(|l| l.bytes_at(at)).sum();
                let tick = sampler.record(at - start, total);
                let moved: u64 = logs.iter().map(|l| l.latest()).sum();
                listener.on_event(&ProgressEvent::Interval {
                    phase,
                    elapsed_ms: (now - start).as_millis() as u64,
                    mbps: tick.interval_mbps,
                    estimate_mbps: tick.estimate_mbps,
                    bytes: moved,
                });
                if tick.stable {
                    break StopReason::Stable;
                }
                if moved >= transfer.max_bytes {
                    break StopReason::ByteBudget;
                }
                if now - start >= transfer.max_duration {
                    break StopReason::TimeBudget;
                }
                if streams_done == streams {
                    break StopReason::ByteBudget;
                }
            }
            Some(joined) = tasks.join_next(), if streams_done < streams => {
                match joined {
                    Ok(Ok(())) => streams_done += 1,
                    Ok(Err(e)) => return Err(e),
                    Err(join) => return Err(Error::ConnectionLost {
                        phase,
                        detail: format!("stream task failed: {join}"),
                    }),
                }
                // When the last stream finishes, take a final point now rather than
                // waiting for the next tick.
                if streams_done == streams {
                    ticker.reset_immediately();
                }
            }
        }
    };
    let duration = start.elapsed();
    stop.cancel();
    tasks.abort_all();
    let bytes: u64 = logs.iter().map(|l| l.latest()).sum();
    emit_new_rtts(&rtts, rtts_emitted, phase, listener);
    let loaded = rtts.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let window = sampler.window();
    if bytes == 0 {
        return Err(Error::Stalled {
            phase,
            after: duration,
        });
    }
    // Out of time with nothing moved since the ramp: the server stopped sending (or
    // reading) before the stall timeout could fire, and "0 Mbit/s" would pass for a
    // measurement of the link.
    if stop_reason == StopReason::TimeBudget && window.bytes == 0 {
        return Err(Error::Stalled {
            phase,
            after: window.duration,
        });
    }
    listener.on_event(&ProgressEvent::PhaseFinished {
        phase,
        value: window.mbps,
    });
    Ok(TransferResult {
        mbps: window.mbps,
        bytes,
        duration_ms: duration.as_millis() as u64,
        streams: transfer.streams,
        loaded_latency_ms: stats::median(&loaded),
        measured_bytes: window.bytes,
        measured_ms: window.duration.as_millis() as u64,
        ramp_ms: window.ramp.as_millis() as u64,
        stop_reason,
        loaded_rtts_ms: loaded,
        intervals: window.intervals,
    })
}

fn emit_new_rtts(
    rtts: &Mutex<Vec<f64>>,
    already: usize,
    phase: Phase,
    listener: &dyn ProgressListener,
) -> usize {
    let rtts = rtts.lock().unwrap_or_else(|p| p.into_inner());
    for &rtt_ms in &rtts[already.min(rtts.len())..] {
        listener.on_event(&ProgressEvent::Rtt { phase, rtt_ms });
    }
    rtts.len()
}

/// Times round trips on the probe connection until `stop`. Failures under load are
/// not fatal (the transfer decides the phase's fate); they just yield no sample.
async fn probe_loop(
    client: Client,
    url: Url,
    timing: PingTiming,
    phase: Phase,
    every: Duration,
    rtts: Arc<Mutex<Vec<f64>>>,
    stop: CancellationToken,
) -> Result<()> {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = ticker.tick() => {}
        }
        let rtt = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            r = latency::round_trip(&client, &url, timing, phase, every * 8) => r,
        };
        if let Ok(rtt) = rtt {
            rtts.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(rtt.as_secs_f64() * 1000.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_interpolate_between_points() {
        let log = StreamLog::default();
        let t0 = Instant::now();
        assert_eq!(log.bytes_at(t0), 0);
        log.record(t0, 0);
        log.record(t0 + Duration::from_millis(100), 1000);
        log.record(t0 + Duration::from_millis(200), 3000);
        assert_eq!(log.bytes_at(t0 + Duration::from_millis(50)), 500);
        assert_eq!(log.bytes_at(t0 + Duration::from_millis(150)), 2000);
        assert_eq!(log.bytes_at(t0 + Duration::from_millis(500)), 3000);
        assert_eq!(log.latest(), 3000);
    }

    #[test]
    fn close_points_are_merged() {
        let log = StreamLog::default();
        let t0 = Instant::now();
        for i in 0..100u64 {
            log.record(t0 + Duration::from_micros(100 * i), i);
        }
        // 10 ms of points every 0.1 ms keep one point per 5 ms, plus the first and last
        let n = log.points.lock().map(|p| p.len()).unwrap_or(0);
        assert!(n <= 4, "{n}");
        assert_eq!(log.latest(), 99);
    }
}
