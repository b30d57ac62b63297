//! The reference collector's check of a posted document: any body is accepted with
//! its id or refused with a reason, and an accepted body can be stored as text.
#![no_main]

use ispeed_server::collector::validate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(id) = validate(data) {
        let text = std::str::from_utf8(data).expect("an accepted document is UTF-8");
        let v: serde_json::Value = serde_json::from_str(text).expect("it is JSON");
        let declared = v["id"].as_str().expect("it has an id");
        assert_eq!(uuid::Uuid::parse_str(declared).ok(), Some(id));
    }
});
