//! The deployment profile: what an operator bakes into its build of the app (a bundled
//! asset on Android, a resource on iOS, `--profile FILE` for `ispeed`), so that a fresh
//! install measures and reports without anyone typing a URL.
//!
//! The format, `ispeed.profile/1`, is documented in `docs/profile.md`; an example for
//! an i-Speed-style campaign is `examples/ispeed-vn.json`. Parsing is strict where a
//! mistake would cost a campaign its data (a missing collector, a server without a
//! URL, a time zone that does not exist: each an [`Error::Profile`] naming the field)
//! and lenient where a later version adds something: unknown fields are kept in
//! [`Profile::extra`] and written back unchanged.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::protocol::{self, ProtocolKind};
use crate::servers::Candidate;

/// The `schema` value of this version of the format.
pub const SCHEMA: &str = "ispeed.profile/1";

/// Largest profile accepted, bytes: a profile is a few kilobytes.
pub const MAX_PROFILE_BYTES: usize = 256 * 1024;

/// Targets of the campaign, as the operator announces them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Targets {
    /// Valid cellular measurements a participant is asked for each local day (iOS
    /// reminders count towards it).
    pub daily_per_participant: u32,
    /// Participants a commune should reach each day, when the campaign sets one.
    pub commune_participants: Option<u32>,
    /// Participants a hamlet should reach each day, when the campaign sets one.
    pub hamlet_participants: Option<u32>,
}

impl Default for Targets {
    fn default() -> Self {
        Self {
            daily_per_participant: crate::schedule::daily::DEFAULT_TARGET,
            commune_participants: None,
            hamlet_participants: None,
        }
    }
}

/// Mobile data the campaign allows itself on a participant's plan, one rule for the
/// phone and the CLI (see [`crate::session`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataBudget {
    /// Download budget of a measurement started by hand, megabytes (10^6 bytes); the
    /// upload gets the core's share of it. Settings may ask for less, never more.
    pub manual_megabytes: u32,
    /// Automatic measurements: megabytes a local day at most.
    pub auto_daily_megabytes: u32,
    /// Automatic measurements: megabytes a local calendar month at most.
    pub auto_monthly_megabytes: u32,
}

impl Default for DataBudget {
    fn default() -> Self {
        use crate::schedule::auto;
        Self {
            manual_megabytes: u32::try_from(crate::config::DOWNLOAD_BYTE_BUDGET / 1_000_000)
                .unwrap_or(u32::MAX),
            auto_daily_megabytes: (auto::DEFAULT_DAILY_BUDGET_BYTES / 1_000_000) as u32,
            auto_monthly_megabytes: (auto::DEFAULT_MONTHLY_BUDGET_BYTES / 1_000_000) as u32,
        }
    }
}

/// A parsed, checked deployment profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Name of the campaign, shown to the participant.
    pub campaign: String,
    /// Measurement servers listed inline, in the operator's order.
    pub servers: Vec<Candidate>,
    /// A server list (our format or LibreSpeed's) fetched when the app measures; its
    /// servers join the inline ones.
    pub server_list_url: Option<String>,
    /// Base URL of the campaign's collector.
    pub collector: String,
    /// IANA zone the campaign counts its days in; also the phone's zone when the
    /// platform does not tell.
    pub time_zone: String,
    /// The campaign's targets.
    pub targets: Targets,
    /// The campaign's data budget.
    pub data_budget: DataBudget,
    /// Public keys the app will trust for signed server lists and profiles (a later
    /// version checks them; today they are only carried).
    pub trusted_keys: Vec<String>,
    /// Public keys of the campaign's measurement servers, one `ispeed-ed25519 KEY_ID
    /// PUBLIC_KEY` line each (as `ispeed keygen` writes them): the receipts the
    /// collector trusts (`ispeed-collector --trusted-keys PROFILE`, docs/trust.md).
    pub server_keys: Vec<String>,
    /// Fields this version does not know, kept as they were.
    pub extra: Map<String, Value>,
}

/// Reads one field of an object, with its path for errors.
struct Fields<'a> {
    prefix: String,
    object: &'a Map<String, Value>,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Profile {
        field: field.into(),
        reason: reason.into(),
    }
}

