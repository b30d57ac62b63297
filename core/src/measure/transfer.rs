//! What download and upload share: parallel streams, one byte log per stream, the
//! sampling loop with the stop rule, and latency probes under load.
//!
//! Each stream appends (time, cumulative payload bytes) to its [`StreamLog`]. Every
//! sample interval the loop reads all logs *at one instant* (interpolating each
//! stream between its points, as RTR's RMBT interpolates per-stream counts to a
//! common end time) and feeds the total to the [`Sampler`]. Uploads read the logs only
//! up to the instant by which every stream's count is known ([`ReadAt::Confirmed`]):
//! the earliest of the streams' latest confirmations. Read later, a stream whose next
//! confirmation is still on its way would sit at its last count and then jump, a
//! sawtooth in the intervals and a biased estimate at the window's edges.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Confirmations every unfinished stream must have inside the measured window before
/// the stop rule is believed. Between two confirmations a count is interpolated, a
/// straight line by construction: an upload whose bodies each span the window would
/// look perfectly steady and say nothing (Cloudflare on `cell-edge` stopped at 1.5 s
/// on such a line, reading half the link).
const MIN_CONFIRMATIONS: usize = 3;

/// Least a stream's next point is waited for before its count is read stuck.
const MIN_WAIT: Duration = Duration::from_millis(100);

/// Most a stream's next point is waited for: longer than a retransmission timeout
/// or two, shorter than a phase.
const MAX_WAIT: Duration = Duration::from_secs(2);

/// Cumulative payload bytes of one stream over time.
#[derive(Debug, Default)]
pub struct StreamLog {
    points: Mutex<Vec<(Instant, u64)>>,
    /// Set when the stream has moved its whole share: its count is final.
    finished: AtomicBool,
    /// Until when the count is known, where the stream can tell
    /// ([`StreamLog::known_until`]).
    known: Mutex<Option<Instant>>,
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

    /// Forgets the points after `at`: bytes counted after it moved at times the stream
    /// cannot tell yet (read behind a hole), and a later point will place them.
    pub fn forget_after(&self, at: Instant) {
        let mut points = self.points.lock().unwrap_or_else(|p| p.into_inner());
        let keep = points.partition_point(|&(t, _)| t <= at);
        points.truncate(keep);
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

    /// How many points lie in `(from, to]`.
    pub fn points_within(&self, from: Instant, to: Instant) -> usize {
        let points = self.points.lock().unwrap_or_else(|p| p.into_inner());
        points.iter().filter(|&&(t, _)| t > from && t <= to).count()
    }

    /// The latest count.
    pub fn latest(&self) -> u64 {
        let points = self.points.lock().unwrap_or_else(|p| p.into_inner());
        points.last().map_or(0, |p| p.1)
    }

    /// Whether the count is final.
    fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Marks the count final: the stream has moved all it will.
    pub fn finish(&self) {
        self.finished.store(true, Ordering::Release);
    }

    /// Tells until when the count is known, or `None` to leave it to the log's own
    /// rule: a stream that knows bytes crossed whose confirmation is held back (behind
    /// a hole) knows its count is final up to an instant and unknown after it, however
    /// long ago that was.
    pub fn set_known_until(&self, at: Option<Instant>) {
        *self.known.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    /// Until when the stream told its count is known ([`StreamLog::set_known_until`]),
    /// at most `now`; `None` if it told nothing, or has finished.
    fn told(&self, now: Instant) -> Option<Instant> {
        if self.is_finished() {
            return None;
        }
        let known = *self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.map(|at| at.min(now))
    }

    /// Until when the count can be read at `now`: `None` once the stream has finished
    /// (at any time); the instant the stream told ([`StreamLog::set_known_until`]);
    /// else the time of its latest point, for nothing is known after it (the next
    /// point may come with bytes already moved).
    ///
    /// A stream that cannot tell is waited for at most twice the gap between its last
    /// two points (within [`MIN_WAIT`]..=[`MAX_WAIT`]): a body lost to a
    /// retransmission timeout must not hold every other stream's count back for
    /// seconds. Past that, the stream's count is read stuck at its latest point: it is
    /// probably not moving. A stream that tells is waited for until its own stall
    /// limit fails it: it knows that bytes crossed whose confirmation is held back.
    fn known_until(&self, now: Instant) -> Option<Instant> {
        if self.is_finished() {
            return None;
        }
        if let Some(at) = self.told(now) {
            return Some(at);
        }
        let points = self.points.lock().unwrap_or_else(|p| p.into_inner());
        let n = points.len();
        let wait = match n {
            0 | 1 => MAX_WAIT,
            _ => ((points[n - 1].0 - points[n - 2].0) * 2).clamp(MIN_WAIT, MAX_WAIT),
        };
        let patience = now.checked_sub(wait).unwrap_or(now);
        Some(points.last().map_or(patience, |p| p.0.max(patience)))
    }
}

/// At which instant the logs are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadAt {
    /// The present, or the earliest instant up to which a stream told its count is
    /// known (downloads: their latest poll, or where a hold began): every byte is
    /// counted as it is read.
    Now,
    /// The latest instant at which every stream's count is known, on the sample grid:
    /// counts come from confirmations, and after a stream's latest one its count is
    /// unknown rather than stuck (uploads).
    Confirmed,
}

impl ReadAt {
    /// The latest instant, at most `now`, at which the logs can be read.
    fn instant(self, logs: &[Arc<StreamLog>], now: Instant) -> Instant {
        match self {
            // Streams that tell their count is held are read only up to where it is
            // known.
            ReadAt::Now => logs
                .iter()
                .filter_map(|l| l.told(now))
                .min()
                .map_or(now, |t| t.min(now)),
            ReadAt::Confirmed => logs
                .iter()
                .filter_map(|l| l.known_until(now))
                .min()
                .map_or(now, |t| t.min(now)),
        }
    }
}

/// One transfer phase's set-up.
pub(crate) struct TransferPlan<'a> {
    pub phase: Phase,
    pub transfer: TransferConfig,
    pub config: &'a MeasureConfig,
    /// At which instant the logs are read.
    pub read_at: ReadAt,
    /// Latency probes on their own connection.
    pub probe: Option<Probe>,
}

