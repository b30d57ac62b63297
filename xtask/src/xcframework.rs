//! `cargo xtask xcframework`: builds `IspeedCoreFFI.xcframework` for the Swift package.
//!
//! Needs macOS with Xcode (the iOS SDKs and `xcodebuild`); elsewhere it says so and
//! exits successfully, so that scripts running every task still work on Linux.

use std::path::Path;
use std::process::Command;

use crate::bindings::{self, Profile};
use crate::util::{self, Result};

/// Rust targets: devices, and the simulators on Apple silicon and Intel Macs.
const DEVICE: &str = "aarch64-apple-ios";
const SIMULATORS: [&str; 2] = ["aarch64-apple-ios-sim", "x86_64-apple-ios"];

/// Builds the XCFramework and copies the generated Swift into the package.
pub fn build() -> Result {
    if !cfg!(target_os = "macos") || !util::on_path("xcodebuild") {
        println!(
            "xcframework: needs macOS with Xcode (xcodebuild and the iOS SDKs); \
             nothing to do on this machine"
        );
        return Ok(());
    }
    // Headers and Swift come from a host build: they do not depend on the target.
    let generated = bindings::run(Profile::Release)?;
    let target = util::target_dir();
    for t in std::iter::once(DEVICE).chain(SIMULATORS) {
        util::run(Command::new("rustup").args(["target", "add", t]))?;
        util::run(util::cargo().args([
            "build",
            "--profile",
            "mobile",
            "-p",
            "ispeed-ios",
            "--target",
            t,
        ]))?;
    }
    // The `mobile` profile: release optimised for size (see the workspace manifest).
    let lib = |t: &str| target.join(t).join("mobile").join("libispeed_ios.a");

    let out = util::workspace_root().join("ios-bindings/swift/build");
    let _ = std::fs::remove_dir_all(&out);
    let headers = out.join("headers");
    std::fs::create_dir_all(&headers).map_err(|e| format!("{}: {e}", headers.display()))?;
    copy(
        &generated.swift_dir.join("IspeedCoreFFI.h"),
        &headers.join("IspeedCoreFFI.h"),
    )?;
    // Xcode looks for `module.modulemap` by that exact name.
    copy(
        &generated.swift_dir.join("IspeedCoreFFI.modulemap"),
        &headers.join("module.modulemap"),
    )?;

    // One fat library for both simulator architectures.
    let sim = out.join("libispeed_ios_sim.a");
    util::run(
        Command::new("lipo")
            .arg("-create")
            .args(SIMULATORS.map(lib))
            .arg("-output")
            .arg(&sim),
    )?;
    util::run(
        Command::new("xcodebuild")
            .arg("-create-xcframework")
            .arg("-library")
            .arg(lib(DEVICE))
            .arg("-headers")
            .arg(&headers)
            .arg("-library")
            .arg(&sim)
            .arg("-headers")
            .arg(&headers)
            .arg("-output")
            .arg(out.join("IspeedCoreFFI.xcframework")),
    )?;
    let sources = util::workspace_root().join("ios-bindings/swift/Sources/IspeedCore");
    std::fs::create_dir_all(&sources).map_err(|e| format!("{}: {e}", sources.display()))?;
    copy(
        &generated.swift_dir.join("IspeedCore.swift"),
        &sources.join("IspeedCore.swift"),
    )?;
    println!(
        "xcframework: {}",
        out.join("IspeedCoreFFI.xcframework").display()
    );
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}
