//! HTTP clients for the measurement: one per TCP connection we want.
//!
//! Every transfer stream gets its own client, so streams never share (or, over
//! HTTP/2, multiplex on) a connection; HTTP/1.1 only, no proxy, no compression (a
//! compressed body would measure the compressor, not the link).

use std::sync::OnceLock;

use bytes::Bytes;
use rand::RngCore;

use crate::config::MeasureConfig;
use crate::error::{Error, Result};

/// Builds a client with the measurement's timeouts and interface binding.
pub(crate) fn client(cfg: &MeasureConfig) -> Result<reqwest::Client> {
    client_for(cfg, None)
}

/// A client like [`client`] that names the measurement's result id on every request
/// ([`ispeed_spec::attestation::RESULT_HEADER`]), so a signing server can tally what
/// it moved for this result and sign a receipt for it.
pub(crate) fn client_for(
    cfg: &MeasureConfig,
    result: Option<uuid::Uuid>,
) -> Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(id) = result
        && let Ok(v) = reqwest::header::HeaderValue::from_str(&id.to_string())
    {
        headers.insert(ispeed_spec::attestation::RESULT_HEADER, v);
    }
    let builder = reqwest::Client::builder()
        .default_headers(headers)
        .http1_only()
        .no_proxy()
        .tcp_nodelay(true)
        .connect_timeout(cfg.connect_timeout)
        .pool_max_idle_per_host(1)
        // A redirect would silently measure another server; report it instead.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ispeed/", env!("CARGO_PKG_VERSION")));
    let mut builder = bind_interface(builder, cfg.interface.as_deref())?;
    for pem in &cfg.extra_root_certificates {
        let cert = reqwest::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| Error::Config(format!("extra root certificate: {e}")))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| Error::Config(format!("cannot set up HTTP: {e}")))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn bind_interface(
    b: reqwest::ClientBuilder,
    interface: Option<&str>,
) -> Result<reqwest::ClientBuilder> {
    Ok(match interface {
        Some(name) => b.interface(name),
        None => b,
    })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn bind_interface(
    b: reqwest::ClientBuilder,
    interface: Option<&str>,
) -> Result<reqwest::ClientBuilder> {
    match interface {
        Some(name) => Err(Error::Config(format!(
            "binding to interface {name} is only supported on Linux and Android"
        ))),
        None => Ok(b),
    }
}

/// Refuses plain HTTP to anything but this machine unless `allow_plain_http`.
pub(crate) fn check_transport_security(url: &reqwest::Url, allow_plain_http: bool) -> Result<()> {
    if url.scheme() == "https" || allow_plain_http {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(Error::InsecureUrl {
            url: url.to_string(),
        })
    }
}

/// Turns a non-success answer into the error a person can act on.
pub(crate) fn check_status(
    resp: &reqwest::Response,
    phase: ispeed_spec::measure::Phase,
) -> Result<()> {
    check_answer(resp.status(), resp.headers(), phase)
}

/// [`check_status`] for an answer's status and headers, whichever client got them.
pub(crate) fn check_answer(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    phase: ispeed_spec::measure::Phase,
) -> Result<()> {
    if status.is_success() {
        return Ok(());
    }
    if status.is_redirection() {
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        return Err(Error::Redirected { phase, location });
    }
    Err(Error::HttpStatus {
        phase,
        status: status.as_u16(),
    })
}

/// Size of the random block upload bodies are cut from.
const PAYLOAD_BLOCK: usize = 1 << 20;

/// One MiB of random bytes, made once: incompressible for any compressor whose window
/// is smaller than a MiB (gzip's is 32 KiB), and free to slice into upload chunks.
pub(crate) fn random_block() -> Bytes {
    static BLOCK: OnceLock<Bytes> = OnceLock::new();
    BLOCK
        .get_or_init(|| {
            let mut buf = vec![0u8; PAYLOAD_BLOCK];
            rand::rng().fill_bytes(&mut buf);
            Bytes::from(buf)
        })
        .clone()
}

/// `len` payload bytes as a stream of chunks sliced from [`random_block`].
pub(crate) fn payload_chunks(len: u64, chunk: usize) -> impl Iterator<Item = Bytes> {
    let block = random_block();
    let mut left = len;
    let mut offset = 0usize;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = (chunk as u64).min(left) as usize;
        let n = n.min(block.len() - offset);
        let piece = block.slice(offset..offset + n);
        offset = (offset + n) % block.len();
        left -= n as u64;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_has_exactly_the_asked_length() {
        for len in [0u64, 1, 65_536, 3 * (1 << 20) + 17] {
            let total: u64 = payload_chunks(len, 65_536).map(|c| c.len() as u64).sum();
            assert_eq!(total, len);
        }
        assert!(payload_chunks(10_000_000, 65_536).all(|c| c.len() <= 65_536));
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        let ok = |u: &str, allow| {
            reqwest::Url::parse(u)
                .map_err(|_| ())
                .and_then(|u| check_transport_security(&u, allow).map_err(|_| ()))
                .is_ok()
        };
        assert!(ok("http://127.0.0.1:8080/", false));
        assert!(ok("http://localhost/", false));
        assert!(ok("http://[::1]:80/", false));
        assert!(ok("https://speed.example/", false));
        assert!(!ok("http://speed.example/", false));
        assert!(!ok("http://192.0.2.1/", false));
        assert!(ok("http://speed.example/", true));
    }

    #[test]
    fn payload_is_not_constant() {
        let block = random_block();
        let zeros = block.iter().filter(|&&b| b == 0).count();
        // about 1/256 of a random MiB is zero; a constant block would be all or nothing
        assert!(zeros > 2_000 && zeros < 6_500, "{zeros}");
    }
}
