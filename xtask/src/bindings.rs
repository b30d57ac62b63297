//! `cargo xtask bindings`: builds the platform libraries and generates Kotlin and Swift.
//!
//! The generator reads the uniffi metadata embedded in a built library (library
//! mode), so the bindings always match the code: no interface file to keep in sync.
//! It must read an unstripped library; the release profile strips debug info only.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{self, Result};

/// Build profile of the libraries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Fast to build; what the checks use.
    Debug,
    /// What ships: LTO, one codegen unit.
    Release,
}

impl Profile {
    fn dir(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }
}

/// What `bindings` produced.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Directory holding `libispeed_android.so`, `libispeed_ios.{a,so}`.
    pub lib_dir: PathBuf,
    /// Generated Kotlin (package `org.ispeed.core`).
    pub kotlin_dir: PathBuf,
    /// Generated Swift, C header and module map.
    pub swift_dir: PathBuf,
}

impl Generated {
    /// The Android shared library.
    pub fn android_lib(&self) -> PathBuf {
        self.lib_dir.join("libispeed_android.so")
    }

    /// The iOS static library (built for the host here; `xcframework` builds iOS).
    pub fn ios_staticlib(&self) -> PathBuf {
        self.lib_dir.join("libispeed_ios.a")
    }

    /// The iOS crate as a shared library, for the generator to read on Linux.
    pub fn ios_cdylib(&self) -> PathBuf {
        self.lib_dir.join("libispeed_ios.so")
    }
}

/// Builds the libraries and the generator, then writes Kotlin and Swift.
pub fn run(profile: Profile) -> Result<Generated> {
    // Two builds, not one: built together, cargo would unify uniffi's features and
    // compile the generator's `cli` code into the libraries (and rebuild them all).
    let mut libs = util::cargo();
    libs.args(["build", "-p", "ispeed-android", "-p", "ispeed-ios"]);
    if profile == Profile::Release {
        libs.arg("--release");
    }
    util::timed("building the libraries", || util::run(&mut libs))?;
    let mut generator = util::cargo();
    generator.args(["build", "-p", "uniffi-bindgen"]);
    if profile == Profile::Release {
        generator.arg("--release");
    }
    util::run(&mut generator)?;

    let lib_dir = util::target_dir().join(profile.dir());
    let out = util::bindings_dir();
    let generated = Generated {
        lib_dir: lib_dir.clone(),
        kotlin_dir: out.join("kotlin"),
        swift_dir: out.join("swift"),
    };
    let bindgen = lib_dir.join("uniffi-bindgen");
    util::timed("generating the bindings", || {
        for (language, lib, dir) in [
            ("kotlin", generated.android_lib(), &generated.kotlin_dir),
            ("swift", generated.ios_cdylib(), &generated.swift_dir),
        ] {
            // Stale files of a renamed type must not survive into the checks.
            let _ = std::fs::remove_dir_all(dir);
            util::run(
                Command::new(&bindgen)
                    .arg("generate")
                    .arg(&lib)
                    .args(["--language", language, "--no-format", "--out-dir"])
                    .arg(dir)
                    .current_dir(util::workspace_root()),
            )?;
        }
        Ok(())
    })?;
    eprintln!(
        "xtask: Kotlin in {}, Swift in {}",
        generated.kotlin_dir.display(),
        generated.swift_dir.display()
    );
    Ok(generated)
}
