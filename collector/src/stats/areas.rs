//! The official areas the statistics are kept for, from the catalogue
//! (`ispeed-areas`): a commune code and the province that holds it.
//!
//! Four codes name both a province and a commune (4, 8, 25, 91: Cao Bằng and Phường
//! Ba Đình share 4). A query writes codes as the General Statistics Office does:
//! a province in one or two digits (`4`, `04`, `19`), a commune in five (`00004`,
//! `05755`); a commune code of three or more significant digits needs no padding
//! (`5755`).

/// Level of an official area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AreaLevel {
    /// A commune, ward or special zone.
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
    ispeed_areas::commune(code).map(|c| c.province_code)
}

/// What a queried code names (see the module for how codes are written): its code,
/// level and official name.
pub fn lookup(text: &str) -> Option<(u32, AreaLevel, String)> {
    let text = text.trim();
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u32 = text.parse().ok()?;
    if text.len() <= 2 {
        return ispeed_areas::province(code)
            .map(|p| (code, AreaLevel::Province, p.name.to_owned()));
    }
    let commune = ispeed_areas::commune(code)?;
    // A short code in a long form is a commune only when written in full (`00004`).
    if ispeed_areas::province(code).is_some() && text.len() < 5 {
        return None;
    }
    Some((code, AreaLevel::Commune, commune.label()))
}

/// The code of an area as a query writes it (`19`, `00004`, `5755`).
pub fn query_code(code: u32, level: AreaLevel) -> String {
    match level {
        AreaLevel::Province => code.to_string(),
        AreaLevel::Commune => format!("{code:05}"),
    }
}

/// The communes of province `code`, in code order, with their names.
pub fn communes_of(code: u32) -> Vec<(u32, String)> {
    ispeed_areas::communes_of(code)
        .iter()
        .map(|c| (c.code, c.name.to_owned()))
        .collect()
}

/// Every province, in code order, with its name.
pub fn provinces() -> Vec<(u32, String)> {
    ispeed_areas::provinces()
        .iter()
        .map(|p| (p.code, p.name.to_owned()))
        .collect()
}
