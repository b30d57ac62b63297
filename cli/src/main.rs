//! `ispeed`: the headless harness of the i-Speed measurement engine.

mod cmd;
mod collector_api;
mod db;
mod emitter;
mod participation;
mod platform;
mod text;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Mobile broadband measurement: latency, download and upload over HTTP.
#[derive(Debug, Parser)]
#[command(name = "ispeed", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure latency, download and upload against a server.
    Measure(cmd::measure::MeasureArgs),
    /// Run the reference server (with optional link emulation) until Ctrl-C.
    Serve(ispeed_server::ServeArgs),
    /// Measure against a built-in server on loopback behind an emulated mobile link.
    Demo(cmd::demo::DemoArgs),
    /// Ping the servers of a list and print them nearest first.
    Servers(cmd::servers::ServersArgs),
    /// Scheduling policies: simulate their timelines.
    Schedule(cmd::schedule::ScheduleArgs),
    /// Measure by itself when the auto-measure policy says so, until Ctrl-C.
    Auto(cmd::auto::AutoArgs),
    /// List the stored samples, per-day statistics and failed attempts.
    History(cmd::history::HistoryArgs),
    /// Write every stored sample to a CSV or JSON lines file.
    Export(cmd::export::ExportArgs),
    /// Send the samples a collector has not confirmed yet.
    Upload(cmd::upload::UploadArgs),
    /// Campaign participation: the day's progress per area, this install's area.
    Campaign(cmd::campaign::CampaignArgs),
    /// Write a measurement server's signing key (FILE) and public key (FILE.pub).
    Keygen(cmd::keygen::KeygenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ispeed: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Measure(args) => cmd::measure::run(args).await,
            Command::Serve(args) => ispeed_server::run_from_args(&args)
                .await
                .map_err(|e| format!("server: {e}")),
            Command::Demo(args) => cmd::demo::run(args).await,
            Command::Servers(args) => cmd::servers::run(args).await,
            Command::Schedule(args) => cmd::schedule::run(args).await,
            Command::Auto(args) => cmd::auto::run(args).await,
            Command::History(args) => cmd::history::run(args),
            Command::Export(args) => cmd::export::run(args),
            Command::Upload(args) => cmd::upload::run(args).await,
            Command::Campaign(args) => cmd::campaign::run(args).await,
            Command::Keygen(args) => cmd::keygen::run(args),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ispeed: {message}");
            ExitCode::FAILURE
        }
    }
}
