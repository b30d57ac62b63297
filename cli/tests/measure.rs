//! `ispeed measure --server URL` and `--list FILE`, without a profile: the session's
//! "measure now", as the phone runs it. The data-budget rule (`--max-mbytes` is the
//! download's budget, a third of it for the upload), the upload to `--collector`, the
//! nearest of a list, the one-at-a-time lock and the network policy.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::net::Ipv4Addr;
use std::process::Command;

use ispeed_e2e::server_with_collector as server;
use serde_json::Value;

fn ispeed(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ispeed"))
        .args(args)
        .output()
        .expect("run ispeed")
}

fn document(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the result document")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure_with_a_server_or_a_list_runs_the_session() {
    let dir = ispeed_e2e::temp_dir("measure");
    let (url, collector) = server(&dir.path().join("collector.db")).await;
    let db = dir.path().join("a.db").display().to_string();
    let lab = ["--allow-any-network", "--max-seconds", "2", "--db", &db];

    // `--server` with `--collector`: the budget rule, stored, then uploaded.
    let mut args = vec!["measure", "--server", &url, "--json", "--max-mbytes", "3"];
    args.extend(["--collector", &url]);
    args.extend(lab);
    let doc = document(&ispeed(&args));
    assert_eq!(doc["download"]["bytes"], 3_000_000, "the download's budget");
    assert_eq!(doc["upload"]["bytes"], 1_000_000, "a third for the upload");
    let id = doc["id"].as_str().expect("id").parse().expect("uuid");
    assert!(
        collector.document(id).await.expect("read").is_some(),
        "uploaded"
    );

    // `--list`: the nearest that answers is measured; no `--collector`, no upload.
    let dead = format!(
        "http://127.0.0.1:{}/",
        std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("port")
            .port()
    );
    let list = dir.path().join("list.json");
    let entries = serde_json::json!({"servers": [
        {"name": "dead", "url": dead, "protocol": "ispeed"},
        {"name": "live", "url": url, "protocol": "ispeed"},
    ]});
    std::fs::write(&list, entries.to_string()).expect("write");
    let list = list.display().to_string();
    let mut args = vec!["measure", "--list", &list, "--max-mbytes", "2"];
    args.extend(lab);
    let out = ispeed(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("nearest of 2 servers: {url}")),
        "{stderr}"
    );
    assert_eq!(collector.count().await.expect("count"), 1);

    // Both samples are in the store: `upload` sends the one left.
    let out = ispeed(&["upload", "--collector", &url, "--db", &db]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("sent "))
            .count(),
        1
    );
    assert_eq!(collector.count().await.expect("count"), 2);

    // Another process measuring on the same store: `busy`, nothing measured.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(format!("{db}.measure.lock"))
        .expect("lock file");
    lock.try_lock().expect("free");
    let mut args = vec!["measure", "--server", &url];
    args.extend(lab);
    let out = ispeed(&args);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("another measurement is running"),
        "{stderr}"
    );
    drop(lock);

    // Loopback is not cellular: refused before a byte, with the lab flag named, and
    // the failure recorded with its code as the phone records it.
    let out = ispeed(&["measure", "--server", &url, "--db", &db]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--allow-any-network"), "{stderr}");
    let history = ispeed(&["history", "--json", "--db", &db]);
    let history = String::from_utf8_lossy(&history.stdout);
    assert!(history.contains("not_cellular"), "{history}");
}
