//! `cargo xtask soak --runs N`: the long soak of `tests/tests/soak.rs` (N measurements
//! in a row, every result stored, memory and file descriptors compared between the
//! first and the last runs). The test profile already optimises dependencies; the
//! release profile's fat LTO would add minutes of build for nothing the soak measures.

use std::process::Command;

/// Runs the ignored long soak test with `runs` measurements.
pub fn run(root: &std::path::Path, runs: usize) -> Result<(), String> {
    let args = [
        "test",
        "-p",
        "ispeed-e2e",
        "--test",
        "soak",
        "--",
        "--ignored",
        "--nocapture",
        "long_soak",
    ];
    eprintln!("==> ISPEED_SOAK_RUNS={runs} cargo {}", args.join(" "));
    let status = Command::new("cargo")
        .args(args)
        .env("ISPEED_SOAK_RUNS", runs.to_string())
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the soak failed ({status})"))
    }
}
