//! `ispeed servers`: ping the servers of a list and print them nearest first; and the
//! list `ispeed measure --list` hands to the session to rank.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use ispeed_core::MeasureConfig;
use ispeed_core::servers::{self, Rejected, Selection, SelectionConfig, ServerList};
use serde::Serialize;

/// Arguments of `ispeed servers`.
#[derive(Debug, Clone, Args)]
pub struct ServersArgs {
    /// Server list (our JSON format or LibreSpeed's); the built-in list when absent.
    #[arg(long, value_name = "FILE")]
    pub list: Option<PathBuf>,
    /// Print the ranking as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// What `ispeed servers --json` prints.
#[derive(Debug, Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    selection: &'a Selection,
    rejected: &'a [Rejected],
}

/// Reads the list at `path`, or the built-in one.
pub fn load_list(path: Option<&Path>) -> Result<ServerList, String> {
    let Some(path) = path else {
        return servers::default_list().map_err(|e| e.to_string());
    };
    let cannot = |e: std::io::Error| format!("cannot read the server list {}: {e}", path.display());
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        // One byte past the limit is enough for the parser to refuse the list.
        .take(servers::MAX_LIST_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    servers::parse_list(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `ispeed servers`.
pub async fn run(args: ServersArgs) -> Result<(), String> {
    let list = load_list(args.list.as_deref())?;
    let selection = servers::rank(
        &list.candidates,
        &SelectionConfig::default(),
        &MeasureConfig::default(),
    )
    .await;
    if args.json {
        let report = Report {
            selection: &selection,
            rejected: &list.rejected,
        };
        let doc = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        println!("{doc}");
    } else {
        print!("{}", table(&selection, &list.rejected));
    }
    if selection.ranked.is_empty() {
        return Err(format!(
            "none of the {} servers answered",
            list.candidates.len()
        ));
    }
    Ok(())
}

fn table(selection: &Selection, rejected: &[Rejected]) -> String {
    let mut out = String::new();
    for (i, r) in selection.ranked.iter().enumerate() {
        out.push_str(&format!(
            "{:>3}  {:>8.1} ms  (min {:>6.1})  {:<10}  {}  {}\n",
            i + 1,
            r.median_ms,
            r.min_ms,
            r.candidate.protocol,
            r.candidate.name,
            r.candidate.url
        ));
    }
    for s in &selection.skipped {
        out.push_str(&format!(
            "  -  {:<19}  {:<10}  {}  {}: {}\n",
            s.code, s.candidate.protocol, s.candidate.name, s.candidate.url, s.reason
        ));
    }
    for r in rejected {
        out.push_str(&format!(
            "  -  rejected entry {} {}: {}\n",
            r.index,
            r.name.as_deref().unwrap_or(""),
            r.reason
        ));
    }
    out
}
