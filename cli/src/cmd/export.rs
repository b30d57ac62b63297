//! `ispeed export`: every stored sample to a CSV or JSON lines file.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ispeed_core::store::ExportFormat;

use crate::db::DbArg;

/// File formats of `ispeed export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One row per sample with a header; columns documented in `ispeed_core::store::CSV_COLUMNS`.
    Csv,
    /// JSON lines: one `ispeed.result/1` document per line.
    Json,
}

/// Arguments of `ispeed export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// File to write (replaced only once the export is complete).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub db: DbArg,
}

/// `ispeed export`.
pub fn run(args: ExportArgs) -> Result<(), String> {
    let store = args.db.open()?;
    let format = match args.format {
        Format::Csv => ExportFormat::Csv,
        Format::Json => ExportFormat::JsonLines,
    };
    let n = store
        .export_to_file(format, &args.out)
        .map_err(|e| e.to_string())?;
    eprintln!("exported {n} samples to {}", args.out.display());
    Ok(())
}
