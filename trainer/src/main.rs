//! `trainer`: train Genrescope models, evaluate them and classify files natively.
//!
//! Run `trainer --help` or `trainer <command> --help` for the options.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use genrescope_trainer::commands;

/// Train, evaluate and use Genrescope genre classifiers.
#[derive(Parser)]
#[command(name = "trainer", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model: `train audio` (from scratch on log-Mel windows), `train transfer` (a
    /// head on the pretrained MusiCNN backbone), `train table` (on a descriptor table) or
    /// `train own` (your own categories on a model's backbone, as the page trains them).
    Train {
        #[command(subcommand)]
        command: commands::train_options::TrainCommand,
    },
    /// Evaluate a model bundle on a labelled folder and write a report.
    Eval(commands::eval::EvalArgs),
    /// Classify audio files and folders with a model bundle.
    Classify(commands::classify::ClassifyArgs),
    /// Show what a model bundle is: kind, labels, rates, windows, members, data, accuracy.
    Info(commands::info::InfoArgs),
    /// Write the descriptor table (GTZAN features_30_sec.csv columns) of a labelled folder.
    Describe(commands::describe::DescribeArgs),
    /// Fuse model bundles into one (fusion weights fitted on held-out predictions, with a
    /// nested cross-validation against each member alone).
    Fuse(commands::fuse::FuseArgs),
    /// Fit the music / not-music detector of a MusiCNN transfer bundle (cross-validated by
    /// file) and write the bundle with it.
    Detect(commands::detect::DetectArgs),
    /// Read files' own tags, write a genre into them, or undo the genres written.
    Tags(commands::tags::TagsArgs),
    /// Re-encode a model bundle's weights (f32, f16 or int8) without retraining.
    Convert(commands::convert::ConvertArgs),
    /// Time training epochs (forward, backward, Adam) over a labelled folder.
    BenchEpoch(commands::bench_epoch::BenchEpochArgs),
}

fn main() -> ExitCode {
    genrescope_trainer::allocator::keep_freed_memory();
    genrescope_trainer::panic_hook::install();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train { command } => command.run(),
        Command::Eval(args) => commands::eval::run(args),
        Command::Classify(args) => commands::classify::run(args),
        Command::Info(args) => commands::info::run(args),
        Command::Describe(args) => commands::describe::run(args),
        Command::Fuse(args) => commands::fuse::run(args),
        Command::Detect(args) => commands::detect::run(args),
        Command::Convert(args) => commands::convert::run(args),
        Command::Tags(args) => commands::tags::run(args),
        Command::BenchEpoch(args) => commands::bench_epoch::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
