//! `oml`: the command-line front door. Each subcommand lives in its own module.

mod convert;
mod embed;
mod export;
mod index;
mod metrics;
mod model_args;
mod predict;
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
    Predict(predict::PredictArgs),
    Index(index::IndexArgs),
    Visualize(visualize::VisualizeArgs),
}

/// `oml-train`'s entry point (same exit codes as `oml`).
pub fn train_main() -> ExitCode {
    crate::allocator::keep_freed_memory();
    let args = <train::TrainArgs as Parser>::parse();
    // The ranks of an MPI job, when mpirun or srun started this process.
    let processes = match crate::train::launch::join() {
        Ok(p) => p,
        Err(e) => return finish(Err(crate::failure::bad_input(e))),
    };
    let result = train::run(&args, &processes);
    if let Err(failure) = &result
        && processes.size() > 1
    {
        // The other ranks wait in a collective for this one: end them all, now.
        crate::train::processes::say(&format!(
            "error: rank {} of {}: {:#}",
            processes.rank(),
            processes.size(),
            failure.error()
        ));
        processes.abort_others(i32::from(failure.exit_code()));
    }
    finish(result)
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
        Command::Predict(args) => predict::run(&args),
        Command::Index(args) => index::run(&args),
        Command::Visualize(args) => visualize::run(&args),
    };
    finish(result)
}
