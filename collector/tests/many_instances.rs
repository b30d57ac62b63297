//! Three `ispeed-collector` processes on one PostgreSQL, uploads spread over them, and
//! mid-load: one instance killed with SIGKILL, PostgreSQL restarted with
//! `pg_ctl restart -m fast` and then with `-m immediate` (a crash, recovered from the
//! write-ahead log). Clients retry what was not confirmed, on another instance.
//! Afterwards every confirmed id is stored exactly once, every sample has landed, and
//! the campaign counters equal the stored rows.
//!
//! Needs a cluster this test may restart: with `ISPEED_TEST_DATABASE_URL` it prints
//! SKIPPED. Every loop is bounded in attempts and in time.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::collections::HashSet;
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ispeed_collector::pgtest::PgCluster;
use serde_json::{Value, json};
use uuid::Uuid;

/// Concurrent simulated phones.
const CLIENTS: usize = 12;
/// Documents each phone sends.
const DOCS_PER_CLIENT: usize = 150;
/// Attempts per document before the test gives up on it.
const MAX_ATTEMPTS: usize = 200;
/// Longest the whole load may take.
const DEADLINE: Duration = Duration::from_secs(180);

/// Collector processes this test started; killed (by their own handles) on drop.
struct Instances(Vec<(Child, String)>);

