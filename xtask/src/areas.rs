//! `cargo xtask areas --from PATH --version V`: regenerates `areas/data/divisions.tsv`,
//! the administrative catalogue the `ispeed-areas` crate embeds, from the JSON that the
//! PyPI package `vietnam-provinces` ships (`vietnam_provinces/data/nested-divisions.json`).
//!
//! The table keeps only the facts the apps and the collector use (code, name, kind,
//! province), one line each, sorted by province then code, so a new release of the
//! catalogue is a readable diff. Its header names the source version and the SHA-256
//! of the JSON it was made from.

use std::fmt::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::{Result, workspace_root};

/// Where the table lives, relative to the workspace root.
const TABLE: &str = "areas/data/divisions.tsv";

/// Arguments of `cargo xtask areas`.
#[derive(Debug, clap::Args)]
pub struct AreasArgs {
    /// The package's `nested-divisions.json` (from
    /// `pip download vietnam-provinces==VERSION --no-deps`, unzipped).
    #[arg(long)]
    pub from: std::path::PathBuf,
    /// The package version the JSON comes from (recorded in the table's header).
    #[arg(long)]
    pub version: String,
}

/// Reads the JSON, writes the table, prints the counts.
pub fn run(args: &AreasArgs) -> Result {
    let bytes = std::fs::read(&args.from)
        .map_err(|e| format!("cannot read {}: {e}", args.from.display()))?;
    let table = render(&bytes, &args.version)?;
    let out = workspace_root().join(TABLE);
    std::fs::write(&out, &table).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    let provinces = table.lines().filter(|l| l.starts_with("P\t")).count();
    let communes = table.lines().filter(|l| l.starts_with("C\t")).count();
    println!(
        "wrote {} ({provinces} provinces, {communes} communes, {} bytes)",
        out.display(),
        table.len()
    );
    Ok(())
}

/// The table for the JSON `bytes` of package version `version`.
fn render(bytes: &[u8], version: &str) -> Result<String> {
    let json: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let provinces = json.as_array().ok_or("expected a list of provinces")?;
    let sha: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut rows = Vec::new();
    for p in provinces {
        let code = field_u32(p, "code")?;
        let name = field_str(p, "name")?;
        let kind = field_str(p, "division_type")?;
        let mut communes = Vec::new();
        for w in p["wards"].as_array().ok_or("a province without `wards`")? {
            communes.push((
                field_u32(w, "code")?,
                field_str(w, "name")?,
                field_str(w, "division_type")?,
            ));
        }
        communes.sort_by_key(|c| c.0);
        rows.push((code, name, kind, communes));
    }
    rows.sort_by_key(|r| r.0);
    let total: usize = rows.iter().map(|r| r.3.len()).sum();
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "# ispeed-areas table 1: Viet Nam's provinces and communes"
    );
    let _ = writeln!(out, "# source\tvietnam-provinces");
    let _ = writeln!(out, "# version\t{version}");
    let _ = writeln!(out, "# file\tvietnam_provinces/data/nested-divisions.json");
    let _ = writeln!(out, "# sha256\t{sha}");
    let _ = writeln!(out, "# counts\t{} provinces\t{total} communes", rows.len());
    let _ = writeln!(
        out,
        "# regenerate\tcargo xtask areas --from nested-divisions.json --version {version}"
    );
    let _ = writeln!(out, "# P\tcode\tname\tkind");
    let _ = writeln!(out, "# C\tcode\tprovince code\tname\tkind");
    for (code, name, kind, communes) in rows {
        let _ = writeln!(out, "P\t{code}\t{name}\t{kind}");
        for (c, n, k) in communes {
            let _ = writeln!(out, "C\t{c}\t{code}\t{n}\t{k}");
        }
    }
    Ok(out)
}

fn field_u32(v: &Value, key: &str) -> Result<u32> {
    v[key]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("`{key}` is not a code in {v}"))
}

fn field_str(v: &Value, key: &str) -> Result<String> {
    let s = v[key]
        .as_str()
        .ok_or_else(|| format!("`{key}` is not a string in {}", short(v)))?;
    if s.contains(['\t', '\n', '\r']) || s.trim().is_empty() {
        return Err(format!("`{key}` {s:?} cannot be a table cell"));
    }
    Ok(s.trim().to_owned())
}

fn short(v: &Value) -> String {
    let mut s = v.to_string();
    s.truncate(120);
    s
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn the_table_has_its_source_in_the_header_and_rows_by_code() {
        let json = br#"[
          {"name": "B", "code": 2, "division_type": "t\u1ec9nh", "wards": [
            {"name": "X\u00e3 Z", "code": 9, "division_type": "x\u00e3"},
            {"name": "X\u00e3 Y", "code": 7, "division_type": "x\u00e3"}]},
          {"name": "A", "code": 1, "division_type": "t\u1ec9nh", "wards": []}
        ]"#;
        let table = render(json, "1.2.3").unwrap_or_else(|e| panic!("{e}"));
        assert!(table.contains("# version\t1.2.3\n"));
        assert!(table.contains("# counts\t2 provinces\t2 communes\n"));
        let sha = table.lines().find(|l| l.starts_with("# sha256\t"));
        assert_eq!(sha.map(str::len), Some("# sha256\t".len() + 64));
        let rows: Vec<&str> = table.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            rows,
            [
                "P\t1\tA\ttỉnh",
                "P\t2\tB\ttỉnh",
                "C\t7\t2\tXã Y\txã",
                "C\t9\t2\tXã Z\txã"
            ]
        );
        assert!(render(b"{}", "1").is_err());
        assert!(
            render(
                br#"[{"name": "A\tB", "code": 1, "division_type": "x", "wards": []}]"#,
                "1"
            )
            .is_err()
        );
    }
}
