//! `uniffi-bindgen`: generates Kotlin and Swift from a built library.
//!
//! A bin target of our own (rather than `cargo install uniffi-bindgen`) guarantees
//! that the generator and the scaffolding in the library come from the same uniffi
//! version; `cargo xtask bindings` runs it in library mode.

fn main() {
    uniffi::uniffi_bindgen_main()
}
