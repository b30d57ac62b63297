//! `cargo xtask bench`: how close `ispeed measure` comes to a link's capacity, how
//! much data and time it spends, and whether the client is ever the bottleneck.
//!
//! The matrix, in order:
//! 1. flat links: client and server namespaces joined by a veth pair shaped by `tbf`
//!    (10, 50, 200, 1000 Mbit/s down, a third of that up, 50 ms of queue; 10 and 20
//!    Mbit/s with shallow queues of 10 and 25 ms; a 20 Mbit/s policer), several runs
//!    of each protocol (native, LibreSpeed, Cloudflare) each;
//! 2. traces: the same namespaces joined by the userspace link emulator
//!    ([`emulator`]) with a fixed one-way delay and Mahimahi-style delivery traces
//!    from `bench/traces/` (steady, LTE-like, handover);
//! 3. the ceiling ([`ceiling`]): client and server on an unshaped loopback, beside
//!    `iperf3` and `curl`;
//! 4. footprint: the client's peak RSS and the size of the stripped library.
//!
//! It needs root (network namespaces, TUN devices) and says so otherwise; it builds
//! the release binaries first. Everything it creates lives in namespaces it deletes.

mod ceiling;
mod child;
mod emulator;
mod lab;
mod report;
mod segments;
mod trace;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;

use self::emulator::{DirectionSpec, Emulator, LOG_BUCKET};
use self::lab::{Lab, Queue, Wiring, sh, which};
use self::report::{GOODPUT_PER_FRAME, PhaseRow, RunRow};
use self::trace::{PAYLOAD_PER_PACKET, Trace};

/// Port the reference server listens on inside the server namespace.
const SERVER_PORT: u16 = 8080;

/// Longest a single `ispeed measure` may run before the bench gives up on it: two
/// 10 s phases, latency and set-up, with room for a loaded machine.
const MEASURE_LIMIT: Duration = Duration::from_secs(60);

/// A flat link: a downlink rate, Mbit/s, and its bottleneck.
#[derive(Debug, Clone, Copy)]
struct FlatLink {
    down: f64,
    queue: Queue,
}

impl FlatLink {
    const fn shaper(down: f64, ms: u32) -> Self {
        Self {
            down,
            queue: Queue::Shaper { ms },
        }
    }

    fn up(&self) -> f64 {
        (self.down * UP_FRACTION).round()
    }

    fn name(&self) -> String {
        let rates = format!("{:.0}/{:.0}", self.down, self.up());
        match self.queue {
            // The deep-queue links keep the names earlier reports used.
            Queue::Shaper { ms: 50 } => format!("tbf {rates}"),
            Queue::Shaper { ms } => format!("tbf {rates} q{ms}ms"),
            Queue::Policer { burst } => format!("police {rates} b{}k", burst / 1000),
        }
    }
}

/// The flat links: deep-queued shapers from 10 to 1000 Mbit/s; shallow queues at 10
/// and 20 Mbit/s (issue 17: where the old stop rule read 2 % high); a policer, whose
/// bucket (32 kB, 13 ms at 20 Mbit/s) is all the queue there is.
const FLAT_LINKS: [FlatLink; 9] = [
    FlatLink::shaper(10.0, 50),
    FlatLink::shaper(50.0, 50),
    FlatLink::shaper(200.0, 50),
    FlatLink::shaper(1000.0, 50),
    FlatLink::shaper(10.0, 10),
    FlatLink::shaper(10.0, 25),
    FlatLink::shaper(20.0, 10),
    FlatLink::shaper(20.0, 25),
    FlatLink {
        down: 20.0,
        queue: Queue::Policer { burst: 32_000 },
    },
];

/// Uplink over downlink on every link: cellular uplinks run at about a third.
const UP_FRACTION: f64 = 1.0 / 3.0;

/// One-way delay on the emulated links: a 40 ms round trip, typical of LTE.
const TRACE_ONE_WAY: Duration = Duration::from_millis(20);

