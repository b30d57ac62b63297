//! `ispeed measure --profile FILE`: a fresh store measures the nearest of the
//! profile's servers and the sample reaches the profile's collector; a profile with a
//! missing field is refused with the field's name before anything is measured.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::process::Command;

use ispeed_e2e::server_with_collector as server;
use serde_json::Value;

fn ispeed(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ispeed"))
        .args(args)
        .output()
        .expect("run ispeed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_store_measures_and_uploads_with_a_profile_alone() {
    let dir = ispeed_e2e::temp_dir("profile");
    let (url, collector) = server(&dir.path().join("collector.db")).await;
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/local.json"
        ))
        .expect("example"),
    )
    .expect("JSON");
    let mut profile = example.clone();
    profile["servers"][0]["url"] = url.clone().into();
    profile["collector"] = url.clone().into();
    let path = dir.path().join("profile.json");
    std::fs::write(&path, profile.to_string()).expect("write");
    let path = path.display().to_string();
    let db = dir.path().join("a.db").display().to_string();

    let out = ispeed(&[
        "measure",
        "--profile",
        &path,
        "--allow-any-network",
        "--json",
        "--max-mbytes",
        "3",
        "--max-seconds",
        "2",
        "--db",
        &db,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: Value = serde_json::from_str(&stdout).expect("the result document");
    assert_eq!(
        doc["server"]["url"],
        url.as_str(),
        "the server that answers"
    );
    // The campaign's budget rule: the download's, a third of it for the upload.
    assert_eq!(doc["download"]["bytes"], 3_000_000);
    assert_eq!(doc["upload"]["bytes"], 1_000_000);
    let id = doc["id"].as_str().expect("id").parse().expect("uuid");
    assert!(
        collector.document(id).await.expect("read").is_some(),
        "uploaded"
    );

    // Nothing left for `upload`.
    let out = ispeed(&["upload", "--profile", &path, "--db", &db]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 sent"));

    // A profile without a collector is refused, naming the field, before measuring.
    let mut broken = example;
    broken.as_object_mut().unwrap().remove("collector");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, broken.to_string()).expect("write");
    let out = ispeed(&[
        "measure",
        "--profile",
        &bad.display().to_string(),
        "--allow-any-network",
        "--db",
        &db,
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("deployment profile: collector: is missing"),
        "{stderr}"
    );
    assert_eq!(collector.count().await.expect("count"), 1);

    // Another process measuring on the same store (the lock file beside the database
    // is held here, as a running `ispeed` or the app's worker holds it): `busy`, and
    // nothing is measured or stored.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(format!("{db}.measure.lock"))
        .expect("lock file");
    lock.try_lock().expect("free");
    let out = ispeed(&[
        "measure",
        "--profile",
        &path,
        "--allow-any-network",
        "--db",
        &db,
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("another measurement is running"),
        "{stderr}"
    );
    drop(lock);
    assert_eq!(collector.count().await.expect("count"), 1);
}
