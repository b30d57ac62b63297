//! The official administrative catalogue for the area screens: search by name and
//! lookup by code ([`crate::areas`]). Free functions, not engine methods: the
//! catalogue is embedded and needs no data directory, so a screen can search before
//! an engine exists.

pub use crate::areas::OfficialArea;

/// The provinces and communes whose names match `text` (accents and case ignored),
/// best first, at most `limit` (at most 100); empty for an empty query. A shell shows
/// the list and keeps the chosen commune's `code` for [`super::Engine::set_area`].
#[uniffi::export]
pub fn search_areas(text: String, limit: u32) -> Vec<OfficialArea> {
    crate::areas::search_areas(&text, limit)
}

/// The commune with official code `code`, or nothing for a code the catalogue does
/// not hold.
#[uniffi::export]
pub fn area_by_code(code: u32) -> Option<OfficialArea> {
    crate::areas::area_by_code(code)
}

/// Version of the catalogue (`vietnam-provinces` on PyPI) the app carries.
#[uniffi::export]
pub fn areas_version() -> String {
    ispeed_areas::VERSION.to_owned()
}
