//! The embedded table (`data/divisions.tsv`) parsed into the catalogue.
//!
//! One line per province (`P code name kind`) followed by its communes
//! (`C code province-code name kind`); `#` lines are the header. The table is made by
//! `cargo xtask areas` and checked here: every code unique, every commune under a
//! province that exists, the declared counts met. Names are slices of the embedded
//! text, so the catalogue allocates only its vectors and the folded search keys.

use std::collections::HashMap;

use crate::fold::fold;
use crate::{Commune, Province};

/// The table as committed.
pub(crate) const TABLE: &str = include_str!("../data/divisions.tsv");

/// The parsed catalogue with its indexes.
#[derive(Debug, Default)]
pub(crate) struct Catalogue {
    /// Source version declared by the header (`# version`).
    pub version: &'static str,
    /// Provinces by code.
    pub provinces: Vec<Province>,
    /// Communes sorted by province then code, so a province's are one slice.
    pub communes: Vec<Commune>,
    /// Commune code → index into `communes`.
    pub commune_index: HashMap<u32, usize>,
    /// Province code → index into `provinces` and its range of `communes`.
    pub province_index: HashMap<u32, (usize, std::ops::Range<usize>)>,
    /// Folded search keys, parallel to `provinces`.
    pub province_keys: Vec<Keys>,
    /// Folded search keys, parallel to `communes`.
    pub commune_keys: Vec<Keys>,
}

/// A name folded for search: with and without its kind (`xa dan tien`, `dan tien`).
#[derive(Debug, Default)]
pub(crate) struct Keys {
    pub full: String,
    pub bare: String,
}

impl Keys {
    fn new(name: &str, prefixes: &[&str]) -> Self {
        let full = fold(name);
        let bare = prefixes
            .iter()
            .find_map(|p| full.strip_prefix(p).and_then(|r| r.strip_prefix(' ')))
            .filter(|r| !r.is_empty())
            .unwrap_or(&full)
            .to_owned();
        Self { full, bare }
    }
}

/// Kind words that open a province's name (`Thành phố Hà Nội`, `Tỉnh ...`), folded.
const PROVINCE_PREFIXES: [&str; 2] = ["thanh pho", "tinh"];

/// Parses `text` (the embedded table), checking its invariants.
pub(crate) fn parse(text: &'static str) -> Result<Catalogue, String> {
    let mut cat = Catalogue::default();
    let mut declared: Option<(usize, usize)> = None;
    for (n, line) in text.lines().enumerate() {
        let at = |msg: String| format!("divisions.tsv line {}: {msg}", n + 1);
        if let Some(header) = line.strip_prefix("# ") {
            let mut cells = header.split('\t');
            match (cells.next(), cells.next(), cells.next()) {
                (Some("version"), Some(v), _) => cat.version = v,
                (Some("counts"), Some(p), Some(c)) => {
                    let count = |s: &str| s.split(' ').next().and_then(|n| n.parse().ok());
                    declared = count(p).zip(count(c));
                }
                _ => {}
            }
            continue;
        }
        let cells: Vec<&'static str> = line.split('\t').collect();
        let code = |i: usize| -> Result<u32, String> {
            cells
                .get(i)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| at(format!("cell {i} is not a code")))
        };
        match cells.first() {
            Some(&"P") if cells.len() == 4 => {
                let code = code(1)?;
                let start = cat.communes.len();
                let index = cat.provinces.len();
                if cat
                    .province_index
                    .insert(code, (index, start..start))
                    .is_some()
                {
                    return Err(at(format!("province {code} twice")));
                }
                cat.province_keys
                    .push(Keys::new(cells[2], &PROVINCE_PREFIXES));
                cat.provinces.push(Province {
                    code,
                    name: cells[2],
                    kind: cells[3],
                });
            }
            Some(&"C") if cells.len() == 5 => {
                let (code, province_code) = (code(1)?, code(2)?);
                let Some((_, range)) = cat.province_index.get_mut(&province_code) else {
                    return Err(at(format!("commune {code} before its province")));
                };
                if cat.provinces.last().map(|p| p.code) != Some(province_code) {
                    return Err(at(format!("commune {code} outside its province's block")));
                }
                range.end += 1;
                if cat.commune_index.insert(code, cat.communes.len()).is_some() {
                    return Err(at(format!("commune {code} twice")));
                }
                let kind_prefix = fold(cells[4]);
                cat.commune_keys
                    .push(Keys::new(cells[3], &[kind_prefix.as_str()]));
                cat.communes.push(Commune {
                    code,
                    name: cells[3],
                    kind: cells[4],
                    province_code,
                });
            }
            _ if line.trim().is_empty() => {}
            _ => return Err(at(format!("not a table row: {line:?}"))),
        }
    }
    let found = (cat.provinces.len(), cat.communes.len());
    if declared != Some(found) {
        return Err(format!(
            "divisions.tsv declares {declared:?} (provinces, communes) but holds {found:?}"
        ));
    }
    if cat.version.is_empty() {
        return Err("divisions.tsv has no `# version` header".into());
    }
    Ok(cat)
}

#[cfg(test)]
mod tests {
    use super::{TABLE, parse};

    #[test]
    fn the_embedded_table_parses() {
        let cat = parse(TABLE).map_err(|e| e.to_string());
        assert!(cat.is_ok(), "{cat:?}");
    }

    #[test]
    fn a_broken_table_is_refused_with_its_line() {
        let err = |t: &'static str| parse(t).err().unwrap_or_default();
        let head = "# version\tx\n# counts\t1 provinces\t1 communes\n";
        let ok = format!("{head}P\t1\tA\ttỉnh\nC\t2\t1\tXã B\txã\n");
        assert!(parse(ok.leak()).is_ok());
        assert!(err("# version\tx\n# counts\t1 provinces\t1 communes\nP\t1\tA\ttỉnh\nC\t2\t9\tXã B\txã\n").contains("line 4"));
        assert!(err("# version\tx\n# counts\t1 provinces\t2 communes\nP\t1\tA\ttỉnh\nC\t2\t1\tXã B\txã\nC\t2\t1\tXã C\txã\n").contains("twice"));
        assert!(err("# version\tx\n# counts\t1 provinces\t2 communes\nP\t1\tA\ttỉnh\nC\t2\t1\tXã B\txã\n").contains("declares"));
        assert!(err("P\tx\tA\ttỉnh\n").contains("not a code"));
    }
}
