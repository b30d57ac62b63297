//! `ispeed-spec`: the wire contracts every part of i-Speed shares.
//!
//! The phone's core, the reference server, the collector and the CLI all speak these
//! types and constants; they live here, with serde and nothing else (no sockets, no
//! files, no database), so that no part has to depend on another to agree with it.
//! Names are contracts: fields and routes are added, never renamed. The result
//! document's field names are pinned by a golden file ([`result::GOLDEN_FIELDS`]).

pub mod area;
pub mod campaign;
pub mod codes;
pub mod result;
pub mod routes;
pub mod stats;
pub mod upload;
