//! Classifies Linux network interfaces from sysfs (`/sys/class/net/IF/`).
//!
//! The kernel says most of what we need, each clue stronger than the next:
//! 1. `type` 772 (`ARPHRD_LOOPBACK`): loopback;
//! 2. a `wireless/` or `phy80211` entry, or `DEVTYPE=wlan` in `uevent`: Wi-Fi;
//! 3. `DEVTYPE=wwan` in `uevent`: a mobile broadband modem;
//! 4. the driver behind `device/driver`: modem drivers (`qmi_wwan`, `cdc_mbim`,
//!    `option`, `mhi_net`, ...) and the USB tethering drivers of phones (`rndis_host`,
//!    `cdc_ether`, `ipheth`) mean cellular;
//! 5. the name, for what the kernel leaves unsaid (virtual and vendor interfaces):
//!    `wwan*`, `ww*`, `rmnet*`, `ccmni*` cellular; `wl*` Wi-Fi; `eth*`, `en*` Ethernet;
//! 6. `type` 1 (`ARPHRD_ETHER`): some Ethernet (a bridge, a veth, a dock).
//!
//! Anything else (a VPN tunnel, a PPP link of unknown origin) is
//! [`Transport::Unknown`], which `CellularOnly` refuses: better a clear refusal than a
//! sample over an unknown path. The root is configurable so that tests classify the
//! fixture trees under `core/tests/fixtures/sysfs/`.

use std::path::{Path, PathBuf};

use super::Transport;

/// Where the kernel mounts sysfs.
pub const SYSFS_ROOT: &str = "/sys";

/// `ARPHRD_ETHER`.
const ARPHRD_ETHER: u32 = 1;
/// `ARPHRD_LOOPBACK`.
const ARPHRD_LOOPBACK: u32 = 772;

/// Drivers of cellular modems and of phones tethering over USB.
///
/// `cdc_ether` and `rndis_host` also drive a few USB Ethernet adapters; on a desktop
/// measuring mobile broadband they are far more often a phone or a HiLink stick.
const CELLULAR_DRIVERS: &[&str] = &[
    "qmi_wwan",
    "qmi_wwan_q",
    "cdc_mbim",
    "cdc_ncm",
    "huawei_cdc_ncm",
    "option",
    "sierra_net",
    "mhi_net",
    "mhi_wwan_mbim",
    "ipheth",
    "rndis_host",
    "cdc_ether",
];

/// A sysfs tree: the live one or a fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysfs {
    root: PathBuf,
}

impl Default for Sysfs {
    fn default() -> Self {
        Self::new(SYSFS_ROOT)
    }
}

impl Sysfs {
    /// The tree mounted at `root` (normally [`SYSFS_ROOT`]).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `root/class/net/name`, or `None` for a name that is not an interface name
    /// (a path in disguise, say, from a command-line flag).
    fn dir(&self, name: &str) -> Option<PathBuf> {
        valid_name(name).then(|| self.root.join("class/net").join(name))
    }

    /// Whether an interface of that name exists.
    pub fn exists(&self, name: &str) -> bool {
        self.dir(name).is_some_and(|d| d.is_dir())
    }

    /// Names of every interface, sorted.
    pub fn interfaces(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.join("class/net"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// What kind of link `name` is.
    pub fn classify(&self, name: &str) -> Transport {
        let Some(dir) = self.dir(name).filter(|d| d.is_dir()) else {
            return Transport::Unknown;
        };
        let arp_type = read_trimmed(&dir.join("type")).and_then(|t| t.parse::<u32>().ok());
        if arp_type == Some(ARPHRD_LOOPBACK) {
            return Transport::Loopback;
        }
        let devtype = uevent_value(&dir, "DEVTYPE");
        if is_wireless_dir(&dir, devtype.as_deref()) {
            return Transport::Wifi;
        }
        if devtype.as_deref() == Some("wwan") {
            return Transport::Cellular;
        }
        if driver(&dir).is_some_and(|d| CELLULAR_DRIVERS.contains(&d.as_str())) {
            return Transport::Cellular;
        }
        if let Some(t) = classify_name(name) {
            return t;
        }
        if arp_type == Some(ARPHRD_ETHER) {
            return Transport::Ethernet;
        }
        Transport::Unknown
    }

    /// Whether `name` is a Wi-Fi interface (by sysfs, not by name).
    pub fn is_wireless(&self, name: &str) -> bool {
        self.dir(name)
            .is_some_and(|d| is_wireless_dir(&d, uevent_value(&d, "DEVTYPE").as_deref()))
    }

    /// Whether the kernel reports `name` operationally up (`operstate`). A Wi-Fi
    /// interface is up once associated; before that it is `dormant` or `down`.
    pub fn is_up(&self, name: &str) -> bool {
        self.dir(name)
            .and_then(|d| read_trimmed(&d.join("operstate")))
            .is_some_and(|s| s == "up")
    }

    /// The interface's MTU.
    pub fn mtu(&self, name: &str) -> Option<u32> {
        self.dir(name)
            .and_then(|d| read_trimmed(&d.join("mtu")))
            .and_then(|m| m.parse().ok())
    }

    /// Wireless interfaces that are up and hold one of `addressed` (names of the
    /// interfaces with a usable address): the connected Wi-Fi networks.
    pub fn connected_wifi<'n>(&self, addressed: impl IntoIterator<Item = &'n str>) -> Vec<String> {
        let mut found: Vec<String> = addressed
            .into_iter()
            .filter(|n| self.is_wireless(n) && self.is_up(n))
            .map(str::to_owned)
            .collect();
        found.sort();
        found.dedup();
        found
    }
}

/// Classification by name alone, for interfaces sysfs says little about.
pub fn classify_name(name: &str) -> Option<Transport> {
    let has = |prefixes: &[&str]| prefixes.iter().any(|p| name.starts_with(p));
    // `ww` is systemd's predictable prefix for WWAN (`wwp0s20f0u6`), `wwan` the
    // kernel's, `rmnet` Qualcomm's, `ccmni` MediaTek's.
    if has(&["wwan", "ww", "rmnet", "ccmni"]) {
        Some(Transport::Cellular)
    } else if has(&["wl"]) {
        Some(Transport::Wifi)
    } else if has(&["eth", "en"]) {
        Some(Transport::Ethernet)
    } else if name == "lo" {
        Some(Transport::Loopback)
    } else {
        None
    }
}

/// An interface name as the kernel allows it: 1-15 bytes, no `/`, no whitespace,
/// not `.` or `..`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.chars().any(char::is_whitespace)
}

