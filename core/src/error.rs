//! The one error type of the core: every variant is something a person can act on,
//! and carries a stable [`Error::code`] the apps translate into the user's language.

use std::path::PathBuf;
use std::time::Duration;

use ispeed_spec::measure::{Phase, UnknownProtocol};
use ispeed_spec::network::{Transport, iface_suffix};
use ispeed_spec::participant::InvalidArea;

/// The stable codes, listed once in the wire contract.
pub use ispeed_spec::codes;

/// Convenient alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a measurement, a store or an upload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server address cannot be used.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl {
        /// The address as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting is out of its allowed range.
    #[error("invalid setting: {0}")]
    Config(String),
    /// Plain HTTP to a server that is not on this machine: anyone on the path could
    /// answer in its place.
    #[error("{url} uses plain HTTP: use https, or allow plain HTTP explicitly for a lab server")]
    InsecureUrl {
        /// The address as given.
        url: String,
    },
    /// The server's TLS certificate did not verify.
    #[error("the certificate of {host} is not valid ({detail}): the connection may be intercepted")]
    Tls {
        /// Host part of the server URL.
        host: String,
        /// What the verifier reported.
        detail: String,
    },
    /// The server redirected instead of answering.
    #[error(
        "the server redirected the {phase} request to {location:?}: measure against that address instead"
    )]
    Redirected {
        /// Phase of the redirected request.
        phase: Phase,
        /// Where it pointed.
        location: String,
    },
    /// Name resolution or routing failed: there is no path to the server.
    #[error("cannot reach {host}: {detail}; check the network connection and the server address")]
    Unreachable {
        /// Host part of the server URL.
        host: String,
        /// What the operating system reported.
        detail: String,
    },
    /// The host answered but nothing listens on that port.
    #[error("connection to {host} was refused: the measurement server is not running there")]
    ConnectionRefused {
        /// Host and port of the server.
        host: String,
    },
    /// A request got no answer in time.
    #[error("the server did not answer within {} s during {phase}", .after.as_secs_f32())]
    Timeout {
        /// Phase that was waiting.
        phase: Phase,
        /// How long it waited.
        after: Duration,
    },
    /// The server stopped sending (or accepting) data in the middle of a transfer.
    #[error("the server stalled during {phase}: no data moved for {} s", .after.as_secs_f32())]
    Stalled {
        /// Phase that stalled.
        phase: Phase,
        /// How long nothing moved.
        after: Duration,
    },
    /// The server answered with an HTTP error status.
    #[error("the server answered HTTP {status} during {phase}: it cannot serve measurements now")]
    HttpStatus {
        /// Phase of the failed request.
        phase: Phase,
        /// HTTP status code.
        status: u16,
    },
    /// The server answered something that is not what the protocol expects
    /// (a captive portal page, a compressed body, malformed progress reports, ...).
    #[error("the server's answer during {phase} is not a measurement response: {detail}")]
    Protocol {
        /// Phase of the bad answer.
        phase: Phase,
        /// What was wrong.
        detail: String,
    },
    /// The connection broke in the middle of a transfer.
    #[error("the connection broke during {phase}: {detail}")]
    ConnectionLost {
        /// Phase that was running.
        phase: Phase,
        /// What the transport reported.
        detail: String,
    },
    /// The user (or the app) cancelled the measurement.
    #[error("the measurement was cancelled")]
    Cancelled,
    /// The policy asks for mobile broadband and a Wi-Fi network is connected.
    #[error("Wi-Fi is on: turn it off to measure mobile broadband{}", iface_suffix(.interface.as_deref()))]
    WifiOn {
        /// The Wi-Fi interface, when it is the active one.
        interface: Option<String>,
    },
    /// The policy asks for mobile broadband and the active network is something else.
    #[error("no cellular network: connect through a mobile network to measure it (the active network is {transport}{})", .interface.as_deref().map_or(String::new(), |i| format!(", interface {i}")))]
    NotCellular {
        /// The active transport.
        transport: Transport,
        /// Its interface, where known.
        interface: Option<String>,
    },
    /// The whole measurement took longer than its overall limit.
    #[error("the measurement did not finish within {} s", .after.as_secs())]
    OverallTimeout {
        /// The overall limit.
        after: Duration,
    },
    /// A server answers, but with none of the protocols this client speaks.
    #[error(
        "{url} does not answer as an i-Speed, LibreSpeed or Cloudflare server; give --protocol explicitly or check the address"
    )]
    UnknownProtocol {
        /// The base URL that was probed.
        url: String,
    },
    /// A server list cannot be read.
    #[error("the server list is not usable: {0}")]
    ServerList(String),
    /// No server of a list answered.
    #[error(
        "none of the {tried} servers in the list answered; check the network connection (first failure: {first_failure})"
    )]
    NoServerReachable {
        /// How many candidates were tried.
        tried: usize,
        /// Why the first of them failed.
        first_failure: String,
    },
    /// A scheduler cannot go on safely (for example, its history does not show the
    /// run it just made, so it would measure again and again).
    #[error("scheduler: {0}")]
    Schedule(String),
    /// The file at the database path is not an i-Speed database (another program's
    /// SQLite file, or not SQLite at all). It was left untouched.
    #[error(
        "{} is not an i-Speed database ({detail}); it was left untouched: choose another path",
        .path.display()
    )]
    ForeignDatabase {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        detail: String,
    },
    /// The database file is damaged. It was left untouched so it can be rescued.
    #[error(
        "the database {} is damaged ({detail}); it was left untouched: move it away to start a new one",
        .path.display()
    )]
    CorruptDatabase {
        /// The file.
        path: PathBuf,
        /// What SQLite reported.
        detail: String,
    },
    /// The database was written by a newer version of the app.
    #[error(
        "the database {} has schema version {found}, newer than this app knows ({supported}): update the app",
        .path.display()
    )]
    DatabaseTooNew {
        /// The file.
        path: PathBuf,
        /// Version found in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// Reading or writing the database failed (disk full, permissions, ...).
    #[error("the database {} cannot be used: {detail}", .path.display())]
    Storage {
        /// The file.
        path: PathBuf,
        /// What SQLite or the OS reported.
        detail: String,
    },
    /// The collector did not take a result (unreachable, error status, or an answer
    /// that does not confirm the sample). The sample stays pending.
    #[error("the collector {url} did not confirm the upload: {detail}; the sample stays queued")]
    Collector {
        /// The collector's base URL.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// Another measurement of this store is running (in this process or another:
    /// the app's screen and its background worker, two `ispeed` commands). Nothing
    /// was measured; try again when it has finished.
    #[error("another measurement is running on this phone; try again when it has finished")]
    Busy,
    /// The deployment profile cannot be used: `field` is missing or malformed.
    #[error("deployment profile: {field}: {reason}")]
    Profile {
        /// The field, as a JSON path (`servers[2].url`), or `profile` for the document.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A campaign area cannot be used as given.
    #[error("invalid area {spec:?}: {reason}")]
    InvalidArea {
        /// The area as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// A stable, machine-readable code for this error (translated by the apps).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidUrl { .. } => "invalid_url",
            Error::Config(_) => "invalid_config",
            Error::InsecureUrl { .. } => "insecure_url",
            Error::Tls { .. } => "tls",
            Error::Redirected { .. } => "redirected",
            Error::Unreachable { .. } => "unreachable",
            Error::ConnectionRefused { .. } => "connection_refused",
            Error::Timeout { .. } => "timeout",
            Error::Stalled { .. } => "stalled",
            Error::HttpStatus { .. } => "http_status",
            Error::Protocol { .. } => "protocol",
            Error::ConnectionLost { .. } => "connection_lost",
            Error::Cancelled => "cancelled",
            Error::OverallTimeout { .. } => "overall_timeout",
            Error::WifiOn { .. } => "wifi_on",
            Error::NotCellular { .. } => "not_cellular",
            Error::UnknownProtocol { .. } => "unknown_protocol",
            Error::ServerList(_) => "server_list",
            Error::NoServerReachable { .. } => "no_server_reachable",
            Error::Schedule(_) => "schedule",
            Error::ForeignDatabase { .. } => "foreign_database",
            Error::CorruptDatabase { .. } => "corrupt_database",
            Error::DatabaseTooNew { .. } => "database_too_new",
            Error::Storage { .. } => "storage",
            Error::Collector { .. } => "collector",
            Error::InvalidArea { .. } => "invalid_area",
            Error::Busy => "busy",
            Error::Profile { .. } => "invalid_profile",
        }
    }

    /// Classifies a transport error raised during `phase` on a connection the core
    /// opened itself (hyper, tokio-rustls); `connecting` while it was being set up.
    pub(crate) fn from_transport(
        phase: Phase,
        host: &str,
        err: &(dyn std::error::Error + 'static),
        connecting: bool,
    ) -> Self {
        if let Some(tls) = find_source::<rustls::Error>(err) {
            return Error::Tls {
                host: host.to_owned(),
                detail: tls.to_string(),
            };
        }
        let detail = error_chain(err);
        if !connecting {
            return Error::ConnectionLost { phase, detail };
        }
        if io_kind(err) == Some(std::io::ErrorKind::ConnectionRefused) {
            return Error::ConnectionRefused {
                host: host.to_owned(),
            };
        }
        Error::Unreachable {
            host: host.to_owned(),
            detail,
        }
    }

    /// Classifies a transport error of `reqwest` raised during `phase`.
    pub(crate) fn from_http(phase: Phase, host: &str, err: &reqwest::Error) -> Self {
        if err.is_timeout() {
            return Error::Timeout {
                phase,
                after: Duration::ZERO,
            };
        }
        let detail = error_chain(err);
        if let Some(tls) = find_source::<rustls::Error>(err) {
            return Error::Tls {
                host: host.to_owned(),
                detail: tls.to_string(),
            };
        }
        if err.is_connect() {
            if io_kind(err) == Some(std::io::ErrorKind::ConnectionRefused) {
                return Error::ConnectionRefused {
                    host: host.to_owned(),
                };
            }
            return Error::Unreachable {
                host: host.to_owned(),
                detail,
            };
        }
        if let Some(status) = err.status() {
            return Error::HttpStatus {
                phase,
                status: status.as_u16(),
            };
        }
        Error::ConnectionLost { phase, detail }
    }
}

/// The first error of type `T` in an error's source chain.
fn find_source<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        // An io::Error's `source()` skips the error it wraps (rustls' reaches us
        // wrapped twice); step into the wrapped error itself.
        cur = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// The `io::ErrorKind` in an error's source chain, if any.
fn io_kind(err: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    find_source::<std::io::Error>(err).map(std::io::Error::kind)
}

/// The innermost message of an error chain: reqwest's top-level text ("error sending
/// request") says little; the OS's reason at the bottom is what a person can act on.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        last = e.to_string();
        cur = e.source();
    }
    last
}

