//! The session against a fake platform and clock, on loopback: busy, the profile's
//! server choice, the upload backoff.
#![allow(clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use axum::routing::get;

use super::*;
use crate::clock::FakeClock;
use crate::measure::Silent;
use crate::network::fake::FakePlatform;
use crate::network::{NetworkContext, Transport};
use crate::store::testing::{TempDir, at};

fn options(clock: Arc<FakeClock>, profile: Option<Profile>) -> SessionOptions {
    SessionOptions {
        profile,
        clock,
        upload_retry: RetryPolicy {
            attempts: 1,
            base_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(1),
            request_timeout: std::time::Duration::from_secs(5),
        },
        ..SessionOptions::default()
    }
}

fn cellular() -> Arc<FakePlatform> {
    Arc::new(FakePlatform::new(NetworkContext::with_transport(
        Transport::Cellular,
    )))
}

/// A server that answers only pings, on loopback.
async fn ping_only() -> String {
    let app = Router::new().route("/ping", get(|| async { "" }));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn profile(servers: &[&str], collector: &str) -> Profile {
    let servers: Vec<_> = servers
        .iter()
        .enumerate()
        .map(|(i, u)| serde_json::json!({"name": format!("s{i}"), "url": u, "protocol": "ispeed"}))
        .collect();
    Profile::parse(
        &serde_json::json!({
            "schema": crate::profile::SCHEMA, "campaign": "test", "servers": servers,
            "collector": collector, "time_zone": "Asia/Ho_Chi_Minh"
        })
        .to_string(),
    )
    .expect("valid profile")
}

#[tokio::test]
async fn a_second_measurement_of_the_same_store_is_busy() {
    let dir = TempDir::new("session-busy");
    let clock = Arc::new(FakeClock::new(at("2026-11-25T03:00:00Z")));
    let a = Session::open_dir(&dir.file("app"), cellular(), options(clock.clone(), None))
        .expect("open");
    // Another session on the same directory: another process, as far as the lock
    // file can tell.
    let b = Session::open_dir(&dir.file("app"), cellular(), options(clock, None)).expect("open");
    let held = lock::FileLock::try_acquire(&a.measure_lock).expect("free");
    let cancel = CancellationToken::new();
    let err = b
        .measure(MeasurePlan::default(), &Silent, &cancel)
        .await
        .expect_err("busy");
    assert_eq!(err.code(), "busy");
    drop(held);
    // Free again: with no server and no profile, the typed error of a fresh install.
    let err = b
        .measure(MeasurePlan::default(), &Silent, &cancel)
        .await
        .expect_err("no server");
    assert_eq!(err.code(), "invalid_url");
}

#[tokio::test]
async fn with_a_profile_the_nearest_reachable_server_is_chosen() {
    let dir = TempDir::new("session-choose");
    let clock = Arc::new(FakeClock::new(at("2026-11-25T03:00:00Z")));
    let up = ping_only().await;
    let dead = format!(
        "http://127.0.0.1:{}/",
        std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("port")
            .port()
    );
    let p = profile(&[&dead, &up], "http://127.0.0.1:9/");
    let s = Session::open_dir(
        &dir.file("app"),
        cellular(),
        options(clock.clone(), Some(p.clone())),
    )
    .expect("open");
    let config = MeasureConfig {
        allow_plain_http: false,
        ..MeasureConfig::default()
    };
    let chosen = s.choose_server(&config, None).await.expect("one answers");
    assert_eq!(chosen.url, up);
    // A plan's own list (the CLI's `--list`) is ranked in place of the profile's.
    let other = ping_only().await;
    let list = [&dead, &other]
        .iter()
        .map(|u| Candidate {
            name: (*u).clone(),
            url: (*u).clone(),
            protocol: crate::protocol::ProtocolKind::Ispeed,
        })
        .collect();
    let chosen = s.choose_server(&config, Some(list)).await.expect("answers");
    assert_eq!(chosen.url, other);
    let none = s.choose_server(&config, Some(Vec::new())).await;
    assert_eq!(none.expect_err("empty").code(), "server_list");
    // The profile's collector is the default; the settings' wins when set.
    assert_eq!(
        s.uploader()
            .expect("ok")
            .expect("set")
            .results_url()
            .as_str(),
        "http://127.0.0.1:9/v1/results"
    );
    // The options' collector (the CLI's `--collector`) wins over the profile's.
    let s = Session::open_dir(
        &dir.file("app"),
        cellular(),
        SessionOptions {
            collector: Some("http://127.0.0.1:7/".to_owned()),
            ..options(clock, Some(p))
        },
    )
    .expect("open");
    assert_eq!(
        s.uploader()
            .expect("ok")
            .expect("set")
            .results_url()
            .as_str(),
        "http://127.0.0.1:7/v1/results"
    );
}

#[tokio::test]
async fn a_failed_upload_run_backs_off_and_force_ignores_it() {
    let dir = TempDir::new("session-backoff");
    let clock = Arc::new(FakeClock::new(at("2026-11-25T03:00:00Z")));
    let dead = format!(
        "http://127.0.0.1:{}/",
        std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("port")
            .port()
    );
    let s = Session::open_dir(
        &dir.file("app"),
        cellular(),
        options(clock.clone(), Some(profile(&[&dead], &dead))),
    )
    .expect("open");
    let doc =
        crate::store::testing::result("2026-11-25T02:00:00Z", Transport::Cellular, 10.0, 2.0, 40.0);
    s.store().save_result(&doc).expect("save");
    let first = s.upload(false).await;
    assert_eq!(first.error.as_ref().map(Error::code), Some("collector"));
    assert_eq!(first.remaining, 1);
    let until = first.deferred_until.expect("backoff");
    assert_eq!(until, clock.now() + UPLOAD_BACKOFF_BASE);
    let deferred = s.upload(false).await;
    assert!(deferred.error.is_none());
    assert_eq!(deferred.deferred_until, Some(until));
    let forced = s.upload(true).await;
    assert!(forced.error.is_some(), "tried again");
    // The second failure doubles the pause.
    assert_eq!(
        forced.deferred_until,
        Some(clock.now() + UPLOAD_BACKOFF_BASE * 2)
    );
}

#[test]
fn the_routine_and_the_auto_seed_come_from_the_install() {
    let dir = TempDir::new("session-seed");
    let clock = Arc::new(FakeClock::new(at("2026-11-25T03:00:00Z")));
    let open = || {
        Session::open_dir(&dir.file("app"), cellular(), options(clock.clone(), None)).expect("open")
    };
    let seed = open().auto_policy().expect("policy").seed;
    assert_eq!(open().auto_policy().expect("policy").seed, seed, "kept");
    let other =
        Session::open_dir(&dir.file("other"), cellular(), options(clock, None)).expect("open");
    assert_ne!(other.auto_policy().expect("policy").seed, seed);
}

#[test]
fn the_profiles_budget_caps_every_measurement_by_the_one_rule() {
    let dir = TempDir::new("session-budget");
    let clock = Arc::new(FakeClock::new(at("2026-11-25T03:00:00Z")));
    let p = Profile::parse(
        &serde_json::json!({
            "schema": crate::profile::SCHEMA, "campaign": "test",
            "servers": [{"name": "a", "url": "https://a.example", "protocol": "ispeed"}],
            "collector": "https://c.example", "time_zone": "Asia/Ho_Chi_Minh",
            "data_budget": {"manual_megabytes": 6}
        })
        .to_string(),
    )
    .expect("valid profile");
    let s = Session::open_dir(&dir.file("app"), cellular(), options(clock, Some(p))).expect("open");
    let rule = |mb| {
        let c = manual_budget(MeasureConfig::default(), mb);
        (c.download.max_bytes, c.upload.max_bytes)
    };
    let of = |c: MeasureConfig| (c.download.max_bytes, c.upload.max_bytes);
    // The phone's default setting (120 MB) and a CLI's larger `--max-mbytes` alike
    // are brought down to the profile's 6 MB, a third of it for the upload.
    assert_eq!(of(s.manual_config().expect("config")), rule(6));
    assert_eq!(
        of(s.capped(data_budget(MeasureConfig::default(), 50_000_000))),
        rule(6)
    );
    // Less than the cap is kept as asked.
    assert_eq!(
        of(s.capped(data_budget(MeasureConfig::default(), 3_000_000))),
        rule(3)
    );
}
