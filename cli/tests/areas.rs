//! `ispeed campaign area` with the official catalogue: `--search` prints matches with
//! their codes and provinces (table and JSON), and `--set` takes a commune code, which
//! fills the official names, alone or with a hamlet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn ispeed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ispeed"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ispeed")
}

fn stdout_of(args: &[&str]) -> String {
    let out = ispeed(args);
    assert!(
        out.status.success(),
        "ispeed {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn search_lists_xa_dan_tien_with_its_code_and_province() {
    let table = stdout_of(&["campaign", "area", "--search", "dan tien"]);
    let first = table.lines().next().unwrap_or_default();
    assert!(first.contains("5755"), "{table}");
    assert!(first.contains("Xã Dân Tiến"), "{table}");
    assert!(first.contains("Thái Nguyên"), "{table}");

    let json: Value = serde_json::from_str(&stdout_of(&[
        "campaign",
        "area",
        "--search",
        "DÂN TIỂN",
        "--json",
    ]))
    .expect("JSON");
    assert_eq!(json[0]["code"], 5755);
    assert_eq!(json[0]["level"], "commune");
    assert_eq!(json[0]["name"], "Xã Dân Tiến");
    assert_eq!(json[0]["province_name"], "Thái Nguyên");
    assert_eq!(json[0]["province_code"], 19);

    let json: Value = serde_json::from_str(&stdout_of(&[
        "campaign",
        "area",
        "--search",
        "thai nguyen",
        "--json",
        "--limit",
        "3",
    ]))
    .expect("JSON");
    assert_eq!(json.as_array().map(Vec::len), Some(3));
    assert_eq!(json[0]["level"], "province");

    let none = stdout_of(&["campaign", "area", "--search", "  "]);
    assert!(none.starts_with("no province or commune matches"), "{none}");
    let none: Value =
        serde_json::from_str(&stdout_of(&["campaign", "area", "--search", "", "--json"]))
            .expect("JSON");
    assert_eq!(none, serde_json::json!([]));
}

#[test]
fn set_takes_a_commune_code_and_fills_the_official_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ispeed.db");
    let db = db.to_str().expect("utf-8 path");
    let shown = stdout_of(&["campaign", "area", "--db", db, "--set", "5755"]);
    assert!(
        shown.contains("area:       Thái Nguyên / Xã Dân Tiến (code 5755)"),
        "{shown}"
    );
    let shown = stdout_of(&[
        "campaign",
        "area",
        "--db",
        db,
        "--set",
        "code=5755,hamlet=Thôn 3",
    ]);
    assert!(
        shown.contains("Thái Nguyên / Xã Dân Tiến / Thôn 3 (code 5755)"),
        "{shown}"
    );
    let refused = ispeed(&["campaign", "area", "--db", db, "--set", "999999"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("no commune has code 999999"), "{err}");
    // The refused code changed nothing.
    let shown = stdout_of(&["campaign", "area", "--db", db]);
    assert!(shown.contains("(code 5755)"), "{shown}");
}