impl From<InvalidArea> for Error {
    fn from(e: InvalidArea) -> Self {
        Error::InvalidArea {
            spec: e.spec,
            reason: e.reason,
        }
    }
}

impl From<UnknownProtocol> for Error {
    fn from(e: UnknownProtocol) -> Self {
        Error::Config(e.to_string())
    }
}

#[cfg(test)]
mod listed_codes {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::codes::{ERROR_CODES, is_known};
    use super::*;

    /// Codes the FFI layer returns without a core [`Error`] behind them.
    const FFI_ONLY: &[&str] = &["internal"];

    /// One value of every variant.
    fn one_of_each() -> Vec<Error> {
        let phase = Phase::Download;
        let after = Duration::from_secs(1);
        let path = PathBuf::from("ispeed.db");
        let text = || "x".to_owned();
        vec![
            Error::InvalidUrl {
                url: text(),
                reason: text(),
            },
            Error::Config(text()),
            Error::InsecureUrl { url: text() },
            Error::Tls {
                host: text(),
                detail: text(),
            },
            Error::Redirected {
                phase,
                location: text(),
            },
            Error::Unreachable {
                host: text(),
                detail: text(),
            },
            Error::ConnectionRefused { host: text() },
            Error::Timeout { phase, after },
            Error::Stalled { phase, after },
            Error::HttpStatus { phase, status: 503 },
            Error::Protocol {
                phase,
                detail: text(),
            },
            Error::ConnectionLost {
                phase,
                detail: text(),
            },
            Error::Cancelled,
            Error::WifiOn { interface: None },
            Error::NotCellular {
                transport: Transport::Wifi,
                interface: None,
            },
            Error::OverallTimeout { after },
            Error::UnknownProtocol { url: text() },
            Error::ServerList(text()),
            Error::NoServerReachable {
                tried: 2,
                first_failure: text(),
            },
            Error::Schedule(text()),
            Error::ForeignDatabase {
                path: path.clone(),
                detail: text(),
            },
            Error::CorruptDatabase {
                path: path.clone(),
                detail: text(),
            },
            Error::DatabaseTooNew {
                path: path.clone(),
                found: 9,
                supported: 3,
            },
            Error::Storage {
                path,
                detail: text(),
            },
            Error::Collector {
                url: text(),
                detail: text(),
            },
            Error::InvalidArea {
                spec: text(),
                reason: text(),
            },
            Error::Busy,
            Error::Profile {
                field: text(),
                reason: text(),
            },
        ]
    }

