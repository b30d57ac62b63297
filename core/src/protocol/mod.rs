//! Server protocols: which URL serves which phase, and how upload bytes are confirmed.
//!
//! One file per protocol: [`native`] (`ispeed-server`), [`librespeed`] (the PHP
//! backend thousands of ISPs and universities host) and [`cloudflare`] (its edge's
//! `/__down` and `/__up`). The measurement phases only ask a [`ServerProtocol`] for
//! URLs, its [`PingTiming`] and its [`UploadAccounting`]; nothing else in the engine
//! knows which server software it talks to. [`detect`] finds out which protocol a
//! server speaks when the user does not say.

pub mod cloudflare;
pub mod detect;
pub mod librespeed;
pub mod native;

use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderMap;

use crate::error::{Error, Result};

/// The protocols the engine speaks (the wire contract, in `ispeed-spec`).
pub use ispeed_spec::measure::ProtocolKind;

/// How the upload phase learns which bytes the server has received.
///
/// Bytes handed to the socket are not bytes received: the send buffer of a phone can
/// hold seconds of uplink, and counting it is the classic bug that doubled other
/// clients' upload figures. Either way below counts only what the server confirmed:
/// its application's reports or answers, or its TCP's acknowledgements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadAccounting {
    /// The server answers at once and, while it reads the body, streams a report of
    /// the bytes it has received every `interval` (see [`native::UploadReport`]).
    StreamedReports {
        /// Period of the reports.
        interval: Duration,
    },
    /// The server answers only after reading a whole body: each stream sends one
    /// request at a time, counts its bytes as the server's TCP acknowledges them
    /// (where the platform tells) and confirms them all when the answer arrives.
    /// Request sizes follow `sizing`, so that each request lasts a fraction of a
    /// second whatever the link's rate.
    OnCompletion {
        /// How big each request is.
        sizing: RequestSizing,
    },
}

/// Sizes of upload requests counted on completion.
///
/// Between two requests a stream has nothing in flight: the last byte crosses the
/// queue, the answer comes back, the next request leaves. On a loaded cell that is
/// hundreds of milliseconds, and with requests of 300 ms the bench's emulated cells
/// delivered up to 8 % less than they offered. Large requests waste less, and since
/// their bytes are counted as the server's TCP acknowledges them (see
/// [`UploadAccounting::OnCompletion`]) they no longer leave the count unknown for
/// long; but on a slow uplink a single large request could outlast the phase, which
/// wastes the bytes still queued when it ends. So a stream starts small, like
/// Cloudflare's client (100 kB first), and sizes each next request from the rate its
/// previous one achieved, aiming at `target` per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestSizing {
    /// Size of a stream's first request.
    pub first_bytes: u64,
    /// Smallest request: below this, round trips dominate.
    pub min_bytes: u64,
    /// Largest request the server accepts.
    pub max_bytes: u64,
    /// Time one request should take at the rate the previous one achieved.
    pub target: Duration,
}

/// Most a request may grow over the one before: one fast answer (a burst into an
/// empty queue) must not make the next request outlast the phase.
const MAX_GROWTH: u64 = 4;

impl RequestSizing {
    /// Sizing for servers that accept bodies up to `max_bytes`: 100 kB first, at
    /// least 64 kB, 1 s per request.
    pub const fn up_to(max_bytes: u64) -> Self {
        Self {
            first_bytes: 100_000,
            min_bytes: 64 * 1024,
            max_bytes,
            // Long against a loaded cell's round trip (the stream's idle time per
            // request), short against a 10 s phase.
            target: Duration::from_secs(1),
        }
    }

    /// The size of the request after one of `len` bytes that took `took` from send
    /// to answer: `target` worth at that rate, at most [`MAX_GROWTH`] times larger
    /// (or smaller) than `len`, within `min_bytes..=max_bytes`.
    pub fn next(&self, len: u64, took: Duration) -> u64 {
        let len = len.max(1);
        let scaled = if took.is_zero() {
            len.saturating_mul(MAX_GROWTH)
        } else {
            (len as f64 * self.target.as_secs_f64() / took.as_secs_f64()) as u64
        };
        let floor = self.min_bytes.min(self.max_bytes);
        scaled
            .clamp(len / MAX_GROWTH, len.saturating_mul(MAX_GROWTH))
            .clamp(floor, self.max_bytes.max(floor))
    }
}

