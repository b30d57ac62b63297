//! Properties of the throughput and latency maths over arbitrary inputs.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::time::Duration;

use ispeed_core::config::StabilityRule;
use ispeed_core::measure::sampler::{MAX_END_SHIFT, Sampler};
use ispeed_core::measure::stats::{jitter, mbps, median, percentile};
use proptest::prelude::*;

fn finite_values() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0.0f64..10_000.0, 1..64)
}

proptest! {
    #[test]
    fn percentiles_are_ordered_and_inside_the_range(values in finite_values(), a in 0.0f64..100.0, b in 0.0f64..100.0) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let (p_lo, p_hi) = (percentile(&values, lo).unwrap(), percentile(&values, hi).unwrap());
        let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        prop_assert!(p_lo <= p_hi + 1e-9);
        prop_assert!(p_lo >= min - 1e-9 && p_hi <= max + 1e-9);
        prop_assert_eq!(percentile(&values, 0.0), Some(min));
        prop_assert_eq!(percentile(&values, 100.0), Some(max));
    }

    #[test]
    fn median_does_not_depend_on_order(mut values in finite_values()) {
        let m = median(&values);
        values.reverse();
        prop_assert_eq!(median(&values), m);
    }

    #[test]
    fn jitter_is_bounded_by_the_spread(values in finite_values()) {
        let j = jitter(&values);
        let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        prop_assert!(j >= 0.0 && j <= max - min + 1e-9);
    }

    #[test]
    fn sampler_reports_exactly_the_bytes_of_its_window(
        per_interval in prop::collection::vec(0u64..5_000_000, 1..60),
    ) {
        let mut s = Sampler::new(StabilityRule::default());
        let mut total = 0;
        for (i, b) in per_interval.iter().enumerate() {
            total += b;
            let tick = s.record(Duration::from_millis(250 * (i as u64 + 1)), total);
            prop_assert!(tick.interval_mbps.is_finite() && tick.interval_mbps >= 0.0);
        }
        let w = s.window();
        prop_assert_eq!(w.intervals.len(), per_interval.len());
        prop_assert!(w.bytes <= total);
        prop_assert!(w.mbps.is_finite() && w.mbps >= 0.0);
        prop_assert!((w.mbps - mbps(w.bytes, w.duration)).abs() < 1e-9);
        // the window follows the ramp and ends at the phase's end, or up to
        // MAX_END_SHIFT before it when the end lies off the window's line
        let phase = Duration::from_millis(250 * per_interval.len() as u64);
        let end = w.ramp + w.duration;
        prop_assert!(end <= phase && phase - end <= MAX_END_SHIFT, "{end:?} of {phase:?}");
        let end_ms = end.as_millis() as u64;
        let counted: u64 = w
            .intervals
            .iter()
            .filter(|i| !i.ramp && i.t_ms <= end_ms)
            .map(|i| i.bytes)
            .sum();
        prop_assert_eq!(counted, w.bytes);
    }

    #[test]
    fn a_constant_rate_is_measured_exactly_and_found_stable(
        rate in 1_000u64..10_000_000, ramp_fraction in prop::collection::vec(0.0f64..1.0, 0..3),
    ) {
        // Slow start climbs towards the rate: ramp intervals carry less than a full one.
        let ramp: Vec<u64> = ramp_fraction.iter().map(|f| (rate as f64 * f) as u64).collect();
        let mut s = Sampler::new(StabilityRule::default());
        let mut total = 0;
        let mut stable = false;
        let intervals: Vec<u64> = ramp.iter().copied().chain(std::iter::repeat_n(rate, 24)).collect();
        for (i, b) in intervals.iter().enumerate() {
            total += b;
            stable |= s.record(Duration::from_millis(250 * (i as u64 + 1)), total).stable;
        }
        prop_assert!(stable);
        let w = s.window();
        let exact = mbps(rate, Duration::from_millis(250));
        // Ramp detection may keep one plateau interval as ramp or let one ramp
        // interval in; with 24 plateau intervals the error stays under 5 %.
        prop_assert!((w.mbps / exact - 1.0).abs() < 0.05, "{} vs {}", w.mbps, exact);
    }
}
