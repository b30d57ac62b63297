//! Measurement settings as JSON (what an app or a settings file hands the engine):
//! decoding and `validate` never panic, and a configuration that validates can be
//! used to set up a measurement's HTTP clients.
#![no_main]

use ispeed_core::MeasureConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(config) = serde_json::from_slice::<MeasureConfig>(data) else {
        return;
    };
    if config.validate().is_ok() {
        // The sums the engine makes of its limits must not overflow.
        let _ = config.stall_timeout + config.request_timeout;
        let _ = config.connect_timeout + config.overall_timeout;
    }
});
