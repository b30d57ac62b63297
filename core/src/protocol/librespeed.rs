//! The LibreSpeed backend protocol (the PHP files of librespeed/speedtest, also
//! served by its Go and Rust ports).
//!
//! - `GET empty.php`: an empty `200`; its round trip is the latency.
//! - `GET garbage.php?ckSize=N`: `N` chunks of 1 MiB of random data (the backend caps
//!   `N` at 1024 and defaults it to 4). A byte budget maps onto whole chunks, rounded
//!   down (at least one), so a download never asks for more than its budget.
//! - `POST empty.php`: the body is read and discarded; the answer is empty.
//! - `GET getIP.php`: the client's address as the server sees it, as JSON
//!   `{"processedString": "...", "rawIspInfo": ...}` (informational only).
//!
//! # Upload accounting
//!
//! The backend reports nothing about the bytes it received, and the browser client
//! counts bytes handed to `XMLHttpRequest` (its send buffer included), which
//! overstates uplinks. We count what the server's TCP acknowledged instead, and
//! confirm each body when `empty.php`'s answer has arrived
//! ([`UploadAccounting::OnCompletion`]): each stream sends one body at a time. PHP
//! (behind nginx or Apache) runs the script, and so answers, only after the web
//! server has read the whole request body, so an answer confirms every byte of it.
//! Bodies are sized to last about a second each and never exceed 8 MiB (LibreSpeed
//! deployments raise the web server's body limit for the client's 20 MiB blobs, but
//! plain PHP defaults stop at 8 MiB).

use reqwest::Url;
use serde::Deserialize;

use super::{ProtocolKind, RequestSizing, ServerProtocol, UploadAccounting, join};

/// Size of one `garbage.php` chunk.
pub const CHUNK_BYTES: u64 = 1 << 20;

/// Most chunks `garbage.php` serves in one answer.
pub const MAX_CHUNKS: u64 = 1024;

/// Largest upload body sent to a LibreSpeed backend: PHP's default `post_max_size`.
pub const MAX_UPLOAD_BODY: u64 = 8 << 20;

/// A LibreSpeed backend, by the URLs of its four files.
#[derive(Debug, Clone)]
pub struct Librespeed {
    download: Url,
    upload: Url,
    ping: Url,
    ip: Url,
}

impl Librespeed {
    /// The backend whose files sit in the directory `base` under their usual names.
    pub fn new(base: Url) -> Self {
        Self {
            download: join(&base, "garbage.php"),
            upload: join(&base, "empty.php"),
            ping: join(&base, "empty.php"),
            ip: join(&base, "getIP.php"),
        }
    }

    /// Where the client's address as the server sees it is served.
    pub fn ip_url(&self) -> Url {
        self.ip.clone()
    }
}

/// Chunks to ask `garbage.php` for so that at most `bytes` come back (at least one).
pub fn chunks_for(bytes: u64) -> u64 {
    (bytes / CHUNK_BYTES).clamp(1, MAX_CHUNKS)
}

/// Answer of `getIP.php`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpInfo {
    /// The address, possibly followed by ISP and distance, ready to show.
    pub processed_string: String,
}

impl ServerProtocol for Librespeed {
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Librespeed
    }

    fn ping_url(&self) -> Url {
        self.ping.clone()
    }

    fn download_url(&self, bytes: u64) -> Url {
        let mut url = self.download.clone();
        url.query_pairs_mut()
            .append_pair("ckSize", &chunks_for(bytes).to_string());
        url
    }

    fn upload_url(&self) -> Url {
        self.upload.clone()
    }

    fn upload_accounting(&self) -> UploadAccounting {
        UploadAccounting::OnCompletion {
            sizing: RequestSizing::up_to(MAX_UPLOAD_BODY),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_base_url;

    #[test]
    fn routes_resolve_under_the_backend_directory() -> crate::Result<()> {
        let p = Librespeed::new(parse_base_url("https://speed.example/backend")?);
        assert_eq!(
            p.ping_url().as_str(),
            "https://speed.example/backend/empty.php"
        );
        assert_eq!(
            p.upload_url().as_str(),
            "https://speed.example/backend/empty.php"
        );
        assert_eq!(
            p.download_url(12_500_000).as_str(),
            "https://speed.example/backend/garbage.php?ckSize=11"
        );
        assert_eq!(
            p.ip_url().as_str(),
            "https://speed.example/backend/getIP.php"
        );
        Ok(())
    }

    #[test]
    fn byte_budgets_map_onto_whole_chunks_never_above_the_budget() {
        assert_eq!(chunks_for(0), 1);
        assert_eq!(chunks_for(CHUNK_BYTES - 1), 1);
        assert_eq!(chunks_for(CHUNK_BYTES), 1);
        assert_eq!(chunks_for(3 * CHUNK_BYTES + 5), 3);
        assert_eq!(chunks_for(u64::MAX), MAX_CHUNKS);
    }

    #[test]
    fn get_ip_answers_parse() {
        let r: Result<IpInfo, _> =
            serde_json::from_str(r#"{"processedString":"203.0.113.9 - ISP","rawIspInfo":""}"#);
        assert_eq!(
            r.ok().map(|i| i.processed_string).as_deref(),
            Some("203.0.113.9 - ISP")
        );
        assert!(serde_json::from_str::<IpInfo>("203.0.113.9").is_err());
    }
}
