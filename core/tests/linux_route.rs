//! Route-interface detection on real kernel routing: two veth pairs in network
//! namespaces this test creates, one named like a modem (`wwan0`), one like Ethernet.
//!
//! The outer test builds the namespaces and re-runs this binary inside one of them
//! (`ip netns exec`), where the inner test asks the [`LinuxPlatform`] which interface
//! routes to each peer. Only the test's own addresses (10.77.4.0/29) are used, and the
//! namespaces are deleted however the test ends. Where namespaces cannot be created
//! (no root, no `ip`), the test says so and skips.
#![cfg(target_os = "linux")]
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed expectation is the test failing

use std::net::SocketAddr;
use std::process::Command;

use ispeed_core::Platform;
use ispeed_core::network::linux::{LinuxPlatform, route_interface};
use ispeed_core::network::{NetworkPolicy, Transport};

const INNER_ENV: &str = "ISPEED_NETNS_INNER";
const INNER_MARK: &str = "checked inside the namespace";

/// Runs `ip args`, returning stderr on failure.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Network namespaces deleted on drop.
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

#[test]
fn route_interface_in_a_network_namespace() {
    let pid = std::process::id();
    let (a, b) = (format!("ispeed-t4-{pid}-a"), format!("ispeed-t4-{pid}-b"));
    if let Err(e) = ip(&["netns", "add", &a]) {
        eprintln!(
            "SKIPPED route_interface_in_a_network_namespace: cannot create a network namespace ({e})"
        );
        return;
    }
    let mut namespaces = Namespaces(vec![a.clone()]);
    ip(&["netns", "add", &b]).expect("second namespace");
    namespaces.0.push(b.clone());
    let setup: &[&[&str]] = &[
        &["-n", &a, "link", "set", "lo", "up"],
        &[
            "-n",
            &a,
            "link",
            "add",
            "wwan0",
            "type",
            "veth",
            "peer",
            "name",
            "modem-peer",
            "netns",
            &b,
        ],
        &[
            "-n", &a, "link", "add", "eth0", "type", "veth", "peer", "name", "lan-peer", "netns",
            &b,
        ],
        &["-n", &a, "addr", "add", "10.77.4.1/30", "dev", "wwan0"],
        &["-n", &a, "addr", "add", "10.77.4.5/30", "dev", "eth0"],
        &["-n", &b, "addr", "add", "10.77.4.2/30", "dev", "modem-peer"],
        &["-n", &b, "addr", "add", "10.77.4.6/30", "dev", "lan-peer"],
        &["-n", &a, "link", "set", "wwan0", "up"],
        &["-n", &a, "link", "set", "eth0", "up"],
        &["-n", &b, "link", "set", "modem-peer", "up"],
        &["-n", &b, "link", "set", "lan-peer", "up"],
    ];
    for args in setup {
        ip(args).expect("namespace setup");
    }
    let exe = std::env::current_exe().expect("path of this test binary");
    let out = Command::new("ip")
        .args(["netns", "exec", &a])
        .arg(exe)
        .args([
            "--exact",
            "inside_the_namespace",
            "--ignored",
            "--nocapture",
        ])
        .env(INNER_ENV, "1")
        .output()
        .expect("run the inner test");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "inner test failed:\n{text}");
    assert!(text.contains(INNER_MARK), "inner test did not run:\n{text}");
    drop(namespaces);
    assert!(
        ip(&["netns", "pids", &a]).is_err(),
        "namespace {a} left behind"
    );
}

/// Run by [`route_interface_in_a_network_namespace`] inside its namespace.
#[test]
#[ignore = "runs inside the namespace the outer test creates"]
fn inside_the_namespace() {
    if std::env::var_os(INNER_ENV).is_none() {
        eprintln!("inside_the_namespace only runs under route_interface_in_a_network_namespace");
        return;
    }
    let modem: SocketAddr = "10.77.4.2:8080".parse().expect("literal");
    let lan: SocketAddr = "10.77.4.6:8080".parse().expect("literal");
    let local: SocketAddr = "127.0.0.1:8080".parse().expect("literal");
    for (target, want) in [(modem, "wwan0"), (lan, "eth0"), (local, "lo")] {
        let got = route_interface(target).expect("route lookup");
        assert_eq!(got.as_deref(), Some(want), "route to {target}");
    }

    // The platform: the veth named like a modem is cellular by name (sysfs has no
    // better clue for a veth), the other is Ethernet by its ARP type.
    let over_modem = LinuxPlatform::new(Some(modem), None, "test").network();
    assert_eq!(over_modem.interface.as_deref(), Some("wwan0"));
    assert_eq!(over_modem.transport, Transport::Cellular);
    assert!(!over_modem.wifi_connected);
    assert_eq!(NetworkPolicy::CellularOnly.check(&over_modem), Ok(()));

    let over_lan = LinuxPlatform::new(Some(lan), None, "test").network();
    assert_eq!(over_lan.transport, Transport::Ethernet);
    assert!(NetworkPolicy::CellularOnly.check(&over_lan).is_err());

    // Binding to the modem reports the modem whatever the route says.
    let bound = LinuxPlatform::new(Some(lan), Some("wwan0".to_owned()), "test");
    assert_eq!(bound.network().transport, Transport::Cellular);
    let counters = bound.interface_counters("wwan0").expect("veth counters");
    assert_eq!(counters.mtu, Some(1500));
    println!("{INNER_MARK}");
}
