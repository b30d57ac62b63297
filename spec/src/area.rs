//! The campaign area a participant names: province, district, commune, hamlet, or an
//! organisation. The phone validates what a person types against these limits; the
//! collector reads what documents carry with the same limits ([`Area::from_value`]).

pub use crate::participant::Area;

/// Longest name of one level, in characters. The phone refuses longer names; the
/// collector cuts them (a hostile client must not make the report page huge).
pub const MAX_NAME_CHARS: usize = 120;

/// The levels of an area, most general first, as JSON keys.
pub const LEVELS: [&str; 5] = ["province", "district", "commune", "hamlet", "organisation"];

/// The area as the collector reads it: the participant's [`Area`], the one type
/// of the wire (this name is kept for the collector's code).
pub type AreaDoc = Area;

impl Area {
    /// Reads an area from a document's JSON loosely, or `None` when it names nothing:
    /// levels that are not strings are ignored, names trimmed, their spacing collapsed,
    /// control characters dropped and cut at [`MAX_NAME_CHARS`] (the phone validates
    /// strictly, [`Area::validated`]; the collector keeps what it can).
    pub fn from_value(v: &serde_json::Value) -> Option<Self> {
        let level = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_str)
                .map(clean_name)
                .filter(|s| !s.is_empty())
        };
        let a = Area {
            province: level("province"),
            district: level("district"),
            commune: level("commune"),
            hamlet: level("hamlet"),
            organisation: level("organisation"),
            code: code_of(v.get("code")),
        };
        (a != Area::default()).then_some(a)
    }
}

/// An area code as a document gives it: a number, or a string of digits (`"05755"`);
/// anything else (negative, fractional, too large, other text) is no code.
fn code_of(v: Option<&serde_json::Value>) -> Option<u32> {
    match v? {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        serde_json::Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
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

    #[test]
    fn codes_are_read_as_numbers_or_digit_strings() {
        let code = |v: serde_json::Value| AreaDoc::from_value(&v).and_then(|a| a.code);
        assert_eq!(code(serde_json::json!({ "code": 5755 })), Some(5755));
        assert_eq!(code(serde_json::json!({ "code": "05755" })), Some(5755));
        for bad in [
            serde_json::json!(-1),
            serde_json::json!(1.5),
            serde_json::json!(u64::MAX),
            serde_json::json!("57a"),
            serde_json::json!(""),
            serde_json::json!(null),
        ] {
            assert_eq!(
                code(serde_json::json!({ "code": bad, "hamlet": "x" })),
                None,
                "{bad}"
            );
        }
        // A code alone is an area.
        let only = AreaDoc::from_value(&serde_json::json!({ "code": 5755 }));
        assert_eq!(only.map(|a| a.code), Some(Some(5755)));
    }
}
