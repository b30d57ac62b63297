//! The benchmark's figures and their tables (Markdown, so the same text goes to the
//! terminal and into `docs/benchmarks.md`).

use std::fmt::Write as _;
use std::time::Duration;

/// Bytes of TCP payload per Ethernet frame of a 1500-byte MTU (with timestamps),
/// over the bytes `tbf` meters for that frame (14 bytes of Ethernet header).
pub const GOODPUT_PER_FRAME: f64 = 1448.0 / 1514.0;

/// One direction of one run.
#[derive(Debug, Clone)]
pub struct PhaseRow {
    /// "down" or "up".
    pub dir: &'static str,
    /// What the link can carry as TCP payload, Mbit/s.
    pub expected_mbps: f64,
    /// What the client reported, Mbit/s.
    pub measured_mbps: f64,
    /// Length of the whole phase.
    pub phase: Duration,
    /// Why the phase ended.
    pub stop: String,
    /// Payload bytes the phase moved, ramp included.
    pub bytes: u64,
    /// What 8 s at the link's nominal rate would move (the data target).
    pub budget_8s: u64,
}

impl PhaseRow {
    /// measured / expected.
    pub fn ratio(&self) -> f64 {
        if self.expected_mbps > 0.0 {
            self.measured_mbps / self.expected_mbps
        } else {
            f64::NAN
        }
    }
}

/// One `ispeed measure` run on one link.
#[derive(Debug, Clone)]
pub struct RunRow {
    /// The link's name, e.g. "tbf 50/17" or "trace lte".
    pub link: String,
    /// Whether the link is stable (flat), where the time and data targets apply.
    pub stable: bool,
    /// Download then upload.
    pub phases: Vec<PhaseRow>,
    /// Bytes on the client's interface, both directions, whole run.
    pub wire_bytes: u64,
    /// Client CPU time, user plus system.
    pub cpu: Duration,
    /// Client wall time.
    pub wall: Duration,
    /// Client peak RSS, KiB.
    pub peak_rss_kib: u64,
}

/// The median of `xs` (NaN when empty).
pub fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Every run, one line per phase.
pub fn runs_table(rows: &[RunRow]) -> String {
    let mut out = String::new();
    out.push_str(
        "| link | run | dir | expected Mbit/s | measured Mbit/s | ratio | phase s | stop | payload MB | 8 s at rate MB | wire MB (run) | wall s (run) | CPU s (run) | peak RSS MB |\n\
         |---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|\n",
    );
    let mut run_no = 0;
    let mut last_link = "";
    for r in rows {
        if r.link != last_link {
            run_no = 0;
            last_link = &r.link;
        }
        run_no += 1;
        for (i, p) in r.phases.iter().enumerate() {
            let per_run = if i == 0 {
                format!(
                    "{:.1} | {:.1} | {:.2} | {:.1}",
                    mb(r.wire_bytes),
                    r.wall.as_secs_f64(),
                    r.cpu.as_secs_f64(),
                    r.peak_rss_kib as f64 / 1024.0
                )
            } else {
                " | | | ".to_owned()
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.2} | {:.2} | {:.3} | {:.2} | {} | {:.1} | {:.1} | {} |",
                r.link,
                run_no,
                p.dir,
                p.expected_mbps,
                p.measured_mbps,
                p.ratio(),
                p.phase.as_secs_f64(),
                p.stop,
                mb(p.bytes),
                mb(p.budget_8s),
                per_run
            );
        }
    }
    out
}

/// Per link and direction: the figures the targets are stated in.
pub fn summary_table(rows: &[RunRow]) -> String {
    let mut out = String::new();
    out.push_str(
        "| link | dir | runs | expected Mbit/s | median measured | median abs(ratio-1) | worst abs(ratio-1) | median phase s | longest phase s | most payload MB / 8 s at rate | accuracy target | time and data target |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n",
    );
    let mut links: Vec<&str> = Vec::new();
    for r in rows {
        if !links.contains(&r.link.as_str()) {
            links.push(&r.link);
        }
    }
    for link in links {
        let runs: Vec<&RunRow> = rows.iter().filter(|r| r.link == link).collect();
        for dir in ["down", "up"] {
            let phases: Vec<&PhaseRow> = runs
                .iter()
                .flat_map(|r| r.phases.iter().filter(|p| p.dir == dir))
                .collect();
            if phases.is_empty() {
                continue;
            }
            let errs: Vec<f64> = phases.iter().map(|p| (p.ratio() - 1.0).abs()).collect();
            let med_err = median(&errs);
            let worst = errs.iter().copied().fold(0.0, f64::max);
            let secs: Vec<f64> = phases.iter().map(|p| p.phase.as_secs_f64()).collect();
            let longest = secs.iter().copied().fold(0.0, f64::max);
            let data = phases
                .iter()
                .map(|p| p.bytes as f64 / p.budget_8s.max(1) as f64)
                .fold(0.0, f64::max);
            let stable = runs.first().is_some_and(|r| r.stable);
            let accuracy = if !stable {
                "n/a (trace)".to_owned()
            } else if med_err <= 0.03 && worst <= 0.06 {
                "met".to_owned()
            } else {
                format!(
                    "missed by {:.1} pp",
                    ((med_err - 0.03).max(worst - 0.06)) * 100.0
                )
            };
            let time_data = if !stable {
                "n/a (trace)".to_owned()
            } else if longest <= 8.0 && data <= 1.0 {
                "met".to_owned()
            } else {
                format!("missed: {longest:.1} s, {:.0} % of 8 s", data * 100.0)
            };
            let _ = writeln!(
                out,
                "| {link} | {dir} | {} | {:.2} | {:.2} | {:.1} % | {:.1} % | {:.2} | {:.2} | {:.0} % | {accuracy} | {time_data} |",
                phases.len(),
                median(&phases.iter().map(|p| p.expected_mbps).collect::<Vec<_>>()),
                median(&phases.iter().map(|p| p.measured_mbps).collect::<Vec<_>>()),
                med_err * 100.0,
                worst * 100.0,
                median(&secs),
                longest,
                data * 100.0,
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(dir: &'static str, expected: f64, measured: f64) -> PhaseRow {
        PhaseRow {
            dir,
            expected_mbps: expected,
            measured_mbps: measured,
            phase: Duration::from_secs(3),
            stop: "stable".to_owned(),
            bytes: 1_000_000,
            budget_8s: 10_000_000,
        }
    }

    #[test]
    fn medians_of_odd_and_even_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn the_summary_judges_each_link_against_the_targets() {
        let run = |m: f64| RunRow {
            link: "tbf 10/3".to_owned(),
            stable: true,
            phases: vec![phase("down", 10.0, m), phase("up", 3.0, 3.0)],
            wire_bytes: 0,
            cpu: Duration::ZERO,
            wall: Duration::ZERO,
            peak_rss_kib: 0,
        };
        let table = summary_table(&[run(9.9), run(10.1), run(9.0)]);
        let down = table
            .lines()
            .find(|l| l.contains("| down |"))
            .expect("a down line");
        // Median error 1 %, worst 10 %: missed by 4 points.
        assert!(down.contains("missed by 4.0 pp"), "{down}");
        let up = table
            .lines()
            .find(|l| l.contains("| up |"))
            .expect("an up line");
        assert!(up.contains("| met | met |"), "{up}");
    }
}
