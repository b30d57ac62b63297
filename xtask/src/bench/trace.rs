//! Packet-delivery traces in the manner of Mahimahi's cellular traces.
//!
//! A trace file holds one integer per line: a millisecond timestamp at which the link
//! may deliver one 1500-byte packet (several lines may share a timestamp). The trace
//! loops with the last timestamp as its period. [`Trace::opportunities`] counts the
//! delivery opportunities in any window, which is what the benchmark's expected figure
//! on a trace is built from.
//!
//! The synthetic traces shipped in `bench/traces/` are written by [`write_synthetic`]
//! (`cargo xtask bench --write-traces`): they are generated, never hand-edited, so the
//! generator is their documentation.

use std::fmt::Write as _;
use std::path::Path;

/// Bytes one delivery opportunity may carry (an IP packet of a 1500-byte MTU).
pub const OPPORTUNITY_BYTES: u64 = 1500;

/// TCP payload in a full 1500-byte IP packet: 20 bytes IPv4, 20 TCP, 12 timestamps.
pub const PAYLOAD_PER_PACKET: u64 = 1448;

/// A looping delivery schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Opportunity timestamps within one period, ms, sorted, each in `1..=period_ms`.
    stamps: Vec<u64>,
    /// Length of one loop, ms (the last timestamp).
    period_ms: u64,
}

impl Trace {
    /// Parses a trace file's text: one non-negative integer per non-empty line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut stamps = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let ms: u64 = line
                .parse()
                .map_err(|_| format!("line {}: not a millisecond timestamp: {line:?}", n + 1))?;
            if stamps.last().is_some_and(|&last| ms < last) {
                return Err(format!("line {}: timestamps must not go backwards", n + 1));
            }
            stamps.push(ms);
        }
        let period_ms = *stamps.last().ok_or("empty trace")?;
        if period_ms == 0 {
            return Err("a trace must span at least 1 ms".to_owned());
        }
        Ok(Self { stamps, period_ms })
    }

    /// Reads and parses a trace file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A trace delivering at piecewise-constant rates: `(duration_ms, mbps)` segments,
    /// where `mbps` is the rate of whole 1500-byte IP packets.
    pub fn from_segments(segments: &[(u64, f64)]) -> Self {
        let mut stamps = Vec::new();
        let mut credit = 0.0_f64;
        let mut t = 0_u64;
        for &(len, mbps) in segments {
            let per_ms = mbps * 1e6 / 8.0 / OPPORTUNITY_BYTES as f64 / 1000.0;
            for _ in 0..len {
                t += 1;
                credit += per_ms;
                while credit >= 1.0 {
                    stamps.push(t);
                    credit -= 1.0;
                }
            }
        }
        // The period is the last timestamp: pin it to the intended length.
        if stamps.last() != Some(&t) {
            stamps.push(t);
        }
        Self {
            stamps,
            period_ms: t,
        }
    }

    /// Length of one loop, ms.
    pub fn period_ms(&self) -> u64 {
        self.period_ms
    }

    /// Opportunities at timestamps `t` with `from_ms < t <= to_ms` (trace time, looping).
    pub fn opportunities(&self, from_ms: u64, to_ms: u64) -> u64 {
        self.upto(to_ms).saturating_sub(self.upto(from_ms))
    }

    /// Opportunities at timestamps `<= t_ms` since trace time 0.
    fn upto(&self, t_ms: u64) -> u64 {
        let loops = t_ms / self.period_ms;
        let rest = t_ms % self.period_ms;
        let partial = self.stamps.partition_point(|&s| s <= rest);
        loops * self.stamps.len() as u64 + partial as u64
    }

    /// TCP goodput the trace offers between two trace times, Mbit/s.
    pub fn goodput_mbps(&self, from_ms: u64, to_ms: u64) -> f64 {
        if to_ms <= from_ms {
            return 0.0;
        }
        let bits = self.opportunities(from_ms, to_ms) * PAYLOAD_PER_PACKET * 8;
        bits as f64 / ((to_ms - from_ms) as f64 / 1000.0) / 1e6
    }

    /// Mean TCP goodput over a whole loop, Mbit/s.
    pub fn mean_goodput_mbps(&self) -> f64 {
        self.goodput_mbps(0, self.period_ms)
    }

    /// The file text: one timestamp per line.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.stamps.len() * 6);
        for s in &self.stamps {
            let _ = writeln!(out, "{s}");
        }
        out
    }
}

/// A small deterministic generator (SplitMix64), so regenerating the traces gives the
/// same files byte for byte on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1_u64 << 53) as f64
    }
}

