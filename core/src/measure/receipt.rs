//! The server's signed receipt of a measurement (docs/trust.md).
//!
//! Asked only of servers whose `/info` advertises a signing key, after the last
//! phase, so that it covers every byte the phases moved. A receipt is evidence for the
//! collector, never a condition of the measurement: any failure here (an old server,
//! a timeout, an answer that is not a receipt) leaves the sample unattested, and the
//! client never checks the signature itself (the collector does, against the keys it
//! trusts).

use ispeed_spec::attestation::{Attestation, MAX_PAYLOAD_BYTES, MAX_SIGNATURE_CHARS, ServerKey};
use serde::Deserialize;

use crate::config::MeasureConfig;
use crate::protocol::ServerProtocol;

/// Largest answer read from `/info` or `/receipt`: both are well under 4 KB.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// The part of `/info` that matters here.
#[derive(Deserialize)]
struct Info {
    #[serde(default)]
    signing_key: Option<ServerKey>,
}

/// The receipt of the measurement `protocol` names, when its server signs them.
pub async fn fetch(protocol: &dyn ServerProtocol, config: &MeasureConfig) -> Option<Attestation> {
    let (id, info_url, receipt_url) = (
        protocol.result_id()?,
        protocol.info_url()?,
        protocol.receipt_url()?,
    );
    let client = crate::http::client_for(config, Some(id)).ok()?;
    let timeout = config.request_timeout;
    let read = |req: reqwest::RequestBuilder| async move {
        let resp = tokio::time::timeout(timeout, req.send()).await.ok()?.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let body = tokio::time::timeout(timeout, resp.bytes())
            .await
            .ok()?
            .ok()?;
        (body.len() <= MAX_ANSWER_BYTES).then_some(body)
    };
    let info: Info = serde_json::from_slice(&read(client.get(info_url)).await?).ok()?;
    let key = info.signing_key?;
    let a: Attestation = serde_json::from_slice(&read(client.post(receipt_url)).await?).ok()?;
    // Only what the server advertised, and of a receipt's size: anything else is not
    // worth carrying to the collector.
    (a.key_id == key.key_id
        && a.payload.len() <= MAX_PAYLOAD_BYTES
        && a.signature.len() <= MAX_SIGNATURE_CHARS)
        .then_some(a)
}
