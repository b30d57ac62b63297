//! `cargo xtask`: project automation that is more than one command.
//!
//! Each subcommand lives in its own module and prints what it runs.

mod bindings;
mod kotlin;
mod swift;
mod util;
mod xcframework;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod areas;
mod bench;
mod ci;
mod collector_bench;
mod fuzz;
#[cfg(test)]
mod phone_targets;
mod soak;
mod strings;

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
    /// Load-test the collector on PostgreSQL: uploads/s, p50/p99, errors, CPU, and the
    /// progress query over millions of seeded samples.
    CollectorBench(collector_bench::CollectorBenchArgs),
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
    /// Build the Android and iOS libraries and generate Kotlin and Swift into
    /// `<target>/bindings`.
    Bindings {
        /// Build profile of the libraries.
        #[arg(long, value_enum, default_value = "debug")]
        profile: bindings::Profile,
    },
    /// Compile the generated Kotlin with the platform-neutral shell and run the JVM
    /// tests against the Rust library (installs kotlinc and JNA when missing).
    KotlinTest,
    /// Check the generated Swift, the Swift shell and the C header without a Swift
    /// compiler (installs tree-sitter into a venv when missing).
    SwiftCheck,
    /// Check that every error code of the core has an English and a Vietnamese text
    /// in both apps (naming each missing one and the line to add), and that
    /// translations keep their placeholders.
    CheckStrings,
    /// Build the iOS XCFramework (macOS with Xcode only; a no-op elsewhere).
    Xcframework,
    /// Regenerate `areas/data/divisions.tsv` (the official administrative catalogue)
    /// from the `vietnam-provinces` package's `nested-divisions.json`.
    Areas(areas::AreasArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome: util::Result = match cli.command {
        Command::Root => {
            println!("{}", util::workspace_root().display());
            Ok(())
        }
        Command::Test => ci::run(&util::workspace_root()),
        Command::Bench(args) => bench::run(&util::workspace_root(), &args),
        Command::CollectorBench(args) => collector_bench::run(&util::workspace_root(), &args),
        Command::Soak { runs } => soak::run(&util::workspace_root(), runs),
        Command::Fuzz { seconds } => fuzz::run(&util::workspace_root(), seconds),
        Command::Bindings { profile } => bindings::run(profile).map(|_| ()),
        Command::KotlinTest => kotlin::test(),
        Command::SwiftCheck => swift::check(),
        Command::CheckStrings => strings::check(),
        Command::Xcframework => xcframework::build(),
        Command::Areas(args) => areas::run(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