fn is_wireless_dir(dir: &Path, devtype: Option<&str>) -> bool {
    // `phy80211` is a link into the wiphy tree; a dangling one still says "wireless".
    dir.join("wireless").is_dir()
        || dir.join("phy80211").symlink_metadata().is_ok()
        || devtype == Some("wlan")
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// `KEY=value` from the interface's `uevent`.
fn uevent_value(dir: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("uevent")).ok()?;
    text.lines().find_map(|l| {
        l.split_once('=')
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.trim().to_owned())
    })
}

/// Name of the driver bound to the interface's device (the last component of the
/// `device/driver` link).
fn driver(dir: &Path) -> Option<String> {
    let target = std::fs::read_link(dir.join("device/driver")).ok()?;
    target.file_name()?.to_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Sysfs {
        Sysfs::new(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/sysfs")
                .join(name),
        )
    }

    #[test]
    fn laptop_with_a_usb_modem() {
        let sys = fixture("laptop-modem");
        let got: Vec<(String, Transport)> = sys
            .interfaces()
            .into_iter()
            .map(|n| {
                let t = sys.classify(&n);
                (n, t)
            })
            .collect();
        let want = [
            ("enp0s31f6", Transport::Ethernet),
            ("enx0c5b8f279a64", Transport::Cellular), // HiLink stick, cdc_ether
            ("lo", Transport::Loopback),
            ("tun0", Transport::Unknown),
            ("wlp2s0", Transport::Wifi),
            ("wwan0", Transport::Cellular),          // qmi_wwan
            ("wwp0s20f0u6i12", Transport::Cellular), // MBIM modem, DEVTYPE=wwan
        ];
        let want: Vec<(String, Transport)> =
            want.iter().map(|(n, t)| ((*n).to_owned(), *t)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn sysfs_clues_beat_names() {
        let sys = fixture("misnamed");
        // a Wi-Fi card renamed eth1 by a udev rule is still Wi-Fi
        assert_eq!(sys.classify("eth1"), Transport::Wifi);
        // a phone tethering over USB, named like Ethernet
        assert_eq!(sys.classify("usb0"), Transport::Cellular);
        // a Qualcomm data interface with no device link: the name decides
        assert_eq!(sys.classify("rmnet_data0"), Transport::Cellular);
        // a veth with a neutral name is some Ethernet
        assert_eq!(sys.classify("veth7f3a"), Transport::Ethernet);
    }

    #[test]
    fn connected_wifi_needs_up_and_an_address() {
        let sys = fixture("laptop-modem");
        // wlp2s0 is up in the fixture; only with an address does it count
        assert_eq!(sys.connected_wifi(["wwan0", "lo"]), Vec::<String>::new());
        assert_eq!(sys.connected_wifi(["wwan0", "wlp2s0"]), ["wlp2s0"]);
        let sys = fixture("misnamed");
        // eth1 is wireless but dormant (not associated)
        assert!(!sys.is_up("eth1"));
        assert_eq!(sys.connected_wifi(["eth1"]), Vec::<String>::new());
    }

    #[test]
    fn unknown_and_hostile_names_are_unknown() {
        let sys = fixture("laptop-modem");
        for name in [
            "nosuch0",
            "../../../etc",
            "",
            "lo/..",
            "a b",
            "sixteen-chars-xx",
        ] {
            assert_eq!(sys.classify(name), Transport::Unknown, "{name:?}");
            assert!(!sys.exists(name), "{name:?}");
        }
        assert_eq!(sys.mtu("wwan0"), Some(1500));
    }
}
