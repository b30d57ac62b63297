//! Viet Nam's official administrative catalogue: the 34 provinces and centrally
//! governed cities and their 3,321 communes, wards and special zones since the
//! reorganisation of July 2025, with the codes of the General Statistics Office.
//!
//! A campaign counts participants per commune, and the regulator publishes per
//! commune: an area must be a code, not free text in which "Dân Tiến", "Dan Tien" and
//! "xã Dân Tiến" are three places. This crate is that catalogue, embedded
//! (`data/divisions.tsv`, made by `cargo xtask areas` from the PyPI package
//! `vietnam-provinces`, see `NOTICE`) and parsed once on first use: lookup by code,
//! the communes of a province, an accent- and case-insensitive [`search`], and
//! [`resolve`] for matching free text typed before codes existed. No I/O, no serde.
//!
//! ```
//! let first = ispeed_areas::search("dan tien", 5).first().copied();
//! let commune = first.and_then(|m| m.commune());
//! assert_eq!(commune.map(|c| (c.code, c.label())), Some((5755, "Xã Dân Tiến, Thái Nguyên".to_owned())));
//! assert_eq!(ispeed_areas::commune(5755).map(|c| c.province_code), Some(19));
//! ```

mod fold;
mod search;
mod table;

use std::sync::LazyLock;

pub use fold::fold;
pub use search::{Division, Match, Rank, search};

/// Version of the source package (`vietnam-provinces` on PyPI) the embedded table was
/// made from (also in the table's header; a test keeps the two equal).
pub const VERSION: &str = "2025.10.1";

/// A province or centrally governed city.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Province {
    /// Official code (`19` for Thái Nguyên).
    pub code: u32,
    /// Official name as written (`Thái Nguyên`, `Thành phố Hà Nội`).
    pub name: &'static str,
    /// Its kind, lower case (`tỉnh`, `thành phố trung ương`).
    pub kind: &'static str,
}

/// A commune, ward or special zone: the level a campaign counts participants at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Commune {
    /// Official code (`5755` for Xã Dân Tiến).
    pub code: u32,
    /// Official name with its kind (`Xã Dân Tiến`, `Phường Ba Đình`).
    pub name: &'static str,
    /// Its kind, lower case (`xã`, `phường`, `đặc khu`).
    pub kind: &'static str,
    /// Code of its province.
    pub province_code: u32,
}

impl Commune {
    /// Its province (always present for a commune of the catalogue).
    pub fn province(&self) -> Option<&'static Province> {
        province(self.province_code)
    }

    /// Name and province, as shown in a list: `Xã Dân Tiến, Thái Nguyên`.
    pub fn label(&self) -> String {
        match self.province() {
            Some(p) => format!("{}, {}", self.name, p.name),
            None => self.name.to_owned(),
        }
    }
}

/// The catalogue, parsed on first use. The table is checked by this crate's tests; a
/// table that failed to parse would leave an empty catalogue, never a panic in a
/// phone app.
fn catalogue() -> &'static table::Catalogue {
    static CATALOGUE: LazyLock<table::Catalogue> =
        LazyLock::new(|| table::parse(table::TABLE).unwrap_or_default());
    &CATALOGUE
}

/// The version the embedded table declares in its header (`2025.10.1`).
pub fn table_version() -> &'static str {
    catalogue().version
}

/// The commune with official code `code`.
pub fn commune(code: u32) -> Option<&'static Commune> {
    let cat = catalogue();
    cat.commune_index.get(&code).map(|&i| &cat.communes[i])
}

/// The province with official code `code`.
pub fn province(code: u32) -> Option<&'static Province> {
    let cat = catalogue();
    cat.province_index
        .get(&code)
        .map(|(i, _)| &cat.provinces[*i])
}

/// Every province, by code.
pub fn provinces() -> &'static [Province] {
    &catalogue().provinces
}

/// Every commune, by province then code.
pub fn communes() -> &'static [Commune] {
    &catalogue().communes
}

/// The communes of the province with code `province`, by code (empty for an unknown
/// code).
pub fn communes_of(province: u32) -> &'static [Commune] {
    let cat = catalogue();
    match cat.province_index.get(&province) {
        Some((_, range)) => &cat.communes[range.clone()],
        None => &[],
    }
}

/// What free text (a province and a commune as someone typed them, before areas were
/// codes) names in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Exactly one commune has that name (in that province, when one was given).
    Unique(&'static Commune),
    /// Several communes have that name: the text alone cannot choose.
    Ambiguous(Vec<&'static Commune>),
    /// No commune has that name.
    Unknown,
}

/// Matches free text to a commune: the commune's name compared folded, with or without
/// its kind (`Dan Tien`, `xã Dân Tiến`), and, when `province` is given and not empty,
/// only among that province's communes (its name with or without `Tỉnh`/`Thành phố`).
/// A province that matches no province of the catalogue resolves nothing: the text
/// is then not an official area.
pub fn resolve(province: Option<&str>, commune: &str) -> Resolution {
    let cat = catalogue();
    let name = fold(commune);
    if name.is_empty() {
        return Resolution::Unknown;
    }
    let province = province.map(fold).filter(|p| !p.is_empty());
    let in_province: Option<u32> = match &province {
        Some(p) => {
            let found = cat
                .provinces
                .iter()
                .zip(&cat.province_keys)
                .find(|(_, k)| &k.full == p || &k.bare == p || bare_of(p) == k.bare);
            match found {
                Some((p, _)) => Some(p.code),
                None => return Resolution::Unknown,
            }
        }
        None => None,
    };
    let found: Vec<&'static Commune> = cat
        .communes
        .iter()
        .zip(&cat.commune_keys)
        .filter(|(c, _)| in_province.is_none_or(|p| c.province_code == p))
        .filter(|(_, k)| k.full == name || k.bare == name)
        .map(|(c, _)| c)
        .collect();
    match found.as_slice() {
        [] => Resolution::Unknown,
        [one] => Resolution::Unique(one),
        _ => Resolution::Ambiguous(found),
    }
}

/// A folded province name without a leading `tinh ` / `thanh pho ` (as typed).
fn bare_of(folded: &str) -> &str {
    ["tinh ", "thanh pho ", "tp "]
        .iter()
        .find_map(|p| folded.strip_prefix(p))
        .unwrap_or(folded)
}