    #[test]
    fn every_variant_has_a_listed_code() {
        for error in one_of_each() {
            // Exhaustive on purpose: a new variant stops this test from compiling
            // until it has a value in `one_of_each` and its code in `codes.rs`
            // (then `cargo xtask check-strings` asks for its four translations).
            match &error {
                Error::InvalidUrl { .. }
                | Error::Config(_)
                | Error::InsecureUrl { .. }
                | Error::Tls { .. }
                | Error::Redirected { .. }
                | Error::Unreachable { .. }
                | Error::ConnectionRefused { .. }
                | Error::Timeout { .. }
                | Error::Stalled { .. }
                | Error::HttpStatus { .. }
                | Error::Protocol { .. }
                | Error::ConnectionLost { .. }
                | Error::Cancelled
                | Error::WifiOn { .. }
                | Error::NotCellular { .. }
                | Error::OverallTimeout { .. }
                | Error::UnknownProtocol { .. }
                | Error::ServerList(_)
                | Error::NoServerReachable { .. }
                | Error::Schedule(_)
                | Error::ForeignDatabase { .. }
                | Error::CorruptDatabase { .. }
                | Error::DatabaseTooNew { .. }
                | Error::Storage { .. }
                | Error::Collector { .. }
                | Error::InvalidArea { .. }
                | Error::Busy
                | Error::Profile { .. } => {}
            }
            assert!(
                is_known(error.code()),
                "code {:?} of {error:?} is missing from spec/src/codes.rs",
                error.code()
            );
        }
    }

    #[test]
    fn one_of_each_holds_every_variant_once() {
        let all = one_of_each();
        let distinct: std::collections::HashSet<_> =
            all.iter().map(std::mem::discriminant).collect();
        assert_eq!(distinct.len(), all.len(), "a variant is given twice");
    }

    #[test]
    fn every_listed_code_is_returned_by_something() {
        let returned: Vec<&str> = one_of_each().iter().map(Error::code).collect();
        for c in ERROR_CODES {
            assert!(
                returned.contains(&c.code) || FFI_ONLY.contains(&c.code),
                "{} is listed but no error returns it: remove it or say who does",
                c.code
            );
        }
    }

    #[test]
    fn codes_are_unique_snake_case_with_a_meaning() {
        let mut seen = std::collections::HashSet::new();
        for c in ERROR_CODES {
            assert!(seen.insert(c.code), "{} listed twice", c.code);
            assert!(
                !c.code.is_empty() && c.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{:?} is not snake_case",
                c.code
            );
            assert!(!c.meaning.trim().is_empty(), "{} has no meaning", c.code);
        }
    }
}
