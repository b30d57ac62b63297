//! What the collector accepts at `POST /v1/results`: a JSON object of at most
//! [`MAX_DOCUMENT_BYTES`], declaring [`SCHEMA`], with a uuid `id`. Everything else in
//! the document is read loosely and kept verbatim, so fields added by newer clients
//! are never lost. A refusal names the field at fault ([`Rejection`]).

use axum::http::StatusCode;
use ispeed_spec::result::{MAX_DOCUMENT_BYTES, SCHEMA};
use ispeed_spec::upload::RejectCode;
use serde_json::Value;
use uuid::Uuid;

use crate::campaign::SampleFacts;

/// A document that passed the checks, ready for a store.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// Its `id`.
    pub id: Uuid,
    /// The body as received (UTF-8 JSON).
    pub text: String,
    /// The body parsed, for comparing a duplicate's content.
    pub value: Value,
    /// What the campaign count reads from it.
    pub facts: SampleFacts,
    /// What the quality statistics keep of it, when it counts in them: set once the
    /// collector judged it (the verdict decides; see `http::post_result`).
    pub stats: Option<crate::stats::StatSample>,
}

/// Why a document is refused: an HTTP status, a stable code, the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `4xx`.
    pub status: StatusCode,
    /// Stable code.
    pub code: RejectCode,
    /// The field at fault (`body` for the body as a whole).
    pub field: &'static str,
    /// What is wrong, in English.
    pub message: String,
}

impl Rejection {
    fn new(status: StatusCode, code: RejectCode, field: &'static str, message: String) -> Self {
        Self {
            status,
            code,
            field,
            message,
        }
    }

    /// The body is larger than [`MAX_DOCUMENT_BYTES`].
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            RejectCode::TooLarge,
            "body",
            format!("a result document is at most {MAX_DOCUMENT_BYTES} bytes"),
        )
    }
}

/// Checks a posted body and reads what the collector needs from it.
pub fn accept(body: &[u8]) -> Result<Accepted, Rejection> {
    let bad = |code, field, message: String| {
        Rejection::new(StatusCode::BAD_REQUEST, code, field, message)
    };
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(Rejection::too_large());
    }
    let text = std::str::from_utf8(body).map_err(|_| {
        bad(
            RejectCode::NotJson,
            "body",
            "the body is not UTF-8".to_owned(),
        )
    })?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        bad(
            RejectCode::NotJson,
            "body",
            format!("the body is not JSON: {e}"),
        )
    })?;
    let obj = value.as_object().ok_or_else(|| {
        bad(
            RejectCode::NotJson,
            "body",
            "the document is not a JSON object".to_owned(),
        )
    })?;
    match obj.get("schema").and_then(Value::as_str) {
        Some(SCHEMA) => {}
        other => {
            return Err(bad(
                RejectCode::WrongSchema,
                "schema",
                format!("schema must be {SCHEMA:?}, got {other:?}"),
            ));
        }
    }
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| {
            bad(
                RejectCode::InvalidField,
                "id",
                "id must be a uuid".to_owned(),
            )
        })?;
    let facts = SampleFacts::of(&value);
    Ok(Accepted {
        id,
        text: text.to_owned(),
        value,
        facts,
        stats: None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn documents_are_checked_loosely_and_refusals_name_the_field() {
        let id = Uuid::new_v4();
        let ok = json!({ "schema": SCHEMA, "id": id, "anything": [1, 2] }).to_string();
        assert_eq!(accept(ok.as_bytes()).map(|a| a.id), Ok(id));
        for (bad, field, code) in [
            ("<html>".to_owned(), "body", RejectCode::NotJson),
            ("[]".to_owned(), "body", RejectCode::NotJson),
            (
                json!({ "schema": "other/1", "id": id }).to_string(),
                "schema",
                RejectCode::WrongSchema,
            ),
            (
                json!({ "schema": SCHEMA, "id": "42" }).to_string(),
                "id",
                RejectCode::InvalidField,
            ),
            (
                json!({ "schema": SCHEMA }).to_string(),
                "id",
                RejectCode::InvalidField,
            ),
            (
                "x".repeat(MAX_DOCUMENT_BYTES + 1),
                "body",
                RejectCode::TooLarge,
            ),
        ] {
            let r = accept(bad.as_bytes()).map(|a| a.id).expect_err("refused");
            assert_eq!((r.field, r.code), (field, code), "{}", r.message);
            assert!(r.status.is_client_error());
        }
    }
}