impl<'a> Fields<'a> {
    fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    fn string(&self, key: &str) -> Result<Option<&'a str>> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(invalid(self.path(key), "is empty"))
            }
            Some(Value::String(s)) => Ok(Some(s.trim())),
            Some(_) => Err(invalid(self.path(key), "must be a string")),
        }
    }

    fn required_string(&self, key: &str) -> Result<&'a str> {
        self.string(key)?
            .ok_or_else(|| invalid(self.path(key), "is missing"))
    }

    fn count(&self, key: &str, min: u32) -> Result<Option<u32>> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) if n >= min => Ok(Some(n)),
                _ => Err(invalid(
                    self.path(key),
                    format!("must be a whole number of at least {min}"),
                )),
            },
        }
    }

    fn object(&self, key: &str) -> Result<Option<Fields<'a>>> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(Fields {
                prefix: self.path(key),
                object: o,
            })),
            Some(_) => Err(invalid(self.path(key), "must be an object")),
        }
    }
}

/// The fields this version reads; everything else goes to [`Profile::extra`].
const KNOWN: &[&str] = &[
    "schema",
    "campaign",
    "servers",
    "server_list_url",
    "collector",
    "time_zone",
    "targets",
    "data_budget",
    "trusted_keys",
    "server_keys",
];

impl Profile {
    /// Parses and checks a profile (see the module documentation).
    pub fn parse(json: &str) -> Result<Self> {
        if json.len() > MAX_PROFILE_BYTES {
            return Err(invalid(
                "profile",
                format!("{} bytes is more than {MAX_PROFILE_BYTES}", json.len()),
            ));
        }
        let doc: Value =
            serde_json::from_str(json).map_err(|e| invalid("profile", format!("not JSON: {e}")))?;
        let Value::Object(object) = &doc else {
            return Err(invalid("profile", "must be a JSON object"));
        };
        let top = Fields {
            prefix: String::new(),
            object,
        };
        let schema = top.required_string("schema")?;
        if schema != SCHEMA {
            return Err(invalid(
                "schema",
                format!("is {schema:?}; this app reads {SCHEMA:?}"),
            ));
        }
        let campaign = top.required_string("campaign")?.to_owned();
        let servers = parse_servers(object.get("servers"))?;
        let server_list_url = match top.string("server_list_url")? {
            None => None,
            Some(url) => Some(list_url(url)?),
        };
        if servers.is_empty() && server_list_url.is_none() {
            return Err(invalid(
                "servers",
                "is missing: give at least one server, or a server_list_url",
            ));
        }
        let collector = checked_url("collector", top.required_string("collector")?)?.to_string();
        let time_zone = top.required_string("time_zone")?;
        crate::schedule::parse_time_zone(time_zone)
            .map_err(|_| invalid("time_zone", format!("{time_zone:?} is not an IANA zone")))?;
        let mut targets = Targets::default();
        if let Some(t) = top.object("targets")? {
            if let Some(n) = t.count("daily_per_participant", 1)? {
                targets.daily_per_participant = n;
            }
            targets.commune_participants = t.count("commune_participants", 1)?;
            targets.hamlet_participants = t.count("hamlet_participants", 1)?;
        }
        let mut data_budget = DataBudget::default();
        if let Some(b) = top.object("data_budget")? {
            if let Some(n) = b.count("manual_megabytes", 2)? {
                data_budget.manual_megabytes = n;
            }
            if let Some(n) = b.count("auto_daily_megabytes", 1)? {
                data_budget.auto_daily_megabytes = n;
            }
            if let Some(n) = b.count("auto_monthly_megabytes", 1)? {
                data_budget.auto_monthly_megabytes = n;
            }
        }
        let trusted_keys = match object.get("trusted_keys") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(keys)) => keys
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    k.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| invalid(format!("trusted_keys[{i}]"), "must be a string"))
                })
                .collect::<Result<_>>()?,
            Some(_) => return Err(invalid("trusted_keys", "must be an array of strings")),
        };
        let server_keys = match object.get("server_keys") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(keys)) => keys
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let line = k.as_str().map(str::trim).unwrap_or_default();
                    let words: Vec<&str> = line.split_whitespace().collect();
                    if words.len() == 3 && words[0] == "ispeed-ed25519" {
                        Ok(line.to_owned())
                    } else {
                        Err(invalid(
                            format!("server_keys[{i}]"),
                            "must be a line `ispeed-ed25519 KEY_ID PUBLIC_KEY` as `ispeed keygen` writes it",
                        ))
                    }
                })
                .collect::<Result<_>>()?,
            Some(_) => return Err(invalid("server_keys", "must be an array of strings")),
        };
        let extra = object
            .iter()
            .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Self {
            campaign,
            servers,
            server_list_url,
            collector,
            time_zone: time_zone.to_owned(),
            targets,
            data_budget,
            trusted_keys,
            server_keys,
            extra,
        })
    }

    /// Reads and parses the profile in `path`.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid("profile", format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// The profile as JSON, unknown fields included.
    pub fn to_json(&self) -> Value {
        let mut doc = self.extra.clone();
        doc.insert("schema".into(), SCHEMA.into());
        doc.insert("campaign".into(), self.campaign.clone().into());
        let servers = self
            .servers
            .iter()
            .map(|c| {
                serde_json::json!({ "name": c.name, "url": c.url, "protocol": c.protocol.as_str() })
            })
            .collect();
        doc.insert("servers".into(), Value::Array(servers));
        if let Some(url) = &self.server_list_url {
            doc.insert("server_list_url".into(), url.clone().into());
        }
        doc.insert("collector".into(), self.collector.clone().into());
        doc.insert("time_zone".into(), self.time_zone.clone().into());
        doc.insert(
            "targets".into(),
            serde_json::to_value(&self.targets).unwrap_or_default(),
        );
        doc.insert(
            "data_budget".into(),
            serde_json::to_value(&self.data_budget).unwrap_or_default(),
        );
        doc.insert(
            "trusted_keys".into(),
            serde_json::to_value(&self.trusted_keys).unwrap_or_default(),
        );
        if !self.server_keys.is_empty() {
            doc.insert(
                "server_keys".into(),
                serde_json::to_value(&self.server_keys).unwrap_or_default(),
            );
        }
        Value::Object(doc)
    }
}

