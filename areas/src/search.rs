//! Search by name: what a participant types in the area screen, matched against every
//! province and commune.
//!
//! The query and the names are compared folded ([`crate::fold`]: no accents, `đ` as
//! `d`, any case). A name matches at the best of four ranks, and results come in rank
//! order:
//!
//! 1. [`Rank::Exact`]: the query is the name, with or without its kind
//!    (`dan tien`, `xã dân tiến`);
//! 2. [`Rank::Prefix`]: the name starts with the query (`dan ti`);
//! 3. [`Rank::Words`]: each query word starts a word of the name or of its province
//!    (`dan tien thai nguyen`, `tien thai`): how people add the province to narrow;
//! 4. [`Rank::Contains`]: each query word occurs inside the name or province.
//!
//! Within a rank provinces come before communes, then shorter names, then names in
//! folded order, then codes, so the order is stable across runs and platforms. The
//! catalogue is ~3,400 names: a linear scan over the folded keys is well under a
//! millisecond and needs no index.

use crate::fold::fold;
use crate::table::Keys;
use crate::{Commune, Province, catalogue};

/// How well a name matched a query; earlier is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rank {
    /// The query is the name (with or without its kind).
    Exact,
    /// The name starts with the query.
    Prefix,
    /// Each query word starts a word of the name or its province.
    Words,
    /// Each query word occurs somewhere in the name or its province.
    Contains,
}

/// A province or a commune of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Division {
    /// One of the 34 provinces and centrally governed cities.
    Province(&'static Province),
    /// One of the 3,321 communes, wards and special zones.
    Commune(&'static Commune),
}

/// One search result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// What matched.
    pub division: Division,
    /// How well.
    pub rank: Rank,
}

impl Match {
    /// The official code of the province or commune.
    pub fn code(&self) -> u32 {
        match self.division {
            Division::Province(p) => p.code,
            Division::Commune(c) => c.code,
        }
    }

    /// The official name with its kind (`Xã Dân Tiến`, `Thành phố Hà Nội`).
    pub fn name(&self) -> &'static str {
        match self.division {
            Division::Province(p) => p.name,
            Division::Commune(c) => c.name,
        }
    }

    /// The commune, when a commune matched.
    pub fn commune(&self) -> Option<&'static Commune> {
        match self.division {
            Division::Province(_) => None,
            Division::Commune(c) => Some(c),
        }
    }

    /// The province: the match itself or the commune's.
    pub fn province(&self) -> Option<&'static Province> {
        match self.division {
            Division::Province(p) => Some(p),
            Division::Commune(c) => c.province(),
        }
    }
}

/// The provinces and communes matching `text`, best first, at most `limit`. An empty
/// query (or one of only spaces and punctuation) matches nothing.
pub fn search(text: &str, limit: usize) -> Vec<Match> {
    let query = fold(text);
    if query.is_empty() || limit == 0 {
        return Vec::new();
    }
    let words: Vec<&str> = query.split(' ').collect();
    let cat = catalogue();
    let mut found: Vec<(Rank, u8, &Keys, Match)> = Vec::new();
    for (p, keys) in cat.provinces.iter().zip(&cat.province_keys) {
        if let Some(rank) = rank(&query, &words, keys, None) {
            let division = Division::Province(p);
            found.push((rank, 0, keys, Match { division, rank }));
        }
    }
    for (c, keys) in cat.communes.iter().zip(&cat.commune_keys) {
        let province = cat
            .province_index
            .get(&c.province_code)
            .and_then(|(i, _)| cat.province_keys.get(*i));
        if let Some(rank) = rank(&query, &words, keys, province) {
            let division = Division::Commune(c);
            found.push((rank, 1, keys, Match { division, rank }));
        }
    }
    found.sort_by(|a, b| {
        (a.0, a.1, a.2.bare.len(), &a.2.bare, a.3.code()).cmp(&(
            b.0,
            b.1,
            b.2.bare.len(),
            &b.2.bare,
            b.3.code(),
        ))
    });
    found.into_iter().take(limit).map(|f| f.3).collect()
}

/// The rank at which folded `query` (split into `words`) matches a name, if any.
fn rank(query: &str, words: &[&str], keys: &Keys, province: Option<&Keys>) -> Option<Rank> {
    if query == keys.bare || query == keys.full {
        return Some(Rank::Exact);
    }
    if keys.bare.starts_with(query) || keys.full.starts_with(query) {
        return Some(Rank::Prefix);
    }
    let names = [Some(&keys.full), province.map(|p| &p.full)];
    let starts_a_word = |w: &str| {
        names
            .iter()
            .flatten()
            .any(|n| n.split(' ').any(|nw| nw.starts_with(w)))
    };
    if words.iter().all(|w| starts_a_word(w)) {
        return Some(Rank::Words);
    }
    if words
        .iter()
        .all(|w| names.iter().flatten().any(|n| n.contains(w)))
    {
        return Some(Rank::Contains);
    }
    None
}
