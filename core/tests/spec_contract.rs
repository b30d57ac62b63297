//! The engine against the wire contracts of `ispeed-spec`: the result document keeps
//! the golden field names (the error codes are checked against `ispeed_spec::codes` by
//! `ispeed-core`'s `listed_codes` tests).
#![allow(clippy::expect_used)]

use ispeed_core::MeasurementResult;
use ispeed_spec::result::{FULL_EXAMPLE, field_paths, golden_fields};

#[test]
fn the_result_document_keeps_its_golden_field_names() {
    let fixture: serde_json::Value = serde_json::from_str(FULL_EXAMPLE).expect("fixture");
    let doc: MeasurementResult =
        serde_json::from_value(fixture.clone()).expect("the engine reads the full example");
    let written = serde_json::to_value(&doc).expect("serialise");
    let golden: std::collections::BTreeSet<String> = golden_fields().map(str::to_owned).collect();
    let actual = field_paths(&written);
    let missing: Vec<_> = golden.difference(&actual).collect();
    let unlisted: Vec<_> = actual.difference(&golden).collect();
    assert!(
        missing.is_empty() && unlisted.is_empty(),
        "renamed or removed fields {missing:?}; new fields {unlisted:?} must be added to \
         spec/golden/result_fields.txt and spec/golden/result_full.json (extend, never rename)"
    );
    assert_eq!(
        written, fixture,
        "the document does not read back as written"
    );
}
