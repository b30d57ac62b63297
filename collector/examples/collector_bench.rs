//! The collector under load (`cargo xtask collector-bench` builds and runs this):
//! simulated phones posting real-size result documents over keep-alive HTTP to an
//! `ispeed-collector` process on PostgreSQL; then millions of samples seeded inside
//! the database and the progress query timed over them.
//!
//! Printed: uploads_per_s, p50_ms, p99_ms, errors, the CPU of the collector and of
//! the database (percent of one core, averaged over the load), and progress_query_ms
//! for the busiest seeded day nationally and for one province; then quality
//! statistics cells holding as many samples as were seeded (`--seed-samples`), and
//! `GET /v1/stats` timed over them for a commune and a province (stats_query_ms,
//! stats_province_query_ms).
// A benchmark that cannot set itself up stops with the reason.
#![allow(clippy::expect_used)]

use std::path::PathBuf;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Datelike;
use clap::Parser;
use ispeed_collector::pgtest::PgCluster;
use serde_json::{Value, json};
use uuid::Uuid;

/// Load benchmark of the collector.
#[derive(Debug, Parser)]
struct Args {
    /// PostgreSQL to use (its database is filled); a throwaway cluster without it.
    #[arg(long)]
    database: Option<String>,
    /// Seconds of load.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Concurrent simulated phones (one keep-alive connection each).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Samples seeded inside the database (after the load) before the progress query
    /// is timed.
    #[arg(long, default_value_t = 10_000_000)]
    seed_samples: u64,
    /// Upload documents that name no official commune, so that they skip the
    /// statistics (to measure what the statistics' path costs an upload).
    #[arg(long)]
    without_stats: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// The `ispeed-collector` binary to run.
    #[arg(long)]
    collector_bin: PathBuf,
}

/// Communes of the simulated country and installs per commune.
const COMMUNES: u32 = 1_000;
const INSTALLS: u32 = 50_000;
/// Days the seeded samples spread over.
const SEED_DAYS: u64 = 60;

/// CPU seconds (user + system) of process `pid` so far.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which may hold spaces: state is field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15; index from state (field 3) = 0.
    (ticks(11) + ticks(12)) / 100.0
}

/// The postmaster and its children (the database's processes).
fn database_pids(postmaster: u32) -> Vec<u32> {
    let mut pids = vec![postmaster];
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let ppid = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')
                        .and_then(|(_, r)| r.split_whitespace().nth(1).map(str::to_owned))
                })
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(postmaster) {
                pids.push(pid);
            }
        }
    }
    pids
}

fn database_cpu(postmaster: Option<u32>) -> f64 {
    postmaster.map_or(0.0, |p| database_pids(p).into_iter().map(cpu_seconds).sum())
}

