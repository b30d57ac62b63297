//! Receipts end to end over real sockets (docs/trust.md): `ispeed keygen`, a signing
//! server, the engine measuring against it, a collector trusting the key, the sample
//! counted; then each bad input of the issue, each stored for audit with its reason,
//! none changing a count, the collector serving throughout. Prints the cost of
//! signing per measurement (bytes and milliseconds).
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use ispeed_collector::keys::ServerSigner;
use ispeed_collector::verdict::TrustArgs;
use ispeed_collector::{CampaignConfig, Collector};
use ispeed_core::participant::{Area, Participant};
use ispeed_core::{MeasurementResult, StaticPlatform, SystemClock, Transport};
use ispeed_server::{AppState, LinkProfile, ServerConfig};
use ispeed_spec::attestation::{Attestation, Receipt, RejectReason, Verdict};
use ispeed_spec::campaign::Progress;
use ispeed_spec::upload::{ConfirmStatus, Confirmation, ErrorBody, RejectCode};
use serde_json::{Value, json};
use uuid::Uuid;

const AREA: &str = "Hà Nội/Ba Vì/Tản Lĩnh/Thôn 1";

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// `ispeed keygen --out FILE`, checked: the private key 0600, the public line.
fn keygen(path: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ispeed"))
        .args(["keygen", "--out"])
        .arg(path)
        .output()
        .expect("run ispeed keygen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).expect("key").permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the private key is readable by its owner only"
        );
    }
    let public = std::fs::read_to_string(path.with_extension("key.pub")).expect("FILE.pub");
    assert_eq!(public.lines().count(), 1);
    assert_eq!(public.trim(), String::from_utf8_lossy(&out.stdout).trim());
    public
}

struct Posted {
    status: u16,
    confirmation: Option<Confirmation>,
}

