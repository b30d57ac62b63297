//! `ispeed campaign area` with the official catalogue: `--search` prints matches with
//! their codes and provinces (table and JSON), and `--set` takes a commune code, which
//! fills the official names, alone or with a hamlet. End to end: installs that chose
//! their commune by code, by code with a hamlet, and as free text typed before codes
//! (matched to the code) are one commune at the collector, found by its code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};

use ispeed_spec::campaign::{Level, Progress};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installs_choosing_by_code_or_by_name_are_one_commune_at_the_collector() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (base, _collector) =
        ispeed_e2e::server_with_collector(&dir.path().join("collector.db")).await;
    let base = base.trim_end_matches('/').to_owned();
    let demo = |name: &str, area: &str| -> Value {
        let db = dir.path().join(name).display().to_string();
        let args = [
            "demo",
            "--json",
            "--max-seconds",
            "1",
            "--max-mbytes",
            "2",
            "--db",
            &db,
            "--area",
            area,
            "--collector",
            &base,
        ];
        serde_json::from_str(&stdout_of(&args)).expect("result document")
    };
    let a = demo("a.db", "5755");
    assert_eq!(a["participant"]["area"]["code"], 5755);
    assert_eq!(a["participant"]["area"]["commune"], "Xã Dân Tiến");
    demo("b.db", "code=5755,hamlet=Thôn 3");
    // Typed as free text, without accents: unique, so the document carries the code.
    let c = demo("c.db", "province=thai nguyen,commune=dan tien");
    assert_eq!(c["participant"]["area"]["code"], 5755);

    let body = reqwest::get(format!("{base}/v1/campaign/progress?area=5755"))
        .await
        .expect("progress")
        .bytes()
        .await
        .expect("body");
    let p: Progress = serde_json::from_slice(&body).expect("progress JSON");
    let rows: Vec<(Level, &str, u32)> = p
        .areas
        .iter()
        .map(|a| (a.level, a.label.as_str(), a.participants))
        .collect();
    assert_eq!(
        rows,
        [
            (Level::Commune, "Thái Nguyên / Xã Dân Tiến", 3),
            (Level::Hamlet, "Thái Nguyên / Xã Dân Tiến / Thôn 3", 1),
        ]
    );
}
