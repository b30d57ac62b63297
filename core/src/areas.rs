//! The participant's area as an official commune code (`ispeed-areas`): search for the
//! area screens, the one-line `--area` form with a code, the official names a code
//! fills in, and the matching of free-text areas chosen before codes existed.
//!
//! The campaign counts participants per commune and the regulator publishes per
//! commune, so the area a participant chooses is a commune code, plus optional
//! free text under it (a hamlet, an organisation). The names travel too, for people
//! reading a document, but the code is what the collector counts by. The shells only
//! show [`search_areas`]'s list and hand back the chosen code; every rule is here.

use ispeed_areas::{Division, Resolution};

use crate::error::{Error, Result};
use crate::participant::Area;

/// Level of an [`OfficialArea`] that is a province.
pub const LEVEL_PROVINCE: &str = "province";
/// Level of an [`OfficialArea`] that is a commune.
pub const LEVEL_COMMUNE: &str = "commune";

/// Most results [`search_areas`] returns, whatever is asked: a screen's list.
pub const MAX_SEARCH_RESULTS: u32 = 100;

/// A province or commune of the official catalogue, as the apps show it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OfficialArea {
    /// `province` or `commune`.
    pub level: String,
    /// Official code (`5755`).
    pub code: u32,
    /// Official name with its kind (`Xã Dân Tiến`).
    pub name: String,
    /// Code of the province (its own for a province).
    pub province_code: u32,
    /// Name of the province (`Thái Nguyên`).
    pub province_name: String,
    /// One line for a list: `Xã Dân Tiến, Thái Nguyên`.
    pub label: String,
}

impl OfficialArea {
    fn of(division: Division) -> Self {
        match division {
            Division::Province(p) => Self {
                level: LEVEL_PROVINCE.to_owned(),
                code: p.code,
                name: p.name.to_owned(),
                province_code: p.code,
                province_name: p.name.to_owned(),
                label: p.name.to_owned(),
            },
            Division::Commune(c) => Self {
                level: LEVEL_COMMUNE.to_owned(),
                code: c.code,
                name: c.name.to_owned(),
                province_code: c.province_code,
                province_name: c.province().map(|p| p.name).unwrap_or_default().to_owned(),
                label: c.label(),
            },
        }
    }
}

/// The provinces and communes whose names match `text` (accents and case ignored),
/// best first, at most `limit` (capped at [`MAX_SEARCH_RESULTS`]); none for an empty
/// query. Rules: `docs/areas.md`.
pub fn search_areas(text: &str, limit: u32) -> Vec<OfficialArea> {
    let limit = limit.min(MAX_SEARCH_RESULTS) as usize;
    ispeed_areas::search(text, limit)
        .into_iter()
        .map(|m| OfficialArea::of(m.division))
        .collect()
}

/// The commune with official code `code`.
pub fn area_by_code(code: u32) -> Option<OfficialArea> {
    ispeed_areas::commune(code).map(|c| OfficialArea::of(Division::Commune(c)))
}

/// Parses an area typed as one line: a commune code alone (`5755`), `key=value` pairs
/// with a `code` (`code=5755,hamlet=Thôn 3`), or any form [`Area::parse`] reads. A
/// code fills the official province and commune names ([`with_official_names`]).
pub fn parse_area(spec: &str) -> Result<Area> {
    let trimmed = spec.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let code = parse_code(spec, trimmed)?;
        return with_official_names(Area {
            code: Some(code),
            ..Area::default()
        });
    }
    let mut code = None;
    let mut rest = Vec::new();
    if trimmed.contains('=') {
        for pair in trimmed.split(',') {
            match pair.split_once('=') {
                Some((key, value)) if key.trim().eq_ignore_ascii_case("code") => {
                    if code.is_some() {
                        return Err(invalid(spec, "code is given twice".to_owned()));
                    }
                    code = Some(parse_code(spec, value.trim())?);
                }
                _ => rest.push(pair),
            }
        }
    }
    let Some(code) = code else {
        return Area::parse(spec);
    };
    let mut area = if rest.iter().all(|p| p.trim().is_empty()) {
        Area::default()
    } else {
        parse_levels_under_code(spec, &rest.join(","))?
    };
    area.code = Some(code);
    with_official_names(area)
}

/// The levels given beside a code: free text under the commune, or the commune's own
/// names (replaced by the official ones).
fn parse_levels_under_code(spec: &str, rest: &str) -> Result<Area> {
    // Area::parse wants a commune, hamlet or organisation; a code with only a
    // province beside it is still a complete area, so lend it a commune to parse.
    match Area::parse(rest) {
        Ok(area) => Ok(area),
        Err(_) => Area::parse(&format!("{rest},commune=-"))
            .map(|mut a| {
                a.commune = None;
                a
            })
            .map_err(|e| match e {
                Error::InvalidArea { reason, .. } => invalid(spec, reason),
                e => e,
            }),
    }
}

fn parse_code(spec: &str, digits: &str) -> Result<u32> {
    digits
        .parse()
        .map_err(|_| invalid(spec, format!("{digits:?} is not a commune code")))
}

