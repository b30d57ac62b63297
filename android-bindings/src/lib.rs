//! `ispeed-android`: the i-Speed core packaged as the shared library the Android app
//! loads (`libispeed_android.so`, through JNA).
//!
//! Nothing but a re-export: the exported API lives in `ispeed_core::ffi`, and the
//! uniffi scaffolding the core declares travels with it. A crate that did not use
//! the core would export no uniffi function at all.

pub use ispeed_core::*;
