//! Running one client process and what it cost: wall time, CPU time and peak memory.
//!
//! CPU time is the difference in `getrusage(RUSAGE_CHILDREN)` across the child's
//! life; it is exact because the bench reaps no other process meanwhile (servers stay
//! up until the lab is dropped, the emulator is threads of this process). Peak RSS is
//! the child's `VmHWM`, a high-water mark the kernel keeps, read every 10 ms while it
//! runs, and `ru_maxrss` when that grew during the child (which only it can have
//! caused).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

/// What a finished child cost.
#[derive(Debug, Clone)]
pub struct ChildRun {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error (the reason, when it failed).
    pub stderr: String,
    /// When it was started.
    pub started: Instant,
    /// Wall time until it exited.
    pub wall: Duration,
    /// User plus system CPU time.
    pub cpu: Duration,
    /// Peak resident set size, KiB.
    pub peak_rss_kib: u64,
}

fn children_usage() -> Result<(Duration, u64), String> {
    let u = getrusage(UsageWho::RUSAGE_CHILDREN).map_err(|e| format!("getrusage: {e}"))?;
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec().max(0) as u64)
            + Duration::from_micros(t.tv_usec().max(0) as u64)
    };
    Ok((
        tv(u.user_time()) + tv(u.system_time()),
        u.max_rss().max(0) as u64,
    ))
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `program args` to completion, killing it after `limit`.
pub fn run(program: &str, args: &[&str], limit: Duration) -> Result<ChildRun, String> {
    let (cpu_before, maxrss_before) = children_usage()?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let pid = child.id();
    // Read both pipes on their own threads so a full pipe never stalls the child.
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = peak.max(kib);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} ran longer than {} s", limit.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for {program}: {e}")),
        }
    };
    let wall = started.elapsed();
    let (cpu_after, maxrss_after) = children_usage()?;
    if maxrss_after > maxrss_before {
        peak = peak.max(maxrss_after);
    }
    Ok(ChildRun {
        success: status.success(),
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
        started,
        wall,
        cpu: cpu_after.saturating_sub(cpu_before),
        peak_rss_kib: peak,
    })
}
