//! Server protocols: which URL serves which phase, and how upload bytes are confirmed.
//!
//! One file per protocol. The measurement phases only ask a [`ServerProtocol`] for
//! URLs and for its [`UploadAccounting`]; nothing else in the engine knows which
//! server software it talks to.

pub mod native;

use std::time::Duration;

use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The protocols the engine speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ProtocolKind {
    /// The native protocol of `ispeed-server` (`/ping`, `/download`, `/upload`).
    #[default]
    Ispeed,
    /// A LibreSpeed backend (`garbage.php`, `empty.php`).
    Librespeed,
    /// Cloudflare's speed test endpoints (`/__down`, `/__up`).
    Cloudflare,
}

impl ProtocolKind {
    /// Name as it appears in the result document and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolKind::Ispeed => "ispeed",
            ProtocolKind::Librespeed => "librespeed",
            ProtocolKind::Cloudflare => "cloudflare",
        }
    }
}

impl std::fmt::Display for ProtocolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProtocolKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ispeed" | "native" => Ok(ProtocolKind::Ispeed),
            "librespeed" => Ok(ProtocolKind::Librespeed),
            "cloudflare" => Ok(ProtocolKind::Cloudflare),
            other => Err(Error::Config(format!(
                "unknown protocol {other:?}: use ispeed, librespeed or cloudflare"
            ))),
        }
    }
}

/// How the upload phase learns which bytes the server has received.
///
/// Bytes handed to the socket are not bytes received: the send buffer of a phone can
/// hold seconds of uplink, and counting it is the classic bug that doubled other
/// clients' upload figures. Either way below counts only what the server confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadAccounting {
    /// The server answers at once and, while it reads the body, streams a report of
    /// the bytes it has received every `interval` (see [`native::UploadReport`]).
    StreamedReports {
        /// Period of the reports.
        interval: Duration,
    },
    /// The server answers only after reading a whole body: each stream sends requests
    /// of `request_bytes` and counts a request's bytes when its answer arrives.
    OnCompletion {
        /// Size of each upload request.
        request_bytes: u64,
    },
}

/// Maps the measurement phases onto one server's URLs.
pub trait ServerProtocol: Send + Sync {
    /// Which protocol this is.
    fn kind(&self) -> ProtocolKind;
    /// A tiny request whose round trip is the latency.
    fn ping_url(&self) -> Url;
    /// A request answered with `bytes` bytes of incompressible payload.
    fn download_url(&self, bytes: u64) -> Url;
    /// Where upload bodies go.
    fn upload_url(&self) -> Url;
    /// How upload bytes are confirmed.
    fn upload_accounting(&self) -> UploadAccounting;
}

/// Parses a server base URL, insisting on http(s) and a host, and making its path a
/// directory so relative routes resolve under it (`https://h/speed` → `https://h/speed/`).
pub fn parse_base_url(url: &str) -> Result<Url> {
    let invalid = |reason: &str| Error::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let mut parsed = Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("only http and https are supported"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    if !parsed.path().ends_with('/') {
        let path = format!("{}/", parsed.path());
        parsed.set_path(&path);
    }
    parsed.set_query(None);
    parsed.set_fragment(None);
    Ok(parsed)
}

/// Resolves `route` (relative, no leading slash) against a directory base URL.
pub(crate) fn join(base: &Url, route: &str) -> Url {
    // A relative reference with no scheme or authority always resolves under an
    // http(s) directory URL; fall back to the base rather than panic.
    base.join(route).unwrap_or_else(|_| base.clone())
}

/// The protocol `kind` talking to the server at `base`.
pub fn for_server(kind: ProtocolKind, base: &str) -> Result<Box<dyn ServerProtocol>> {
    let base = parse_base_url(base)?;
    match kind {
        ProtocolKind::Ispeed => Ok(Box::new(native::Native::new(base))),
        other => Err(Error::Config(format!(
            "the {other} protocol is not available in this build"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_become_directories() {
        let u = parse_base_url("http://127.0.0.1:8080").map(|u| u.to_string());
        assert_eq!(u.ok().as_deref(), Some("http://127.0.0.1:8080/"));
        let u = parse_base_url("https://speed.example/isp/x?y=1").map(|u| u.to_string());
        assert_eq!(u.ok().as_deref(), Some("https://speed.example/isp/x/"));
    }

    #[test]
    fn bad_urls_are_rejected_with_a_reason() {
        for bad in ["ftp://h/", "not a url", "http://"] {
            assert!(
                matches!(parse_base_url(bad), Err(Error::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn protocol_names_round_trip() {
        for k in [
            ProtocolKind::Ispeed,
            ProtocolKind::Librespeed,
            ProtocolKind::Cloudflare,
        ] {
            assert_eq!(k.as_str().parse::<ProtocolKind>().ok(), Some(k));
        }
        assert!("gopher".parse::<ProtocolKind>().is_err());
    }
}