/// The emulated cell's buffer: 375 KB is 100 ms at 30 Mbit/s, the deep buffers
/// cellular base stations keep. Tried on `cell-edge` (native protocol, 2 runs each):
/// 150 KB left a 16 Mbit/s download window 4 % short of the trace (CUBIC could not
/// keep so short a queue full through the rises in rate); 1.5 MB (6 s at the edge's
/// slow uplink) made the upload read 15 % high and then fail ("the server did not
/// answer"), as ever deeper queues delay what the receiver can read past a loss.
const TRACE_QUEUE_BYTES: usize = 375_000;

/// Options of `cargo xtask bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Runs per link.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Use the release binaries already built.
    #[arg(long)]
    pub no_build: bool,
    /// Parts to run: flat, trace, ceiling, footprint (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "flat,trace,ceiling,footprint"
    )]
    pub only: Vec<String>,
    /// Protocols to run on every link: ispeed, librespeed, cloudflare (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ispeed,librespeed,cloudflare"
    )]
    pub protocols: Vec<String>,
    /// Run only the links whose name contains one of these (comma-separated), e.g.
    /// `q25ms,police,cell-` for quick iterations.
    #[arg(long, value_delimiter = ',')]
    pub links: Vec<String>,
    /// Also write the report (Markdown) to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Keep every run's result document (JSON, intervals included) in this directory;
    /// on the traces also the emulator's delivery logs (10 ms buckets, both
    /// directions) with each phase's measured window, and the TCP counters of client
    /// and server namespaces that moved during the run (`NNN-emulator.json`).
    #[arg(long, value_name = "DIR")]
    pub save_runs: Option<PathBuf>,
    /// (Re)generate the synthetic traces in bench/traces/ and exit.
    #[arg(long)]
    pub write_traces: bool,
}

/// Paths the bench works with.
struct Env {
    root: PathBuf,
    ispeed: PathBuf,
    server: PathBuf,
    /// Scratch directory for databases (deleted at the end).
    scratch: PathBuf,
    interrupted: Arc<AtomicBool>,
    /// What is missing and what that leaves out.
    tool_notes: Vec<String>,
    /// Where to keep each run's result document, if anywhere.
    save_runs: Option<PathBuf>,
}

impl Env {
    fn check_interrupted(&self) -> Result<(), String> {
        if self.interrupted.load(Ordering::Relaxed) {
            Err("interrupted".to_owned())
        } else {
            Ok(())
        }
    }
}

