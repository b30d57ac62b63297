//! The client's ceiling: how fast `ispeed measure` moves data when nothing but the
//! machine limits it, beside `iperf3` with the same number of streams and a
//! single-stream `curl` download of the same size, all on one unshaped loopback in a
//! namespace of our own, one after the other in one run.
//!
//! The transfer budgets are raised for this run only (the default byte budget would
//! end a loopback phase in a fraction of a second): the question here is what the
//! client can do, not what it should spend on a phone.

use std::fmt::Write as _;
use std::time::Duration;

use super::lab::{Lab, Server, Wiring, which};
use super::{Env, SERVER_PORT, measure, phase};

/// `--max-mbytes` of the ceiling run, MB: the download's budget, the upload getting a
/// third of it (the data-budget rule), so 3,000 MB for the upload: a few seconds at
/// loopback speed either way.
const CEILING_MBYTES: &str = "9000";

/// Port of the one-off iperf3 server.
const IPERF_PORT: &str = "5201";

/// Figures of the ceiling run, Mbit/s.
pub struct Ceiling {
    streams: u64,
    ours: [f64; 2],
    bytes: [u64; 2],
    iperf: [Option<f64>; 2],
    curl: Option<f64>,
    notes: Vec<String>,
    /// Peak RSS of the client during the ceiling run, KiB.
    pub peak_rss_kib: u64,
}

/// Runs the ceiling comparison.
pub fn run(env: &Env, notes: Vec<String>) -> Result<Ceiling, String> {
    println!("bench: ceiling on loopback");
    let lab = Lab::create(
        "lo",
        Wiring::Veth {
            down_mbps: 0.0,
            up_mbps: 0.0,
            queue: crate::bench::lab::Queue::Shaper { ms: 50 },
        },
    )?;
    let ns = lab.server_ns.clone();
    let listen = format!("127.0.0.1:{SERVER_PORT}");
    let collector = env.scratch.join("collector.db");
    let collector = collector.to_string_lossy();
    let server = lab.spawn_server(
        &env.server,
        &["--listen", &listen, "--collector-db", &collector],
    )?;
    let url = format!("http://{listen}");
    let (run, doc) = measure(
        env,
        &ns,
        &url,
        &["--max-mbytes", CEILING_MBYTES, "--max-seconds", "10"],
    )?;
    let d = phase(&doc, "download")?;
    let u = phase(&doc, "upload")?;
    let streams = doc["download"]["streams"].as_u64().unwrap_or(4);
    let mut c = Ceiling {
        streams,
        ours: [d.mbps, u.mbps],
        bytes: [d.bytes, u.bytes],
        iperf: [None, None],
        curl: None,
        notes,
        peak_rss_kib: run.peak_rss_kib,
    };
    if which("curl").is_some() {
        env.check_interrupted()?;
        let target = format!("{url}/download?bytes={}", d.bytes);
        let out = super::sh(
            "ip",
            &[
                "netns",
                "exec",
                &ns,
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "--max-time",
                "60",
                "-w",
                "%{speed_download}",
                &target,
            ],
        )?;
        c.curl = out.trim().parse::<f64>().ok().map(|bps| bps * 8.0 / 1e6);
    }
    drop(server);
    if which("iperf3").is_some() {
        for (i, reverse) in [(0, true), (1, false)] {
            env.check_interrupted()?;
            c.iperf[i] = iperf(&ns, streams, c.bytes[i], reverse)?;
        }
    }
    Ok(c)
}

/// One iperf3 transfer of `bytes` over `streams` streams; `reverse` is a download.
fn iperf(ns: &str, streams: u64, bytes: u64, reverse: bool) -> Result<Option<f64>, String> {
    let server = Server::start(
        ns,
        std::path::Path::new("iperf3"),
        &[
            "-s",
            "-1",
            "-p",
            IPERF_PORT,
            "--forceflush",
            "-B",
            "127.0.0.1",
        ],
    )?;
    let streams = streams.to_string();
    let bytes = bytes.max(100_000_000).to_string();
    let mut args = vec![
        "netns",
        "exec",
        ns,
        "iperf3",
        "-c",
        "127.0.0.1",
        "-p",
        IPERF_PORT,
        "-P",
        &streams,
        "-n",
        &bytes,
        "-J",
    ];
    if reverse {
        args.push("-R");
    }
    let out = super::child::run("ip", &args, Duration::from_secs(60))?;
    server.wait();
    let v: serde_json::Value =
        serde_json::from_str(&out.stdout).map_err(|e| format!("iperf3 printed no JSON: {e}"))?;
    Ok(v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .map(|b| b / 1e6))
}

fn fmt(x: Option<f64>) -> String {
    x.map_or("—".to_owned(), |v| format!("{v:.0}"))
}

fn ratio(a: f64, b: Option<f64>) -> String {
    b.filter(|b| *b > 0.0)
        .map_or("—".to_owned(), |b| format!("{:.2}", a / b))
}

impl Ceiling {
    /// The ceiling as a Markdown table with its notes.
    pub fn table(&self) -> String {
        let mut out = format!(
            "| direction | ispeed ({n} streams) Mbit/s | MB moved | iperf3 -P {n} Mbit/s | curl 1 stream Mbit/s | ispeed / iperf3 | ispeed / curl |\n|---|---:|---:|---:|---:|---:|---:|\n",
            n = self.streams
        );
        for (i, dir) in ["download", "upload"].into_iter().enumerate() {
            let curl = if i == 0 { self.curl } else { None };
            let _ = writeln!(
                out,
                "| {dir} | {:.0} | {:.0} | {} | {} | {} | {} |",
                self.ours[i],
                self.bytes[i] as f64 / 1e6,
                fmt(self.iperf[i]),
                fmt(curl),
                ratio(self.ours[i], self.iperf[i]),
                ratio(self.ours[i], curl),
            );
        }
        for n in &self.notes {
            let _ = writeln!(out, "\n{n}");
        }
        out
    }
}
