//! The network lab: two namespaces (client and server) joined by a shaped veth pair or
//! by the TUN link emulator, and the processes running inside them.
//!
//! Every namespace, and so every device in it, is deleted when its [`Lab`] is dropped,
//! which happens on success, on error and after Ctrl-C (the bench traps SIGINT and
//! unwinds normally). Names carry the bench's PID so two runs never collide, and
//! nothing outside the lab's own namespaces is touched.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Runs a command to completion; its output on failure becomes the error.
pub fn sh(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// How the two namespaces are joined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Wiring {
    /// A veth pair, each end's egress shaped by `tbf` (Mbit/s; 0 = unshaped).
    Veth {
        /// Server to client.
        down_mbps: f64,
        /// Client to server.
        up_mbps: f64,
        /// How the bottleneck holds what exceeds the rate.
        queue: Queue,
    },
    /// Two TUN devices whose packets the caller's emulator forwards.
    Tun,
}

/// What a `tbf` bottleneck does with a burst above its rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Queue {
    /// Queues up to this many ms at the rate (tbf `latency`); the bucket holds ten
    /// frames or 1 ms at the rate.
    Shaper {
        /// Queue length, ms.
        ms: u32,
    },
    /// A policer: a bucket of this many bytes and 1 ms of queue; the rest is dropped,
    /// as an operator's token-bucket policing does.
    Policer {
        /// Bucket size, bytes.
        burst: u64,
    },
}

/// Two namespaces and the link between them.
pub struct Lab {
    /// Client namespace.
    pub client_ns: String,
    /// Server namespace.
    pub server_ns: String,
    /// The client's end of the link (counted for bytes on the wire).
    pub client_if: String,
    /// The server's end of the link.
    pub server_if: String,
    /// The server's address as seen by the client.
    pub server_ip: &'static str,
    created: Vec<String>,
}

/// The congestion control of both ends on every link, set on the route between them
/// (`congctl`): CUBIC is the default of Linux, Android and Apple's
/// systems, so it is what a phone uploads with and what a stock measurement server
/// downloads with. Without it the lab inherits whatever the host chose (this machine:
/// BBR), and on the cellular traces BBR left the link short after every rise in rate
/// (it keeps no standing queue and finds a higher rate only by probing, 25 % per cycle
/// of eight round trips) and overflowed the cell's queue when the rate fell (9,192
/// drops in six runs on `cell-city`, 703 with CUBIC). A route metric needs no change
/// to the host's `tcp_allowed_congestion_control`, which a namespace's default would.
/// Reports before issues 17 and 18 ran the flat links on the host's BBR; on the shallow
/// queues BBR's probing made the 250 ms intervals swing between half and one and a half
/// times the link (docs/benchmarks.md).
const CONGESTION_CONTROL: &str = "cubic";

/// Client and server addresses of the lab link.
const CLIENT_IP: &str = "10.77.0.1";
const SERVER_IP: &str = "10.77.0.2";
/// The veth link's subnet (the TUN link is point to point).
const LAB_NET: &str = "10.77.0.0/24";

impl Lab {
    /// Names for a lab; `tag` tells labs of one run apart (at most 3 characters).
    pub fn names(tag: &str) -> (String, String) {
        let pid = std::process::id();
        (format!("isb{pid}{tag}c"), format!("isb{pid}{tag}s"))
    }

