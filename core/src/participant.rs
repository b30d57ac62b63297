//! Campaign participation: who measured, as far as a campaign needs to count people
//! without identifying anyone.
//!
//! A participant is a random install id (a uuid v4 drawn once per installation, never
//! derived from the device) and the area the participant chose once: an administrative
//! place (province / district / commune / hamlet) or an organisation (a school, an
//! office). Both travel in every result document as its `participant` object, and the
//! way the sample was taken as its `mode`; the collector counts distinct install ids per
//! area and day from them. The store keeps them in its settings (`store::settings`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Longest name of one level of an area, in characters: longer than any Vietnamese
/// place name or school name, short enough that a pasted paragraph is refused.
pub const MAX_AREA_PART_CHARS: usize = ispeed_spec::area::MAX_NAME_CHARS;

/// The campaign area a participant belongs to. Each level is free text or a code
/// (`"Tản Lĩnh"` or the statistics office's `"09913"`), as the campaign prefers; the
/// collector groups samples by the levels given, ignoring case and spacing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Area {
    /// Province or centrally-governed city (tỉnh / thành phố).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub province: Option<String>,
    /// District (quận / huyện / thị xã).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub district: Option<String>,
    /// Commune, ward or township (xã / phường / thị trấn): the unit with a target of
    /// participants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub commune: Option<String>,
    /// Hamlet, village or residential group (thôn / ấp / bản / tổ dân phố).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub hamlet: Option<String>,
    /// An organisation taking part as such: a school, an office, a company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub organisation: Option<String>,
    /// Official code of the commune (General Statistics Office, `ispeed-areas`); when
    /// set, `province` and `commune` are its official names (see [`crate::areas`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub code: Option<u32>,
}

/// The levels of an [`Area`], in the order of the path form of [`Area::parse`].
const LEVELS: [&str; 4] = ["province", "district", "commune", "hamlet"];

impl Area {
    /// Parses an area from one of two forms:
    ///
    /// - `key=value` pairs separated by commas, keys `province`, `district`, `commune`,
    ///   `hamlet`, `organisation` (or `org`): `province=Hà Nội,commune=Tản Lĩnh`;
    /// - a path of 1 to 4 levels separated by `/`, most general first:
    ///   `Hà Nội/Ba Vì/Tản Lĩnh/Thôn 3` is province, district, commune and hamlet; a
    ///   shorter path fills the first levels.
    ///
    /// Values are trimmed and inner runs of spaces collapsed. An area must name a
    /// commune, a hamlet or an organisation: those are what a campaign counts.
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |why: String| Error::InvalidArea {
            spec: spec.to_owned(),
            reason: why,
        };
        let mut area = Area::default();
        if spec.contains('=') {
            for pair in spec.split(',').filter(|p| !p.trim().is_empty()) {
                let (key, value) = pair
                    .split_once('=')
                    .ok_or_else(|| bad(format!("{pair:?} is not key=value")))?;
                let slot = match key.trim().to_lowercase().as_str() {
                    "province" => &mut area.province,
                    "district" => &mut area.district,
                    "commune" => &mut area.commune,
                    "hamlet" => &mut area.hamlet,
                    "organisation" | "organization" | "org" => &mut area.organisation,
                    other => {
                        return Err(bad(format!(
                            "unknown level {other:?} (province, district, commune, hamlet, organisation)"
                        )));
                    }
                };
                if slot.is_some() {
                    return Err(bad(format!("{} is given twice", key.trim())));
                }
                *slot = Some(value.to_owned());
            }
        } else {
            let parts: Vec<&str> = spec.split('/').collect();
            if parts.len() > LEVELS.len() {
                return Err(bad(format!(
                    "a path has at most {} levels (province/district/commune/hamlet)",
                    LEVELS.len()
                )));
            }
            // "Hà Nội/Ba Vì/Tản Lĩnh" is the path down to a commune; a single name is
            // read as a commune, the level a campaign most often names alone.
            let start = if parts.len() == 1 { 2 } else { 0 };
            for (i, part) in parts.into_iter().enumerate() {
                *area.slot(start + i) = Some(part.to_owned());
            }
        }
        area.clean().map_err(bad)
    }

    fn slot(&mut self, level: usize) -> &mut Option<String> {
        match level {
            0 => &mut self.province,
            1 => &mut self.district,
            2 => &mut self.commune,
            _ => &mut self.hamlet,
        }
    }

    /// Every level with its name, most general first, the organisation last.
    pub fn levels(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("province", &self.province),
            ("district", &self.district),
            ("commune", &self.commune),
            ("hamlet", &self.hamlet),
            ("organisation", &self.organisation),
        ]
        .into_iter()
        .filter_map(|(level, v)| v.as_deref().map(|v| (level, v)))
    }

    /// Trims every level, drops empty ones, and checks what is left.
    fn clean(mut self) -> std::result::Result<Self, String> {
        for slot in [
            &mut self.province,
            &mut self.district,
            &mut self.commune,
            &mut self.hamlet,
            &mut self.organisation,
        ] {
            *slot = slot
                .take()
                .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|v| !v.is_empty());
            if let Some(v) = slot {
                if v.chars().count() > MAX_AREA_PART_CHARS {
                    return Err(format!(
                        "{v:?} is longer than {MAX_AREA_PART_CHARS} characters"
                    ));
                }
                if v.chars().any(char::is_control) || v.contains('/') {
                    return Err(format!("{v:?} contains a control character or '/'"));
                }
            }
        }
        if self.commune.is_none() && self.hamlet.is_none() && self.organisation.is_none() {
            return Err("name a commune, a hamlet or an organisation".to_owned());
        }
        Ok(self)
    }

    /// The same area checked as [`Area::parse`] checks it: for areas that arrive as
    /// fields (from the apps' settings screens) rather than as one string.
    pub fn validated(self) -> Result<Self> {
        let spec = self.to_string();
        self.clean()
            .map_err(|reason| Error::InvalidArea { spec, reason })
    }
}