impl SplitMix {
    /// A standard normal deviate (Box-Muller).
    fn next_normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The character of a recorded cellular link, as a generator's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Cellular {
    /// Mean rate before outages, Mbit/s of IP packets.
    pub mean_mbps: f64,
    /// Spread of the slow component (log-normal σ): the channel and the cell's load,
    /// which move over seconds.
    pub slow_sigma: f64,
    /// Its correlation time, ms.
    pub slow_tau_ms: f64,
    /// Spread of the fast component: the scheduler's share from one frame burst to the
    /// next.
    pub fast_sigma: f64,
    /// Its correlation time, ms.
    pub fast_tau_ms: f64,
    /// Mean time between outages (nothing delivered), ms.
    pub outage_every_ms: f64,
    /// Shortest and longest outage, ms.
    pub outage_ms: (u64, u64),
    /// Highest rate the cell can give one user, Mbit/s.
    pub peak_mbps: f64,
}

/// Step of the cellular generator: the rate is constant for this long.
const CELL_STEP_MS: u64 = 20;

/// When a cell's radio link is out, per [`CELL_STEP_MS`] step: outages of
/// `c.outage_ms` at random (Poisson) times, `c.outage_every_ms` apart on average. One
/// schedule serves both directions of a scenario, because what empties a recorded
/// trace (a handover, a lost radio link, a stall of the base station) stops the
/// uplink and the downlink together: drawn apart, an uplink outage starved a download
/// of its ACKs while the downlink trace offered its full rate, which no cell does.
pub fn outages(seed: u64, total_ms: u64, c: Cellular) -> Vec<bool> {
    let mut rng = SplitMix(seed);
    let steps = total_ms.div_ceil(CELL_STEP_MS) as usize;
    let mut left = 0_u64;
    (0..steps)
        .map(|_| {
            if left == 0 && rng.next_f64() < CELL_STEP_MS as f64 / c.outage_every_ms {
                let (lo, hi) = c.outage_ms;
                left = lo + (rng.next_f64() * (hi - lo) as f64) as u64;
            }
            let out = left > 0;
            left = left.saturating_sub(CELL_STEP_MS);
            out
        })
        .collect()
}

/// A recorded-LTE-like rate: the product of a slow and a fast log-normal process
/// (each an AR(1) in log space), capped at the cell's peak, and nothing during the
/// steps `out` marks (see [`outages`]). Each log process is standardised over the
/// loop (mean 0, deviation 1), so that one loop of a minute shows the spread asked
/// for rather than whatever a minute of a slow process happened to draw.
pub fn cellular(seed: u64, total_ms: u64, c: Cellular, out: &[bool]) -> Segments {
    let mut rng = SplitMix(seed);
    let steps = total_ms.div_ceil(CELL_STEP_MS) as usize;
    let mut ar = |tau_ms: f64| {
        let a = (-(CELL_STEP_MS as f64) / tau_ms).exp();
        let mut x = rng.next_normal();
        let mut xs: Vec<f64> = (0..steps)
            .map(|_| {
                x = a * x + (1.0 - a * a).sqrt() * rng.next_normal();
                x
            })
            .collect();
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let sd = (xs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        for v in &mut xs {
            *v = (*v - mean) / sd;
        }
        xs
    };
    let slow = ar(c.slow_tau_ms);
    let fast = ar(c.fast_tau_ms);
    let mut segments = Vec::with_capacity(steps);
    let mut t = 0;
    for i in 0..steps {
        let len = CELL_STEP_MS.min(total_ms - t);
        let rate = if out.get(i).copied().unwrap_or(false) {
            0.0
        } else {
            let log = c.slow_sigma * slow[i] - c.slow_sigma.powi(2) / 2.0 + c.fast_sigma * fast[i]
                - c.fast_sigma.powi(2) / 2.0;
            (c.mean_mbps * log.exp()).min(c.peak_mbps)
        };
        segments.push((len, rate));
        t += len;
    }
    segments
}

/// The statistics issue 18 asks of a cellular trace, over one loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceStats {
    /// Mean rate, Mbit/s of IP packets.
    pub mean_mbps: f64,
    /// Coefficient of variation of the rate in 100 ms windows.
    pub cv_100ms: f64,
    /// The same in 1 s windows.
    pub cv_1s: f64,
    /// Share of 100 ms windows that deliver nothing.
    pub empty_100ms: f64,
    /// 10th percentile of the 100 ms rate over the mean.
    pub p10_100ms: f64,
}

impl Trace {
    /// Opportunities in each whole `window_ms` window of one loop.
    fn window_counts(&self, window_ms: u64) -> Vec<f64> {
        (0..self.period_ms / window_ms)
            .map(|i| self.opportunities(i * window_ms, (i + 1) * window_ms) as f64)
            .collect()
    }

