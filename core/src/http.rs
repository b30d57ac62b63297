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
    let builder = reqwest::Client::builder()
        .http1_only()
        .no_proxy()
        .tcp_nodelay(true)
        .connect_timeout(cfg.connect_timeout)
        .pool_max_idle_per_host(1)
        .user_agent(concat!("ispeed/", env!("CARGO_PKG_VERSION")));
    let builder = bind_interface(builder, cfg.interface.as_deref())?;
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
    fn payload_is_not_constant() {
        let block = random_block();
        let zeros = block.iter().filter(|&&b| b == 0).count();
        // about 1/256 of a random MiB is zero; a constant block would be all or nothing
        assert!(zeros > 2_000 && zeros < 6_500, "{zeros}");
    }
}
