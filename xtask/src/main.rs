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
    /// Build the iOS XCFramework (macOS with Xcode only; a no-op elsewhere).
    Xcframework,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome: util::Result = match cli.command {
        Command::Root => {
            println!("{}", util::workspace_root().display());
            Ok(())
        }
        Command::Bindings { profile } => bindings::run(profile).map(|_| ()),
        Command::KotlinTest => kotlin::test(),
        Command::SwiftCheck => swift::check(),
        Command::Xcframework => xcframework::build(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