    /// The statistics of one loop.
    pub fn stats(&self) -> TraceStats {
        let cv = |xs: &[f64]| {
            let n = xs.len() as f64;
            let mean = xs.iter().sum::<f64>() / n;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            var.sqrt() / mean
        };
        let mut fine = self.window_counts(100);
        let coarse = self.window_counts(1000);
        let mean_fine = fine.iter().sum::<f64>() / fine.len() as f64;
        let empty = fine.iter().filter(|&&x| x == 0.0).count() as f64 / fine.len() as f64;
        let (cv_100ms, cv_1s) = (cv(&fine), cv(&coarse));
        fine.sort_by(f64::total_cmp);
        let p10 = fine[fine.len() / 10] / mean_fine;
        TraceStats {
            mean_mbps: self.stamps.len() as f64 * OPPORTUNITY_BYTES as f64 * 8.0
                / (self.period_ms as f64 / 1000.0)
                / 1e6,
            cv_100ms,
            cv_1s,
            empty_100ms: empty,
            p10_100ms: p10,
        }
    }
}

/// An LTE-like rate: a bounded random walk that moves every 200-500 ms, as a cell's
/// scheduler share does when other users come and go.
fn fluctuating(seed: u64, total_ms: u64, low: f64, high: f64) -> Segments {
    let mut rng = SplitMix(seed);
    let mut rate = (low + high) / 2.0;
    let mut t = 0;
    let mut segments = Vec::new();
    while t < total_ms {
        let len = (200 + (rng.next_f64() * 300.0) as u64).min(total_ms - t);
        segments.push((len, rate));
        t += len;
        let step = (rng.next_f64() - 0.5) * (high - low) * 0.5;
        rate = (rate + step).clamp(low, high);
    }
    segments
}

/// Loop length of the cellular traces: 60 windows of 1 s for the statistics.
const TRACE_LOOP_MS: u64 = 60_000;

/// A busy city cell, downlink.
pub const CITY_DOWN: Cellular = Cellular {
    mean_mbps: 20.0,
    slow_sigma: 0.8,
    slow_tau_ms: 2500.0,
    fast_sigma: 0.45,
    fast_tau_ms: 60.0,
    outage_every_ms: 6000.0,
    outage_ms: (150, 450),
    peak_mbps: 80.0,
};

/// Its uplink.
pub const CITY_UP: Cellular = Cellular {
    mean_mbps: 8.0,
    peak_mbps: 35.0,
    ..CITY_DOWN
};

/// A cell edge: lower rates, the same character.
pub const EDGE_DOWN: Cellular = Cellular {
    mean_mbps: 9.0,
    peak_mbps: 40.0,
    ..CITY_DOWN
};

/// Its uplink.
pub const EDGE_UP: Cellular = Cellular {
    mean_mbps: 4.0,
    peak_mbps: 18.0,
    ..CITY_DOWN
};

/// Piecewise-constant rates: `(duration_ms, mbps)`.
pub type Segments = Vec<(u64, f64)>;

/// The scenarios shipped with the benchmark: name, downlink and uplink segments.
pub fn synthetic() -> Vec<(&'static str, Segments, Segments)> {
    // One outage schedule per cell, shared by its two directions.
    let city_out = outages(22, TRACE_LOOP_MS, CITY_DOWN);
    let edge_out = outages(18, TRACE_LOOP_MS, EDGE_DOWN);
    vec![
        // A flat 50/16 Mbit/s cell: the emulator's own accuracy, with delay.
        ("steady", vec![(1000, 50.0)], vec![(1000, 16.0)]),
        // Scheduler share moving between 15 and 45 Mbit/s (5-15 up) every few hundred ms.
        (
            "lte",
            fluctuating(1, 30_000, 15.0, 45.0),
            fluctuating(2, 30_000, 5.0, 15.0),
        ),
        // Recorded-LTE-like cells (issue 18; see bench/traces/README.md for how each
        // statistic was chosen): a busy city cell and a cell edge.
        (
            "cell-city",
            cellular(7, TRACE_LOOP_MS, CITY_DOWN, &city_out),
            cellular(2, TRACE_LOOP_MS, CITY_UP, &city_out),
        ),
        (
            "cell-edge",
            cellular(1, TRACE_LOOP_MS, EDGE_DOWN, &edge_out),
            cellular(10, TRACE_LOOP_MS, EDGE_UP, &edge_out),
        ),
        // 30 Mbit/s with, every 6 s, a handover: 300 ms of nothing, then 700 ms at a
        // tenth of the rate while the new cell ramps up.
        (
            "handover",
            vec![(2000, 30.0), (300, 0.0), (700, 3.0), (3000, 30.0)],
            vec![(2000, 10.0), (300, 0.0), (700, 1.0), (3000, 10.0)],
        ),
    ]
}

