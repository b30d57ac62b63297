//! Receipts: what a measurement server signs about one measurement, and how the
//! result document carries it (`attestation`).
//!
//! The client sends the result's id with every request of a measurement
//! ([`RESULT_HEADER`]). A server holding an Ed25519 key (advertised in its `/info` as
//! a [`ServerKey`]) tallies, per result id, what it moved: download bytes sent, upload
//! body bytes read, the first and last byte of each on its own clock, and the client's
//! address reduced to its /24 or /48. At the end the client asks for the receipt
//! (`POST` [`RECEIPT_ROUTE`] with the same header) and gets an [`Attestation`]: the
//! [`Receipt`] as JSON text (`payload`, exactly the bytes signed) and its signature.
//! The collector verifies it against the keys it trusts and judges whether the
//! document's figures are ones the server's own tally explains (docs/trust.md).
//!
//! Only types and limits here; signing and verification live in
//! `ispeed_collector::keys`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Request header carrying the result id on every request of a measurement.
pub const RESULT_HEADER: &str = "x-ispeed-result";

/// `POST` with [`RESULT_HEADER`]: the [`Attestation`] of that result's tally (404 when
/// the server holds none for it, or holds no key).
pub const RECEIPT_ROUTE: &str = "/receipt";

/// Value of a receipt's `schema`.
pub const RECEIPT_SCHEMA: &str = "ispeed.receipt/1";

/// Largest `payload` a collector reads, bytes: a real receipt is about 400.
pub const MAX_PAYLOAD_BYTES: usize = 2048;

/// Length of a base64 Ed25519 signature (64 bytes); anything longer is refused unread.
pub const MAX_SIGNATURE_CHARS: usize = 88;

/// A receipt issued further than this from the result's own start and end, seconds,
/// is not this measurement's (or one of the clocks is badly wrong).
pub const CLOCK_WINDOW_S: i64 = 300;

/// A reported rate may exceed the server's own figure by this fraction (the client and
/// the server time slightly different spans of one transfer).
pub const RATE_TOLERANCE: f64 = 0.10;

/// What the result document's `attestation` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// Id of the server's key ([`ServerKey::key_id`]).
    pub key_id: String,
    /// The [`Receipt`] as JSON text: exactly the bytes that were signed.
    pub payload: String,
    /// Ed25519 signature of `payload`, standard base64.
    pub signature: String,
}

/// A server's public key as its `/info` advertises it and `ispeed keygen` writes it to
/// `FILE.pub` (`ispeed-ed25519 KEY_ID PUBLIC_KEY`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerKey {
    /// First 8 bytes of the SHA-256 of the public key, hex: short, stable, derived.
    pub key_id: String,
    /// The 32-byte Ed25519 public key, standard base64.
    pub public_key: String,
}

/// Bytes moved in one direction, as the server counted them on its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    /// Payload bytes (download: handed to the connection; upload: body bytes read).
    pub bytes: u64,
    /// When the first of them moved.
    pub first_at: DateTime<Utc>,
    /// When the last of them moved.
    pub last_at: DateTime<Utc>,
}

impl Moved {
    /// The server's own rate over its first-to-last span, Mbit/s; `None` for a span
    /// too short to time (under 10 ms).
    pub fn mbps(&self) -> Option<f64> {
        let ms = (self.last_at - self.first_at).num_milliseconds();
        (ms >= 10).then(|| self.bytes as f64 * 8.0 / (ms as f64 * 1000.0))
    }
}

/// What a server signs about one measurement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// [`RECEIPT_SCHEMA`].
    pub schema: String,
    /// The result id the client sent.
    pub result_id: Uuid,
    /// The signing key's id (a receipt cannot be passed off under another key).
    pub key_id: String,
    /// When the server signed, on its clock.
    pub issued_at: DateTime<Utc>,
    /// The client's address reduced to its /24 (IPv4) or /48 (IPv6) network.
    pub client_block: String,
    /// Requests of this measurement the server answered.
    pub requests: u64,
    /// Download bytes sent, when there were any.
    pub download: Option<Moved>,
    /// Upload body bytes read, when there were any.
    pub upload: Option<Moved>,
}

/// What a collector concluded about a stored sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A trusted server's receipt explains the document's figures.
    Attested,
    /// No receipt (LibreSpeed and Cloudflare servers, older clients): kept, counted
    /// only where the collector counts unattested samples (labs).
    Unattested,
    /// Kept for audit with its [`RejectReason`], never counted.
    Rejected,
}

