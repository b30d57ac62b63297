//! Server lists, and choosing the nearest server by measured latency.
//!
//! # List formats
//!
//! Two JSON formats are read; [`parse_list`] tells them apart by their top level.
//!
//! Our own, an object with a `servers` array (unknown fields are ignored, so the
//! format can grow):
//!
//! ```json
//! { "servers": [
//!     { "name": "Hanoi (operator X)", "url": "https://speed.example.vn/", "protocol": "ispeed" },
//!     { "name": "Cloudflare", "url": "https://speed.cloudflare.com/", "protocol": "cloudflare" }
//! ] }
//! ```
//!
//! `url` is the base URL the protocol's routes hang under; `protocol` is `ispeed`
//! (the default when absent), `librespeed` or `cloudflare`.
//!
//! LibreSpeed's, the array its web client and `librespeed-cli` read:
//!
//! ```json
//! [ { "name": "...", "server": "//speed.example.org/", "dlURL": "backend/garbage.php",
//!     "ulURL": "backend/empty.php", "pingURL": "backend/empty.php", "getIpURL": "backend/getIP.php" } ]
//! ```
//!
//! As in LibreSpeed's client (`speedtest.js`, `_checkServerDefinition`), a `server`
//! that does not end in `/` gets one, then each file's URL is `server` followed by the
//! file's path (plain concatenation), so `//host/backend` with `garbage.php` is
//! `//host/backend/garbage.php`; a protocol-relative `server` (`//host/`) means
//! `https:`. The backend files must keep their usual names in one directory, which
//! becomes the base URL; an entry that renames them is rejected with that reason.
//!
//! An entry that cannot be used (no URL, an unknown protocol, ...) does not spoil the
//! list: it is kept in [`ServerList::rejected`] with the reason. Input that is not a
//! list at all is an [`Error::ServerList`].
//!
//! # Selection
//!
//! [`rank`] pings every candidate on its own warm connection, a bounded number at a
//! time and all within a bounded total time, and orders the ones that answered by
//! median round trip. Candidates that failed, or were not reached in time, are kept
//! in [`Selection::skipped`] with the error's code and message.

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use crate::config::MeasureConfig;
use crate::error::{Error, Result};
use crate::measure::{Phase, latency, stats};
use crate::protocol::{self, ProtocolKind};

/// Largest list accepted, bytes: LibreSpeed's public list is about 30 kB.
pub const MAX_LIST_BYTES: usize = 1 << 20;
/// Most entries a list may hold: more is not a list of servers anyone can ping.
pub const MAX_LIST_ENTRIES: usize = 1000;

/// A server that may be measured against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Name to show.
    pub name: String,
    /// Base URL of its routes.
    pub url: String,
    /// Protocol it speaks.
    pub protocol: ProtocolKind,
}

/// A list entry that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Position in the list, from 0.
    pub index: usize,
    /// Its name, if it had one.
    pub name: Option<String>,
    /// What is wrong with it.
    pub reason: String,
}

/// A parsed server list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerList {
    /// Usable entries, in list order.
    pub candidates: Vec<Candidate>,
    /// Unusable entries.
    pub rejected: Vec<Rejected>,
}

/// One entry of our own format.
#[derive(Debug, Deserialize)]
struct OwnEntry {
    #[serde(default)]
    name: Option<String>,
    url: String,
    #[serde(default)]
    protocol: Option<String>,
}

/// One entry of LibreSpeed's format.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LibrespeedEntry {
    #[serde(default)]
    name: Option<String>,
    server: String,
    #[serde(rename = "dlURL")]
    dl_url: String,
    #[serde(rename = "ulURL")]
    ul_url: String,
    #[serde(rename = "pingURL")]
    ping_url: String,
}

