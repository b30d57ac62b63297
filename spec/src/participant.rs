//! Who measured, as far as a campaign needs to count people without identifying
//! anyone: the document's `participant` object (a random install id and the area the
//! participant chose) and its `mode`.
//!
//! [`Area`] is the typed area the phone validates when a person types it; the
//! collector reads what documents carry loosely, as [`Area::from_value`].

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::area::MAX_NAME_CHARS as MAX_AREA_PART_CHARS;

/// An area that cannot be used as given. Its code, for the apps, is `invalid_area`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidArea {
    /// The area as given.
    pub spec: String,
    /// What is wrong with it.
    pub reason: String,
}

impl InvalidArea {
    /// Stable error code, as in [`crate::codes`].
    pub fn code(&self) -> &'static str {
        "invalid_area"
    }
}

impl std::fmt::Display for InvalidArea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid area {:?}: {}", self.spec, self.reason)
    }
}

impl std::error::Error for InvalidArea {}

/// The campaign area a participant belongs to: an official commune `code` (the
/// `ispeed-areas` catalogue) with its official names, or free-text levels where a
/// campaign names places outside the catalogue; hamlet and organisation are free text
/// under the commune. The collector counts a known code under its official names and
/// free text by the levels given, ignoring case and spacing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Area {
    /// Province or centrally-governed city (tỉnh / thành phố).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// District (quận / huyện / thị xã).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// Commune, ward or township (xã / phường / thị trấn): the unit with a target of
    /// participants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commune: Option<String>,
    /// Hamlet, village or residential group (thôn / ấp / bản / tổ dân phố).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hamlet: Option<String>,
    /// An organisation taking part as such: a school, an office, a company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// Official code of the commune (General Statistics Office, crate `ispeed-areas`);
    /// when set, `province` and `commune` are its official names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    pub fn parse(spec: &str) -> Result<Self, InvalidArea> {
        let bad = |why: String| InvalidArea {
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
    fn clean(mut self) -> Result<Self, String> {
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
    pub fn validated(self) -> Result<Self, InvalidArea> {
        let spec = self.to_string();
        self.clean().map_err(|reason| InvalidArea { spec, reason })
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
