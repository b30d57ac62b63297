//! `cargo xtask swift-check`: checks the generated Swift and the Swift shell as far
//! as a machine without a Swift compiler can.
//!
//! - every Swift file parses with tree-sitter-swift with zero ERROR or MISSING nodes
//!   (after blanking uniffi's `@_documentation` blocks, which the grammar does not
//!   know), and a deliberately broken snippet is still reported;
//! - the generated C header compiles with `gcc -fsyntax-only`;
//! - every function the header declares is defined in the built static library;
//! - the API checksums and contract version the Swift file expects are the ones the
//!   library returns.
//!
//! Not checked: Swift type checking, SwiftUI, Apple frameworks, linking for iOS.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bindings::{self, Profile};
use crate::util::{self, Result};

/// The checker run inside the venv.
const CHECKER: &str = include_str!("swift_check.py");
/// PyPI packages the checker needs.
const PACKAGES: [&str; 2] = ["tree-sitter", "tree-sitter-swift"];
/// The Swift package of the iOS shell.
const PACKAGE_DIR: &str = "ios-bindings/swift";

/// Runs every Swift check.
pub fn check() -> Result {
    let generated = bindings::run(Profile::Debug)?;
    let python = ensure_venv()?;
    let checker = util::tools_dir().join("swift_check.py");
    std::fs::write(&checker, CHECKER).map_err(|e| format!("{}: {e}", checker.display()))?;

    let swift = generated.swift_dir.join("IspeedCore.swift");
    let header = generated.swift_dir.join("IspeedCoreFFI.h");
    let mut files = vec![swift.clone()];
    files.extend(swift_files(&util::workspace_root().join(PACKAGE_DIR))?);

    eprintln!("xtask: tree-sitter parse of {} Swift files", files.len());
    util::run(
        Command::new(&python)
            .arg(&checker)
            .arg("parse")
            .args(&files),
    )?;

    util::run(
        Command::new("gcc")
            .args(["-fsyntax-only", "-x", "c", "-D_Nullable=", "-D_Nonnull="])
            .arg(&header),
    )?;
    println!("ok   {} compiles (gcc -fsyntax-only)", header.display());

    header_functions_exist(&header, &generated.ios_staticlib())?;

    util::run(
        Command::new(&python)
            .arg(&checker)
            .arg("checksums")
            .arg(&swift)
            .arg(generated.ios_cdylib()),
    )?;
    println!("swift-check: all checks passed");
    Ok(())
}

/// Fails unless every function declared in `header` is defined in `lib`.
fn header_functions_exist(header: &Path, lib: &Path) -> Result {
    let text = std::fs::read_to_string(header).map_err(|e| format!("{}: {e}", header.display()))?;
    let declared = declared_functions(&text);
    if declared.is_empty() {
        return Err(format!("no functions found in {}", header.display()));
    }
    let symbols = util::output(Command::new("nm").args(["--defined-only", "-g"]).arg(lib))?;
    let defined: BTreeSet<&str> = symbols
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace().rev();
            let name = parts.next()?;
            let kind = parts.next()?;
            (kind == "T").then_some(name)
        })
        .collect();
    let missing: Vec<&String> = declared
        .iter()
        .filter(|f| !defined.contains(f.as_str()))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} header functions are not in {}: {missing:?}",
            missing.len(),
            lib.display()
        ));
    }
    println!(
        "ok   all {} functions of the header are defined in {}",
        declared.len(),
        lib.display()
    );
    Ok(())
}

/// Names of the functions a uniffi header declares (`uniffi_*` and `ffi_*`).
fn declared_functions(header: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in header.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with("typedef") || line.starts_with("//") {
            continue;
        }
        // A declaration line: `RETURN_TYPE name(ARGS`; take the identifier before `(`.
        let Some(open) = line.find('(') else { continue };
        let name = line[..open]
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("");
        if name.starts_with("uniffi_") || name.starts_with("ffi_") {
            names.insert(name.to_owned());
        }
    }
    names
}

/// The venv's Python, creating the venv and installing the packages when missing.
fn ensure_venv() -> Result<PathBuf> {
    let venv = util::tools_dir().join("swift-venv");
    let python = venv.join("bin").join("python");
    let ready = python.is_file()
        && Command::new(&python)
            .args(["-c", "import tree_sitter, tree_sitter_swift"])
            .status()
            .is_ok_and(|s| s.success());
    if !ready {
        util::timed("installing tree-sitter into a venv (PyPI)", || {
            util::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
            util::run(
                Command::new(&python)
                    .args(["-m", "pip", "install", "--quiet"])
                    .args(PACKAGES),
            )
        })?;
    }
    Ok(python)
}

/// Every `.swift` file under `dir`, sorted. Generated copies (`build/`, from
/// `xcframework`) are checked as generated output, not here.
fn swift_files(dir: &Path) -> Result<Vec<PathBuf>> {
    util::files_with_extension(dir, "swift", &["build"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_are_found_and_typedefs_skipped() {
        let header = "typedef void (*UniffiRustFutureContinuationCallback)(uint64_t data);\n\
                      #ifndef UNIFFI_FFIDEF_X\n\
                      uint16_t uniffi_ispeed_checksum_method_engine_measure(void\n);\n\
                      void*_Nonnull uniffi_ispeed_fn_clone_engine(void*_Nonnull ptr, RustCallStatus *_Nonnull out_status\n\
                      uint32_t ffi_ispeed_uniffi_contract_version(void\n";
        let names = declared_functions(header);
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            [
                "ffi_ispeed_uniffi_contract_version",
                "uniffi_ispeed_checksum_method_engine_measure",
                "uniffi_ispeed_fn_clone_engine"
            ]
        );
    }
}
