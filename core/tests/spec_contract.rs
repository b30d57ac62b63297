//! The engine against the wire contracts of `ispeed-spec`: the result document keeps
//! the golden field names, and every error code the engine returns is listed.
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

#[test]
fn every_engine_error_code_is_in_the_spec_list() {
    let source = include_str!("../src/error.rs");
    let codes: Vec<&str> = source
        .lines()
        .filter_map(|l| l.split_once("=> \"").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once('"').map(|(code, _)| code))
        .filter(|code| code.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    assert!(codes.len() >= 20, "found only {codes:?} in error.rs");
    for code in codes {
        assert!(
            ispeed_spec::codes::is_known(code),
            "error code {code:?} is missing from ispeed_spec::codes::ERROR_CODES"
        );
    }
}
