//! Cloudflare's `Server-Timing` header: the processing time it yields is sane, and
//! the latency derived from it is never negative nor longer than the round trip.
#![no_main]

use std::time::Duration;

use ispeed_core::protocol::{PingTiming, server_timing_dur};
use libfuzzer_sys::fuzz_target;
use reqwest::header::{HeaderMap, HeaderValue};

fuzz_target!(|data: &[u8]| {
    let Some((&[rtt_ms], value)) = data.split_first_chunk::<1>() else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(value) {
        if let Some(d) = server_timing_dur(text, "cfRequestDuration") {
            assert!(d < Duration::from_secs(3600), "{d:?}");
        }
    }
    let Ok(header) = HeaderValue::from_bytes(value) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.append("server-timing", header);
    let rtt = Duration::from_millis(u64::from(rtt_ms));
    let timing = PingTiming::MinusServerTiming {
        metric: "cfRequestDuration",
    };
    let latency = timing.latency(rtt, &headers);
    assert!(latency <= rtt);
    assert!(latency > Duration::ZERO || rtt.is_zero());
});
