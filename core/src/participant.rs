//! Campaign participation: who measured, as far as a campaign needs to count people
//! without identifying anyone.
//!
//! A participant is a random install id (a uuid v4 drawn once per installation, never
//! derived from the device) and the area the participant chose once: an administrative
//! place (province / district / commune / hamlet) or an organisation (a school, an
//! office). Both travel in every result document as its `participant` object, and the
//! way the sample was taken as its `mode`; the collector counts distinct install ids per
//! area and day from them. The store keeps them in its settings (`store::settings`).
//!
//! The types are the wire contract and live in `ispeed-spec`
//! ([`ispeed_spec::participant`]), with the parsing and checks of an area, which need
//! nothing but the text; they are re-exported here.

pub use ispeed_spec::participant::{Area, InvalidArea, MeasureMode, Participant};

/// Longest name of one level of an area, in characters: longer than any Vietnamese
/// place name or school name, short enough that a pasted paragraph is refused.
pub const MAX_AREA_PART_CHARS: usize = ispeed_spec::area::MAX_NAME_CHARS;

// The apps' view of the re-exported wire types. `ispeed-spec` stays free of uniffi, so
// uniffi exports them through remote declarations: the definitions restated, from which
// it generates the conversions (see `crate::ffi`). They are declared in this module, where
// the types were defined, because uniffi's checksums hash the declaring module's path:
// declared anywhere else, the generated Kotlin and Swift would change.

/// The campaign area a participant belongs to: an official commune `code` (the
/// `ispeed-areas` catalogue) with its official names, or free-text levels where a
/// campaign names places outside the catalogue; hamlet and organisation are free text
/// under the commune. The collector counts a known code under its official names and
/// free text by the levels given, ignoring case and spacing.
#[cfg(feature = "uniffi")]
#[uniffi::remote(Record)]
pub struct Area {
    /// Province or centrally-governed city (tỉnh / thành phố).
    #[uniffi(default)]
    pub province: Option<String>,
    /// District (quận / huyện / thị xã).
    #[uniffi(default)]
    pub district: Option<String>,
    /// Commune, ward or township (xã / phường / thị trấn): the unit with a target of
    /// participants.
    #[uniffi(default)]
    pub commune: Option<String>,
    /// Hamlet, village or residential group (thôn / ấp / bản / tổ dân phố).
    #[uniffi(default)]
    pub hamlet: Option<String>,
    /// An organisation taking part as such: a school, an office, a company.
    #[uniffi(default)]
    pub organisation: Option<String>,
    /// Official code of the commune (General Statistics Office, `ispeed-areas`); when
    /// set, `province` and `commune` are its official names (see [`crate::areas`]).
    #[uniffi(default)]
    pub code: Option<u32>,
}

/// How a measurement was started, for the campaign's platform split.
#[cfg(feature = "uniffi")]
#[uniffi::remote(Enum)]
pub enum MeasureMode {
    /// Started by a scheduler without the user (Android auto-measure, `ispeed auto`).
    Auto,
    /// Started by a person (the Measure button, an iOS reminder, `ispeed measure`).
    Manual,
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::error::{Error, Result};

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
