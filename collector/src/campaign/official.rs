//! Areas counted by official commune code (`ispeed-areas`).
//!
//! A document whose area carries a `code` the catalogue holds is counted under that
//! commune's official province and commune names, whatever names it typed (`Dan
//! Tien`, `xã Dân Tiến` and a misspelt province are one commune), with its hamlet or
//! organisation under it as typed. Communes have belonged to provinces directly since
//! July 2025, so such an area has no district. A code the catalogue does not hold (a
//! phone with a newer catalogue, a typo in a hand-made document) is ignored and the
//! area counted by the names it typed, as an area without a code is: the sample is
//! kept and counted, not refused, and shows up under its free text until the
//! collector's catalogue knows the code.
//!
//! The rewrite happens once, where a document's facts are read
//! ([`super::SampleFacts::of`]), so both stores count official names without a
//! change to their tables; documents stored before keep the names they were counted
//! under. The progress filter (`area=5755`) is a commune code too: it stands for the
//! commune's official path ([`filter_path`]).

use ispeed_spec::area::AreaDoc;

/// `area` as counted: with a known code, the official province and commune names and
/// no district; otherwise unchanged.
pub fn canonical(mut area: AreaDoc) -> AreaDoc {
    let Some(commune) = area.code.and_then(ispeed_areas::commune) else {
        return area;
    };
    area.province = commune.province().map(|p| p.name.to_owned());
    area.district = None;
    area.commune = Some(commune.name.to_owned());
    area
}

/// A commune code given as a progress filter (`5755`, `05755`): `None` when the
/// filter is not digits alone, else the code.
pub fn filter_code(filter: &str) -> Option<&str> {
    let f = filter.trim();
    (!f.is_empty() && f.bytes().all(|b| b.is_ascii_digit())).then_some(f)
}

/// The official path (`Thái Nguyên/Xã Dân Tiến`) a code filter stands for: `Ok(None)`
/// when the filter is not a code, an error naming the code when the catalogue does
/// not hold it.
pub fn filter_path(filter: &str) -> Result<Option<String>, String> {
    let Some(digits) = filter_code(filter) else {
        return Ok(None);
    };
    let unknown = || {
        format!(
            "area {digits:?} is not a commune code of the official catalogue \
             (vietnam-provinces {}); find codes with `ispeed campaign area --search`",
            ispeed_areas::VERSION
        )
    };
    let code: u32 = digits.parse().map_err(|_| unknown())?;
    let commune = ispeed_areas::commune(code).ok_or_else(unknown)?;
    let province = commune.province().map(|p| p.name).unwrap_or_default();
    Ok(Some(format!("{province}/{}", commune.name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_known_code_wins_over_typed_names() {
        let typed = AreaDoc::from_value(&json!({
            "code": 5755, "province": "thai nguyen", "district": "Phú Bình",
            "commune": "Dan Tien", "hamlet": "Thôn 3"
        }));
        let a = canonical(typed.unwrap_or_default());
        assert_eq!(a.province.as_deref(), Some("Thái Nguyên"));
        assert_eq!(a.district, None);
        assert_eq!(a.commune.as_deref(), Some("Xã Dân Tiến"));
        assert_eq!(a.hamlet.as_deref(), Some("Thôn 3"));
        assert_eq!(a.code, Some(5755));
    }

    #[test]
    fn an_unknown_code_leaves_the_typed_names() {
        let typed = AreaDoc::from_value(&json!({ "code": 999_999, "commune": "Dan Tien" }))
            .unwrap_or_default();
        assert_eq!(canonical(typed.clone()), typed);
    }

    #[test]
    fn code_filters() {
        assert_eq!(
            filter_path(" 5755 "),
            Ok(Some("Thái Nguyên/Xã Dân Tiến".to_owned()))
        );
        assert_eq!(filter_path("Tản Lĩnh"), Ok(None));
        let err = filter_path("999999").err().unwrap_or_default();
        assert!(err.contains("not a commune code"), "{err}");
        assert!(filter_path("99999999999999999999").is_err());
    }
}