/// Parses a server list in either format (see the module documentation).
pub fn parse_list(json: &str) -> Result<ServerList> {
    if json.len() > MAX_LIST_BYTES {
        return Err(Error::ServerList(format!(
            "{} bytes is more than the {MAX_LIST_BYTES} a server list may have",
            json.len()
        )));
    }
    let doc: Value = serde_json::from_str(json)
        .map_err(|e| Error::ServerList(format!("not valid JSON: {e}")))?;
    let (entries, librespeed) = match &doc {
        Value::Array(entries) => (entries, true),
        Value::Object(o) => match o.get("servers") {
            Some(Value::Array(entries)) => (entries, false),
            Some(_) => return Err(Error::ServerList("\"servers\" is not an array".to_owned())),
            None => {
                return Err(Error::ServerList(
                    "expected an object with a \"servers\" array, or LibreSpeed's array of servers"
                        .to_owned(),
                ));
            }
        },
        _ => {
            return Err(Error::ServerList(
                "expected an object or an array at the top level".to_owned(),
            ));
        }
    };
    if entries.len() > MAX_LIST_ENTRIES {
        return Err(Error::ServerList(format!(
            "{} entries is more than the {MAX_LIST_ENTRIES} a list may have",
            entries.len()
        )));
    }
    let mut list = ServerList::default();
    for (index, entry) in entries.iter().enumerate() {
        let parsed = if librespeed {
            librespeed_entry(entry)
        } else {
            own_entry(entry)
        };
        match parsed {
            Ok(c) => list.candidates.push(c),
            Err(reason) => list.rejected.push(Rejected {
                index,
                name: entry.get("name").and_then(Value::as_str).map(str::to_owned),
                reason,
            }),
        }
    }
    Ok(list)
}

/// The built-in list ([`crate::config::DEFAULT_SERVER_LIST`]).
pub fn default_list() -> Result<ServerList> {
    parse_list(crate::config::DEFAULT_SERVER_LIST)
}

fn own_entry(entry: &Value) -> std::result::Result<Candidate, String> {
    let e: OwnEntry = serde_json::from_value(entry.clone()).map_err(|e| e.to_string())?;
    let protocol = match e.protocol.as_deref() {
        None => ProtocolKind::Ispeed,
        Some(p) => p.parse().map_err(|e| Error::from(e).to_string())?,
    };
    let url = protocol::parse_base_url(&e.url).map_err(|e| e.to_string())?;
    Ok(Candidate {
        name: e.name.unwrap_or_else(|| url.to_string()),
        url: url.to_string(),
        protocol,
    })
}

fn librespeed_entry(entry: &Value) -> std::result::Result<Candidate, String> {
    let e: LibrespeedEntry = serde_json::from_value(entry.clone()).map_err(|e| e.to_string())?;
    // LibreSpeed's client appends the `/` a server address lacks before joining;
    // the public lists rely on it (`"server": "//host/backend"`).
    let mut server = if e.server.starts_with("//") {
        format!("https:{}", e.server)
    } else {
        e.server.clone()
    };
    if !server.ends_with('/') {
        server.push('/');
    }
    // LibreSpeed's client joins by concatenation; so do we, then insist on the
    // usual file names in one directory, which is all the protocol module knows.
    let dir_of = |path: &str, file: &str| -> std::result::Result<String, String> {
        let full = format!("{server}{path}");
        let url = reqwest::Url::parse(&full).map_err(|err| format!("{full:?}: {err}"))?;
        let p = url.path();
        match p.strip_suffix(file) {
            Some(dir) if dir.ends_with('/') => {
                let mut base = url.clone();
                base.set_path(dir);
                base.set_query(None);
                Ok(base.to_string())
            }
            _ => Err(format!(
                "{full} is not a {file} (entries with renamed backend files are not supported)"
            )),
        }
    };
    let dl = dir_of(&e.dl_url, "garbage.php")?;
    let ul = dir_of(&e.ul_url, "empty.php")?;
    let ping = dir_of(&e.ping_url, "empty.php")?;
    if dl != ul || dl != ping {
        return Err(format!(
            "the backend files are in different directories ({dl}, {ul}, {ping})"
        ));
    }
    let url = protocol::parse_base_url(&dl).map_err(|e| e.to_string())?;
    Ok(Candidate {
        name: e.name.unwrap_or_else(|| url.to_string()),
        url: url.to_string(),
        protocol: ProtocolKind::Librespeed,
    })
}

