//! What a collector answers to `POST /v1/results`: a [`Confirmation`] on success,
//! an [`ErrorBody`] otherwise.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Largest confirmation body a client reads: a confirmation is a few dozen bytes,
/// anything much larger is not one (an HTML page from a captive portal, say).
pub const MAX_CONFIRMATION_BYTES: usize = 16 * 1024;

/// Seconds a collector asks clients to wait (`Retry-After`) while its database is
/// unreachable: long enough for a database restart, short enough for a phone's
/// background slot to try again in the same run.
pub const RETRY_AFTER_S: u32 = 5;

/// What the collector did with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfirmStatus {
    /// Stored now.
    Stored,
    /// Already held: stored by an earlier upload.
    Duplicate,
}

/// The body a collector answers to a successful `POST /v1/results`. Sent only once
/// the document is durably stored (its transaction committed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// Id of the document it holds.
    pub id: Uuid,
    /// Whether this request stored it.
    pub status: ConfirmStatus,
    /// What the collector concluded about the sample (collectors before receipts say
    /// nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<crate::attestation::Verdict>,
    /// Why it was rejected, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<crate::attestation::RejectReason>,
}

impl Confirmation {
    /// Reads a collector's answer to the upload of document `expected`: the
    /// confirmation, or why the answer does not confirm that document (not JSON, too
    /// large, another id).
    pub fn parse(body: &[u8], expected: Uuid) -> Result<Self, String> {
        if body.len() > MAX_CONFIRMATION_BYTES {
            return Err(format!(
                "answered {} bytes, too many for a confirmation",
                body.len()
            ));
        }
        let confirmation: Confirmation = serde_json::from_slice(body)
            .map_err(|e| format!("the answer is not a confirmation ({e})"))?;
        if confirmation.id != expected {
            return Err(format!(
                "the collector confirmed {} instead of {expected}",
                confirmation.id
            ));
        }
        Ok(confirmation)
    }
}

/// The body of every collector error: a message for people, a stable code for
/// programs, and the document field at fault where there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What is wrong, in English.
    pub error: String,
    /// Stable code ([`RejectCode`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<RejectCode>,
    /// The document field at fault (`id`, `schema`, ...), when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Why a collector refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// The body exceeds [`crate::result::MAX_DOCUMENT_BYTES`] (413).
    TooLarge,
    /// The body is not JSON, or not a JSON object (400).
    NotJson,
    /// The document declares another schema (400).
    WrongSchema,
    /// A field is missing or malformed; `field` names it (400).
    InvalidField,
    /// A document with this id is held with different content (409).
    IdConflict,
    /// The query string is malformed (400).
    BadQuery,
    /// The database is unreachable; retry after `Retry-After` seconds (503).
    Unavailable,
    /// Anything else on the collector's side (500).
    Internal,
}
