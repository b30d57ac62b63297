//! `ispeed-spec`: the wire contracts every part of i-Speed shares.
//!
//! The phone's core, the reference server, the collector and the CLI all speak these
//! types and constants; they live here, with serde and nothing else (no sockets, no
//! files, no database, no uniffi), so that no part has to depend on another to agree
//! with it. Names are contracts: fields and routes are added, never renamed. The result
//! document's field names are pinned by a golden file ([`result::GOLDEN_FIELDS`]).
//!
//! - [`result`]: the result document `ispeed.result/1` and its nested objects from
//!   [`measure`] (phases and their figures), [`network`] (the network and its
//!   policy), [`participant`] (who measured, where) and [`device`];
//! - [`upload`], [`routes`], [`campaign`], [`area`], [`codes`]: what the collector
//!   answers and the error codes both apps translate.

pub mod area;
pub mod attestation;
pub mod campaign;
pub mod codes;
pub mod device;
pub mod measure;
pub mod network;
pub mod participant;
pub mod result;
pub mod routes;
pub mod stats;
pub mod upload;
