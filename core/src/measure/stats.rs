//! The latency and throughput maths, pure and tested on literal samples.

use std::time::Duration;

/// Bits in a megabit: figures are in Mbit/s = 10^6 bit/s.
const BITS_PER_MEGABIT: f64 = 1_000_000.0;

/// Rate of `bytes` moved in `over`, Mbit/s; zero for an empty interval.
pub fn mbps(bytes: u64, over: Duration) -> f64 {
    let secs = over.as_secs_f64();
    if secs <= 0.0 {
        return 0.0;
    }
    bytes as f64 * 8.0 / BITS_PER_MEGABIT / secs
}

/// Percentile `p` (0-100) of `values` with linear interpolation between closest ranks
/// (the median of an even count is the mean of the middle two). `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let frac = rank - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// Median of `values`.
pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// Jitter as the mean absolute difference of consecutive samples (RFC 3550's idea,
/// without its smoothing); zero for fewer than two samples.
pub fn jitter(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let sum: f64 = values.windows(2).map(|w| (w[1] - w[0]).abs()).sum();
    sum / (values.len() - 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbps_is_payload_bits_per_microsecond() {
        assert_eq!(mbps(5_000_000, Duration::from_secs(1)), 40.0);
        assert_eq!(mbps(1_250_000, Duration::from_millis(250)), 40.0);
        assert_eq!(mbps(123, Duration::ZERO), 0.0);
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let v = [40.0, 42.0, 41.0, 45.0, 60.0, 43.0, 44.0, 41.5, 40.5, 90.0];
        assert_eq!(median(&v), Some(42.5));
        assert_eq!(percentile(&v, 0.0), Some(40.0));
        assert_eq!(percentile(&v, 100.0), Some(90.0));
        // rank 8.1 between 60 and 90
        let p90 = percentile(&v, 90.0).unwrap_or_default();
        assert!((p90 - 63.0).abs() < 1e-9, "{p90}");
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn jitter_is_mean_absolute_consecutive_difference() {
        assert_eq!(jitter(&[40.0, 44.0, 42.0, 42.0]), (4.0 + 2.0 + 0.0) / 3.0);
        assert_eq!(jitter(&[40.0]), 0.0);
    }
}
