//! The embedded catalogue as the apps and the collector use it: its size, its codes,
//! lookup, search and the matching of free text.

use std::collections::HashSet;

use ispeed_areas::{
    Division, Rank, Resolution, VERSION, commune, communes, communes_of, province, provinces,
    resolve, search,
};

#[test]
fn holds_34_provinces_and_3321_communes_of_the_declared_version() {
    assert_eq!(provinces().len(), 34);
    assert_eq!(communes().len(), 3321);
    assert_eq!(ispeed_areas::table_version(), VERSION);
    let per_province: usize = provinces().iter().map(|p| communes_of(p.code).len()).sum();
    assert_eq!(per_province, 3321);
    assert!(communes_of(9999).is_empty());
}

#[test]
fn codes_are_unique_and_every_commune_has_its_province() {
    let codes: HashSet<u32> = communes().iter().map(|c| c.code).collect();
    assert_eq!(codes.len(), communes().len());
    let codes: HashSet<u32> = provinces().iter().map(|p| p.code).collect();
    assert_eq!(codes.len(), provinces().len());
    for c in communes() {
        assert_eq!(commune(c.code), Some(c));
        let p = c.province().map(|p| p.code);
        assert_eq!(p, Some(c.province_code), "{c:?}");
        assert!(communes_of(c.province_code).contains(c));
        assert!(["xã", "phường", "đặc khu"].contains(&c.kind), "{c:?}");
    }
    assert_eq!(commune(0), None);
    assert_eq!(province(0), None);
}

#[test]
fn dan_tien_finds_xa_dan_tien_thai_nguyen_5755_first() {
    let found = search("dan tien", 10);
    let first = found.first().copied();
    let c = first.and_then(|m| m.commune());
    assert_eq!(c.map(|c| (c.code, c.name)), Some((5755, "Xã Dân Tiến")));
    assert_eq!(first.map(|m| m.rank), Some(Rank::Exact));
    assert_eq!(
        c.and_then(|c| c.province()).map(|p| p.name),
        Some("Thái Nguyên")
    );
    assert_eq!(
        c.map(|c| c.label()).as_deref(),
        Some("Xã Dân Tiến, Thái Nguyên")
    );
    assert_eq!(commune(5755).map(|c| c.name), Some("Xã Dân Tiến"));
    // The ranks never go back up.
    assert!(found.windows(2).all(|w| w[0].rank <= w[1].rank));
}

#[test]
fn tones_case_and_kind_typed_differently_find_the_same_commune() {
    for typed in [
        "Dân Tiến",
        "DÂN TIỂN",
        "dân tiên",
        "xa dan tien",
        "Xã  Dân-Tiến",
        "Da\u{0302}n Tie\u{0302}\u{0301}n",
    ] {
        let first = search(typed, 3).first().map(|m| m.code());
        assert_eq!(first, Some(5755), "{typed:?}");
    }
    // Narrowing by the province's words.
    let found = search("dan tien thai nguyen", 5);
    assert_eq!(found.first().map(|m| m.code()), Some(5755));
}

#[test]
fn a_province_name_lists_the_province_first_then_its_communes() {
    let found = search("thai nguyen", 50);
    let Some(Division::Province(p)) = found.first().map(|m| m.division) else {
        panic!("no province first: {found:?}");
    };
    assert_eq!(p.name, "Thái Nguyên");
    assert_eq!(found.len(), 50);
    // Everything after is a commune of Thái Nguyên (or named after it).
    for m in &found[1..] {
        let c = m.commune().map(|c| c.province_code);
        assert_eq!(c, Some(p.code), "{m:?}");
    }
    // A city's name without its kind.
    let found = search("ha noi", 1);
    assert_eq!(
        found.first().map(|m| (m.name(), m.rank)),
        Some(("Thành phố Hà Nội", Rank::Exact))
    );
    let found = search("Đắk Lắk", 1);
    assert_eq!(found.first().map(|m| m.name()), Some("Đắk Lắk"));
}

#[test]
fn prefix_matches_come_before_words_and_limit_holds() {
    let found = search("dan", 200);
    assert!(found.len() <= 200);
    let ranks: Vec<Rank> = found.iter().map(|m| m.rank).collect();
    assert!(ranks.contains(&Rank::Prefix));
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(search("dan", 3).len(), 3);
}

#[test]
fn an_empty_or_unknown_query_matches_nothing() {
    assert!(search("", 10).is_empty());
    assert!(search("   ", 10).is_empty());
    assert!(search(" ,.- ", 10).is_empty());
    assert!(search("dan tien", 0).is_empty());
    assert!(search("zzqqxx", 10).is_empty());
}

#[test]
fn free_text_resolves_where_unique_only() {
    let unique = |p: Option<&str>, c: &str| match resolve(p, c) {
        Resolution::Unique(c) => Some(c.code),
        _ => None,
    };
    assert_eq!(unique(None, "Dân Tiến"), Some(5755));
    assert_eq!(unique(Some("Thái Nguyên"), "xã dan tien"), Some(5755));
    assert_eq!(unique(Some("tỉnh thái nguyên"), "Dân Tiến"), Some(5755));
    // In another province there is no Dân Tiến.
    assert_eq!(resolve(Some("Cà Mau"), "Dân Tiến"), Resolution::Unknown);
    assert_eq!(resolve(Some("Nowhere"), "Dân Tiến"), Resolution::Unknown);
    assert_eq!(resolve(None, "Thôn 3"), Resolution::Unknown);
    assert_eq!(resolve(None, ""), Resolution::Unknown);
    // A name several provinces share is ambiguous alone, unique with its province.
    let shared = communes()
        .iter()
        .find(|c| {
            let same = |o: &&ispeed_areas::Commune| o.name == c.name;
            communes().iter().filter(same).count() > 1
                && communes_of(c.province_code).iter().filter(same).count() == 1
        })
        .copied();
    let Some(shared) = shared else {
        panic!("no commune name shared across provinces")
    };
    let Resolution::Ambiguous(all) = resolve(None, shared.name) else {
        panic!("{} should be ambiguous", shared.name)
    };
    assert!(all.len() > 1 && all.iter().any(|c| c.code == shared.code));
    let p = shared.province().map(|p| p.name);
    assert_eq!(unique(p, shared.name), Some(shared.code));
}
