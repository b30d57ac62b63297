//! `ispeed-server`: the reference measurement server as a stand-alone binary.

use clap::Parser;

/// Reference measurement server with mobile link emulation.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    serve: ispeed_server::ServeArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match ispeed_server::run_from_args(&cli.serve).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ispeed-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