/// How a ping's round trip is turned into latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PingTiming {
    /// The round trip as the client times it.
    #[default]
    RoundTrip,
    /// The round trip minus the server's own processing time, as it reports in the
    /// `Server-Timing` metric named here (Cloudflare's `cfRequestDuration`).
    MinusServerTiming {
        /// Name of the metric whose `dur` (ms) is the server's processing time.
        metric: &'static str,
    },
}

impl PingTiming {
    /// The latency of an exchange the client timed at `rtt`, given its answer's headers.
    ///
    /// A reported processing time is subtracted only when it is shorter than the round
    /// trip: a server cannot have worked longer than the client waited, so a larger
    /// figure is a broken header and is ignored.
    pub fn latency(self, rtt: Duration, headers: &HeaderMap) -> Duration {
        let PingTiming::MinusServerTiming { metric } = self else {
            return rtt;
        };
        let server = headers
            .get_all("server-timing")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| server_timing_dur(v, metric));
        match server {
            Some(d) if d < rtt => rtt - d,
            _ => rtt,
        }
    }
}

/// The `dur` of `metric` in a `Server-Timing` header value (W3C Server Timing:
/// `name;dur=12.3;desc="..."`, metrics separated by commas), if present and sane.
pub fn server_timing_dur(value: &str, metric: &str) -> Option<Duration> {
    split_outside_quotes(value, ',')
        .into_iter()
        .find_map(|entry| {
            let mut parts = split_outside_quotes(entry, ';').into_iter();
            if !parts.next()?.trim().eq_ignore_ascii_case(metric) {
                return None;
            }
            parts.find_map(|p| {
                let (k, v) = p.split_once('=')?;
                if !k.trim().eq_ignore_ascii_case("dur") {
                    return None;
                }
                let ms: f64 = v.trim().trim_matches('"').parse().ok()?;
                (0.0..3_600_000.0)
                    .contains(&ms)
                    .then(|| Duration::from_secs_f64(ms / 1000.0))
            })
        })
}

/// Splits on `sep` except inside double quotes (a `desc` may hold commas).
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
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
    /// How a ping's round trip becomes latency.
    fn ping_timing(&self) -> PingTiming {
        PingTiming::RoundTrip
    }
    /// The result id sent with every request of the measurement, for servers that
    /// sign receipts (only the native protocol; third-party servers never see it).
    fn result_id(&self) -> Option<uuid::Uuid> {
        None
    }
    /// Where the server's `/info` is, for servers that may sign receipts.
    fn info_url(&self) -> Option<Url> {
        None
    }
    /// Where the signed receipt of the measurement is asked for.
    fn receipt_url(&self) -> Option<Url> {
        None
    }
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

/// Checks a server's base URL for transport security before any request goes to it:
/// plain HTTP only to this machine, unless `allow_plain_http` ([`Error::InsecureUrl`]).
/// Detection, server selection and the shells' own set-up (which may resolve the
/// host) call it first, so that no request, not even a DNS query, precedes the refusal.
pub fn check_transport(base: &str, allow_plain_http: bool) -> Result<()> {
    crate::http::check_transport_security(&parse_base_url(base)?, allow_plain_http)
}

/// Resolves `route` (relative, no leading slash) against a directory base URL.
pub(crate) fn join(base: &Url, route: &str) -> Url {
    // A relative reference with no scheme or authority always resolves under an
    // http(s) directory URL; fall back to the base rather than panic.
    base.join(route).unwrap_or_else(|_| base.clone())
}

/// The protocol `kind` talking to the server at `base` for the measurement whose
/// result id is `result`: the native protocol names it on every request.
pub fn for_measurement(
    kind: ProtocolKind,
    base: &str,
    result: uuid::Uuid,
) -> Result<Box<dyn ServerProtocol>> {
    match kind {
        ProtocolKind::Ispeed => Ok(Box::new(
            native::Native::new(parse_base_url(base)?).with_result(result),
        )),
        other => for_server(other, base),
    }
}

/// The protocol `kind` talking to the server at `base`.
pub fn for_server(kind: ProtocolKind, base: &str) -> Result<Box<dyn ServerProtocol>> {
    let base = parse_base_url(base)?;
    match kind {
        ProtocolKind::Ispeed => Ok(Box::new(native::Native::new(base))),
        ProtocolKind::Librespeed => Ok(Box::new(librespeed::Librespeed::new(base))),
        ProtocolKind::Cloudflare => Ok(Box::new(cloudflare::Cloudflare::new(base))),
    }
}

