//! Whether a stored sample can be trusted: its [`Verdict`] and, when rejected, the
//! [`RejectReason`] (docs/trust.md).
//!
//! [`judge`] reads the document's `attestation` and checks, in order: that it is one
//! receipt of sane size; its signature under a trusted key; that the receipt is this
//! result's; that it was issued within [`CLOCK_WINDOW_S`] of the measurement (and not
//! in the collector's future); and that the receipt's bytes and server-side rate
//! explain the reported download and upload. [`Caps`] then bounds what one install
//! and one address block may contribute per day. The checks are pure functions of
//! the document, the keys and the time; only the caps read the store.

use chrono::{DateTime, Utc};
use ispeed_spec::attestation::{
    Attestation, CLOCK_WINDOW_S, Moved, RATE_TOLERANCE, RECEIPT_SCHEMA, Receipt, RejectReason,
    Verdict,
};
use serde_json::Value;
use uuid::Uuid;

use crate::keys::{TrustedKeys, Unverified};

/// Samples one install may contribute per local day unless configured: Android's
/// automatic measurement at its most frequent (every 30 minutes) plus a dozen by hand.
pub const DEFAULT_INSTALL_DAILY_CAP: u32 = 60;

/// Samples one /24 or /48 may contribute per local day unless configured: mobile
/// operators put thousands of phones behind one block of carrier-grade NAT
/// addresses, so this only stops a single machine posing as a crowd.
pub const DEFAULT_BLOCK_DAILY_CAP: u32 = 20_000;

/// Daily caps per install id and per address block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Samples (not rejected) per install id and local day.
    pub install_daily: u32,
    /// Samples (not rejected) per receipt address block and local day.
    pub block_daily: u32,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            install_daily: DEFAULT_INSTALL_DAILY_CAP,
            block_daily: DEFAULT_BLOCK_DAILY_CAP,
        }
    }
}

/// What the collector trusts: the servers' keys and the daily caps.
#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    /// Public keys of the measurement servers whose receipts count.
    pub keys: TrustedKeys,
    /// Daily caps.
    pub caps: Caps,
}

/// Command-line settings of the trust checks, shared by `ispeed-collector` and
/// `ispeed serve`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TrustArgs {
    /// File of the measurement servers' public keys whose receipts the collector
    /// trusts, one `ispeed-ed25519 KEY_ID PUBLIC_KEY` line each (as `ispeed keygen`
    /// writes them to FILE.pub), or a deployment profile whose `server_keys` lists
    /// them. Without it no receipt verifies.
    #[arg(long, value_name = "FILE")]
    pub trusted_keys: Option<std::path::PathBuf>,
    /// Count samples without a receipt in campaign progress (labs only: anyone can
    /// write such a sample).
    #[arg(long)]
    pub count_unattested: bool,
    /// Samples one install id may contribute per local day; more are rejected.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_INSTALL_DAILY_CAP)]
    pub install_daily_cap: u32,
    /// Samples one /24 or /48 may contribute per local day; more are rejected.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BLOCK_DAILY_CAP)]
    pub block_daily_cap: u32,
}

impl TrustArgs {
    /// The policy these arguments describe, reading the keys file.
    pub fn policy(&self) -> Result<TrustPolicy, String> {
        let keys = match &self.trusted_keys {
            Some(path) => TrustedKeys::read(path).map_err(|e| format!("--trusted-keys {e}"))?,
            None => TrustedKeys::none(),
        };
        Ok(TrustPolicy {
            keys,
            caps: Caps {
                install_daily: self.install_daily_cap,
                block_daily: self.block_daily_cap,
            },
        })
    }

    /// One line for the log saying what is trusted and counted.
    pub fn describe(&self, policy: &TrustPolicy) -> String {
        format!(
            "trust: {} server key(s){}; unattested samples {}; caps {} per install, {} per address block a day",
            policy.keys.len(),
            self.trusted_keys
                .as_ref()
                .map(|p| format!(" from {}", p.display()))
                .unwrap_or_default(),
            if self.count_unattested {
                "counted (--count-unattested)"
            } else {
                "stored, not counted"
            },
            policy.caps.install_daily,
            policy.caps.block_daily
        )
    }
}