/// Runs the benchmark.
pub fn run(root: &Path, args: &BenchArgs) -> Result<(), String> {
    let traces_dir = root.join("bench").join("traces");
    if args.write_traces {
        trace::write_synthetic(&traces_dir)?;
        println!("wrote synthetic traces to {}", traces_dir.display());
        return Ok(());
    }
    if !nix::unistd::geteuid().is_root() {
        println!(
            "bench: needs root (network namespaces, veth, tc, TUN devices); \
             rerun as root, e.g. `sudo -E cargo xtask bench`. Nothing was run."
        );
        return Ok(());
    }
    let missing: Vec<&str> = ["ip", "tc"]
        .into_iter()
        .filter(|p| which(p).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing {} (Debian: apt-get install -y iproute2)",
            missing.join(", ")
        ));
    }
    let tool_notes = tools();
    for n in &tool_notes {
        println!("bench: {n}");
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, interrupted.clone())
            .map_err(|e| format!("cannot trap signal {sig}: {e}"))?;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    if !args.no_build {
        build(root)?;
    }
    let release = target.join("release");
    let scratch = std::env::temp_dir().join(format!("ispeed-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("cannot create scratch dir: {e}"))?;
    let env = Env {
        root: root.to_path_buf(),
        ispeed: release.join("ispeed"),
        server: release.join("ispeed-server"),
        scratch: scratch.clone(),
        interrupted,
        tool_notes,
        save_runs: args.save_runs.clone(),
    };
    for bin in [&env.ispeed, &env.server] {
        if !bin.is_file() {
            return Err(format!(
                "{} is missing: build without --no-build",
                bin.display()
            ));
        }
    }
    if let Some(dir) = &env.save_runs {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let outcome = run_parts(&env, args, &traces_dir);
    let _ = std::fs::remove_dir_all(&scratch);
    let text = outcome?;
    println!("{text}");
    if let Some(path) = &args.report {
        std::fs::write(path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Makes sure the optional tools are there, installing the missing ones with apt-get
/// (no index update: a machine without the index says what to run instead).
/// Returns one note per tool still missing.
fn tools() -> Vec<String> {
    const TOOLS: [(&str, &str); 3] = [
        (
            "ethtool",
            "offloads stay on: tbf meters GSO super-packets and the byte counters miss headers",
        ),
        ("iperf3", "the ceiling has no iperf3 column"),
        ("curl", "the ceiling has no curl column"),
    ];
    let missing: Vec<&str> = TOOLS
        .iter()
        .map(|t| t.0)
        .filter(|p| which(p).is_none())
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    println!("bench: installing {} with apt-get", missing.join(" "));
    let _ = std::process::Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    TOOLS
        .iter()
        .filter(|(p, _)| which(p).is_none())
        .map(|(p, why)| format!("{p} is missing (apt-get update && apt-get install -y {p}): {why}"))
        .collect()
}

fn build(root: &Path) -> Result<(), String> {
    println!("bench: building release ispeed and ispeed-server (fat LTO: minutes on a clean tree)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-j",
            "1",
            "-p",
            "ispeed-cli",
            "-p",
            "ispeed-server",
        ])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("release build failed".to_owned())
    }
}

fn run_parts(env: &Env, args: &BenchArgs, traces_dir: &Path) -> Result<String, String> {
    let started = Instant::now();
    let date = sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"])?;
    let load_before = loadavg();
    let mut rows = Vec::new();
    let wants = |p: &str| args.only.iter().any(|o| o == p);
    let picked = |name: &str| args.links.is_empty() || args.links.iter().any(|l| name.contains(l));
    if wants("flat") {
        for link in FLAT_LINKS.iter().filter(|l| picked(&l.name())) {
            rows.extend(flat_link(env, *link, args)?);
        }
    }
    if wants("trace") {
        for (name, _, _) in trace::synthetic() {
            if picked(&format!("trace {name}")) {
                rows.extend(trace_link(env, traces_dir, name, args)?);
            }
        }
    }
    let ceiling = if wants("ceiling") {
        let notes = env
            .tool_notes
            .iter()
            .filter(|n| !n.starts_with("ethtool"))
            .cloned()
            .collect();
        Some(ceiling::run(env, notes)?)
    } else {
        None
    };
    let load_after = loadavg();
    let mut out = String::new();
    out.push_str(&format!(
        "## Run\n\n- date: {}\n- machine: {}\n- load average (1, 5, 15 min) before: {load_before}; after: {load_after}\n- matrix wall time: {:.0} s\n\n",
        date.trim(),
        machine(),
        started.elapsed().as_secs_f64()
    ));
    if !rows.is_empty() {
        out.push_str("## Protocol × link\n\n");
        out.push_str(&report::protocol_table(&rows));
        out.push_str(
            "\n## The old stop rule beside the new on every flat link (same runs, replayed)\n\n",
        );
        out.push_str(&report::old_rule_table(&rows));
        out.push_str("\n## Stop rules replayed on the flat links' runs\n\n");
        out.push_str(&report::alternatives_table(&rows));
        out.push_str("\n## Accuracy, time and data (summary)\n\n");
        out.push_str(&report::summary_table(&rows));
        out.push_str("\n## Every run\n\n");
        out.push_str(&report::runs_table(&rows));
    }
    if let Some(c) = &ceiling {
        out.push_str("\n## Ceiling (loopback, unshaped)\n\n");
        out.push_str(&c.table());
    }
    out.push_str("\n## Footprint\n\n");
    let peak = rows
        .iter()
        .map(|r| r.peak_rss_kib)
        .chain(ceiling.iter().map(|c| c.peak_rss_kib))
        .max()
        .unwrap_or(0);
    out.push_str(&format!(
        "- peak RSS of `ispeed measure`, largest over all runs: {:.1} MB (target 30 MB)\n",
        peak as f64 / 1024.0
    ));
    if wants("footprint") {
        out.push_str(&format!("- {}\n", library_size(env)?));
    }
    Ok(out)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = sh("uname", &["-r"]).unwrap_or_default();
    format!("{cores} cores (nproc), {cpu}, Linux {}", kernel.trim())
}

/// Runs `ispeed measure --json` against `server_url` inside `ns`.
fn measure(
    env: &Env,
    ns: &str,
    server_url: &str,
    extra: &[&str],
) -> Result<(child::ChildRun, serde_json::Value), String> {
    let load = loadavg();
    let load1 = load.split(',').next().unwrap_or("?");
    println!("bench:   ispeed measure {} (load {load1})", extra.join(" "));
    env.check_interrupted()?;
    let db = env.scratch.join("bench.db");
    let db = db.to_string_lossy();
    let ispeed = env.ispeed.to_string_lossy();
    let mut args = vec![
        "netns",
        "exec",
        ns,
        ispeed.as_ref(),
        "measure",
        "--server",
        server_url,
        "--allow-any-network",
        "--allow-plain-http",
        "--json",
        "--db",
        db.as_ref(),
    ];
    args.extend_from_slice(extra);
    let run = child::run("ip", &args, MEASURE_LIMIT)?;
    env.check_interrupted()?;
    if !run.success {
        return Err(format!("ispeed measure failed: {}", run.stderr.trim()));
    }
    let doc = serde_json::from_str(&run.stdout)
        .map_err(|e| format!("ispeed measure printed no result document: {e}"))?;
    if let Some(dir) = &env.save_runs {
        save_run(dir, &extra.join("-").replace("--", ""), &run.stdout);
    }
    Ok((run, doc))
}

/// Keeps `text` in `dir` as `NNN-<suffix>.json`, numbered after the files already
/// there so that a run's result document and its emulator log sort together.
fn save_run(dir: &std::path::Path, suffix: &str, text: &str) {
    let n = std::fs::read_dir(dir).map_or(0, |d| d.count());
    let _ = std::fs::write(dir.join(format!("{n:03}-{suffix}.json")), text);
}

/// A phase's figures from the result document.
struct Phase {
    mbps: f64,
    bytes: u64,
    duration: Duration,
    ramp_ms: u64,
    measured_ms: u64,
    stop: String,
    /// (end of interval since phase start ms, payload bytes in it).
    intervals: Vec<(u64, u64)>,
}

fn phase(doc: &serde_json::Value, name: &str) -> Result<Phase, String> {
    let p = &doc[name];
    let num = |k: &str| {
        p[k].as_u64()
            .ok_or_else(|| format!("result has no {name}.{k}"))
    };
    Ok(Phase {
        mbps: p["mbps"]
            .as_f64()
            .ok_or_else(|| format!("result has no {name}.mbps"))?,
        bytes: num("bytes")?,
        duration: Duration::from_millis(num("duration_ms")?),
        ramp_ms: num("ramp_ms")?,
        measured_ms: num("measured_ms")?,
        stop: p["stop_reason"].as_str().unwrap_or("?").to_owned(),
        intervals: p["intervals"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| Some((i["t_ms"].as_u64()?, i["bytes"].as_u64()?)))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

fn server_args(listen: &str, collector: &Path) -> Vec<String> {
    vec![
        "--listen".to_owned(),
        listen.to_owned(),
        "--collector-db".to_owned(),
        collector.to_string_lossy().into_owned(),
    ]
}

/// Bytes `secs` at `mbps` would move.
fn bytes_at(mbps: f64, secs: f64) -> u64 {
    (mbps * 1e6 / 8.0 * secs) as u64
}

fn flat_link(env: &Env, link: FlatLink, args: &BenchArgs) -> Result<Vec<RunRow>, String> {
    let (down, up) = (link.down, link.up());
    let name = link.name();
    println!(
        "bench: {name} Mbit/s, {} runs of {}",
        args.runs,
        args.protocols.join(", ")
    );
    let lab = Lab::create(
        &format!("f{}", down as u32 % 1000),
        Wiring::Veth {
            down_mbps: down,
            up_mbps: up,
            queue: link.queue,
        },
    )?;
    let listen = format!("{}:{SERVER_PORT}", lab.server_ip);
    let sargs = server_args(&listen, &env.scratch.join("collector.db"));
    let sargs: Vec<&str> = sargs.iter().map(String::as_str).collect();
    let _server = lab.spawn_server(&env.server, &sargs)?;
    let url = format!("http://{listen}");
    let mut rows = Vec::new();
    // Protocols interleaved run by run, so a disturbance of the machine hits them alike.
    for _ in 0..args.runs {
        for protocol in &args.protocols {
            let wire_before = lab.client_wire_bytes()?;
            let (run, doc) = measure(env, &lab.client_ns, &url, &["--protocol", protocol])?;
            let wire = lab.client_wire_bytes()? - wire_before;
            let mut phases = Vec::new();
            for (dir, key, rate) in [("down", "download", down), ("up", "upload", up)] {
                let p = phase(&doc, key)?;
                // Every flat link, so the table shows what the new rule costs on each.
                let old = report::replay(&p.intervals, report::old_rule());
                phases.push(PhaseRow {
                    dir,
                    expected_mbps: rate * GOODPUT_PER_FRAME,
                    measured_mbps: p.mbps,
                    phase: p.duration,
                    stop: p.stop,
                    bytes: p.bytes,
                    budget_8s: bytes_at(rate, 8.0),
                    old,
                    intervals: p.intervals,
                    duplicates: None,
                });
            }
            rows.push(RunRow {
                link: name.clone(),
                protocol: protocol.clone(),
                down_mbps: down,
                stable: true,
                phases,
                wire_bytes: wire,
                cpu: run.cpu,
                wall: run.wall,
                peak_rss_kib: run.peak_rss_kib,
            });
        }
    }
    Ok(rows)
}

fn trace_link(env: &Env, dir: &Path, name: &str, args: &BenchArgs) -> Result<Vec<RunRow>, String> {
    let runs = args.runs;
    let down = Trace::load(&dir.join(format!("{name}.down")))?;
    let up = Trace::load(&dir.join(format!("{name}.up")))?;
    let label = format!("trace {name}, RTT {} ms", TRACE_ONE_WAY.as_millis() * 2);
    println!("bench: {label}, {runs} runs");
    let tag = format!("t{}", &name[..1]);
    let (client_if, server_if) = Lab::names(&tag);
    let spec = |trace: &Trace| DirectionSpec {
        delay: TRACE_ONE_WAY,
        trace: trace.clone(),
        queue_bytes: TRACE_QUEUE_BYTES,
    };
    let emu = Emulator::start(&client_if, &server_if, spec(&down), spec(&up))?;
    let lab = Lab::create(&tag, Wiring::Tun)?;
    let listen = format!("{}:{SERVER_PORT}", lab.server_ip);
    let sargs = server_args(&listen, &env.scratch.join("collector.db"));
    let sargs: Vec<&str> = sargs.iter().map(String::as_str).collect();
    let _server = lab.spawn_server(&env.server, &sargs)?;
    let url = format!("http://{listen}");
    let mut rows = Vec::new();
    // Protocols interleaved run by run, as on the flat links. Run k of every protocol
    // starts at the same point of the trace, k/runs into its loop: the protocols meet
    // the same stretch of the link, so their bytes compare (before, each run met the
    // stretch the clock left it, and one protocol's download met 18.8 Mbit/s where
    // another's met 5.2), and the bench is repeatable.
    let runs_at = (0..runs).flat_map(|k| args.protocols.iter().map(move |p| (k, p)));
    for (k, protocol) in runs_at {
        let position = down.period_ms() * k as u64 / runs as u64;
        let shift = emu.restart_trace_at(position);
        let wire_before = lab.client_wire_bytes()?;
        let tcp_before = [tcp_counters(&lab.server_ns), tcp_counters(&lab.client_ns)];
        let (run, doc) = measure(env, &lab.client_ns, &url, &["--protocol", protocol])?;
        let wire = lab.client_wire_bytes()? - wire_before;
        let tcp_after = [tcp_counters(&lab.server_ns), tcp_counters(&lab.client_ns)];
        let d = phase(&doc, "download")?;
        let u = phase(&doc, "upload")?;
        let spawn = run.started.saturating_duration_since(emu.epoch());
        let down_log = emu.down_log.snapshot();
        let up_log = emu.up_log.snapshot();
        let down_duplicates = emu.down_duplicates.snapshot();
        let up_duplicates = emu.up_duplicates.snapshot();
        let d_start = align(&down_log, &d, spawn);
        let u_start = align(&up_log, &u, d_start + d.duration);
        if let Some(dir) = &env.save_runs {
            let doc = serde_json::json!({
                "trace": name,
                "trace_shift_ms": shift,
                "down_from_ms": d_start.as_millis() as u64 + d.ramp_ms,
                "down_to_ms": d_start.as_millis() as u64 + d.ramp_ms + d.measured_ms,
                "down_start_ms": d_start.as_millis() as u64,
                "up_from_ms": u_start.as_millis() as u64 + u.ramp_ms,
                "up_to_ms": u_start.as_millis() as u64 + u.ramp_ms + u.measured_ms,
                "up_start_ms": u_start.as_millis() as u64,
                "down_log": down_log,
                "up_log": up_log,
                "down_duplicates": down_duplicates,
                "up_duplicates": up_duplicates,
                "server_tcp": tcp_delta(&tcp_before[0], &tcp_after[0]),
                "client_tcp": tcp_delta(&tcp_before[1], &tcp_after[1]),
            });
            save_run(dir, "emulator", &doc.to_string());
        }
        let mut phases = Vec::new();
        for (dirname, p, start, trace) in [("down", &d, d_start, &down), ("up", &u, u_start, &up)] {
            let from = start.as_millis() as u64 + p.ramp_ms;
            let to = from + p.measured_ms;
            let (log, again) = if dirname == "down" {
                (&down_log, &down_duplicates)
            } else {
                (&up_log, &up_duplicates)
            };
            let delivered = delivered_payload(log, from, to);
            let duplicates = if delivered > 0.0 {
                bucket_sum(again, from, to) as f64 / delivered
            } else {
                0.0
            };
            let offered = trace.goodput_mbps(from + shift, to + shift);
            println!(
                "bench:   {dirname}: trace offers {offered:.2}, emulator delivered {:.2} Mbit/s of payload in the window, {:.1} % of it a second time",
                delivered_mbps(log, from, to),
                duplicates * 100.0
            );
            phases.push(PhaseRow {
                dir: dirname,
                expected_mbps: offered,
                measured_mbps: p.mbps,
                phase: p.duration,
                stop: p.stop.clone(),
                bytes: p.bytes,
                budget_8s: bytes_at(trace.mean_goodput_mbps(), 8.0),
                old: None,
                intervals: p.intervals.clone(),
                duplicates: Some(duplicates),
            });
        }
        rows.push(RunRow {
            link: label.clone(),
            protocol: protocol.clone(),
            down_mbps: down.mean_goodput_mbps(),
            stable: false,
            phases,
            wire_bytes: wire,
            cpu: run.cpu,
            wall: run.wall,
            peak_rss_kib: run.peak_rss_kib,
        });
    }
    let (dd, ud) = emu.drops();
    println!("bench: {label}: emulator queue drops {dd} down, {ud} up");
    drop(lab);
    drop(emu);
    Ok(rows)
}

/// TCP payload the emulator delivered between two trace times, Mbit/s (full-sized
/// packets assumed, as for the trace's own figure).
fn delivered_mbps(log: &[u64], from_ms: u64, to_ms: u64) -> f64 {
    let bucket_ms = LOG_BUCKET.as_millis() as u64;
    let buckets = (to_ms / bucket_ms).saturating_sub(from_ms / bucket_ms);
    let secs = (buckets * bucket_ms) as f64 / 1000.0;
    if secs > 0.0 {
        delivered_payload(log, from_ms, to_ms) * 8.0 / secs / 1e6
    } else {
        0.0
    }
}

/// TCP payload bytes the emulator delivered between two trace times, in whole 10 ms
/// buckets (full-sized packets assumed).
fn delivered_payload(log: &[u64], from_ms: u64, to_ms: u64) -> f64 {
    bucket_sum(log, from_ms, to_ms) as f64 * PAYLOAD_PER_PACKET as f64
        / trace::OPPORTUNITY_BYTES as f64
}

/// A log's bytes between two trace times, in whole 10 ms buckets.
fn bucket_sum(log: &[u64], from_ms: u64, to_ms: u64) -> u64 {
    let bucket_ms = LOG_BUCKET.as_millis() as u64;
    let (a, b) = ((from_ms / bucket_ms) as usize, (to_ms / bucket_ms) as usize);
    log.iter().skip(a).take(b.saturating_sub(a)).sum()
}

/// Where (since the emulator's epoch) a phase started: the offset at which the
/// client's own interval byte counts best match what the emulator delivered, searched
/// from 3 s before (never before `not_before`) to 0.5 s after the phase's first 10 ms
/// bucket that carried a full packet. The client's clock starts before its
/// connections open, so the first delivered byte alone would place the phase a round
/// trip or two late. A full packet, not more: on `cell-edge`'s 3.8 Mbit/s uplink a
/// threshold of four packets in 10 ms (4.8 Mbit/s) first passed at a peak seconds into
/// the phase, and the search, then 1 s wide, could not reach the phase's start.
fn align(log: &[u64], p: &Phase, not_before: Duration) -> Duration {
    let bucket_ms = LOG_BUCKET.as_millis() as u64;
    // A latency probe's request or answer is a few hundred bytes.
    let Some(first) = emulator::first_busy_bucket(log, not_before, 1500) else {
        return not_before;
    };
    let first_ms = first.as_millis() as u64;
    let mut best = (f64::INFINITY, first_ms);
    let lo = first_ms
        .saturating_sub(3000)
        .max(not_before.as_millis() as u64);
    let mut off = lo;
    while off <= first_ms + 500 {
        let mut prev = 0;
        let mut err = 0.0;
        for &(t, bytes) in &p.intervals {
            let e = bytes as f64 - delivered_payload(log, off + prev, off + t);
            err += e * e;
            prev = t;
        }
        if err < best.0 {
            best = (err, off);
        }
        off += bucket_ms;
    }
    Duration::from_millis(best.1)
}

/// The stripped size of the Android library, built as the app ships it (the
/// `mobile` profile: release optimised for size).
fn library_size(env: &Env) -> Result<String, String> {
    if which("strip").is_none() {
        return Ok("library size: `strip` is missing (Debian: binutils)".to_owned());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(cargo)
        .current_dir(&env.root)
        .args([
            "build",
            "--profile",
            "mobile",
            "-j",
            "1",
            "-p",
            "ispeed-android",
        ])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building ispeed-android failed: {status}"));
    }
    let release = env.ispeed.parent().unwrap_or(Path::new("."));
    let so = release
        .with_file_name("mobile")
        .join("libispeed_android.so");
    let stripped = env.scratch.join("libispeed_android.so");
    std::fs::copy(&so, &stripped).map_err(|e| format!("cannot copy {}: {e}", so.display()))?;
    sh("strip", &[&stripped.to_string_lossy()])?;
    let size = std::fs::metadata(&stripped)
        .map(|m| m.len())
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "stripped Android library (`--profile mobile`, {}): {:.2} MB (target 6 MB)",
        so.display(),
        size as f64 / 1e6
    ))
}

/// The TCP counters of a namespace (`/proc/net/netstat` and `/proc/net/snmp`).
fn tcp_counters(ns: &str) -> std::collections::BTreeMap<String, i64> {
    let mut out = std::collections::BTreeMap::new();
    let text = sh(
        "ip",
        &[
            "netns",
            "exec",
            ns,
            "cat",
            "/proc/net/netstat",
            "/proc/net/snmp",
        ],
    )
    .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        if let [names, values] = pair {
            let prefix = names.split(':').next().unwrap_or("");
            for (k, v) in names
                .split_whitespace()
                .skip(1)
                .zip(values.split_whitespace().skip(1))
            {
                if let Ok(v) = v.parse() {
                    out.insert(format!("{prefix}{k}"), v);
                }
            }
        }
    }
    out
}

/// The counters that moved between two snapshots.
fn tcp_delta(
    before: &std::collections::BTreeMap<String, i64>,
    after: &std::collections::BTreeMap<String, i64>,
) -> std::collections::BTreeMap<String, i64> {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v - before.get(k).copied().unwrap_or(0);
            (d != 0).then(|| (k.clone(), d))
        })
        .collect()
}