/// A base URL that must parse (plain HTTP is checked where it is used: a lab profile
/// names servers on loopback).
fn checked_url(field: &str, url: &str) -> Result<reqwest::Url> {
    protocol::parse_base_url(url).map_err(|e| invalid(field, e.to_string()))
}

/// The server list's URL: a file, not a base URL, so it is kept as written.
fn list_url(url: &str) -> Result<String> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u.to_string()),
        Ok(_) => Err(invalid("server_list_url", "must be an http(s) URL")),
        Err(e) => Err(invalid("server_list_url", format!("{url:?}: {e}"))),
    }
}

/// The inline servers, in our server-list format's entry shape.
fn parse_servers(value: Option<&Value>) -> Result<Vec<Candidate>> {
    let entries = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err(invalid("servers", "must be an array")),
    };
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let Value::Object(object) = entry else {
                return Err(invalid(format!("servers[{i}]"), "must be an object"));
            };
            let f = Fields {
                prefix: format!("servers[{i}]"),
                object,
            };
            let url = checked_url(&f.path("url"), f.required_string("url")?)?;
            let protocol = match f.string("protocol")? {
                None => ProtocolKind::Ispeed,
                Some(p) => p
                    .parse()
                    .map_err(|e| invalid(f.path("protocol"), Error::from(e).to_string()))?,
            };
            let name = f
                .string("name")?
                .map_or_else(|| url.to_string(), str::to_owned);
            Ok(Candidate {
                name,
                url: url.to_string(),
                protocol,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../examples/ispeed-vn.json");

    fn field_of(json: &str) -> String {
        match Profile::parse(json) {
            Err(Error::Profile { field, .. }) => field,
            other => panic!("{json}: expected a profile error, got {other:?}"),
        }
    }

    #[test]
    fn the_example_profile_parses() {
        let p = Profile::parse(EXAMPLE).expect("the example is valid");
        assert_eq!(p.time_zone, "Asia/Ho_Chi_Minh");
        assert!(!p.servers.is_empty());
        assert_eq!(p.targets.daily_per_participant, 3);
        assert!(p.collector.starts_with("https://"));
    }

    #[test]
    fn unknown_fields_are_kept_and_written_back() {
        let json = r#"{"schema":"ispeed.profile/1","campaign":"c","collector":"https://c.example",
            "time_zone":"UTC","servers":[{"name":"a","url":"https://a.example","protocol":"librespeed"}],
            "signed_by":{"alg":"ed25519"}}"#;
        let p = Profile::parse(json).expect("valid");
        assert_eq!(
            p.extra.get("signed_by"),
            Some(&serde_json::json!({"alg":"ed25519"}))
        );
        let again = Profile::parse(&p.to_json().to_string()).expect("round trip");
        assert_eq!(again, p);
        assert_eq!(p.servers[0].protocol, ProtocolKind::Librespeed);
    }

    #[test]
    fn a_missing_or_malformed_field_is_named() {
        let base = r#""schema":"ispeed.profile/1","campaign":"c","collector":"https://c.example","time_zone":"UTC""#;
        let srv = r#""servers":[{"url":"https://a.example"}]"#;
        assert_eq!(field_of(&format!("{{{base}}}")), "servers");
        assert_eq!(
            field_of(&format!(
                r#"{{{srv},"campaign":"c","collector":"https://c.example","time_zone":"UTC"}}"#
            )),
            "schema"
        );
        assert_eq!(
            field_of(&format!(
                r#"{{{srv},"schema":"ispeed.profile/9","campaign":"c","collector":"https://c.example","time_zone":"UTC"}}"#
            )),
            "schema"
        );
        assert_eq!(
            field_of(&format!(
                r#"{{{srv},"schema":"ispeed.profile/1","campaign":"c","time_zone":"UTC"}}"#
            )),
            "collector"
        );
        assert_eq!(
            field_of(&format!(
                r#"{{{srv},"schema":"ispeed.profile/1","campaign":"c","collector":"ftp://x","time_zone":"UTC"}}"#
            )),
            "collector"
        );
        assert_eq!(
            field_of(&format!(
                r#"{{{srv},"schema":"ispeed.profile/1","campaign":"c","collector":"https://c.example","time_zone":"Mars/Olympus"}}"#
            )),
            "time_zone"
        );
        assert_eq!(
            field_of(&format!(
                r#"{{{base},"servers":[{{"url":"https://a.example"}},{{"name":"b"}}]}}"#
            )),
            "servers[1].url"
        );
        assert_eq!(
            field_of(&format!(
                r#"{{{base},"servers":[{{"url":"https://a.example","protocol":"ndt7"}}]}}"#
            )),
            "servers[0].protocol"
        );
        assert_eq!(
            field_of(&format!(
                r#"{{{base},{srv},"targets":{{"daily_per_participant":0}}}}"#
            )),
            "targets.daily_per_participant"
        );
        assert_eq!(
            field_of(&format!(
                r#"{{{base},{srv},"data_budget":{{"manual_megabytes":"lots"}}}}"#
            )),
            "data_budget.manual_megabytes"
        );
        assert_eq!(field_of("[1,2]"), "profile");
        assert_eq!(field_of("{"), "profile");
        let err = Profile::parse(&format!("{{{base}}}")).expect_err("no servers");
        assert_eq!(err.code(), "invalid_profile");
        assert!(err.to_string().contains("servers"), "{err}");
    }

    #[test]
    fn server_keys_are_key_lines_and_round_trip() {
        let base = r#""schema":"ispeed.profile/1","campaign":"c","collector":"https://c.example","time_zone":"UTC","servers":[{"name":"a","url":"https://a.example/"}]"#;
        let line = "ispeed-ed25519 00112233aabbccdd AAAA";
        let p = Profile::parse(&format!(r#"{{{base},"server_keys":["{line}"]}}"#));
        let p = p.map(|p| (p.server_keys.clone(), p.to_json()["server_keys"][0].clone()));
        assert_eq!(
            p.ok(),
            Some((vec![line.to_owned()], Value::String(line.to_owned())))
        );
        assert_eq!(
            field_of(&format!(r#"{{{base},"server_keys":["ssh-ed25519 AAAA"]}}"#)),
            "server_keys[0]"
        );
    }

    #[test]
    fn a_server_list_url_alone_is_enough() {
        let p = Profile::parse(
            r#"{"schema":"ispeed.profile/1","campaign":"c","collector":"https://c.example",
                "time_zone":"UTC","server_list_url":"https://lists.example/servers.json"}"#,
        )
        .expect("valid");
        assert!(p.servers.is_empty());
        assert_eq!(
            p.server_list_url.as_deref(),
            Some("https://lists.example/servers.json")
        );
    }
}