/// Bounds of a selection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SelectionConfig {
    /// Candidates pinged at the same time.
    pub concurrency: usize,
    /// Round trips timed per candidate, after one that opens the connection.
    pub samples: u32,
    /// Limit for one candidate, connection included.
    pub per_candidate: Duration,
    /// Limit for the whole selection; candidates not done by then are skipped.
    pub total: Duration,
}

impl Default for SelectionConfig {
    fn default() -> Self {
        Self {
            // Enough to ping LibreSpeed's hundred public servers in a few seconds,
            // few enough not to load a cell's uplink with handshakes.
            concurrency: 8,
            // Five round trips give a median that one delayed packet cannot move.
            samples: 5,
            // A server 3 s away is not the nearest.
            per_candidate: Duration::from_secs(3),
            total: Duration::from_secs(10),
        }
    }
}

/// A candidate that answered, with its latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    /// The server.
    #[serde(flatten)]
    pub candidate: Candidate,
    /// Median round trip, ms.
    pub median_ms: f64,
    /// Shortest round trip, ms.
    pub min_ms: f64,
    /// Round trips timed.
    pub samples: u32,
}

/// A candidate that was not ranked, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The server.
    #[serde(flatten)]
    pub candidate: Candidate,
    /// Stable code of the error (see [`Error::code`]).
    pub code: String,
    /// The error, to show.
    pub reason: String,
}

/// The outcome of pinging a list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// Candidates that answered, lowest median round trip first (list order on ties).
    pub ranked: Vec<Ranked>,
    /// Candidates that did not.
    pub skipped: Vec<Skipped>,
}

impl Selection {
    /// The nearest server, if any answered.
    pub fn best(&self) -> Option<&Ranked> {
        self.ranked.first()
    }
}

/// Pings every candidate (see the module documentation) and ranks them.
pub async fn rank(
    candidates: &[Candidate],
    select: &SelectionConfig,
    measure: &MeasureConfig,
) -> Selection {
    let deadline = Instant::now() + select.total;
    let mut outcomes: Vec<Option<Result<(f64, f64, u32)>>> =
        candidates.iter().map(|_| None).collect();
    // The futures are built first: a lazily mapped stream of borrowing closures is
    // not `Send` to the compiler, and the phone runs this on a spawned task.
    let pings: Vec<_> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| async move { (i, ping_candidate(c, select, measure).await) })
        .collect();
    let mut pings = futures_util::stream::iter(pings).buffer_unordered(select.concurrency.max(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            next = pings.next() => match next {
                Some((i, outcome)) => outcomes[i] = Some(outcome),
                None => break,
            },
        }
    }
    let mut selection = Selection::default();
    for (candidate, outcome) in candidates.iter().zip(outcomes) {
        let outcome = outcome.unwrap_or(Err(Error::Timeout {
            phase: Phase::Latency,
            after: select.total,
        }));
        match outcome {
            Ok((median_ms, min_ms, samples)) => selection.ranked.push(Ranked {
                candidate: candidate.clone(),
                median_ms,
                min_ms,
                samples,
            }),
            Err(e) => selection.skipped.push(Skipped {
                candidate: candidate.clone(),
                code: e.code().to_owned(),
                reason: e.to_string(),
            }),
        }
    }
    // Stable: equal medians keep the list's order, so the list's author breaks ties.
    selection
        .ranked
        .sort_by(|a, b| a.median_ms.total_cmp(&b.median_ms));
    selection
}

/// Ranks the candidates and returns the nearest, or why none would do.
pub async fn select(
    candidates: &[Candidate],
    select: &SelectionConfig,
    measure: &MeasureConfig,
) -> Result<(Ranked, Selection)> {
    if candidates.is_empty() {
        return Err(Error::ServerList("it holds no usable server".to_owned()));
    }
    let selection = rank(candidates, select, measure).await;
    match selection.best() {
        Some(best) => Ok((best.clone(), selection)),
        None => Err(Error::NoServerReachable {
            tried: candidates.len(),
            first_failure: selection
                .skipped
                .first()
                .map_or_else(String::new, |s| s.reason.clone()),
        }),
    }
}