/// A result document as phones send it: the golden full example with a 10 s
/// download and upload's worth of intervals (about 6 KB).
fn template() -> String {
    let mut doc: Value =
        serde_json::from_str(ispeed_spec::result::FULL_EXAMPLE).expect("the full example");
    for phase in ["download", "upload"] {
        let first = doc[phase]["intervals"][1].clone();
        doc[phase]["intervals"] = Value::Array(vec![first; 40]);
    }
    doc["id"] = json!("@ID@");
    doc["participant"]["install_id"] = json!("@INSTALL@");
    doc["participant"]["area"] = json!({ "province": "@PROVINCE@", "commune": "@COMMUNE@",
                                         "hamlet": "Thôn 1", "code": 1_234_567 });
    // Counted in the quality statistics as phones' samples are: 4G, an operator.
    doc["network"]["technology"] = json!("4g");
    doc["network"]["mcc_mnc"] = json!("452-04");
    doc["started_at"] = json!("@STARTED@");
    doc.to_string()
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// The collector process, killed (by its own handle) when the benchmark ends, also
/// when it panics.
struct CollectorProcess(Child);

impl Drop for CollectorProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_collector(bin: &std::path::Path, database: &str) -> (Child, String) {
    ispeed_collector::pgtest::start_collector_process(bin, database, |l| {
        eprintln!("collector: {l}")
    })
    .expect("the collector starts")
}

/// Seeds `n` samples inside PostgreSQL with generate_series: documents, ids and the
/// campaign counters they imply, spread over [`SEED_DAYS`] days ending yesterday.
async fn seed(client: &tokio_postgres::Client, n: u64) -> Result<(), tokio_postgres::Error> {
    let days = SEED_DAYS as i64;
    client.batch_execute("SET synchronous_commit = off; SET work_mem = '256MB'; SET maintenance_work_mem = '512MB'").await?;
    // Sample i: day (i % days) back from yesterday; commune, install (50 per commune),
    // channel and validity (nine in ten count) drawn from a hash of i, so every day
    // holds every commune and channel.
    let samples = format!(
        "SELECT i, (current_date - 1 - (i % {days})::int) AS day,
                (h % {COMMUNES}) AS commune,
                ((h % {COMMUNES}) * {per} + (h / {COMMUNES}) % {per}) AS install,
                ((h / {INSTALLS}) % 5)::smallint AS channel, ((h / 7) % 10 <> 0) AS counted
         FROM (SELECT i, abs(hashint8(i)) AS h FROM generate_series(1::bigint, {n}) AS i) AS g",
        per = INSTALLS / COMMUNES
    );
    client
        .batch_execute(&format!(
            "INSERT INTO result_ids (id, received_at)
               SELECT md5(i::text)::uuid, now() - (i % {days}) * interval '1 day' FROM generate_series(1::bigint, {n}) AS i;
             INSERT INTO results (id, received_at, document)
               SELECT md5(i::text)::uuid, now() - (i % {days}) * interval '1 day',
                      jsonb_build_object('schema', 'ispeed.result/1', 'id', md5(i::text)::uuid, 'seeded', true)
               FROM generate_series(1::bigint, {n}) AS i;"
        ))
        .await?;
    // Counters: commune (kind 1), hamlet (2), leaf (4), day (5); keys as the collector
    // writes them (normalised names joined by U+001F).
    let commune_key = "'hà nội ' || (s.commune / 100) || chr(31) || 'xã ' || s.commune";
    let hamlet_key = format!("{commune_key} || chr(31) || 'thôn 1'");
    client
        .batch_execute(&format!(
            "CREATE TEMP TABLE seed AS {samples};
             INSERT INTO campaign_counts (day, kind, key, channel, shard, counted, not_counted)
               SELECT day, k.kind, k.key, channel, 0, count(*) FILTER (WHERE counted), count(*) FILTER (WHERE NOT counted)
               FROM seed s, LATERAL (VALUES (1::smallint, {c}), (2::smallint, {h}), (4::smallint, {h}), (5::smallint, '')) AS k(kind, key)
               GROUP BY day, k.kind, k.key, channel
             ON CONFLICT (day, kind, key, channel, shard) DO UPDATE
               SET counted = campaign_counts.counted + excluded.counted, not_counted = campaign_counts.not_counted + excluded.not_counted;
             INSERT INTO campaign_people (day, kind, key, channel, shard, participants)
               SELECT day, k.kind, k.key, ch, 0, count(DISTINCT install)
               FROM seed s, LATERAL (VALUES (1::smallint, {c}), (2::smallint, {h}), (5::smallint, '')) AS k(kind, key),
                    LATERAL (VALUES (s.channel), (-1::smallint)) AS c(ch)
               WHERE counted
               GROUP BY day, k.kind, k.key, ch
             ON CONFLICT (day, kind, key, channel, shard) DO UPDATE
               SET participants = campaign_people.participants + excluded.participants;
             INSERT INTO campaign_members (day, kind, key, channel, install_id)
               SELECT DISTINCT day, 4::smallint, {h}, -1::smallint, md5('install' || install)::uuid
               FROM seed s WHERE counted
             ON CONFLICT DO NOTHING;
             INSERT INTO campaign_spellings (day, kind, key, path, samples)
               SELECT day, k.kind, k.key, k.key, count(*)
               FROM seed s, LATERAL (VALUES (1::smallint, {c}), (2::smallint, {h})) AS k(kind, key)
               GROUP BY day, k.kind, k.key
             ON CONFLICT (day, kind, key, path) DO UPDATE SET samples = campaign_spellings.samples + excluded.samples;
             DROP TABLE seed;
             ANALYZE;",
            c = commune_key,
            h = hamlet_key,
        ))
        .await
}

/// Median time of 7 requests for `url`, ms, and the areas the answer holds.
async fn time_get(http: &reqwest::Client, url: &str) -> (f64, usize) {
    let mut times = Vec::new();
    let mut areas = 0;
    for _ in 0..7 {
        let start = Instant::now();
        let resp = http.get(url).send().await.expect("progress");
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        let body = resp.bytes().await.expect("a body");
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        areas = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["areas"].as_array().map(Vec::len))
            .unwrap_or_default();
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], areas)
}