    /// Creates the namespaces. With [`Wiring::Tun`] the devices named by
    /// [`Lab::names`] must already exist in this namespace (the emulator made them).
    pub fn create(tag: &str, wiring: Wiring) -> Result<Self, String> {
        let (client_if, server_if) = Self::names(tag);
        let mut lab = Self {
            client_ns: format!("{client_if}-ns"),
            server_ns: format!("{server_if}-ns"),
            client_if,
            server_if,
            server_ip: SERVER_IP,
            created: Vec::new(),
        };
        for ns in [lab.client_ns.clone(), lab.server_ns.clone()] {
            sh("ip", &["netns", "add", &ns])?;
            lab.created.push(ns.clone());
            sh("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        }
        match wiring {
            Wiring::Veth {
                down_mbps,
                up_mbps,
                queue,
            } => {
                sh(
                    "ip",
                    &[
                        "link",
                        "add",
                        &lab.client_if,
                        "netns",
                        &lab.client_ns,
                        "type",
                        "veth",
                        "peer",
                        "name",
                        &lab.server_if,
                        "netns",
                        &lab.server_ns,
                    ],
                )?;
                lab.address("24", "")?;
                lab.no_offloads()?;
                lab.shape(&lab.server_ns, &lab.server_if, down_mbps, queue)?;
                lab.shape(&lab.client_ns, &lab.client_if, up_mbps, queue)?;
            }
            Wiring::Tun => {
                sh(
                    "ip",
                    &["link", "set", &lab.client_if, "netns", &lab.client_ns],
                )?;
                sh(
                    "ip",
                    &["link", "set", &lab.server_if, "netns", &lab.server_ns],
                )?;
                lab.address("32", "peer")?;
            }
        }
        Ok(lab)
    }

    /// Addresses both ends; the route to the peer uses [`CONGESTION_CONTROL`].
    fn address(&self, prefix: &str, peer: &str) -> Result<(), String> {
        for (ns, dev, ip, other) in [
            (&self.client_ns, &self.client_if, CLIENT_IP, SERVER_IP),
            (&self.server_ns, &self.server_if, SERVER_IP, CLIENT_IP),
        ] {
            let addr = format!("{ip}/{prefix}");
            let mut args = vec!["-n", ns.as_str(), "addr", "add", addr.as_str()];
            if !peer.is_empty() {
                args.extend(["peer", other]);
            }
            args.extend(["dev", dev.as_str()]);
            sh("ip", &args)?;
            sh("ip", &["-n", ns, "link", "set", dev, "up"])?;
            // The route the address made, with the lab's congestion control.
            let dest = if peer.is_empty() { LAB_NET } else { other };
            sh(
                "ip",
                &[
                    "-n",
                    ns,
                    "route",
                    "change",
                    dest,
                    "dev",
                    dev,
                    "proto",
                    "kernel",
                    "scope",
                    "link",
                    "src",
                    ip,
                    "congctl",
                    CONGESTION_CONTROL,
                ],
            )?;
        }
        Ok(())
    }

    /// Turns segmentation offloads off so every packet on the veth is one wire-sized
    /// frame: the byte counters then include every header, and `tbf` meters frames,
    /// not 64 KB super-packets. Without `ethtool` the counters under-count headers
    /// by a few percent, which the report says.
    fn no_offloads(&self) -> Result<(), String> {
        if which("ethtool").is_none() {
            return Ok(());
        }
        for (ns, dev) in [
            (&self.client_ns, &self.client_if),
            (&self.server_ns, &self.server_if),
        ] {
            sh(
                "ip",
                &[
                    "netns", "exec", ns, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro",
                    "off",
                ],
            )?;
        }
        Ok(())
    }

    fn shape(&self, ns: &str, dev: &str, mbps: f64, queue: Queue) -> Result<(), String> {
        if mbps <= 0.0 {
            return Ok(());
        }
        let rate_bytes = mbps * 1e6 / 8.0;
        let rate = format!("{}kbit", (mbps * 1000.0).round() as u64);
        match queue {
            Queue::Shaper { ms } => {
                // At least ten frames, and 1 ms at the rate so timer slack on a busy
                // machine does not cap the rate below what was asked.
                let burst = ((rate_bytes / 1000.0).max(15_140.0) as u64).to_string();
                let latency = format!("{ms}ms");
                sh(
                    "ip",
                    &[
                        "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf",
                        "rate", &rate, "burst", &burst, "latency", &latency,
                    ],
                )?;
            }
            Queue::Policer { burst } => {
                // A policer as tbf can be one (this kernel has no `police` action):
                // the bucket, and 1 ms of queue behind it; beyond that, drops.
                let burst = burst.to_string();
                sh(
                    "ip",
                    &[
                        "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf",
                        "rate", &rate, "burst", &burst, "latency", "1ms",
                    ],
                )?;
            }
        }
        Ok(())
    }

    /// Bytes received plus bytes sent on the client's end of the link so far.
    pub fn client_wire_bytes(&self) -> Result<u64, String> {
        let out = sh(
            "ip",
            &[
                "-n",
                &self.client_ns,
                "-s",
                "-j",
                "link",
                "show",
                "dev",
                &self.client_if,
            ],
        )?;
        let v: serde_json::Value =
            serde_json::from_str(&out).map_err(|e| format!("unexpected `ip -j` output: {e}"))?;
        let stats = &v[0]["stats64"];
        let rx = stats["rx"]["bytes"].as_u64();
        let tx = stats["tx"]["bytes"].as_u64();
        match (rx, tx) {
            (Some(rx), Some(tx)) => Ok(rx + tx),
            _ => Err("no byte counters in `ip -s -j link` output".to_owned()),
        }
    }

    /// Starts `program args` in the server namespace and waits until it listens.
    pub fn spawn_server(&self, program: &Path, args: &[&str]) -> Result<Server, String> {
        Server::start(&self.server_ns, program, args)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.created.drain(..).rev() {
            if let Err(e) = sh("ip", &["netns", "del", &ns]) {
                eprintln!("bench: could not delete namespace {ns}: {e}");
            }
        }
    }
}

/// A process started in a namespace; terminated (by its PID) and reaped on drop.
pub struct Server {
    child: Child,
}

impl Server {
    /// Starts `program args` inside `ns` and waits up to 10 s until it says it listens.
    pub fn start(ns: &str, program: &Path, args: &[&str]) -> Result<Self, String> {
        let program = program.to_string_lossy();
        let mut all = vec!["netns", "exec", ns, program.as_ref()];
        all.extend_from_slice(args);
        let mut child = Command::new("ip")
            .args(&all)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let (tx, rx) = mpsc::channel::<String>();
        // Both servers we run (ours, iperf3) announce "... listening ..." on one of
        // their streams; read both, and keep draining so a full pipe never blocks them.
        for pipe in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|e| Box::new(e) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        drop(tx);
        let server = Self { child };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut last = String::new();
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) if line.to_lowercase().contains("listening") => return Ok(server),
                Ok(line) => last = line,
                Err(_) => break,
            }
        }
        Err(format!("{program} did not start in {ns}: {last}"))
    }

    /// Waits for a process that ends by itself (a one-off iperf3 server).
    pub fn wait(mut self) {
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // `ip netns exec` execs the program, so this PID is the server itself.
            if let Ok(pid) = i32::try_from(self.child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            for _ in 0..50 {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The path of `program` on `PATH`, if it is there.
pub fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}