/// The outcome of [`judge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// Attested, unattested or rejected.
    pub verdict: Verdict,
    /// Why rejected, or why a receipt was not evidence
    /// ([`RejectReason::UnknownKey`] on an unattested sample).
    pub reason: Option<RejectReason>,
    /// The receipt's address block, when it verified.
    pub client_block: Option<String>,
}

impl Judgement {
    fn rejected(reason: RejectReason) -> Self {
        Self {
            verdict: Verdict::Rejected,
            reason: Some(reason),
            client_block: None,
        }
    }

    /// The same judgement, rejected for `reason` (a cap) unless already rejected.
    pub fn capped(self, reason: RejectReason) -> Self {
        if self.verdict == Verdict::Rejected {
            return self;
        }
        Self {
            verdict: Verdict::Rejected,
            reason: Some(reason),
            ..self
        }
    }
}

/// Judges the document `doc` (id `id`) against `keys` at collector time `now`.
pub fn judge(doc: &Value, id: Uuid, keys: &TrustedKeys, now: DateTime<Utc>) -> Judgement {
    let attestation = match doc.get("attestation") {
        None | Some(Value::Null) => {
            return Judgement {
                verdict: Verdict::Unattested,
                reason: None,
                client_block: None,
            };
        }
        Some(a) => a,
    };
    match check(doc, id, attestation, keys, now) {
        Ok(receipt) => Judgement {
            verdict: Verdict::Attested,
            reason: None,
            client_block: Some(receipt.client_block),
        },
        // A receipt under a key this collector does not know is no evidence either
        // way: the sample is as unattested as one with no receipt (the demo's
        // throwaway key, a new server not yet added, a key rotated in before the
        // collector's file), and the reason is kept for audit.
        Err(RejectReason::UnknownKey) => Judgement {
            verdict: Verdict::Unattested,
            reason: Some(RejectReason::UnknownKey),
            client_block: None,
        },
        Err(reason) => Judgement::rejected(reason),
    }
}

/// Judges a posted document ([`judge`] at the collector's clock), then applies the
/// daily caps of the collector's policy against what its store holds for the
/// sample's local day.
pub async fn judge_and_cap(
    collector: &crate::Collector,
    doc: &crate::ingest::Accepted,
) -> Result<Judgement, crate::StoreError> {
    let policy = collector.trust();
    let judgement = judge(&doc.value, doc.id, &policy.keys, Utc::now());
    if judgement.verdict == Verdict::Rejected {
        return Ok(judgement);
    }
    let config = collector.campaign();
    let Some(day) = doc
        .facts
        .started_at
        .and_then(|ms| crate::campaign::local_day(config, ms))
    else {
        return Ok(judgement);
    };
    let (install, block) = collector
        .store()
        .day_usage(
            config,
            day,
            doc.facts.install_id.as_deref(),
            judgement.client_block.as_deref(),
        )
        .await?;
    Ok(if install >= u64::from(policy.caps.install_daily) {
        judgement.capped(RejectReason::InstallDailyCap)
    } else if block >= u64::from(policy.caps.block_daily) {
        judgement.capped(RejectReason::BlockDailyCap)
    } else {
        judgement
    })
}

