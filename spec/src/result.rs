//! The result document `ispeed.result/1`: its schema string, its size limit, and the
//! golden list of its field names.
//!
//! The document's Rust type lives with the engine that fills it
//! (`ispeed_core::result::MeasurementResult`); the collector reads it loosely, as JSON,
//! so that fields added by newer clients are kept. What both agree on is here.

/// Value of the document's `schema` field.
pub const SCHEMA: &str = "ispeed.result/1";

/// Largest result document a collector accepts, bytes. A real document with every
/// interval sample and round trip of a long test is about 6 KB; ten times that leaves
/// room to grow and still refuses a body meant to tie up the collector.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Every field path of a fully populated result document, one per line, sorted:
/// `a.b` is field `b` of the object in field `a`, `a[].b` field `b` of the objects in
/// the array `a`. A test in `ispeed-core` compares the serialised type against it, so
/// renaming a field fails the build's tests; adding one means adding its line here.
pub const GOLDEN_FIELDS: &str = include_str!("../golden/result_fields.txt");

/// The golden field paths, without blank lines.
pub fn golden_fields() -> impl Iterator<Item = &'static str> {
    GOLDEN_FIELDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
}

/// A fully populated result document (every optional field present, every list with
/// one element at least), whose field paths are exactly [`GOLDEN_FIELDS`]: the
/// fixture the golden test reads into the engine's type and writes back.
pub const FULL_EXAMPLE: &str = include_str!("../golden/result_full.json");

/// The field paths of a JSON value in the notation of [`GOLDEN_FIELDS`] (an array's
/// paths are those of its first element).
pub fn field_paths(value: &serde_json::Value) -> std::collections::BTreeSet<String> {
    fn walk(v: &serde_json::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, x) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(x, &path, out);
                    out.insert(path);
                }
            }
            serde_json::Value::Array(items) => {
                if let Some(first) = items.first() {
                    walk(first, &format!("{prefix}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(value, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_example_has_exactly_the_golden_fields() {
        let doc: serde_json::Value = serde_json::from_str(FULL_EXAMPLE).expect("fixture is JSON");
        let golden: std::collections::BTreeSet<String> =
            golden_fields().map(str::to_owned).collect();
        assert_eq!(field_paths(&doc), golden);
        assert_eq!(doc["schema"], SCHEMA);
        assert!(FULL_EXAMPLE.len() < MAX_DOCUMENT_BYTES);
    }
}