/// Median and minimum round trip of one candidate (ms) and the sample count.
async fn ping_candidate(
    candidate: &Candidate,
    select: &SelectionConfig,
    measure: &MeasureConfig,
) -> Result<(f64, f64, u32)> {
    let protocol = protocol::for_server(candidate.protocol, &candidate.url)?;
    // A candidate the measurement would refuse is not pinged either.
    crate::http::check_transport_security(&protocol.ping_url(), measure.allow_plain_http)?;
    let (url, timing) = (protocol.ping_url(), protocol.ping_timing());
    let mut config = measure.clone();
    config.connect_timeout = config.connect_timeout.min(select.per_candidate);
    let client = crate::http::client(&config)?;
    let limit = select.per_candidate;
    let pings = async {
        // The first exchange opens the connection and is not a round trip.
        latency::round_trip(&client, &url, timing, Phase::Latency, limit).await?;
        let mut rtts = Vec::with_capacity(select.samples as usize);
        for _ in 0..select.samples.max(1) {
            let rtt = latency::round_trip(&client, &url, timing, Phase::Latency, limit).await?;
            rtts.push(rtt.as_secs_f64() * 1000.0);
        }
        Ok(rtts)
    };
    let rtts = tokio::time::timeout(limit, pings)
        .await
        .unwrap_or(Err(Error::Timeout {
            phase: Phase::Latency,
            after: limit,
        }))?;
    let median = stats::median(&rtts).unwrap_or(f64::INFINITY);
    let min = stats::percentile(&rtts, 0.0).unwrap_or(f64::INFINITY);
    Ok((median, min, rtts.len() as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(json: &str) -> ServerList {
        parse_list(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn our_format_parses_with_defaults() {
        let l = list(
            r#"{"servers":[
                {"name":"A","url":"http://10.0.0.1:8080","protocol":"ispeed"},
                {"url":"https://speed.cloudflare.com","protocol":"Cloudflare","extra":1},
                {"name":"C","url":"https://x.example/backend/","protocol":"librespeed"}
            ],"version":2}"#,
        );
        assert!(list_ok(&l));
        let got: Vec<_> = l
            .candidates
            .iter()
            .map(|c| (c.name.as_str(), c.url.as_str(), c.protocol))
            .collect();
        assert_eq!(
            got,
            [
                ("A", "http://10.0.0.1:8080/", ProtocolKind::Ispeed),
                (
                    "https://speed.cloudflare.com/",
                    "https://speed.cloudflare.com/",
                    ProtocolKind::Cloudflare
                ),
                ("C", "https://x.example/backend/", ProtocolKind::Librespeed),
            ]
        );
        let l = list(r#"{"servers":[{"url":"http://h/"}]}"#);
        assert_eq!(l.candidates[0].protocol, ProtocolKind::Ispeed);
    }

    fn list_ok(l: &ServerList) -> bool {
        l.rejected.is_empty()
    }

    #[test]
    fn librespeed_format_parses_like_its_client() {
        let l = list(
            r#"[
              {"name":"Docs example","server":"//test1.mydomain.com/","dlURL":"backend/garbage.php",
               "ulURL":"backend/empty.php","pingURL":"backend/empty.php","getIpURL":"backend/getIP.php"},
              {"name":"Flat","server":"http://192.168.135.38:60080/speedtest/","dlURL":"garbage.php",
               "ulURL":"empty.php","pingURL":"empty.php","getIpURL":"getIP.php","id":7,"sponsorName":"x"},
              {"name":"Renamed","server":"https://r.example/","dlURL":"dl.php",
               "ulURL":"empty.php","pingURL":"empty.php","getIpURL":"getIP.php"},
              {"name":"Split","server":"https://s.example/","dlURL":"a/garbage.php",
               "ulURL":"b/empty.php","pingURL":"a/empty.php","getIpURL":"getIP.php"},
              {"name":"No server","dlURL":"garbage.php","ulURL":"empty.php","pingURL":"empty.php"},
              {"name":"Bad","server":"::::","dlURL":"garbage.php","ulURL":"empty.php","pingURL":"empty.php"},
              42
            ]"#,
        );
        let got: Vec<_> = l
            .candidates
            .iter()
            .map(|c| (c.name.as_str(), c.url.as_str(), c.protocol))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Docs example",
                    "https://test1.mydomain.com/backend/",
                    ProtocolKind::Librespeed
                ),
                (
                    "Flat",
                    "http://192.168.135.38:60080/speedtest/",
                    ProtocolKind::Librespeed
                ),
            ]
        );
        let rejected: Vec<_> = l.rejected.iter().map(|r| r.index).collect();
        assert_eq!(rejected, [2, 3, 4, 5, 6]);
        assert!(l.rejected[0].reason.contains("garbage.php"));
        assert!(l.rejected[1].reason.contains("different directories"));
        assert!(l.rejected[2].reason.contains("server"));
        assert_eq!(l.rejected[2].name.as_deref(), Some("No server"));
    }

    #[test]
    fn a_server_without_trailing_slash_is_joined_as_librespeeds_client_does() {
        // The shape of LibreSpeed's public list (`librespeed.org/backend-servers`):
        // a protocol-relative server without a trailing slash, bare file names.
        let l = list(
            r#"[
              {"name":"Amsterdam, Netherlands (Clouvider)","server":"//ams.speedtest.clouvider.net/backend",
               "id":51,"dlURL":"garbage.php","ulURL":"empty.php","pingURL":"empty.php","getIpURL":"getIP.php",
               "sponsorName":"Clouvider","sponsorURL":"https://www.clouvider.co.uk/"},
              {"name":"Nuremberg, Germany","server":"https://de.example.org","dlURL":"backend/garbage.php",
               "ulURL":"backend/empty.php","pingURL":"backend/empty.php","getIpURL":"backend/getIP.php"}
            ]"#,
        );
        assert!(list_ok(&l), "{:?}", l.rejected);
        let urls: Vec<_> = l.candidates.iter().map(|c| c.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://ams.speedtest.clouvider.net/backend/",
                "https://de.example.org/backend/"
            ]
        );
    }

    #[test]
    fn bad_entries_of_our_format_are_rejected_with_reasons() {
        let l = list(
            r#"{"servers":[
                {"name":"no url"},
                {"name":"ftp","url":"ftp://h/"},
                {"name":"gopher","url":"http://h/","protocol":"gopher"},
                {"name":"num","url":5},
                {"name":"ok","url":"http://h/"}
            ]}"#,
        );
        assert_eq!(l.candidates.len(), 1);
        let reasons: Vec<_> = l.rejected.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons[0].contains("url"), "{reasons:?}");
        assert!(reasons[1].contains("http"), "{reasons:?}");
        assert!(reasons[2].contains("gopher"), "{reasons:?}");
        assert!(reasons[3].contains("string"), "{reasons:?}");
    }

    #[test]
    fn malformed_lists_are_typed_errors() {
        for bad in [
            "",
            "{",
            "null",
            "\"servers\"",
            "{}",
            r#"{"servers":{}}"#,
            r#"{"servers":null}"#,
            "[1,2",
            "\u{0}",
        ] {
            assert!(
                matches!(parse_list(bad), Err(Error::ServerList(_))),
                "{bad:?}"
            );
        }
        let huge = format!("[{}]", vec!["1"; MAX_LIST_ENTRIES + 1].join(","));
        assert!(matches!(parse_list(&huge), Err(Error::ServerList(m)) if m.contains("entries")));
        let long = " ".repeat(MAX_LIST_BYTES + 1);
        assert!(matches!(parse_list(&long), Err(Error::ServerList(m)) if m.contains("bytes")));
        assert_eq!(
            parse_list("[]").ok(),
            Some(ServerList::default()),
            "an empty list is a list"
        );
    }

    #[test]
    fn the_built_in_list_parses_without_rejects() {
        let l = default_list().unwrap_or_else(|e| panic!("{e}"));
        assert!(!l.candidates.is_empty());
        assert!(l.rejected.is_empty(), "{:?}", l.rejected);
    }

    #[tokio::test]
    async fn an_empty_list_selects_nothing_with_a_reason() {
        let r = select(&[], &SelectionConfig::default(), &MeasureConfig::default()).await;
        assert!(matches!(r, Err(Error::ServerList(_))));
    }
}
