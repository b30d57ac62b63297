//! Schedule scenario files (`ispeed schedule simulate --scenario FILE`): parsing and
//! simulating a few days under both policies answers a timeline or a typed error,
//! never a panic (dates and clock shifts come straight from the file).
#![no_main]

use ispeed_core::schedule::auto::AutoPolicy;
use ispeed_core::schedule::daily::DailyPolicy;
use ispeed_core::schedule::simulate::{Scenario, simulate_auto, simulate_daily};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(scenario) = Scenario::from_json(text) else {
        return;
    };
    let days = 3;
    let _ = simulate_daily(&DailyPolicy::default(), &scenario, None, days);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let _ = rt.block_on(simulate_auto(&AutoPolicy::default(), &scenario, None, days));
});
