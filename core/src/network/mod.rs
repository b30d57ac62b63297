//! Which network carries a measurement: transport, radio context and signal, and the
//! rule that decides whether a measurement may run on it.
//!
//! - the types that land verbatim in the result document's `network` object live in
//!   `ispeed-spec` ([`ispeed_spec::network`]) and are re-exported here;
//! - [`policy`]: `CellularOnly` / `AnyNetwork`, and what counts as a handover;
//! - [`guard`]: watches the platform during a measurement;
//! - [`fake`]: a platform tests switch mid-measurement;
//! - [`traffic`]: how much of what crossed the interface was not our payload;
//! - [`sysfs`] and [`linux`]: the desktop Linux platform.

pub mod fake;
pub mod guard;
#[cfg(target_os = "linux")]
pub mod linux;
pub mod policy;
pub mod sysfs;
pub mod traffic;

pub use ispeed_spec::network::{NetworkChange, NetworkContext, RadioTechnology, Signal, Transport};
pub use policy::{NetworkPolicy, Violation};
pub use traffic::{InterfaceCounters, InterfaceTraffic};

// The apps' view of the re-exported wire types. `ispeed-spec` stays free of uniffi, so
// uniffi exports them through remote declarations: the definitions restated, from which
// it generates the conversions (see `crate::ffi`). They are declared in this module, where
// the types were defined, because uniffi's checksums hash the declaring module's path:
// declared anywhere else, the generated Kotlin and Swift would change.

/// The kind of link the operating system routes the measurement over.
#[cfg(feature = "uniffi")]
#[uniffi::remote(Enum)]
pub enum Transport {
    /// A mobile network (2G to 5G).
    Cellular,
    /// A wireless LAN.
    Wifi,
    /// A wired LAN.
    Ethernet,
    /// The machine itself (lab and demo runs).
    Loopback,
    /// The platform could not tell.
    Unknown,
}

/// Radio access technology of a cellular link.
#[cfg(feature = "uniffi")]
#[uniffi::remote(Enum)]
pub enum RadioTechnology {
    /// GSM, GPRS, EDGE.
    G2,
    /// UMTS, HSPA.
    G3,
    /// LTE.
    G4,
    /// 5G non-standalone (NR anchored on LTE).
    G5Nsa,
    /// 5G standalone.
    G5Sa,
    /// Not known or not cellular.
    Unknown,
}

/// Signal quality of the serving cell, where the platform reports it.
#[cfg(feature = "uniffi")]
#[uniffi::remote(Record)]
pub struct Signal {
    /// Reference signal received power, dBm.
    #[uniffi(default)]
    pub rsrp_dbm: Option<f64>,
    /// Reference signal received quality, dB.
    #[uniffi(default)]
    pub rsrq_db: Option<f64>,
    /// Signal to interference plus noise ratio, dB.
    #[uniffi(default)]
    pub sinr_db: Option<f64>,
}

/// Everything known about the network a measurement runs over.
#[cfg(feature = "uniffi")]
#[uniffi::remote(Record)]
pub struct NetworkContext {
    /// The transport carrying the test traffic.
    pub transport: Transport,
    /// Whether a Wi-Fi network is connected, even if it is not the active one.
    pub wifi_connected: bool,
    /// Operating-system name of the interface (`rmnet_data0`, `wwan0`, `lo`).
    #[uniffi(default)]
    pub interface: Option<String>,
    /// Radio technology when cellular.
    pub technology: RadioTechnology,
    /// Operator name as the SIM or network reports it.
    #[uniffi(default)]
    pub operator: Option<String>,
    /// Mobile country and network code, `452-04`.
    #[uniffi(default)]
    pub mcc_mnc: Option<String>,
    /// Identity of the serving cell (E-UTRAN or NR cell identity) where the platform
    /// reports it. Compared to notice a handover; a cell covers square kilometres, no
    /// finer a place than the coarsened location.
    #[uniffi(default)]
    pub cell_id: Option<String>,
    /// Signal of the serving cell.
    pub signal: Signal,
    /// Whether the OS treats the link as metered.
    #[uniffi(default)]
    pub metered: Option<bool>,
    /// Whether the device is roaming.
    #[uniffi(default)]
    pub roaming: Option<bool>,
}
