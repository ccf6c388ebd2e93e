//! `oml`: the command-line front door. Each subcommand lives in its own module.

mod failure;
mod metrics;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use failure::Failure;

/// Open Metric Learning tools: evaluate retrieval, and (soon) embed, search and visualise.
#[derive(Debug, Parser)]
#[command(name = "oml", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Metrics(metrics::MetricsArgs),
}

/// Parses the process arguments and runs the command. Exit codes: 0 success, 2 bad input
/// (arguments, dataset, embeddings), 1 anything else.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Metrics(args) => metrics::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {:#}", failure.error());
            ExitCode::from(failure.exit_code())
        }
    }
}
