//! The official areas the statistics are kept for: a commune code and the province
//! that holds it.
//!
//! Until the official catalogue (`ispeed-areas`) is merged this module knows only
//! the areas listed in [`KNOWN`]; every lookup of the statistics goes through these
//! three functions, so pointing them at the catalogue changes nothing else.

/// (commune code, province code, commune name, province name) of the areas known
/// before the catalogue lands.
const KNOWN: &[(u32, u32, &str, &str)] = &[
    (5755, 19, "Xã Dân Tiến", "Thái Nguyên"),
    (4, 1, "Phường Ba Đình", "Hà Nội"),
    (8, 1, "Phường Ngọc Hà", "Hà Nội"),
    (26734, 79, "Phường Sài Gòn", "Hồ Chí Minh"),
];

/// Level of an official area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AreaLevel {
    /// A commune or ward.
    Commune,
    /// A province or centrally governed city.
    Province,
}

impl AreaLevel {
    /// Its database code.
    pub fn code(self) -> i16 {
        match self {
            AreaLevel::Commune => 1,
            AreaLevel::Province => 2,
        }
    }

    /// Its name in the API.
    pub fn name(self) -> &'static str {
        match self {
            AreaLevel::Commune => "commune",
            AreaLevel::Province => "province",
        }
    }
}

/// The province of commune `code`, when `code` is an official commune.
pub fn province_of(code: u32) -> Option<u32> {
    KNOWN.iter().find(|k| k.0 == code).map(|k| k.1)
}

/// What `code` names: a commune or a province, with its official name.
pub fn lookup(code: u32) -> Option<(AreaLevel, String)> {
    if let Some(k) = KNOWN.iter().find(|k| k.0 == code) {
        return Some((AreaLevel::Commune, format!("{}, {}", k.2, k.3)));
    }
    KNOWN
        .iter()
        .find(|k| k.1 == code)
        .map(|k| (AreaLevel::Province, k.3.to_owned()))
}

/// The communes of province `code`, in code order.
pub fn communes_of(code: u32) -> Vec<(u32, String)> {
    let mut v: Vec<(u32, String)> = KNOWN
        .iter()
        .filter(|k| k.1 == code)
        .map(|k| (k.0, k.2.to_owned()))
        .collect();
    v.sort();
    v
}

/// Every province, in code order, with its name.
pub fn provinces() -> Vec<(u32, String)> {
    let mut v: Vec<(u32, String)> = KNOWN.iter().map(|k| (k.1, k.3.to_owned())).collect();
    v.sort();
    v.dedup();
    v
}
