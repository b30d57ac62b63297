//! Paths of the workspace and a command runner that prints what it runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Outcome of an xtask step: a message for the user on failure.
pub type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root: the parent of this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// Where generated bindings go: `<target>/bindings/{kotlin,swift}`.
pub fn bindings_dir() -> PathBuf {
    target_dir().join("bindings")
}

/// Where downloaded tools (kotlinc, the tree-sitter venv) are cached.
pub fn tools_dir() -> PathBuf {
    target_dir().join("tools")
}

/// Runs `cmd`, echoing it first; fails with the exit status.
pub fn run(cmd: &mut Command) -> Result {
    eprintln!("+ {}", display(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {}: {e}", cmd.get_program().to_string_lossy()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed: {status}", display(cmd)))
    }
}

/// Runs `cmd` and returns its standard output.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start {}: {e}", cmd.get_program().to_string_lossy()))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed: {}\n{}",
            display(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `program` can be found on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// A command line as text, for logs.
fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Times a step and prints its duration: the figures the README quotes.
pub fn timed<T>(what: &str, step: impl FnOnce() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let out = step()?;
    eprintln!("xtask: {what} took {:.1} s", start.elapsed().as_secs_f64());
    Ok(out)
}

/// The `cargo` that runs this xtask.
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root());
    cmd
}

/// Every file under `dir` whose extension is `ext`, sorted, not descending into
/// directories named in `skip`.
pub fn files_with_extension(dir: &Path, ext: &str, skip: &[&str]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", d.display()))?.path();
            if path.is_dir() {
                if !skip.iter().any(|s| path.ends_with(s)) {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|x| x == ext) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
