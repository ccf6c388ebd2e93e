//! `oml`: the command-line front door. Each subcommand lives in its own module.

mod embed;
mod failure;
mod metrics;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use failure::Failure;

/// Open Metric Learning tools: embed images with pretrained models, evaluate retrieval.
#[derive(Debug, Parser)]
#[command(name = "oml", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Metrics(metrics::MetricsArgs),
    Embed(embed::EmbedArgs),
}

/// Parses the process arguments and runs the command. Exit codes: 0 success, 2 bad input
/// (arguments, dataset, embeddings), 1 anything else.
pub fn main() -> ExitCode {
    crate::allocator::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Metrics(args) => metrics::run(&args),
        Command::Embed(args) => embed::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {:#}", failure.error());
            ExitCode::from(failure.exit_code())
        }
    }
}