/// Runs `plan.transfer.streams` copies of `stream` until the stop rule, a budget,
/// cancellation by the caller (dropping this future) or an error ends the phase.
///
/// `stream(index, log, stop)` moves payload, records it in `log`, and returns when
/// its share is done (the log is then final) or `stop` is cancelled.
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
        read_at,
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
        let moved = stream(i, log.clone(), stop.child_token());
        let log = log.clone();
        tasks.spawn(async move {
            let done = moved.await;
            // A stream that stalled moves nothing more either: its count is final.
            if matches!(done, Ok(()) | Err(Error::Stalled { .. })) {
                log.finish();
            }
            done
        });
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
    // The next instant of the regular sample grid the sampler is to see.
    let mut next_sample = start + config.sample_interval;
    let mut streams_done = 0usize;
    let mut rtts_emitted = 0usize;
    let stop_reason = 'phase: loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = Instant::now();
                rtts_emitted = emit_new_rtts(&rtts, rtts_emitted, phase, listener);
                let all_done = streams_done == streams;
                // Once every stream has finished, every count is final: read them now.
                let readable = if all_done { now } else { read_at.instant(&logs, now) };
                let moved: u64 = logs.iter().map(|l| l.latest()).sum();
                // Every grid instant that became readable, in order; then, at the very
                // end, the short interval up to the last count.
                let mut instants = Vec::new();
                while next_sample <= readable {
                    instants.push(next_sample);
                    next_sample += config.sample_interval;
                }
                if all_done && instants.last().is_none_or(|&t| t < now) {
                    instants.push(now);
                }
                for at in instants {
                    let total: u64 = logs.iter().map(|l| l.bytes_at(at)).sum();
                    let tick = sampler.record(at - start, total);
                    listener.on_event(&ProgressEvent::Interval {
                        phase,
                        elapsed_ms: (at - start).as_millis() as u64,
                        mbps: tick.interval_mbps,
                        estimate_mbps: tick.estimate_mbps,
                        bytes: moved,
                    });
                    if tick.stable && confirmed_within(&logs, start + sampler.window().ramp, at) {
                        break 'phase StopReason::Stable;
                    }
                }
                if moved >= transfer.max_bytes {
                    break StopReason::ByteBudget;
                }
                if now - start >= transfer.max_duration {
                    break StopReason::TimeBudget;
                }
                if all_done {
                    break StopReason::ByteBudget;
                }
            }
            Some(joined) = tasks.join_next(), if streams_done < streams => {
                match joined {
                    Ok(Ok(())) => streams_done += 1,
                    // One stream stalled (a retransmission timeout backing off on a
                    // lossy link) while others still move: the phase goes on without
                    // it, and fails only when the last one stalls too.
                    Ok(Err(Error::Stalled { .. })) if streams_done + 1 < streams => {
                        streams_done += 1;
                    }
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

/// Whether every unfinished stream has [`MIN_CONFIRMATIONS`] points in `(from, to]`.
fn confirmed_within(logs: &[Arc<StreamLog>], from: Instant, to: Instant) -> bool {
    logs.iter()
        .all(|l| l.is_finished() || l.points_within(from, to) >= MIN_CONFIRMATIONS)
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
    use ispeed_spec::measure::IntervalSample;

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
    fn counts_are_known_up_to_the_latest_point_for_a_while() {
        let ms = Duration::from_millis;
        let log = StreamLog::default();
        let t0 = Instant::now() + MAX_WAIT;
        // Nothing recorded: waited for at most MAX_WAIT.
        assert_eq!(log.known_until(t0 + ms(100)), Some(t0 + ms(100) - MAX_WAIT));
        log.record(t0, 100);
        log.record(t0 + ms(400), 150);
        assert_eq!(log.latest(), 150);
        assert_eq!(log.bytes_at(t0 + ms(200)), 125);
        // Known up to the latest point while the next is due (twice the last gap)...
        assert_eq!(log.known_until(t0 + ms(900)), Some(t0 + ms(400)));
        // ...then read stuck: the stream is probably stalled, not the others.
        assert_eq!(log.known_until(t0 + ms(1500)), Some(t0 + ms(700)));
        log.finish();
        assert_eq!(log.known_until(t0 + ms(1500)), None);
    }

    #[test]
    fn a_stream_that_tells_is_waited_for_until_the_instant_it_names() {
        let ms = Duration::from_millis;
        let log = StreamLog::default();
        let t0 = Instant::now();
        log.record(t0, 0);
        log.record(t0 + ms(100), 1_000);
        // Bytes crossed from 150 ms on and wait behind a hole to be read: however long
        // it stays open, the count is not read past 150 ms...
        log.set_known_until(Some(t0 + ms(150)));
        assert_eq!(log.known_until(t0 + ms(5_000)), Some(t0 + ms(150)));
        // ...and never past the present.
        log.set_known_until(Some(t0 + ms(900)));
        assert_eq!(log.known_until(t0 + ms(800)), Some(t0 + ms(800)));
        // Released: the log's own rule again (the latest point, for a while).
        log.set_known_until(None);
        assert_eq!(log.known_until(t0 + ms(300)), Some(t0 + ms(100)));
        log.finish();
        assert_eq!(log.known_until(t0 + ms(5_000)), None);
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

    /// Streams whose counts come only from confirmations: each confirms its body every
    /// `period`, staggered across streams, at a steady `rate` (bytes/s) in all; the
    /// first stream confirms nothing after `stall_after`.
    async fn confirmed_streams(
        read_at: ReadAt,
        period: Duration,
        rate: f64,
        stall_after: Duration,
    ) -> Vec<IntervalSample> {
        let intervals = confirmed_phase(read_at, period, rate, stall_after)
            .await
            .map(|r| r.intervals)
            .unwrap_or_default();
        assert!(intervals.len() >= 6, "{intervals:?}");
        intervals
    }

    /// The whole phase of [`confirmed_streams`].
    async fn confirmed_phase(
        read_at: ReadAt,
        period: Duration,
        rate: f64,
        stall_after: Duration,
    ) -> Result<TransferResult> {
        let config = MeasureConfig::default();
        let plan = TransferPlan {
            phase: Phase::Upload,
            transfer: config.upload,
            config: &config,
            read_at,
            probe: None,
        };
        let streams = usize::from(config.upload.streams);
        let start = Instant::now();
        run(plan, &super::super::Silent, |i, log, stop| async move {
            let per_stream = rate / streams as f64;
            log.record(start, 0);
            let offset = period.mul_f64(i as f64 / streams as f64);
            let mut at = start + offset;
            loop {
                at += period;
                if i == 0 && at - start > stall_after {
                    at = start + Duration::from_secs(3600);
                }
                tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep_until(at) => {}
                }
                let moved = (at - start).as_secs_f64() * per_stream;
                log.record(at, moved as u64);
            }
        })
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_drawn_between_few_confirmations_does_not_stop_the_phase() {
        // 2 s per body: between confirmations every count is interpolated, a perfect
        // line that the stop rule alone would call stable 1.5 s into the window.
        let period = Duration::from_secs(2);
        let never = Duration::from_secs(3600);
        let r = confirmed_phase(ReadAt::Confirmed, period, 250_000.0, never).await;
        let r = r.expect("the phase measures");
        // Three confirmations of every stream inside the window: two bodies at least.
        assert!(
            r.stop_reason != StopReason::Stable || r.measured_ms >= 2 * 2000,
            "{} ms measured after a ramp of {} ms, {:?}",
            r.measured_ms,
            r.ramp_ms,
            r.stop_reason
        );
        assert!((r.mbps - 2.0).abs() < 0.05, "{}", r.mbps);
    }

    #[tokio::test(start_paused = true)]
    async fn bodies_longer_than_an_interval_give_smooth_intervals() {
        // 3 Mbit/s over four streams, 0.8 s per body: longer than the sample interval
        // and than the 0.6 s by which uploads used to read the logs in the past.
        let (period, rate) = (Duration::from_millis(800), 375_000.0);
        let mbps = rate * 8.0 / 1e6;
        let never = Duration::from_secs(3600);
        let mbps_of = |xs: Vec<IntervalSample>| xs.iter().map(|i| i.mbps).collect::<Vec<_>>();
        let smooth = mbps_of(confirmed_streams(ReadAt::Confirmed, period, rate, never).await);
        for (i, m) in smooth.iter().enumerate() {
            assert!(
                (m / mbps - 1.0).abs() < 0.01,
                "interval {i}: {m} in {smooth:?}"
            );
        }
        // Read at the present, the same logs show every stream stuck at its last
        // confirmation and then jumping: the sawtooth this reading removes.
        let stuck = mbps_of(confirmed_streams(ReadAt::Now, period, rate, never).await);
        let worst = stuck
            .iter()
            .skip(2)
            .map(|m| (m / mbps - 1.0).abs())
            .fold(0.0, f64::max);
        assert!(worst > 0.2, "{stuck:?}");
    }

    /// A download phase of four streams at 1 MB/s each, in which the streams listed
    /// in `stalling` fail as stalled after 1 s.
    async fn phase_with_stalls(stalling: &'static [usize]) -> Result<TransferResult> {
        let config = MeasureConfig::default();
        let plan = TransferPlan {
            phase: Phase::Download,
            transfer: config.download,
            config: &config,
            read_at: ReadAt::Now,
            probe: None,
        };
        let start = Instant::now();
        run(plan, &super::super::Silent, |i, log, stop| async move {
            let mut moved = 0u64;
            log.record(start, 0);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
                if stalling.contains(&i) && start.elapsed() > Duration::from_secs(1) {
                    return Err(Error::Stalled {
                        phase: Phase::Download,
                        after: Duration::from_secs(5),
                    });
                }
                moved += 10_000;
                log.record(Instant::now(), moved);
            }
        })
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn one_stalled_stream_leaves_the_phase_to_the_others() {
        let r = phase_with_stalls(&[0])
            .await
            .expect("three streams still move");
        // After the stall, three streams' worth: 24 Mbit/s.
        let last = r.intervals.last().expect("intervals");
        assert!((last.mbps / 24.0 - 1.0).abs() < 0.05, "{:?}", r.intervals);
        let e = phase_with_stalls(&[0, 1, 2, 3])
            .await
            .expect_err("all stalled");
        assert!(matches!(e, Error::Stalled { .. }), "{e:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_stream_does_not_freeze_the_others_counts() {
        // One stream's body stalls after 1 s (a retransmission timeout, a lost
        // connection): the other three still move and are still read, once the
        // stalled one has been waited for twice its last gap.
        let (stall_after, period) = (Duration::from_secs(1), Duration::from_millis(400));
        let intervals = confirmed_streams(ReadAt::Confirmed, period, 375_000.0, stall_after).await;
        let last = intervals.last().map_or(0, |i| i.t_ms);
        let frozen = (stall_after + period * 2).as_millis() as u64;
        assert!(last > frozen + 250, "{intervals:?}");
        // After the stall, three streams' worth.
        let after = intervals.iter().filter(|i| i.t_ms > frozen);
        for i in after {
            assert!((i.mbps / 2.25 - 1.0).abs() < 0.05, "{intervals:?}");
        }
    }
}
