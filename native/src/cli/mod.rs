//! `oml`: the command-line front door. Each subcommand lives in its own module.

mod convert;
mod embed;
mod export;
mod metrics;
mod model_args;
mod search;
mod train;
mod validate;
mod visualize;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use crate::failure::Failure;

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
    Export(export::ExportArgs),
    Convert(convert::ConvertArgs),
    Validate(validate::ValidateArgs),
    Search(search::SearchArgs),
    Visualize(visualize::VisualizeArgs),
}

/// `oml-train`'s entry point (same exit codes as `oml`).
pub fn train_main() -> ExitCode {
    crate::allocator::keep_freed_memory();
    let args = <train::TrainArgs as Parser>::parse();
    finish(train::run(&args))
}

fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {:#}", failure.error());
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Parses the process arguments and runs the command. Exit codes: 0 success, 2 bad input
/// (arguments, dataset, embeddings), 1 anything else.
pub fn main() -> ExitCode {
    crate::allocator::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Metrics(args) => metrics::run(&args),
        Command::Embed(args) => embed::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Convert(args) => convert::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Search(args) => search::run(&args),
        Command::Visualize(args) => visualize::run(&args),
    };
    finish(result)
}
