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
];

/// Runs every step from the workspace root; stops at the first failure.
pub fn run(root: &std::path::Path) -> Result<(), String> {
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
    Ok(())
}