/// Communes, operators × technologies and days the seeded statistics spread over.
const STATS_COMMUNES: usize = 120;
const STATS_OPERATORS: [(&str, &str); 3] = [
    ("452-04", "Viettel"),
    ("452-01", "MobiFone"),
    ("452-02", "VinaPhone"),
];
const STATS_DAYS: u32 = 28;

/// Seeds statistics cells holding `n` samples of last month: day and month cells of
/// [`STATS_COMMUNES`] communes (of a few provinces) and of their provinces, built with
/// the collector's own sketches, as the fold would. Returns the month, a commune, its
/// province and the cells written.
async fn seed_stats(pg: &tokio_postgres::Client, n: u64) -> (String, u32, u32, usize) {
    use ispeed_collector::StatsConfig;
    use ispeed_collector::stats::StatSample;
    use ispeed_collector::stats::rollup::Cell;
    use std::collections::BTreeMap;

    let month_start = (chrono::Utc::now().date_naive() - chrono::Duration::days(1))
        .with_day(1)
        .expect("day 1")
        - chrono::Months::new(1);
    let month = month_start.format("%Y-%m").to_string();
    let communes: Vec<(u32, u32)> = ispeed_areas::communes()
        .iter()
        .take(STATS_COMMUNES)
        .map(|c| (c.code, c.province_code))
        .collect();
    let config = StatsConfig::default();
    let groups = (communes.len() * STATS_OPERATORS.len() * 2) as u64 * u64::from(STATS_DAYS);
    let per_day_cell = (n / groups).max(1);
    // (period, level, area, operator, technology) -> cell
    let mut cells: BTreeMap<(String, i16, u32, usize, i16), Cell> = BTreeMap::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for (commune, province) in &communes {
        for (op, _) in STATS_OPERATORS.iter().enumerate() {
            for tech in [4i16, 5] {
                for d in 0..STATS_DAYS {
                    let day = (month_start + chrono::Duration::days(i64::from(d)))
                        .format("%Y-%m-%d")
                        .to_string();
                    let mut cell = Cell::default();
                    for _ in 0..per_day_cell {
                        // xorshift: log-uniform figures over two decades.
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let f = 10f64.powf((x % 2000) as f64 / 1000.0 - 1.0);
                        cell.add(
                            &StatSample {
                                started_at: 0,
                                commune: *commune,
                                mcc_mnc: String::new(),
                                operator: Some(STATS_OPERATORS[op].1.to_owned()),
                                technology: tech,
                                install_id: None,
                                download_mbps: Some(40.0 * f),
                                upload_mbps: Some(12.0 * f),
                                latency_ms: Some(30.0 / f.sqrt()),
                                verdict: None,
                            },
                            &config,
                        );
                    }
                    cell.participants = per_day_cell.min(50);
                    for key in [
                        (day.clone(), 1i16, *commune, op, tech),
                        (day.clone(), 2, *province, op, tech),
                        (month.clone(), 1, *commune, op, tech),
                        (month.clone(), 2, *province, op, tech),
                    ] {
                        let target = cells.entry(key).or_default();
                        target.merge(&cell).expect("same sketch settings");
                        target.participants += cell.participants;
                    }
                }
            }
        }
    }
    let written = cells.len();
    let rows: Vec<_> = cells.into_iter().collect();
    for chunk in rows.chunks(2_000) {
        let mut cols = CellColumns::default();
        for ((period, level, area, op, tech), c) in chunk {
            let [d, u, l] = c.sketches_json().expect("sketches");
            cols.period.push(period.clone());
            cols.level.push(*level);
            cols.area.push(*area as i32);
            cols.mcc_mnc.push(STATS_OPERATORS[*op].0.to_owned());
            cols.technology.push(*tech);
            cols.operator.push(STATS_OPERATORS[*op].1.to_owned());
            cols.counters[0].push(c.samples as i64);
            cols.counters[1].push(c.participants as i64);
            cols.counters[2].push(c.at_or_above as i64);
            cols.sketches[0].push(d);
            cols.sketches[1].push(u);
            cols.sketches[2].push(l);
        }
        pg.execute(
            "INSERT INTO stats_cells (period, level, area, mcc_mnc, technology, operator, samples, \
             participants, at_or_above, download, upload, latency) \
             SELECT * FROM unnest($1::text[], $2::smallint[], $3::integer[], $4::text[], $5::smallint[], \
             $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::text[]) \
             ON CONFLICT DO NOTHING",
            &[
                &cols.period,
                &cols.level,
                &cols.area,
                &cols.mcc_mnc,
                &cols.technology,
                &cols.operator,
                &cols.counters[0],
                &cols.counters[1],
                &cols.counters[2],
                &cols.sketches[0],
                &cols.sketches[1],
                &cols.sketches[2],
            ],
        )
        .await
        .expect("seed statistics cells");
    }
    pg.batch_execute("ANALYZE stats_cells")
        .await
        .expect("analyze");
    let (commune, province) = communes[communes.len() / 2];
    (month, commune, province, written)
}

