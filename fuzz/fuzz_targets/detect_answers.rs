//! Answers read during protocol detection and set-up: the native `/info` document and
//! LibreSpeed's `getIP.php`. Any body gives a yes/no or a typed decoding error.
#![no_main]

use ispeed_core::protocol::detect::speaks_native;
use ispeed_core::protocol::librespeed::IpInfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let native = speaks_native(data);
    if native {
        // Only a JSON object naming the protocol counts.
        let v: serde_json::Value = serde_json::from_slice(data).expect("a native answer is JSON");
        assert!(v.get("protocols").is_some());
    }
    let _ = serde_json::from_slice::<IpInfo>(data);
});
