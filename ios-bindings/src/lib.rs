//! `ispeed-ios`: the i-Speed core packaged as the static library of the iOS app
//! (`libispeed_ios.a`, wrapped in an XCFramework by `cargo xtask xcframework`).
//!
//! Nothing but a re-export: the exported API lives in `ispeed_core::ffi`, and the
//! uniffi scaffolding the core declares travels with it.

pub use ispeed_core::*;