impl Drop for Instances {
    fn drop(&mut self) {
        for (child, _) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts an `ispeed-collector` on a free loopback port and returns it with its URL,
/// read from the line it prints once listening.
fn start_instance(database: &str) -> (Child, String) {
    ispeed_collector::pgtest::start_collector_process(
        std::path::Path::new(env!("CARGO_BIN_EXE_ispeed-collector")),
        database,
        |_| {},
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn document(client: usize, n: usize) -> Value {
    json!({
        "schema": "ispeed.result/1", "id": Uuid::new_v4(),
        "started_at": "2026-05-04T03:00:00Z",
        "network": { "transport": "cellular" },
        "device": { "platform": if n.is_multiple_of(3) { "ios" } else { "android" }, "os_version": "", "model": "", "app_version": "0.1.0" },
        "valid": !n.is_multiple_of(10),
        "participant": {
            "install_id": Uuid::from_u128((client * 1000 + n % 7) as u128),
            "area": { "province": "Hà Nội", "commune": format!("Xã {}", client % 4), "hamlet": format!("Thôn {}", n % 3) },
        },
        "mode": if n.is_multiple_of(2) { "auto" } else { "manual" },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_survive_a_kill_and_two_database_restarts() {
    let cluster = PgCluster::start().unwrap_or_else(|e| panic!("PostgreSQL cannot start: {e}"));
    if !cluster.is_throwaway() {
        eprintln!("SKIPPED: ISPEED_TEST_DATABASE_URL names a server this test must not restart");
        return;
    }
    let db = cluster.database("instances").expect("a database");
    let mut instances = Instances((0..3).map(|_| start_instance(&db.url)).collect());
    let urls: Vec<String> = instances.0.iter().map(|(_, u)| u.clone()).collect();

    let confirmed = Arc::new(Mutex::new(Vec::<Uuid>::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client");
    let mut phones = Vec::new();
    for c in 0..CLIENTS {
        let (http, urls, confirmed, done) =
            (http.clone(), urls.clone(), confirmed.clone(), done.clone());
        phones.push(tokio::spawn(async move {
            let mut failures = 0usize;
            for n in 0..DOCS_PER_CLIENT {
                let doc = document(c, n);
                let id: Uuid = serde_json::from_value(doc["id"].clone()).unwrap();
                let body = doc.to_string();
                let mut landed = false;
                for attempt in 0..MAX_ATTEMPTS {
                    if started.elapsed() > DEADLINE {
                        break;
                    }
                    // Spread over the instances; a retry goes to the next one.
                    let url = &urls[(c + n + attempt) % urls.len()];
                    let resp = http
                        .post(format!("{url}/v1/results"))
                        .body(body.clone())
                        .send()
                        .await;
                    if let Ok(resp) = resp
                        && resp.status().is_success()
                        && let Ok(bytes) = resp.bytes().await
                        && ispeed_spec::upload::Confirmation::parse(&bytes, id).is_ok()
                    {
                        confirmed.lock().unwrap().push(id);
                        done.fetch_add(1, Ordering::Relaxed);
                        landed = true;
                        break;
                    }
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                assert!(landed, "document {id} of phone {c} never confirmed");
            }
            failures
        }));
    }

    // The faults, each when a share of the load has been confirmed.
    let total = CLIENTS * DOCS_PER_CLIENT;
    let wait_for = |share: usize| {
        let done = done.clone();
        async move {
            while done.load(Ordering::Relaxed) < total * share / 10 && started.elapsed() < DEADLINE
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(2).await;
    let (victim, _) = &mut instances.0[1];
    victim.kill().expect("SIGKILL one instance");
    eprintln!(
        "killed instance 2 at {} confirmed",
        done.load(Ordering::Relaxed)
    );
    wait_for(4).await;
    let at = done.load(Ordering::Relaxed);
    let cluster = Arc::new(cluster);
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.restart("fast"))
        .await
        .unwrap()
        .expect("pg_ctl restart -m fast");
    eprintln!("restarted PostgreSQL (fast) at {at} confirmed");
    wait_for(6).await;
    let at = done.load(Ordering::Relaxed);
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.restart("immediate"))
        .await
        .unwrap()
        .expect("pg_ctl restart -m immediate");
    eprintln!("restarted PostgreSQL (immediate) at {at} confirmed");

    let mut failures = 0;
    for p in phones {
        failures += p.await.expect("a phone");
    }
    eprintln!(
        "{total} documents confirmed in {:.1} s, {failures} attempts failed and were retried",
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures > 0,
        "the faults were not felt: the test tested nothing"
    );

    let confirmed = confirmed.lock().unwrap().clone();
    let distinct: HashSet<Uuid> = confirmed.iter().copied().collect();
    assert_eq!((confirmed.len(), distinct.len()), (total, total));

    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("connect for the audit");
    tokio::spawn(conn);
    let one = |sql: &'static str| {
        let client = &client;
        async move {
            client
                .query_one(sql, &[])
                .await
                .expect(sql)
                .get::<_, i64>(0)
        }
    };
    let ids: Vec<Uuid> = distinct.into_iter().collect();
    let held: i64 = client
        .query_one(
            "SELECT count(*) FROM result_ids WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .expect("held")
        .get(0);
    assert_eq!(held as usize, total, "every confirmed id is held");
    assert_eq!(one("SELECT count(*) FROM result_ids").await as usize, total);
    assert_eq!(
        one("SELECT count(*) FROM results").await as usize,
        total,
        "each stored once"
    );
    assert_eq!(
        one("SELECT count(DISTINCT id) FROM results").await as usize,
        total
    );
    let counted =
        one("SELECT (sum(counted) + sum(not_counted))::bigint FROM campaign_counts WHERE kind = 5")
            .await;
    assert_eq!(
        counted as usize, total,
        "the day's counters equal the stored rows"
    );
    let valid = one("SELECT sum(counted)::bigint FROM campaign_counts WHERE kind = 5").await;
    assert_eq!(valid as usize, total - total / 10, "one in ten is invalid");
    let people = one(
        "SELECT sum(participants)::bigint FROM campaign_people WHERE kind = 5 AND channel = -1",
    )
    .await;
    let members =
        one("SELECT count(*) FROM campaign_members WHERE kind = 5 AND channel = -1").await;
    assert_eq!(
        people, members,
        "participant counters equal their unique rows"
    );
    assert_eq!(people as usize, CLIENTS * 7, "each phone used 7 installs");
    drop(instances);
}
