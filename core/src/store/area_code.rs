//! The campaign area of an older install, chosen as free text before areas were
//! commune codes, matched to a code once ([`crate::areas::match_free_text`]).
//!
//! Where the typed commune (in the typed province, when given) is exactly one commune
//! of the catalogue, the stored area gets its code and official names, keeping the
//! hamlet and organisation; where it is not, the area stays as it was typed and the
//! collector keeps counting it by name. Either way the outcome is recorded (the
//! catalogue version and the area examined), so the match runs once per area and per
//! catalogue version, not at every read: a newer catalogue may resolve what an older
//! one could not.

use serde::{Deserialize, Serialize};

use super::Store;
use super::settings::{AREA, get, put};
use crate::areas::{Matched, match_free_text};
use crate::error::Result;
use crate::participant::Area;

/// Key of the record of the last match attempt.
const AREA_MATCHED: &str = "area_code_match";

/// Which area was examined against which catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Attempt {
    catalogue: String,
    area: Area,
}

impl Store {
    /// The stored area, matched to a code first when it is free text not yet examined
    /// against this catalogue.
    pub(super) fn area_with_code(&self) -> Result<Option<Area>> {
        let (area, attempt) = self.read(|c| {
            Ok((
                get::<Area>(c, AREA)?,
                get::<Attempt>(c, AREA_MATCHED).unwrap_or(None),
            ))
        })?;
        let Some(area) = area else { return Ok(None) };
        let examined =
            attempt.is_some_and(|a| a.catalogue == ispeed_areas::VERSION && a.area == area);
        if area.code.is_some() || examined {
            return Ok(Some(area));
        }
        self.write(|tx| {
            // Read again under the write lock: another process may have matched it.
            let Some(current) = get::<Area>(tx, AREA)? else {
                return Ok(None);
            };
            let matched = match match_free_text(&current) {
                Matched::Unique(coded) => {
                    put(tx, AREA, &coded)?;
                    coded
                }
                Matched::Kept | Matched::NotApplicable => current,
            };
            let attempt = Attempt {
                catalogue: ispeed_areas::VERSION.to_owned(),
                area: matched.clone(),
            };
            put(tx, AREA_MATCHED, &attempt)?;
            Ok(Some(matched))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::TempDir;

    /// A commune name that several provinces share, from the catalogue itself.
    fn ambiguous_commune() -> &'static str {
        let all = ispeed_areas::communes();
        all.iter()
            .map(|c| c.name)
            .find(|n| all.iter().filter(|c| c.name == *n).count() > 1)
            .unwrap_or_default()
    }

    #[test]
    fn a_unique_free_text_area_gets_its_code_once() -> Result<()> {
        let dir = TempDir::new("area-code-unique");
        let store = Store::open(dir.file("s.db"))?;
        // As an older install stored it: no code, the name typed without accents.
        store.set_area(Area::parse(
            "province=thai nguyen,commune=dan tien,hamlet=Thôn 3",
        )?)?;
        let area = store.area()?.unwrap_or_default();
        assert_eq!(area.code, Some(5755));
        assert_eq!(area.commune.as_deref(), Some("Xã Dân Tiến"));
        assert_eq!(area.province.as_deref(), Some("Thái Nguyên"));
        assert_eq!(area.hamlet.as_deref(), Some("Thôn 3"));
        // Stored: a fresh open reads the coded area, and the participant carries it.
        drop(store);
        let store = Store::open(dir.file("s.db"))?;
        assert_eq!(store.area()?, Some(area.clone()));
        assert_eq!(store.participant()?.area, Some(area));
        Ok(())
    }

    #[test]
    fn an_ambiguous_or_unknown_free_text_area_is_kept_as_typed() -> Result<()> {
        let dir = TempDir::new("area-code-kept");
        let store = Store::open(dir.file("s.db"))?;
        let shared = ambiguous_commune();
        assert!(!shared.is_empty(), "the catalogue has shared commune names");
        let typed = Area::parse(&format!("commune={shared},hamlet=Thôn 1"))?;
        store.set_area(typed.clone())?;
        assert_eq!(store.area()?, Some(typed.clone()));
        assert_eq!(store.area()?, Some(typed));
        let attempt: Option<Attempt> = store.setting(AREA_MATCHED)?;
        assert_eq!(
            attempt.map(|a| a.catalogue).as_deref(),
            Some(ispeed_areas::VERSION)
        );
        let unknown = Area::parse("Hà Nội/Ba Vì/Tản Lĩnh/Thôn 3")?;
        store.set_area(unknown.clone())?;
        assert_eq!(store.area()?, Some(unknown));
        Ok(())
    }
}
