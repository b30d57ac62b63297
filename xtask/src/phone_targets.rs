//! The phone libraries build the same core as the desktop: no dependency of
//! `ispeed-core` may be declared for Linux alone unless only the desktop platform
//! uses it.
//!
//! No Android or iOS target can be installed here, so nothing compiles the core for a
//! phone. Cargo still resolves the dependency graph for any target without it: a
//! dependency that lands under a `[target.'cfg(target_os = "linux")']` table by
//! mistake (SQLite did once, and with it uniffi) shows as missing from the phone's
//! graph long before a phone build would fail on it.

use std::collections::BTreeSet;

use crate::util::{self, Result};

/// The triples the apps ship for: Android (`target_os = "android"`, not `"linux"`)
/// and iOS, devices and simulator.
const PHONE_TARGETS: [&str; 4] = [
    "aarch64-linux-android",
    "armv7-linux-androideabi",
    "aarch64-apple-ios",
    "aarch64-apple-ios-sim",
];

/// The core's dependencies that only its desktop platform (`network/linux.rs`) uses.
const DESKTOP_ONLY: [&str; 2] = ["if_addrs", "sysinfo"];

/// The crates `ispeed-core` depends on (normal dependencies, by library name) when
/// built for `target`, as Cargo resolves the workspace for that target.
fn core_dependencies(target: &str) -> Result<BTreeSet<String>> {
    let out = util::output(util::cargo().args([
        "metadata",
        "--quiet",
        "--offline",
        "--locked",
        "--format-version",
        "1",
        "--filter-platform",
        target,
    ]))?;
    let meta: serde_json::Value =
        serde_json::from_str(&out).map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    let core_id = meta["packages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "ispeed-core"))
        .and_then(|p| p["id"].as_str())
        .ok_or("no ispeed-core in the workspace".to_owned())?;
    let node = meta["resolve"]["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["id"] == core_id))
        .ok_or("ispeed-core is not in the resolved graph".to_owned())?;
    let normal = |d: &&serde_json::Value| {
        d["dep_kinds"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k["kind"].is_null()))
    };
    Ok(node["deps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(normal)
        .filter_map(|d| d["name"].as_str().map(str::to_owned))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phone_libraries_resolve_every_dependency_of_the_core_but_the_desktops() {
        let desktop = core_dependencies("x86_64-unknown-linux-gnu").expect("host graph");
        for needed in ["rusqlite", "uniffi", "ispeed_sendqueue", "reqwest"] {
            assert!(desktop.contains(needed), "{needed} missing on the desktop");
        }
        for target in PHONE_TARGETS {
            let phone = core_dependencies(target).expect("phone graph");
            let missing: Vec<&String> = desktop
                .difference(&phone)
                .filter(|d| !DESKTOP_ONLY.contains(&d.as_str()))
                .collect();
            assert!(
                missing.is_empty(),
                "{target} builds the core without {missing:?}: declare them under \
                 [dependencies] in core/Cargo.toml, not under a Linux-only table"
            );
            let extra: Vec<&String> = phone.difference(&desktop).collect();
            assert!(extra.is_empty(), "{target} alone depends on {extra:?}");
        }
    }
}
