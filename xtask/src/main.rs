//! `cargo xtask`: project automation that is more than one command.
//!
//! Each subcommand lives in its own module and prints what it runs.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod ci;
mod fuzz;
mod soak;

/// Project automation for i-Speed.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the workspace root (a smoke check of the xtask set-up).
    Root,
    /// Run every check: format, lint, all tests.
    Test,
    /// Benchmark accuracy, data use and the client's ceiling (root: network namespaces).
    Bench(bench::BenchArgs),
    /// Run N measurements in a row against an emulated link; fail if a result is
    /// lost or memory or open files grow.
    Soak {
        /// Measurements to run.
        #[arg(long, default_value_t = 200)]
        runs: usize,
    },
    /// Run every fuzz target for a bounded time (`fuzz/run.sh`); fail on any crash.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome: Result<(), String> = match cli.command {
        Command::Root => {
            println!("{}", workspace_root().display());
            Ok(())
        }
        Command::Test => ci::run(&workspace_root()),
        Command::Bench(args) => bench::run(&workspace_root(), &args),
        Command::Soak { runs } => soak::run(&workspace_root(), runs),
        Command::Fuzz { seconds } => fuzz::run(&workspace_root(), seconds),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}