/// Writes `<name>.down` and `<name>.up` for every synthetic scenario into `dir`.
pub fn write_synthetic(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, down, up) in synthetic() {
        for (suffix, segments) in [("down", down), ("up", up)] {
            let path = dir.join(format!("{name}.{suffix}"));
            let trace = Trace::from_segments(&segments);
            std::fs::write(&path, trace.to_text())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            let st = trace.stats();
            println!(
                "{name}.{suffix}: mean {:.1} Mbit/s, CV {:.2} (100 ms) {:.2} (1 s), {:.1} % empty 100 ms windows, 10th percentile {:.0} % of the mean",
                st.mean_mbps,
                st.cv_100ms,
                st.cv_1s,
                st.empty_100ms * 100.0,
                st.p10_100ms * 100.0
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_rate_trace_offers_that_rate() {
        let t = Trace::from_segments(&[(1000, 12.0)]);
        // 12 Mbit/s of 1500-byte packets is 1000 packets a second.
        assert_eq!(t.opportunities(0, 1000), 1000);
        assert_eq!(t.period_ms(), 1000);
        let expected = 12.0 * 1448.0 / 1500.0;
        assert!((t.mean_goodput_mbps() - expected).abs() < 1e-9);
    }

    #[test]
    fn windows_loop_over_the_period() {
        let t = Trace::parse("1\n1\n3\n4\n").expect("valid trace");
        assert_eq!(t.period_ms(), 4);
        assert_eq!(t.opportunities(0, 4), 4);
        assert_eq!(t.opportunities(0, 8), 8);
        // (2, 5]: stamp 3, 4, then 1+4=5 twice.
        assert_eq!(t.opportunities(2, 5), 4);
    }

    #[test]
    fn text_round_trips_and_bad_files_are_refused() {
        let t = Trace::from_segments(&[(10, 6.0), (10, 0.0)]);
        assert_eq!(Trace::parse(&t.to_text()), Ok(t));
        assert!(Trace::parse("").is_err());
        assert!(Trace::parse("3\n2\n").is_err());
        assert!(Trace::parse("x\n").is_err());
    }

    /// The cellular traces shipped in `bench/traces/` are the generator's output and
    /// have the statistics of recorded LTE that issue 18 gives (see the README there).
    #[test]
    fn shipped_cellular_traces_have_the_statistics_of_recorded_lte() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/traces");
        let mut cells = 0;
        for (name, down, up) in synthetic() {
            if !name.starts_with("cell-") {
                continue;
            }
            cells += 1;
            for (suffix, segments, means) in [("down", down, 5.0..=30.0), ("up", up, 2.0..=15.0)] {
                let path = dir.join(format!("{name}.{suffix}"));
                let shipped = Trace::load(&path).expect("shipped trace");
                assert_eq!(
                    shipped,
                    Trace::from_segments(&segments),
                    "{} is not the generator's output: run cargo xtask bench --write-traces",
                    path.display()
                );
                let st = shipped.stats();
                let what = format!("{name}.{suffix}: {st:?}");
                assert!(means.contains(&st.mean_mbps), "mean: {what}");
                assert!((0.6..=1.0).contains(&st.cv_100ms), "CV at 100 ms: {what}");
                assert!((0.6..=1.0).contains(&st.cv_1s), "CV at 1 s: {what}");
                assert!(
                    (0.02..=0.07).contains(&st.empty_100ms),
                    "empty windows: {what}"
                );
                assert!(
                    (0.04..=0.25).contains(&st.p10_100ms),
                    "10th percentile: {what}"
                );
            }
        }
        assert!(cells >= 2, "issue 18 asks for at least two cellular traces");
    }

    #[test]
    fn statistics_of_a_known_trace() {
        // 100 ms of nothing, then 900 ms at 12 Mbit/s (100 packets per 100 ms).
        let st = Trace::from_segments(&[(100, 0.0), (900, 12.0)]).stats();
        assert!((st.mean_mbps - 10.8).abs() < 0.02, "{st:?}");
        assert!((st.empty_100ms - 0.1).abs() < 1e-9, "{st:?}");
        // One window of 0, nine of 100: mean 90, deviation 30.
        assert!((st.cv_100ms - 1.0 / 3.0).abs() < 0.01, "{st:?}");
        assert_eq!(st.cv_1s, 0.0);
    }

    #[test]
    fn a_dip_lowers_the_mean() {
        let t = Trace::from_segments(&[(500, 30.0), (500, 0.0)]);
        let full = 30.0 * 1448.0 / 1500.0;
        assert!((t.goodput_mbps(0, 500) - full).abs() < 0.1);
        assert!(t.goodput_mbps(500, 999) < 0.1);
    }
}
