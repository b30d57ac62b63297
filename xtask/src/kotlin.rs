//! `cargo xtask kotlin-test`: compiles the generated Kotlin, the platform-neutral shell
//! code and the JVM tests with `kotlinc`, and runs the tests against the real Rust
//! library and a reference server the tests start.
//!
//! Tools come from the registries this project may use: `kotlinc` from npm
//! (`kotlin-compiler`, cached under `<target>/tools/kotlin`), JNA from Debian
//! (`libjna-java`). The compiled bindings are cached by a hash of the generated source:
//! compiling them is most of the time of a run.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bindings::{self, Profile};
use crate::util::{self, Result};

/// Where Debian puts JNA.
const JNA_JAR: &str = "/usr/share/java/jna.jar";

/// Platform-neutral Kotlin of the Android shell (compiled here and in the app).
const SHARED_SRC: &str = "android-bindings/shared/src";
/// The JVM tests.
const TEST_SRC: &str = "android-bindings/jvm-test/src";
/// Entry point of the tests.
const TEST_MAIN: &str = "org.ispeed.test.MainKt";

/// Runs the Kotlin JVM tests.
pub fn test() -> Result {
    let generated = bindings::run(Profile::Debug)?;
    let mut server = util::cargo();
    server.args(["build", "-p", "ispeed-server"]);
    util::run(&mut server)?;
    let server_bin = util::target_dir().join("debug").join("ispeed-server");

    let kotlin_home = ensure_kotlinc()?;
    let jna = ensure_jna()?;
    let lib = kotlin_home.join("lib");
    let coroutines = lib.join("kotlinx-coroutines-core-jvm.jar");
    let stdlib = lib.join("kotlin-stdlib.jar");
    for jar in [&coroutines, &stdlib] {
        if !jar.is_file() {
            return Err(format!("{} is missing from kotlin-compiler", jar.display()));
        }
    }
    let kotlinc = kotlin_home.join("bin").join("kotlinc");
    let build = util::target_dir().join("kotlin-test");
    std::fs::create_dir_all(&build).map_err(|e| format!("{}: {e}", build.display()))?;

    // 1. The generated bindings, compiled once per distinct source.
    let bindings_jar = build.join("bindings.jar");
    let sources = kotlin_files(&generated.kotlin_dir)?;
    let stamp = build.join("bindings.hash");
    let hash = hash_files(&sources)?;
    let fresh = std::fs::read_to_string(&stamp).is_ok_and(|h| h == hash) && bindings_jar.is_file();
    if fresh {
        eprintln!(
            "xtask: generated Kotlin unchanged, reusing {}",
            bindings_jar.display()
        );
    } else {
        util::timed("compiling the generated Kotlin", || {
            util::run(
                Command::new(&kotlinc)
                    .args(&sources)
                    .arg("-cp")
                    .arg(classpath(&[&jna, &coroutines]))
                    .args(["-nowarn", "-d"])
                    .arg(&bindings_jar),
            )
        })?;
        std::fs::write(&stamp, &hash).map_err(|e| format!("{}: {e}", stamp.display()))?;
    }

    // 2. The platform-neutral shell and the tests, against the bindings.
    let root = util::workspace_root();
    let mut shell_sources = kotlin_files(&root.join(SHARED_SRC))?;
    shell_sources.extend(kotlin_files(&root.join(TEST_SRC))?);
    let tests_jar = build.join("tests.jar");
    util::timed("compiling the shell and the tests", || {
        util::run(
            Command::new(&kotlinc)
                .args(&shell_sources)
                .arg("-cp")
                .arg(classpath(&[&bindings_jar, &jna, &coroutines]))
                .arg("-d")
                .arg(&tests_jar),
        )
    })?;

    // 3. Run them against the real library.
    util::timed("running the Kotlin tests", || {
        util::run(
            Command::new("java")
                // One test makes a Kotlin callback throw on purpose: its panic message
                // is expected; a full backtrace would only bury the test report.
                .env("RUST_BACKTRACE", "0")
                .arg(format!(
                    "-Djna.library.path={}",
                    generated.lib_dir.display()
                ))
                .arg(format!("-Dispeed.server={}", server_bin.display()))
                // The example deployment profile the journey test builds on.
                .arg(format!(
                    "-Dispeed.profile={}",
                    util::workspace_root()
                        .join("examples")
                        .join("ispeed-vn.json")
                        .display()
                ))
                .arg("-cp")
                .arg(classpath(&[
                    &tests_jar,
                    &bindings_jar,
                    &jna,
                    &coroutines,
                    &stdlib,
                ]))
                .arg(TEST_MAIN),
        )
    })
}

/// The Kotlin compiler's home, installing it from npm when missing.
fn ensure_kotlinc() -> Result<PathBuf> {
    let prefix = util::tools_dir().join("kotlin");
    let home = prefix.join("node_modules").join("kotlin-compiler");
    if !home.join("bin").join("kotlinc").is_file() {
        std::fs::create_dir_all(&prefix).map_err(|e| format!("{}: {e}", prefix.display()))?;
        util::timed("installing kotlinc (npm kotlin-compiler)", || {
            util::run(
                Command::new("npm")
                    .args(["install", "--no-audit", "--no-fund", "--prefix"])
                    .arg(&prefix)
                    .arg("kotlin-compiler"),
            )
        })?;
    }
    Ok(home)
}

/// JNA's jar, installing Debian's `libjna-java` when missing.
fn ensure_jna() -> Result<PathBuf> {
    let jar = PathBuf::from(JNA_JAR);
    if jar.is_file() {
        return Ok(jar);
    }
    let install = || util::run(Command::new("apt-get").args(["install", "-y", "libjna-java"]));
    if install().is_err() {
        // A fresh machine has no package lists yet.
        util::run(Command::new("apt-get").arg("update"))?;
        install()?;
    }
    if jar.is_file() {
        Ok(jar)
    } else {
        Err(format!("libjna-java installed but {JNA_JAR} is missing"))
    }
}

/// Every `.kt` file under `dir`, sorted; none is an error.
fn kotlin_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let found = util::files_with_extension(dir, "kt", &[])?;
    if found.is_empty() {
        return Err(format!("no Kotlin sources under {}", dir.display()));
    }
    Ok(found)
}

/// A hash of the files' contents (a cache key, not a security measure).
fn hash_files(files: &[PathBuf]) -> Result<String> {
    let mut h = DefaultHasher::new();
    for f in files {
        std::fs::read(f)
            .map_err(|e| format!("{}: {e}", f.display()))?
            .hash(&mut h);
    }
    Ok(format!("{:016x}", h.finish()))
}

/// A Java class path.
fn classpath(entries: &[&Path]) -> String {
    entries
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}