// The apps' view of the re-exported wire types. `ispeed-spec` stays free of uniffi, so
// uniffi exports them through remote declarations: the definitions restated, from which
// it generates the conversions (see `crate::ffi`). They are declared in this module, where
// the types were defined, because uniffi's checksums hash the declaring module's path:
// declared anywhere else, the generated Kotlin and Swift would change.

/// The protocols the engine speaks.
#[cfg(feature = "uniffi")]
#[uniffi::remote(Enum)]
pub enum ProtocolKind {
    /// The native protocol of `ispeed-server` (`/ping`, `/download`, `/upload`).
    Ispeed,
    /// A LibreSpeed backend (`garbage.php`, `empty.php`).
    Librespeed,
    /// Cloudflare's speed test endpoints (`/__down`, `/__up`).
    Cloudflare,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_checked_on_the_base_url() {
        assert!(check_transport("http://127.0.0.1:8080/x", false).is_ok());
        assert!(check_transport("https://speed.example", false).is_ok());
        assert!(matches!(
            check_transport("http://speed.example", false),
            Err(Error::InsecureUrl { .. })
        ));
        assert!(check_transport("http://speed.example", true).is_ok());
        assert!(matches!(
            check_transport("ftp://speed.example", true),
            Err(Error::InvalidUrl { .. })
        ));
    }

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

    #[test]
    fn every_protocol_is_available() {
        for k in [
            ProtocolKind::Ispeed,
            ProtocolKind::Librespeed,
            ProtocolKind::Cloudflare,
        ] {
            let p = for_server(k, "http://127.0.0.1:1/");
            assert_eq!(p.ok().map(|p| p.kind()), Some(k));
        }
    }

    #[test]
    fn server_timing_is_parsed_from_real_and_broken_headers() {
        let ms = |v: &str| server_timing_dur(v, "cfRequestDuration").map(|d| d.as_secs_f64() * 1e3);
        // As speed.cloudflare.com sends it, with a quoted desc holding separators.
        let cf = r#"cfL4;desc="?proto=TCP&rtt=1,2;x",cfRequestDuration;dur=12.5"#;
        assert!(ms(cf).is_some_and(|v| (v - 12.5).abs() < 1e-9));
        assert!(ms("CFREQUESTDURATION; dur = 3").is_some_and(|v| (v - 3.0).abs() < 1e-9));
        assert_eq!(ms("cfRequestDuration"), None);
        assert_eq!(ms("cfRequestDuration;dur=abc"), None);
        assert_eq!(ms("cfRequestDuration;dur=-1"), None);
        assert_eq!(ms("cfRequestDuration;dur=NaN"), None);
        assert_eq!(ms("other;dur=5"), None);
        assert_eq!(ms(""), None);
        assert_eq!(ms("\"\"\",;;=,"), None);
    }

    #[test]
    fn server_time_is_subtracted_only_when_plausible() {
        let timing = PingTiming::MinusServerTiming {
            metric: "cfRequestDuration",
        };
        let mut h = HeaderMap::new();
        let rtt = Duration::from_millis(50);
        assert_eq!(timing.latency(rtt, &h), rtt);
        h.insert(
            "server-timing",
            reqwest::header::HeaderValue::from_static("cfRequestDuration;dur=20"),
        );
        assert_eq!(timing.latency(rtt, &h), Duration::from_millis(30));
        assert_eq!(PingTiming::RoundTrip.latency(rtt, &h), rtt);
        h.insert(
            "server-timing",
            reqwest::header::HeaderValue::from_static("cfRequestDuration;dur=80"),
        );
        assert_eq!(timing.latency(rtt, &h), rtt);
    }

    #[test]
    fn request_sizes_grow_towards_the_target_and_stay_bounded() {
        let s = RequestSizing::up_to(8_000_000);
        // 100 kB in 10 ms: 1 s at that rate is 10 MB, but growth is capped at 4x.
        assert_eq!(s.next(100_000, Duration::from_millis(10)), 400_000);
        // 1 MB in 2 s: half as much next time.
        assert_eq!(s.next(1_000_000, Duration::from_secs(2)), 500_000);
        // 1 MB in 1 s: on target.
        assert_eq!(s.next(1_000_000, Duration::from_secs(1)), 1_000_000);
        // Never above the server's limit, never below the floor.
        assert_eq!(s.next(4_000_000, Duration::from_millis(1)), 8_000_000);
        assert_eq!(s.next(100_000, Duration::from_secs(100)), 64 * 1024);
        assert_eq!(s.next(0, Duration::ZERO), 64 * 1024);
        assert_eq!(s.next(u64::MAX, Duration::ZERO), 8_000_000);
    }
}