fn check(
    doc: &Value,
    id: Uuid,
    attestation: &Value,
    keys: &TrustedKeys,
    now: DateTime<Utc>,
) -> Result<Receipt, RejectReason> {
    // One object of three strings: an array of receipts, or extra nesting, is not one.
    let attestation: Attestation =
        serde_json::from_value(attestation.clone()).map_err(|_| RejectReason::MalformedReceipt)?;
    keys.verify(&attestation).map_err(|e| match e {
        Unverified::UnknownKey => RejectReason::UnknownKey,
        Unverified::Malformed => RejectReason::MalformedReceipt,
        Unverified::BadSignature => RejectReason::BadSignature,
    })?;
    let receipt: Receipt =
        serde_json::from_str(&attestation.payload).map_err(|_| RejectReason::MalformedReceipt)?;
    if receipt.schema != RECEIPT_SCHEMA || receipt.key_id != attestation.key_id {
        return Err(RejectReason::MalformedReceipt);
    }
    if receipt.result_id != id {
        return Err(RejectReason::ReceiptForAnotherResult);
    }
    let time = |field: &str| {
        doc.get(field)
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let window = chrono::Duration::seconds(CLOCK_WINDOW_S);
    let (Some(started), Some(finished)) = (time("started_at"), time("finished_at")) else {
        return Err(RejectReason::OutsideTimeWindow);
    };
    let issued = receipt.issued_at;
    if issued < started - window || issued > finished + window || issued > now + window {
        return Err(RejectReason::OutsideTimeWindow);
    }
    explained(doc.get("download"), receipt.download.as_ref())?;
    explained(doc.get("upload"), receipt.upload.as_ref())?;
    Ok(receipt)
}

/// Whether the server's tally `moved` explains the reported transfer `reported`: no
/// more bytes than the server moved, and a rate at most [`RATE_TOLERANCE`] above the
/// server's own over its first-to-last byte span. The reported rate excludes the
/// slow-start ramp, the server's includes it, so the server's span is shortened by
/// the reported ramp, by at most half (a client cannot buy itself more).
fn explained(reported: Option<&Value>, moved: Option<&Moved>) -> Result<(), RejectReason> {
    let Some(reported) = reported.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let number = |field: &str| reported.get(field).and_then(Value::as_f64);
    let bytes = number("bytes").unwrap_or(0.0);
    let mbps = number("mbps").unwrap_or(0.0);
    let Some(moved) = moved else {
        return if bytes > 0.0 || mbps > 0.0 {
            Err(RejectReason::BytesUnexplained)
        } else {
            Ok(())
        };
    };
    let measured = number("measured_bytes").unwrap_or(0.0);
    if bytes > moved.bytes as f64 || measured > moved.bytes as f64 {
        return Err(RejectReason::BytesUnexplained);
    }
    let span_ms = (moved.last_at - moved.first_at).num_milliseconds().max(0) as f64;
    let ramp_ms = number("ramp_ms").unwrap_or(0.0).clamp(0.0, span_ms / 2.0);
    let window_ms = span_ms - ramp_ms;
    if window_ms >= 10.0 {
        let server_mbps = moved.bytes as f64 * 8.0 / (window_ms * 1000.0);
        if mbps > server_mbps * (1.0 + RATE_TOLERANCE) {
            return Err(RejectReason::RateUnexplained);
        }
    } else if mbps > 0.0 && moved.mbps().is_none() {
        // Bytes too few and too fast for the server to time: no rate is explained.
        return Err(RejectReason::RateUnexplained);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use chrono::Duration;
    use serde_json::json;

    use super::*;
    use crate::keys::ServerSigner;

    struct Case {
        signer: ServerSigner,
        keys: TrustedKeys,
        id: Uuid,
        start: DateTime<Utc>,
    }

    impl Case {
        fn new() -> Self {
            let signer = ServerSigner::generate();
            let keys = TrustedKeys::none().with(&signer.public());
            Self {
                signer,
                keys,
                id: Uuid::new_v4(),
                start: Utc::now() - Duration::seconds(30),
            }
        }

        /// A receipt of 12.5 MB down over 10 s (10 Mbit/s) issued at the end.
        fn receipt(&self) -> Receipt {
            let t = self.start;
            Receipt {
                schema: RECEIPT_SCHEMA.to_owned(),
                result_id: self.id,
                key_id: self.signer.key_id().to_owned(),
                issued_at: t + Duration::seconds(12),
                client_block: "203.0.113.0/24".to_owned(),
                requests: 20,
                download: Some(Moved {
                    bytes: 12_500_000,
                    first_at: t + Duration::seconds(1),
                    last_at: t + Duration::seconds(11),
                }),
                upload: None,
            }
        }

        fn doc(&self, receipt: &Receipt, mbps: f64, bytes: u64) -> Value {
            let a = self
                .signer
                .attest(serde_json::to_string(receipt).expect("json"));
            json!({
                "id": self.id,
                "started_at": self.start.to_rfc3339(),
                "finished_at": (self.start + Duration::seconds(12)).to_rfc3339(),
                "download": {"mbps": mbps, "bytes": bytes, "measured_bytes": bytes / 2, "ramp_ms": 1000},
                "attestation": a,
            })
        }

        fn judge(&self, doc: &Value) -> (Verdict, Option<RejectReason>) {
            let j = judge(doc, self.id, &self.keys, Utc::now());
            (j.verdict, j.reason)
        }
    }

    #[test]
    fn an_honest_receipt_attests_and_no_receipt_is_unattested() {
        let c = Case::new();
        let doc = c.doc(&c.receipt(), 10.5, 12_000_000);
        assert_eq!(c.judge(&doc), (Verdict::Attested, None));
        let mut bare = doc.clone();
        bare["attestation"] = Value::Null;
        assert_eq!(c.judge(&bare), (Verdict::Unattested, None));
    }

    #[test]
    fn each_lie_is_rejected_with_its_reason() {
        let c = Case::new();
        let rejected = |r| (Verdict::Rejected, Some(r));
        // Figures edited after signing.
        let doc = c.doc(&c.receipt(), 900.0, 12_000_000);
        assert_eq!(c.judge(&doc), rejected(RejectReason::RateUnexplained));
        let doc = c.doc(&c.receipt(), 10.0, 50_000_000);
        assert_eq!(c.judge(&doc), rejected(RejectReason::BytesUnexplained));
        // The payload edited after signing.
        let mut doc = c.doc(&c.receipt(), 10.0, 12_000_000);
        let p = doc["attestation"]["payload"].as_str().unwrap_or_default();
        doc["attestation"]["payload"] = json!(p.replace("12500000", "99500000"));
        assert_eq!(c.judge(&doc), rejected(RejectReason::BadSignature));
        // Another result's receipt.
        let other = Receipt {
            result_id: Uuid::new_v4(),
            ..c.receipt()
        };
        let doc = c.doc(&other, 10.0, 12_000_000);
        assert_eq!(
            c.judge(&doc),
            rejected(RejectReason::ReceiptForAnotherResult)
        );
        // From tomorrow.
        let tomorrow = Receipt {
            issued_at: Utc::now() + Duration::days(1),
            ..c.receipt()
        };
        let doc = c.doc(&tomorrow, 10.0, 12_000_000);
        assert_eq!(c.judge(&doc), rejected(RejectReason::OutsideTimeWindow));
        // An untrusted key.
        let stranger = Case {
            keys: TrustedKeys::none(),
            ..Case::new()
        };
        let doc = stranger.doc(&stranger.receipt(), 10.0, 12_000_000);
        assert_eq!(
            stranger.judge(&doc),
            (Verdict::Unattested, Some(RejectReason::UnknownKey))
        );
        // Many receipts, or a huge signature.
        let mut doc = c.doc(&c.receipt(), 10.0, 12_000_000);
        let one = doc["attestation"].clone();
        doc["attestation"] = Value::Array(vec![one.clone(); 100]);
        assert_eq!(c.judge(&doc), rejected(RejectReason::MalformedReceipt));
        doc["attestation"] = one;
        doc["attestation"]["signature"] = json!("A".repeat(60_000));
        assert_eq!(c.judge(&doc), rejected(RejectReason::MalformedReceipt));
        // An upload the server never received.
        let mut doc = c.doc(&c.receipt(), 10.0, 12_000_000);
        doc["upload"] = json!({"mbps": 5.0, "bytes": 1000});
        assert_eq!(c.judge(&doc), rejected(RejectReason::BytesUnexplained));
    }
}
