//! `ispeed servers`: ping the servers of a list and print them nearest first; and the
//! selection `ispeed measure --list` runs before measuring.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use ispeed_core::MeasureConfig;
use ispeed_core::protocol::ProtocolKind;
use ispeed_core::protocol::detect::{self, ProtocolChoice};
use ispeed_core::servers::{self, Candidate, Rejected, Selection, SelectionConfig, ServerList};
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

/// The server to measure and its protocol: the given `server` (its protocol
/// detected when `choice` is auto), or the nearest of the `list`.
pub async fn resolve(
    server: Option<&str>,
    list: Option<&Path>,
    choice: ProtocolChoice,
    config: &MeasureConfig,
    quiet: bool,
    ensure_network: impl AsyncFn(&str) -> Result<(), String>,
) -> Result<(String, ProtocolKind), String> {
    if let Some(server) = server {
        return match choice {
            ProtocolChoice::Fixed(kind) => Ok((server.to_owned(), kind)),
            ProtocolChoice::Auto => {
                // Detection sends requests: a network the policy refuses moves no bytes.
                ensure_network(server).await?;
                let found = detect::detect(server, config)
                    .await
                    .map_err(|e| e.to_string())?;
                if !quiet {
                    eprintln!("{} speaks the {} protocol", found.base, found.kind);
                }
                Ok((found.base, found.kind))
            }
        };
    }
    let list = load_list(list)?;
    // Selection pings every candidate: check the network before the first ping.
    if let Some(first) = list.candidates.first() {
        ensure_network(&first.url).await?;
    }
    let (best, selection) = servers::select(&list.candidates, &SelectionConfig::default(), config)
        .await
        .map_err(|e| e.to_string())?;
    if !quiet {
        eprintln!(
            "nearest of {} servers: {} ({}, {:.1} ms median round trip; {} skipped)",
            list.candidates.len(),
            best.candidate.name,
            best.candidate.url,
            best.median_ms,
            selection.skipped.len()
        );
    }
    let Candidate { url, protocol, .. } = best.candidate;
    Ok((url, protocol))
}
