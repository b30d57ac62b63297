//! `cargo xtask test`: every check a change must pass, in the order that fails fastest.

use std::process::Command;
use std::time::Instant;

/// One step: a name and the command it runs.
struct Step {
    name: &'static str,
    program: &'static str,
    args: &'static [&'static str],
}

const STEPS: &[Step] = &[
    Step {
        name: "format",
        program: "cargo",
        args: &["fmt", "--all", "--", "--check"],
    },
    // Cheap (reads six files), and the apps' texts are what a citizen sees first.
    Step {
        name: "error texts",
        program: "cargo",
        args: &["xtask", "check-strings"],
    },
    Step {
        name: "lint",
        program: "cargo",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    },
    Step {
        name: "rust tests",
        program: "cargo",
        args: &["test", "--workspace", "--no-fail-fast"],
    },
    Step {
        name: "swift checks",
        program: "cargo",
        args: &["xtask", "swift-check"],
    },
    Step {
        name: "kotlin tests",
        program: "cargo",
        args: &["xtask", "kotlin-test"],
    },
];

/// Where the campaign page test looks for a browser.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Installs Debian's Chromium for the campaign page test when it is missing and we
/// may (root); otherwise that test says why it skips.
fn ensure_chromium() {
    if std::path::Path::new(CHROMIUM).exists() {
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if !root {
        eprintln!("==> chromium missing and not root: the campaign page test will skip");
        return;
    }
    eprintln!("==> installing chromium for the campaign page test");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        let _ = Command::new("apt-get").args(["update", "-q"]).status();
        if !install() {
            eprintln!("==> chromium could not be installed: the campaign page test will skip");
        }
    }
}

/// Where the collector's PostgreSQL tests look for the server binaries (Debian's
/// `postgresql-15`; `ISPEED_PG_BIN` overrides it in the tests).
const POSTGRES_INITDB: &str = "/usr/lib/postgresql/15/bin/initdb";

/// Installs Debian's PostgreSQL 15 for the collector's tests when it is missing and we
/// may (root). The tests start and remove their own throwaway clusters; without the
/// binaries they fail with the reason, never pass silently.
fn ensure_postgres() {
    if std::path::Path::new(POSTGRES_INITDB).exists()
        || std::env::var_os("ISPEED_TEST_DATABASE_URL").is_some()
    {
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    if !root {
        eprintln!(
            "==> postgresql-15 missing and not root: the collector's PostgreSQL tests will fail"
        );
        return;
    }
    eprintln!("==> installing postgresql-15 for the collector's tests");
    let install = || {
        Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                "postgresql-15",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        let _ = Command::new("apt-get").args(["update", "-q"]).status();
        if !install() {
            eprintln!(
                "==> postgresql-15 could not be installed: the collector's PostgreSQL tests will fail"
            );
        }
    }
}

/// Runs every step from the workspace root; stops at the first failure.
pub fn run(root: &std::path::Path) -> Result<(), String> {
    ensure_chromium();
    ensure_postgres();
    for step in STEPS {
        let start = Instant::now();
        eprintln!(
            "==> {}: {} {}",
            step.name,
            step.program,
            step.args.join(" ")
        );
        let status = Command::new(step.program)
            .args(step.args)
            .current_dir(root)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", step.program))?;
        if !status.success() {
            return Err(format!("{} failed ({status})", step.name));
        }
        eprintln!(
            "==> {} ok in {:.0} s",
            step.name,
            start.elapsed().as_secs_f64()
        );
    }
    // Those tests check the HTML without a browser and say so in their output, which
    // cargo hides: the summary says it where it is read.
    if !std::path::Path::new(CHROMIUM).exists() {
        eprintln!(
            "==> SKIPPED, not passed: the headless-Chromium checks of the campaign page \
             (cli/tests/campaign.rs) and of the statistics page (cli/tests/campaign_stats.rs): \
             {CHROMIUM} is absent"
        );
    }
    Ok(())
}
