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

/// Piecewise-constant rates: `(duration_ms, mbps)`.
pub type Segments = Vec<(u64, f64)>;

/// The scenarios shipped with the benchmark: name, downlink and uplink segments.
pub fn synthetic() -> Vec<(&'static str, Segments, Segments)> {
    vec![
        // A flat 50/16 Mbit/s cell: the emulator's own accuracy, with delay.
        ("steady", vec![(1000, 50.0)], vec![(1000, 16.0)]),
        // Scheduler share moving between 15 and 45 Mbit/s (5-15 up) every few hundred ms.
        (
            "lte",
            fluctuating(1, 30_000, 15.0, 45.0),
            fluctuating(2, 30_000, 5.0, 15.0),
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
            std::fs::write(&path, Trace::from_segments(&segments).to_text())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
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

    #[test]
    fn a_dip_lowers_the_mean() {
        let t = Trace::from_segments(&[(500, 30.0), (500, 0.0)]);
        let full = 30.0 * 1448.0 / 1500.0;
        assert!((t.goodput_mbps(0, 500) - full).abs() < 0.1);
        assert!(t.goodput_mbps(500, 999) < 0.1);
    }
}