impl Verdict {
    /// Its name in JSON and in the stores.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Attested => "attested",
            Verdict::Unattested => "unattested",
            Verdict::Rejected => "rejected",
        }
    }

    /// The verdict named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        [Verdict::Attested, Verdict::Unattested, Verdict::Rejected]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Why a collector rejected a sample: stable codes, added and never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The signature does not match the payload under the key it names.
    BadSignature,
    /// The receipt names a key the collector does not trust. The only reason an
    /// `unattested` sample may carry: such a receipt is no evidence either way.
    UnknownKey,
    /// `attestation` is not one receipt of sane size and shape.
    MalformedReceipt,
    /// The receipt was issued for another result id (copied from another document).
    ReceiptForAnotherResult,
    /// The receipt was issued outside the result's own time window, or in the future.
    OutsideTimeWindow,
    /// The document reports more bytes than the server moved.
    BytesUnexplained,
    /// The document reports a rate more than 10 % above the server's own figure.
    RateUnexplained,
    /// The install sent more samples this day than the collector's cap.
    InstallDailyCap,
    /// The address block sent more samples this day than the collector's cap.
    BlockDailyCap,
    /// A reason this client does not know yet (from a newer collector).
    #[serde(other)]
    Other,
}

impl RejectReason {
    /// Every reason, in a stable order.
    pub const ALL: [RejectReason; 10] = [
        RejectReason::BadSignature,
        RejectReason::UnknownKey,
        RejectReason::MalformedReceipt,
        RejectReason::ReceiptForAnotherResult,
        RejectReason::OutsideTimeWindow,
        RejectReason::BytesUnexplained,
        RejectReason::RateUnexplained,
        RejectReason::InstallDailyCap,
        RejectReason::BlockDailyCap,
        RejectReason::Other,
    ];

    /// Its stable code, as JSON and the stores spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::BadSignature => "bad_signature",
            RejectReason::UnknownKey => "unknown_key",
            RejectReason::MalformedReceipt => "malformed_receipt",
            RejectReason::ReceiptForAnotherResult => "receipt_for_another_result",
            RejectReason::OutsideTimeWindow => "outside_time_window",
            RejectReason::BytesUnexplained => "bytes_unexplained",
            RejectReason::RateUnexplained => "rate_unexplained",
            RejectReason::InstallDailyCap => "install_daily_cap",
            RejectReason::BlockDailyCap => "block_daily_cap",
            RejectReason::Other => "other",
        }
    }

    /// The reason whose code is `s` ([`RejectReason::Other`] for an unknown code).
    pub fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .unwrap_or(RejectReason::Other)
    }

    /// What it means, in English, for the phone's history and the campaign page.
    pub fn meaning(self) -> &'static str {
        match self {
            RejectReason::BadSignature => "the server's signature does not match the result",
            RejectReason::UnknownKey => "the measurement server is not one the collector trusts",
            RejectReason::MalformedReceipt => "the server's receipt is malformed",
            RejectReason::ReceiptForAnotherResult => "the receipt belongs to another measurement",
            RejectReason::OutsideTimeWindow => "the receipt's time does not match the measurement",
            RejectReason::BytesUnexplained => "the result reports more data than the server moved",
            RejectReason::RateUnexplained => "the result reports a speed the server did not see",
            RejectReason::InstallDailyCap => "this phone sent more measurements today than allowed",
            RejectReason::BlockDailyCap => "this network sent more measurements today than allowed",
            RejectReason::Other => "the collector did not accept this measurement",
        }
    }
}

/// The network block of `addr` a receipt names: `a.b.c.0/24` or the /48 of an IPv6
/// address (an IPv4-mapped IPv6 address is IPv4).
pub fn client_block(addr: std::net::IpAddr) -> String {
    use std::net::IpAddr;
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    };
    match addr {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
            format!("{net}/48")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_slash_24_and_slash_48() {
        let b = |s: &str| client_block(s.parse().unwrap_or(std::net::IpAddr::from([0; 4])));
        assert_eq!(b("203.0.113.77"), "203.0.113.0/24");
        assert_eq!(b("::ffff:198.51.100.9"), "198.51.100.0/24");
        assert_eq!(b("2001:db8:abcd:12::1"), "2001:db8:abcd::/48");
    }

    #[test]
    fn reasons_and_verdicts_round_trip_and_unknown_reasons_read_as_other() {
        for r in RejectReason::ALL {
            assert_eq!(RejectReason::parse(r.as_str()), r);
            let json = serde_json::to_string(&r).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
        let later: Result<RejectReason, _> = serde_json::from_str("\"from_the_future\"");
        assert_eq!(later.ok(), Some(RejectReason::Other));
        for v in [Verdict::Attested, Verdict::Unattested, Verdict::Rejected] {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
        }
    }

    #[test]
    fn a_rate_needs_a_timed_span() {
        let t = Utc::now();
        let m = Moved {
            bytes: 1_250_000,
            first_at: t,
            last_at: t + chrono::Duration::seconds(1),
        };
        assert!(m.mbps().is_some_and(|r| (r - 10.0).abs() < 1e-9));
        assert_eq!(Moved { last_at: t, ..m }.mbps(), None);
    }
}