/// Statistics cells as column arrays, for `unnest`.
#[derive(Default)]
struct CellColumns {
    period: Vec<String>,
    level: Vec<i16>,
    area: Vec<i32>,
    mcc_mnc: Vec<String>,
    technology: Vec<i16>,
    operator: Vec<String>,
    /// samples, participants, at or above the threshold.
    counters: [Vec<i64>; 3],
    /// download, upload, latency.
    sketches: [Vec<String>; 3],
}

/// Median time of 7 `GET /v1/stats` for `url`, ms, and the cells answered.
async fn time_stats(http: &reqwest::Client, url: &str) -> (f64, usize) {
    let mut times = Vec::new();
    let mut cells = 0;
    for _ in 0..7 {
        let start = Instant::now();
        let resp = http.get(url).send().await.expect("stats");
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        let body = resp.bytes().await.expect("a body");
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        cells = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["cells"].as_array().map(Vec::len))
            .unwrap_or_default();
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], cells)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let cluster;
    let _db;
    let (database, postmaster) = match &args.database {
        Some(url) => (url.clone(), None),
        None => {
            cluster = PgCluster::start().unwrap_or_else(|e| panic!("PostgreSQL cannot start: {e}"));
            let db = cluster.database("bench").expect("a database");
            let url = db.url.clone();
            _db = db;
            (url, cluster.postmaster_pid())
        }
    };
    let (collector, url) = start_collector(&args.collector_bin, &database);
    let collector = CollectorProcess(collector);
    let (pg, conn) = tokio_postgres::connect(&database, tokio_postgres::NoTls)
        .await
        .expect("connect to seed");
    tokio::spawn(conn);

    eprintln!("{} phones uploading for {} s", args.clients, args.seconds);
    let template = Arc::new(template());
    // Real commune codes, so that uploads take the statistics' path.
    let official: Arc<Vec<u32>> = Arc::new(if args.without_stats {
        vec![0]
    } else {
        ispeed_areas::communes().iter().map(|c| c.code).collect()
    });
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let (cpu_c0, cpu_d0) = (cpu_seconds(collector.0.id()), database_cpu(postmaster));
    let load_start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (http, template, errors, url, official) = (
            http.clone(),
            template.clone(),
            errors.clone(),
            url.clone(),
            official.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n: u32 = 0;
            while Instant::now() < deadline {
                n += 1;
                let install = (c as u32 * 7919 + n * 104_729) % INSTALLS;
                let commune = install / (INSTALLS / COMMUNES);
                let body = template
                    .replace("@ID@", &Uuid::new_v4().to_string())
                    .replace(
                        "@INSTALL@",
                        &Uuid::from_u128(u128::from(install)).to_string(),
                    )
                    .replace("@PROVINCE@", &format!("Hà Nội {}", commune / 100))
                    .replace("@COMMUNE@", &format!("Xã {commune}"))
                    .replace("@STARTED@", &chrono::Utc::now().to_rfc3339())
                    .replace(
                        "1234567",
                        &official[commune as usize % official.len()].to_string(),
                    );
                let start = Instant::now();
                let ok = match http
                    .post(format!("{url}/v1/results"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    lat.push(start.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("a phone"));
    }
    let wall = load_start.elapsed().as_secs_f64();
    let cpu_collector = (cpu_seconds(collector.0.id()) - cpu_c0) / wall * 100.0;
    let cpu_database = (database_cpu(postmaster) - cpu_d0) / wall * 100.0;
    lat.sort_unstable();
    let uploads_per_s = lat.len() as f64 / wall;
    eprintln!(
        "load: {uploads_per_s:.0} uploads/s, p99 {:.1} ms, {} errors; collector {cpu_collector:.0} %, database {cpu_database:.0} % of a core",
        percentile(&lat, 0.99),
        errors.load(Ordering::Relaxed)
    );

    // Seeded after the load, so the load figures come first on a slow machine.
    let seed_start = Instant::now();
    if args.seed_samples > 0 {
        eprintln!("seeding {} samples inside PostgreSQL...", args.seed_samples);
        seed(&pg, args.seed_samples).await.expect("seed");
    }
    let seed_s = seed_start.elapsed().as_secs_f64();
    eprintln!("seeded in {seed_s:.0} s");

    let busiest = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    let (progress_ms, progress_areas) =
        time_get(&http, &format!("{url}/v1/campaign/progress?date={busiest}")).await;
    let (area_ms, area_areas) = time_get(
        &http,
        &format!("{url}/v1/campaign/progress?date={busiest}&area=H%C3%A0%20N%E1%BB%99i%203"),
    )
    .await;
    // The uploads' statistics folded (the background fold drains the queue).
    let drain_start = Instant::now();
    loop {
        let pending: i64 = pg
            .query_one("SELECT count(*) FROM stats_pending", &[])
            .await
            .expect("count pending")
            .get(0);
        if pending == 0 || drain_start.elapsed() > Duration::from_secs(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let drain_s = drain_start.elapsed().as_secs_f64();
    let stats_start = Instant::now();
    let (month, commune, province, cells) = seed_stats(&pg, args.seed_samples.max(1)).await;
    let stats_seed_s = stats_start.elapsed().as_secs_f64();
    eprintln!("{cells} statistics cells seeded in {stats_seed_s:.0} s");
    let (stats_ms, stats_cells) = time_stats(
        &http,
        &format!("{url}/v1/stats?area={commune:05}&period={month}"),
    )
    .await;
    let (stats_province_ms, _) = time_stats(
        &http,
        &format!("{url}/v1/stats?area={province}&period={month}"),
    )
    .await;
    let stored: i64 = pg
        .query_one("SELECT count(*) FROM result_ids", &[])
        .await
        .expect("count")
        .get(0);
    drop(collector);

    let report = json!({
        "uploads_per_s": (uploads_per_s * 10.0).round() / 10.0,
        "uploads": lat.len(),
        "p50_ms": percentile(&lat, 0.50),
        "p99_ms": percentile(&lat, 0.99),
        "errors": errors.load(Ordering::Relaxed),
        "seconds": (wall * 10.0).round() / 10.0,
        "clients": args.clients,
        "statistics_path": !args.without_stats,
        "document_bytes": template.len(),
        "cpu_collector_pct": cpu_collector.round(),
        "cpu_database_pct": if postmaster.is_some() { json!(cpu_database.round()) } else { Value::Null },
        "stored_samples": stored,
        "seeded_samples": args.seed_samples,
        "seed_s": seed_s.round(),
        "progress_query_ms": (progress_ms * 10.0).round() / 10.0,
        "progress_area_query_ms": (area_ms * 10.0).round() / 10.0,
        "progress_areas": progress_areas,
        "progress_area_areas": area_areas,
        "stats_fold_drain_s": (drain_s * 10.0).round() / 10.0,
        "stats_seeded_cells": cells,
        "stats_seed_s": stats_seed_s.round(),
        "stats_query_ms": (stats_ms * 10.0).round() / 10.0,
        "stats_province_query_ms": (stats_province_ms * 10.0).round() / 10.0,
        "stats_query_cells": stats_cells,
    });
    if args.json {
        println!("{report}");
    } else {
        for (k, v) in report.as_object().expect("an object") {
            println!("{k:>24}  {v}");
        }
    }
}
