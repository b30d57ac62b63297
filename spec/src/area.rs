//! The campaign area a participant names: province, district, commune, hamlet, or an
//! organisation. The phone validates what a person types against these limits; the
//! collector reads what documents carry with the same limits ([`AreaDoc`]).

use serde::{Deserialize, Serialize};

/// Longest name of one level, in characters. The phone refuses longer names; the
/// collector cuts them (a hostile client must not make the report page huge).
pub const MAX_NAME_CHARS: usize = 120;

/// The levels of an area, most general first, as JSON keys.
pub const LEVELS: [&str; 5] = ["province", "district", "commune", "hamlet", "organisation"];

/// An area as a document gives it, read loosely: levels that are not strings are
/// ignored, names trimmed, their spacing collapsed, control characters dropped and
/// cut at [`MAX_NAME_CHARS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AreaDoc {
    /// Province or city.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// District or town.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// Commune, ward or township.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commune: Option<String>,
    /// Hamlet, village or residential group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hamlet: Option<String>,
    /// School, office or other organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
}

impl AreaDoc {
    /// Reads an area from a document's JSON, or `None` when it names nothing.
    pub fn from_value(v: &serde_json::Value) -> Option<Self> {
        let level = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_str)
                .map(clean_name)
                .filter(|s| !s.is_empty())
        };
        let a = AreaDoc {
            province: level("province"),
            district: level("district"),
            commune: level("commune"),
            hamlet: level("hamlet"),
            organisation: level("organisation"),
        };
        (a != AreaDoc::default()).then_some(a)
    }
}

/// A name as kept: whitespace runs collapsed to one space, control characters
/// dropped, at most [`MAX_NAME_CHARS`] characters.
pub fn clean_name(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_cut() {
        let long = "x".repeat(MAX_NAME_CHARS + 10);
        let v =
            serde_json::json!({ "commune": "  Tản\u{7}   Lĩnh ", "hamlet": long, "district": 7 });
        let a = AreaDoc::from_value(&v).expect("an area");
        assert_eq!(a.commune.as_deref(), Some("Tản Lĩnh"));
        assert_eq!(a.hamlet.map(|h| h.chars().count()), Some(MAX_NAME_CHARS));
        assert_eq!(a.district, None);
        assert_eq!(AreaDoc::from_value(&serde_json::json!({ "x": "y" })), None);
    }
}