impl std::fmt::Display for Area {
    /// The levels given, most general first, separated by ` / `.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<&str> = self.levels().map(|(_, v)| v).collect();
        f.write_str(&parts.join(" / "))
    }
}

/// Who measured, in a result document's `participant` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Random id of this installation (uuid v4), drawn once and kept in the settings:
    /// lets the collector count people, not samples. Not derived from the device.
    pub install_id: Uuid,
    /// The area the participant chose, if any.
    #[serde(default)]
    pub area: Option<Area>,
}

/// How a measurement was started, for the campaign's platform split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "lowercase")]
pub enum MeasureMode {
    /// Started by a scheduler without the user (Android auto-measure, `ispeed auto`).
    Auto,
    /// Started by a person (the Measure button, an iOS reminder, `ispeed measure`).
    Manual,
}

impl MeasureMode {
    /// Name as it appears in the result document.
    pub fn as_str(self) -> &'static str {
        match self {
            MeasureMode::Auto => "auto",
            MeasureMode::Manual => "manual",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(p: &[(&str, &str)]) -> Area {
        let mut a = Area::default();
        for (k, v) in p {
            let v = Some((*v).to_owned());
            match *k {
                "province" => a.province = v,
                "district" => a.district = v,
                "commune" => a.commune = v,
                "hamlet" => a.hamlet = v,
                _ => a.organisation = v,
            }
        }
        a
    }

    #[test]
    fn both_forms_parse_to_the_same_area() -> Result<()> {
        let want = area(&[
            ("province", "Hà Nội"),
            ("district", "Ba Vì"),
            ("commune", "Tản Lĩnh"),
            ("hamlet", "Thôn 3"),
        ]);
        assert_eq!(Area::parse("Hà Nội/Ba Vì/Tản Lĩnh/Thôn 3")?, want);
        assert_eq!(
            Area::parse(" hamlet = Thôn  3 ,commune=Tản Lĩnh,province=Hà Nội, district=Ba Vì ")?,
            want
        );
        assert_eq!(want.to_string(), "Hà Nội / Ba Vì / Tản Lĩnh / Thôn 3");
        Ok(())
    }

    #[test]
    fn short_forms_codes_and_organisations() -> Result<()> {
        assert_eq!(Area::parse("09913")?, area(&[("commune", "09913")]));
        assert_eq!(
            Area::parse("Hà Nội/Ba Vì/Tản Lĩnh")?,
            area(&[
                ("province", "Hà Nội"),
                ("district", "Ba Vì"),
                ("commune", "Tản Lĩnh")
            ])
        );
        assert_eq!(
            Area::parse("org=THPT Ba Vì,province=Hà Nội")?,
            area(&[("province", "Hà Nội"), ("organisation", "THPT Ba Vì")])
        );
        Ok(())
    }

    #[test]
    fn unusable_areas_are_refused_with_the_reason() {
        for (spec, why) in [
            ("", "name a commune"),
            ("province=Hà Nội", "name a commune"),
            ("Hà Nội/Ba Vì/", "name a commune"),
            ("a/b/c/d/e", "at most 4 levels"),
            ("village=X", "unknown level"),
            ("commune=A,commune=B", "twice"),
            ("commune=A\u{7}", "control character"),
        ] {
            let err = Area::parse(spec).expect_err(spec);
            assert_eq!(err.code(), "invalid_area");
            assert!(err.to_string().contains(why), "{spec:?}: {err}");
        }
        let long = "x".repeat(MAX_AREA_PART_CHARS + 1);
        assert!(Area::parse(&long).is_err());
        assert!(area(&[("district", "Ba Vì")]).validated().is_err());
        assert!(area(&[("commune", " A/B ")]).validated().is_err());
    }

    #[test]
    fn the_document_form_omits_absent_levels() -> Result<()> {
        let p = Participant {
            install_id: Uuid::nil(),
            area: Some(Area::parse("Tản Lĩnh")?),
        };
        let json = serde_json::to_value(&p).map_err(|e| Error::Config(e.to_string()))?;
        assert_eq!(
            json,
            serde_json::json!({
                "install_id": "00000000-0000-0000-0000-000000000000",
                "area": { "commune": "Tản Lĩnh" }
            })
        );
        Ok(())
    }
}