async fn post(http: &reqwest::Client, base: &str, body: String) -> Posted {
    let resp = http
        .post(format!("{base}/v1/results"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the collector answers");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    Posted {
        status,
        confirmation: serde_json::from_slice(&bytes).ok(),
    }
}

async fn progress(http: &reqwest::Client, base: &str) -> Progress {
    let body = http
        .get(format!("{base}/v1/campaign/progress"))
        .send()
        .await
        .expect("progress answers")
        .bytes()
        .await
        .expect("progress body");
    serde_json::from_slice(&body).expect("progress JSON")
}

/// The counts a bad input must not change: per area (participants, samples) and the
/// day's totals.
fn counted(p: &Progress) -> Vec<(String, u32, u32)> {
    let mut v: Vec<(String, u32, u32)> = p
        .areas
        .iter()
        .map(|a| (a.label.clone(), a.participants, a.samples))
        .collect();
    v.push(("totals".to_owned(), p.totals.participants, p.totals.samples));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_measurement_counts_and_every_forgery_is_refused_with_its_reason() {
    let dir = ispeed_e2e::temp_dir("trust");
    let key = dir.path().join("server.key");
    keygen(&key);
    let public = dir.path().join("server.key.pub");

    // The signing server, behind a shaped link so the rates are steady.
    let signer = ServerSigner::read(&key).expect("read the key keygen wrote");
    let link = LinkProfile {
        down_mbps: Some(40.0),
        up_mbps: Some(15.0),
        rtt_ms: 20,
    };
    let server = ispeed_server::spawn_state(
        loopback(),
        AppState::signing(ServerConfig::new(link), Some(signer.clone())),
    )
    .await
    .expect("server");

    // The collector trusting that key, counting as a campaign does (attested only).
    let trust = TrustArgs {
        trusted_keys: Some(public.clone()),
        install_daily_cap: 60,
        block_daily_cap: 20_000,
        count_unattested: false,
    }
    .policy()
    .expect("trusted keys");
    let collector = Collector::open(&dir.path().join("collector.db"))
        .expect("collector")
        .with_campaign(CampaignConfig::default())
        .with_trust(trust);
    let collector = ispeed_collector::spawn(loopback(), Arc::new(collector))
        .await
        .expect("collector listens");
    let base = collector.url();
    let http = reqwest::Client::new();

    // The client measures, as a phone on cellular in Thôn 1.
    let mut request = ispeed_e2e::lab_request(server.url());
    request.config = request.config.with_max_duration(Duration::from_secs(3));
    let platform = StaticPlatform::new(Transport::Cellular);
    let started = Instant::now();
    let mut doc: MeasurementResult = ispeed_core::measure(
        &request,
        &platform,
        &SystemClock,
        &ispeed_e2e::Recorder::default(),
        &tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect("measured");
    let measure_ms = started.elapsed().as_millis();
    let install = Uuid::new_v4();
    doc.participant = Some(Participant {
        install_id: install,
        area: Some(Area::parse(AREA).expect("area")),
    });
    let attestation = doc
        .attestation
        .clone()
        .expect("the signing server gave a receipt");
    assert_eq!(attestation.key_id, signer.key_id());
    let receipt: Receipt = serde_json::from_str(&attestation.payload).expect("receipt");
    assert_eq!(receipt.result_id, doc.id);
    assert_eq!(receipt.client_block, "127.0.0.0/24");
    let down = receipt.download.expect("download tallied");
    let up = receipt.upload.expect("upload tallied");
    let (dl, ul) = (
        doc.download.clone().expect("dl"),
        doc.upload.clone().expect("ul"),
    );
    assert!(dl.bytes <= down.bytes && ul.bytes <= up.bytes);
    println!(
        "receipt: {} B in the document ({} B payload), download {} B / {:?} Mbit/s server-side vs {:.1} reported, upload {} B / {:?} vs {:.1}; measurement {measure_ms} ms",
        serde_json::to_string(&attestation).expect("json").len(),
        attestation.payload.len(),
        down.bytes,
        down.mbps(),
        dl.mbps,
        up.bytes,
        up.mbps(),
        ul.mbps
    );

    // The cost of signing, per measurement: the header on each request, the receipt
    // in the document, and the two requests at the end (`/info`, `/receipt`).
    let protocol = ispeed_core::protocol::for_measurement(
        ispeed_core::protocol::ProtocolKind::Ispeed,
        &server.url(),
        doc.id,
    )
    .expect("protocol");
    let runs = 20;
    let t = Instant::now();
    for _ in 0..runs {
        let again = ispeed_core::measure::receipt::fetch(protocol.as_ref(), &request.config).await;
        assert!(again.is_some());
    }
    let fetch_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    let header = "x-ispeed-result: \r\n".len() + 36;
    println!(
        "signing overhead: {} requests x {header} B of header = {} B sent, {} B of attestation in the document, {:.1} ms for /info + /receipt at the end (link RTT 20 ms)",
        receipt.requests,
        receipt.requests as usize * header,
        serde_json::to_string(&attestation).expect("json").len(),
        fetch_ms
    );

    // What signing and judging cost the servers, per measurement.
    let n = 1000;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(signer.attest(attestation.payload.clone()));
    }
    let sign_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    let honest_doc = serde_json::to_value(&doc).expect("json");
    let keys = ispeed_collector::keys::TrustedKeys::none().with(&signer.public());
    let t = Instant::now();
    for _ in 0..n {
        let j = ispeed_collector::verdict::judge(&honest_doc, doc.id, &keys, Utc::now());
        assert_eq!(j.verdict, Verdict::Attested);
    }
    let judge_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("signing {sign_us:.0} µs per receipt, judging {judge_us:.0} µs per document");

    // Delivered: attested and counted.
    let honest = serde_json::to_value(&doc).expect("json");
    let posted = post(&http, &base, honest.to_string()).await;
    let c = posted.confirmation.expect("confirmed");
    assert_eq!(
        (c.status, c.verdict, c.reason),
        (ConfirmStatus::Stored, Some(Verdict::Attested), None)
    );
    let before = progress(&http, &base).await;
    let thon = before
        .areas
        .iter()
        .find(|a| a.label.ends_with("Thôn 1"))
        .expect("the hamlet's row");
    assert_eq!((thon.participants, thon.samples), (1, 1));
    let baseline = counted(&before);

    // Each bad input: its verdict and reason, stored for audit, no count changed.
    let fresh = |mut v: Value| {
        v["id"] = json!(Uuid::new_v4());
        v
    };
    let resign = |v: &mut Value, with: &ServerSigner, edit: &dyn Fn(&mut Receipt)| {
        let mut r = receipt_of(v);
        r.result_id = Uuid::parse_str(v["id"].as_str().unwrap()).unwrap();
        r.key_id = with.key_id().to_owned();
        edit(&mut r);
        v["attestation"] =
            serde_json::to_value(with.attest(serde_json::to_string(&r).unwrap())).unwrap();
    };
    let stranger = ServerSigner::generate();
    let mut cases: Vec<(&str, Value, Verdict, RejectReason)> = Vec::new();
    {
        let mut v = fresh(honest.clone());
        resign(&mut v, &signer, &|_| {});
        let sig = v["attestation"]["signature"].as_str().unwrap().to_owned();
        let forged = format!(
            "{}{}",
            if sig.starts_with('A') { "B" } else { "A" },
            &sig[1..]
        );
        v["attestation"]["signature"] = json!(forged);
        cases.push((
            "forged signature",
            v,
            Verdict::Rejected,
            RejectReason::BadSignature,
        ));
    }
    {
        let mut v = fresh(honest.clone());
        resign(&mut v, &stranger, &|_| {});
        cases.push((
            "untrusted key",
            v,
            Verdict::Unattested,
            RejectReason::UnknownKey,
        ));
    }
    cases.push((
        "receipt replayed on a second result",
        fresh(honest.clone()),
        Verdict::Rejected,
        RejectReason::ReceiptForAnotherResult,
    ));
    {
        let mut v = fresh(honest.clone());
        resign(&mut v, &signer, &|_| {});
        v["download"]["mbps"] = json!(900.0);
        cases.push((
            "figures edited after signing",
            v,
            Verdict::Rejected,
            RejectReason::RateUnexplained,
        ));
    }
    {
        let mut v = fresh(honest.clone());
        resign(&mut v, &signer, &|_| {});
        v["upload"]["bytes"] = json!(up.bytes * 10);
        cases.push((
            "bytes edited after signing",
            v,
            Verdict::Rejected,
            RejectReason::BytesUnexplained,
        ));
    }
    {
        let mut v = fresh(honest.clone());
        resign(&mut v, &signer, &|r| {
            r.issued_at = Utc::now() + chrono::Duration::days(1);
        });
        cases.push((
            "receipt from tomorrow",
            v,
            Verdict::Rejected,
            RejectReason::OutsideTimeWindow,
        ));
    }
    {
        let mut v = fresh(honest.clone());
        let one = v["attestation"].clone();
        v["attestation"] = Value::Array(vec![one; 100]);
        cases.push((
            "100 receipts",
            v,
            Verdict::Rejected,
            RejectReason::MalformedReceipt,
        ));
    }
    {
        let mut v = fresh(honest.clone());
        v["attestation"]["signature"] = json!("A".repeat(40_000));
        cases.push((
            "40 KB signature",
            v,
            Verdict::Rejected,
            RejectReason::MalformedReceipt,
        ));
    }
    for (what, v, verdict, reason) in cases {
        let id = Uuid::parse_str(v["id"].as_str().unwrap()).unwrap();
        let posted = post(&http, &base, v.to_string()).await;
        let c = posted
            .confirmation
            .unwrap_or_else(|| panic!("{what}: {}", posted.status));
        assert_eq!(
            (c.verdict, c.reason),
            (Some(verdict), Some(reason)),
            "{what}"
        );
        let held = collector
            .collector
            .store()
            .verdict_of(id)
            .await
            .expect("store");
        assert_eq!(
            held,
            Some((verdict, Some(reason))),
            "{what}: kept for audit"
        );
        assert_eq!(counted(&progress(&http, &base).await), baseline, "{what}");
    }

    // Beyond a document's size (10,000 receipts, a 1 MB signature): refused at the
    // door, nothing stored, nothing counted.
    for (what, v) in [
        ("10,000 receipts", {
            let mut v = fresh(honest.clone());
            let one = v["attestation"].clone();
            v["attestation"] = Value::Array(vec![one; 10_000]);
            v
        }),
        ("1 MB signature", {
            let mut v = fresh(honest.clone());
            v["attestation"]["signature"] = json!("A".repeat(1 << 20));
            v
        }),
    ] {
        let n = collector.collector.count().await.expect("count");
        let sent = http
            .post(format!("{base}/v1/results"))
            .header("content-type", "application/json")
            .body(v.to_string())
            .send()
            .await;
        match sent {
            Ok(resp) => {
                assert_eq!(resp.status().as_u16(), 413, "{what}");
                // The unread rest of the body spoils the connection: the answer
                // closes it, so the client's next request takes a fresh one.
                assert_eq!(
                    resp.headers().get("connection").map(|v| v.as_bytes()),
                    Some(&b"close"[..]),
                    "{what}"
                );
                let e: ErrorBody =
                    serde_json::from_slice(&resp.bytes().await.expect("body")).expect("error body");
                assert_eq!(e.code, Some(RejectCode::TooLarge));
            }
            // The collector answered 413 and closed before reading the rest of the
            // body: the client sees its write fail.
            Err(e) => assert!(e.is_request(), "{what}: {e}"),
        }
        assert_eq!(
            collector.collector.count().await.expect("count"),
            n,
            "{what}"
        );
        assert_eq!(counted(&progress(&http, &base).await), baseline, "{what}");
    }

    // One install sending 500 samples within minutes: the cap (60 a day, of which
    // the honest sample and the untrusted key's used 2) lets 58 more through as
    // unattested (they carry no receipt), rejects the rest, counts none.
    let mut capped = 0;
    let mut bare = honest.clone();
    bare["attestation"] = Value::Null;
    for i in 0..500 {
        let mut v = fresh(bare.clone());
        let at = doc.started_at + chrono::Duration::seconds(i);
        v["started_at"] = json!(at.to_rfc3339());
        let posted = post(&http, &base, v.to_string()).await;
        let c = posted.confirmation.expect("confirmed");
        match (c.verdict, c.reason) {
            (Some(Verdict::Unattested), None) => {}
            (Some(Verdict::Rejected), Some(RejectReason::InstallDailyCap)) => capped += 1,
            other => panic!("sample {i}: {other:?}"),
        }
    }
    assert_eq!(capped, 500 - 58);
    let after = progress(&http, &base).await;
    assert_eq!(counted(&after), baseline);
    // The page's figures say why: received, rejected, the commonest reasons.
    let thon = after
        .areas
        .iter()
        .find(|a| a.label.ends_with("Thôn 1"))
        .expect("the hamlet's row");
    assert_eq!(thon.received, 1 + 8 + 500);
    assert_eq!(thon.rejected, 7 + 442, "seven forgeries and the capped");
    assert_eq!(
        thon.rejections.first().map(|r| (r.reason, r.samples)),
        Some((RejectReason::InstallDailyCap, 442))
    );
    // And the collector still serves the next honest phone.
    let page = http
        .get(format!("{base}/campaign"))
        .send()
        .await
        .expect("page");
    assert!(page.status().is_success());
    server.stop().await;
    collector.stop().await;
}

fn receipt_of(v: &Value) -> Receipt {
    let a: Attestation = serde_json::from_value(v["attestation"].clone()).expect("attestation");
    serde_json::from_str(&a.payload).expect("receipt")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_result_ids_keeps_the_book_bounded_and_the_measurement_right() {
    let signer = ServerSigner::generate();
    let link = LinkProfile {
        down_mbps: Some(20.0),
        up_mbps: Some(10.0),
        rtt_ms: 5,
    };
    let state = AppState::signing(ServerConfig::new(link), Some(signer));
    let server = ispeed_server::spawn_state(loopback(), state.clone())
        .await
        .expect("server");
    // The flooder: a new result id on every request, from another /24 of loopback
    // (127.0.1.1), bounded in requests and time.
    let flood_url = format!("{}/ping", server.url());
    let flooder = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 1, 1]))
        .build()
        .expect("client");
    let flood = tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut sent = 0u32;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (c, u) = (flooder.clone(), flood_url.clone());
            tasks.spawn(async move {
                let mut n = 0u32;
                while n < 1000 && Instant::now() < deadline {
                    let r = c
                        .get(&u)
                        .header("x-ispeed-result", Uuid::new_v4().to_string())
                        .send()
                        .await;
                    assert!(r.is_ok_and(|r| r.status().is_success()));
                    n += 1;
                }
                n
            });
        }
        while let Some(n) = tasks.join_next().await {
            sent += n.expect("flooder");
        }
        sent
    });
    let mut request = ispeed_e2e::lab_request(server.url());
    request.config = request.config.with_max_duration(Duration::from_secs(3));
    let doc = ispeed_core::measure(
        &request,
        &StaticPlatform::new(Transport::Cellular),
        &SystemClock,
        &ispeed_e2e::Recorder::default(),
        &tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect("measured under the flood");
    let sent = flood.await.expect("flood");
    let limits = ispeed_server::receipts::BookLimits::default();
    println!(
        "flood: {sent} fresh ids; book holds {} ids, about {} bytes",
        state.receipts.len(),
        state.receipts.approx_bytes()
    );
    assert!(sent >= 2000, "the flood ran ({sent} requests)");
    assert!(state.receipts.len() <= limits.max_per_block + 1);
    assert!(
        state.receipts.approx_bytes()
            <= limits.max_ids * ispeed_server::receipts::ENTRY_BYTES + 2 * limits.max_ids * 16
    );
    // The measurement is right and its receipt intact.
    let dl = doc.download.expect("download").mbps;
    let ul = doc.upload.expect("upload").mbps;
    assert!(
        (dl - 20.0).abs() < 3.0,
        "download {dl} Mbit/s on a 20 Mbit/s link"
    );
    assert!(
        (ul - 10.0).abs() < 1.5,
        "upload {ul} Mbit/s on a 10 Mbit/s link"
    );
    let a = doc.attestation.expect("the receipt survived the flood");
    let r: Receipt = serde_json::from_str(&a.payload).expect("receipt");
    assert_eq!(r.result_id, doc.id);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ispeed_serve_signs_with_the_key_keygen_wrote_and_advertises_it() {
    use std::io::BufRead;
    let dir = ispeed_e2e::temp_dir("serve-key");
    let key = dir.path().join("server.key");
    let public = keygen(&key);
    let key_id = public.split_whitespace().nth(1).expect("key id").to_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ispeed"))
        .args(["serve", "--listen", "127.0.0.1:0", "--collector-db"])
        .arg(dir.path().join("c.db"))
        .arg("--signing-key")
        .arg(&key)
        .arg("--trusted-keys")
        .arg(dir.path().join("server.key.pub"))
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ispeed serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(stderr).lines();
    let mut log = Vec::new();
    let url = loop {
        let line = lines
            .next()
            .expect("ispeed serve ended early")
            .expect("line");
        log.push(line.clone());
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().expect("url").to_owned();
        }
    };
    assert!(
        log.iter()
            .any(|l| l.contains(&key_id) && l.contains("receipts")),
        "{log:?}"
    );
    assert!(log.iter().any(|l| l.contains("1 server key")), "{log:?}");
    let info: Value = serde_json::from_slice(
        &reqwest::get(format!("{url}/info"))
            .await
            .expect("info")
            .bytes()
            .await
            .expect("body"),
    )
    .expect("info JSON");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(info["signing_key"]["key_id"], json!(key_id));
    // A key file that is not one is refused with its name.
    let bad = dir.path().join("not-a-key");
    std::fs::write(&bad, "hello\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_ispeed"))
        .args(["serve", "--listen", "127.0.0.1:0", "--signing-key"])
        .arg(&bad)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not-a-key") && err.contains("keygen"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_native_servers_with_a_key_are_asked_and_third_parties_never_see_the_id() {
    let link = LinkProfile {
        down_mbps: Some(20.0),
        up_mbps: Some(10.0),
        rtt_ms: 5,
    };
    let measure = |url: String, protocol| async move {
        let mut request = ispeed_e2e::lab_request(url);
        request.protocol = protocol;
        request.config = request.config.with_max_duration(Duration::from_secs(1));
        ispeed_core::measure(
            &request,
            &StaticPlatform::new(Transport::Cellular),
            &SystemClock,
            &ispeed_e2e::Recorder::default(),
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .expect("measured")
    };
    use ispeed_core::protocol::ProtocolKind;
    // A signing server spoken to as LibreSpeed or Cloudflare: no id sent, no receipt.
    let signing = AppState::signing(ServerConfig::new(link), Some(ServerSigner::generate()));
    let server = ispeed_server::spawn_state(loopback(), signing.clone())
        .await
        .expect("server");
    for protocol in [ProtocolKind::Librespeed, ProtocolKind::Cloudflare] {
        let doc = measure(server.url(), protocol).await;
        assert!(doc.attestation.is_none(), "{protocol}");
    }
    assert!(
        signing.receipts.is_empty(),
        "no result id reached the server"
    );
    server.stop().await;
    // A native server without a key: measured as before, no receipt.
    let plain = ispeed_server::spawn(loopback(), ServerConfig::new(link))
        .await
        .expect("server");
    let doc = measure(plain.url(), ProtocolKind::Ispeed).await;
    assert!(doc.attestation.is_none());
    assert!(doc.download.is_some_and(|d| d.mbps > 15.0));
    plain.stop().await;
}
