//! Link options of the shared library the Android app loads.
//!
//! Most of its relocations are relative ones (pointers in static data: string
//! tables, vtables, panic locations), about 40 000 of them; stored one per 24-byte
//! entry they took 1 MB of a 8.8 MB library. Packed, they take a few kilobytes:
//! Android's packed format (bionic reads it from API 23; the module's minSdk is 26),
//! RELR on desktop Linux (glibc 2.36, binutils 2.38), where the tests and the
//! benchmark load and measure this library.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    match (os.as_str(), env.as_str()) {
        ("android", _) => println!("cargo:rustc-cdylib-link-arg=-Wl,--pack-dyn-relocs=android"),
        ("linux", "gnu") => println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs"),
        _ => {}
    }
}
