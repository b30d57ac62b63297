//! `cargo xtask fuzz --seconds N`: every fuzz target for N seconds, through
//! `fuzz/run.sh` (which says how libFuzzer is built on this toolchain).

use std::process::Command;

/// Runs `fuzz/run.sh` with `seconds` per target.
pub fn run(root: &std::path::Path, seconds: u64) -> Result<(), String> {
    let script = root.join("fuzz").join("run.sh");
    eprintln!("==> {} {seconds}", script.display());
    let status = Command::new("bash")
        .arg(&script)
        .arg(seconds.to_string())
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("fuzzing found a failure ({status})"))
    }
}