/// `area` with, when it has a code, the official province and commune names of that
/// code (whatever names it carried: the code wins) and no district (communes have
/// belonged to provinces directly since July 2025). An unknown code is refused.
/// Without a code the area is returned as it is.
pub fn with_official_names(mut area: Area) -> Result<Area> {
    let Some(code) = area.code else {
        return Ok(area);
    };
    let Some(commune) = ispeed_areas::commune(code) else {
        return Err(invalid(
            &area.to_string(),
            format!(
                "no commune has code {code} in the official catalogue ({} {})",
                "vietnam-provinces",
                ispeed_areas::VERSION
            ),
        ));
    };
    area.province = commune.province().map(|p| p.name.to_owned());
    area.district = None;
    area.commune = Some(commune.name.to_owned());
    Ok(area)
}

/// What [`match_free_text`] made of an area chosen as free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    /// The area already had a code, or names no commune: nothing to match.
    NotApplicable,
    /// Its names match exactly one commune: the area with that code.
    Unique(Area),
    /// Its names match several communes (or none): kept as it was.
    Kept,
}

/// Matches an area typed as free text (before codes existed) to a commune code, where
/// its commune name (in its province, when it names one) is that of exactly one
/// commune of the catalogue. The hamlet and organisation are kept; the province and
/// commune become the official names.
pub fn match_free_text(area: &Area) -> Matched {
    if area.code.is_some() {
        return Matched::NotApplicable;
    }
    let Some(commune) = area.commune.as_deref() else {
        return Matched::NotApplicable;
    };
    match ispeed_areas::resolve(area.province.as_deref(), commune) {
        Resolution::Unique(c) => {
            let coded = Area {
                code: Some(c.code),
                ..area.clone()
            };
            match with_official_names(coded) {
                Ok(a) => Matched::Unique(a),
                Err(_) => Matched::Kept,
            }
        }
        Resolution::Ambiguous(_) | Resolution::Unknown => Matched::Kept,
    }
}

fn invalid(spec: &str, reason: String) -> Error {
    Error::InvalidArea {
        spec: spec.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_fills_the_official_names() -> Result<()> {
        let a = parse_area("5755")?;
        assert_eq!(a.code, Some(5755));
        assert_eq!(a.commune.as_deref(), Some("Xã Dân Tiến"));
        assert_eq!(a.province.as_deref(), Some("Thái Nguyên"));
        let a = parse_area("code=5755, hamlet=Thôn 3")?;
        assert_eq!(
            (a.code, a.commune.as_deref(), a.hamlet.as_deref()),
            (Some(5755), Some("Xã Dân Tiến"), Some("Thôn 3"))
        );
        // Names typed beside a code give way to the official ones.
        let a = parse_area("commune=Dan Tien,code=05755,org=THPT X")?;
        assert_eq!(a.commune.as_deref(), Some("Xã Dân Tiến"));
        assert_eq!(a.organisation.as_deref(), Some("THPT X"));
        let a = parse_area("province=Thai Nguyen,code=5755")?;
        assert_eq!(a.province.as_deref(), Some("Thái Nguyên"));
        // Without a code, the free forms are as before.
        assert_eq!(
            parse_area("Hà Nội/Ba Vì/Tản Lĩnh")?,
            Area::parse("Hà Nội/Ba Vì/Tản Lĩnh")?
        );
        Ok(())
    }

    #[test]
    fn unknown_or_malformed_codes_are_refused() {
        for (spec, why) in [
            ("999999", "no commune has code 999999"),
            ("code=1", "no commune has code 1"),
            ("code=57x", "not a commune code"),
            ("code=5755,code=5755", "twice"),
            ("99999999999", "not a commune code"),
        ] {
            let err = parse_area(spec).map(|a| a.to_string());
            let Err(err) = err else {
                panic!("{spec:?} was accepted: {err:?}")
            };
            assert_eq!(err.code(), "invalid_area");
            assert!(err.to_string().contains(why), "{spec:?}: {err}");
        }
    }

    #[test]
    fn search_and_lookup_for_the_screens() {
        let found = search_areas("dan tien", 5);
        let first = found.first().cloned();
        assert_eq!(
            first.map(|a| (a.level, a.code, a.label)),
            Some((
                LEVEL_COMMUNE.to_owned(),
                5755,
                "Xã Dân Tiến, Thái Nguyên".to_owned()
            ))
        );
        assert!(search_areas("", 5).is_empty());
        assert_eq!(
            search_areas("a", 100_000).len(),
            MAX_SEARCH_RESULTS as usize
        );
        assert_eq!(area_by_code(5755).map(|a| a.province_code), Some(19));
        assert_eq!(area_by_code(19), None);
    }

    #[test]
    fn free_text_is_matched_where_unique_and_kept_where_not() -> Result<()> {
        let old = Area::parse("commune=dan tien,hamlet=Thôn 3")?;
        let Matched::Unique(a) = match_free_text(&old) else {
            panic!("Dân Tiến is one commune")
        };
        assert_eq!(a.code, Some(5755));
        assert_eq!(a.hamlet.as_deref(), Some("Thôn 3"));
        // A name no commune has, and a place that is not a commune, are kept.
        assert_eq!(match_free_text(&Area::parse("Tổ 7")?), Matched::Kept);
        assert_eq!(
            match_free_text(&Area::parse("org=THPT Ba Vì")?),
            Matched::NotApplicable
        );
        assert_eq!(match_free_text(&a), Matched::NotApplicable);
        Ok(())
    }
}
