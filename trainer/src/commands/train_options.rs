//! The options of `trainer train`'s sub-commands, one flag set per kind of model:
//! `train audio` (a network trained from scratch on log-Mel windows), `train transfer` (a
//! genre head on the pretrained MusiCNN backbone) and `train table` (a network on a
//! descriptor table). What they share is defined once and flattened into each.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use genrescope::bundle::WeightStorage;

use super::backend::Backend;
use super::train::{Arch, EmbeddingChoice, TableArch, TrainArgs};

/// `trainer train`'s sub-commands.
#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// A network trained from scratch on log-Mel windows of a labelled audio folder.
    Audio(AudioArgs),
    /// A genre head on the pretrained MusiCNN backbone (the shipped model's recipe).
    Transfer(TransferArgs),
    /// A network on a descriptor table (GTZAN's features CSV, or `trainer describe`'s).
    Table(TableArgs),
    /// Your own categories on a model's MusiCNN backbone, from a folder of examples (what
    /// the page's "Your own genres" trains, with the same defaults).
    Own(super::train_own::OwnArgs),
}

impl TrainCommand {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<std::process::ExitCode> {
        match self {
            TrainCommand::Own(args) => super::train_own::run(args),
            other => super::train::run(other.try_into()?),
        }
    }
}

/// `trainer train ...` parsed on its own, as `fuse` does for the members it trains.
#[derive(Debug, Parser)]
#[command(name = "trainer train")]
pub struct TrainCli {
    /// What to train.
    #[command(subcommand)]
    pub command: TrainCommand,
}

/// Where the output goes, the seed, cross-validation, the device and the weight storage.
#[derive(Debug, Args)]
pub struct RunOptions {
    /// Output folder for the bundle (`model.gscope`) and the report.
    #[arg(long, default_value = "trained-model")]
    pub out: PathBuf,
    /// Seed of the split, augmentation, batch order and initialisation.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Also run stratified K-fold cross-validation (by track) and report mean and std.
    #[arg(long)]
    pub folds: Option<usize>,
    /// With --folds: only cross-validate, do not train the hold-out model and bundle.
    #[arg(long)]
    pub cv_only: bool,
    /// With --folds: train only these folds (1-based, comma-separated), store their results
    /// in OUT/cv-folds and stop. Folds can so run in parallel processes; the same command
    /// without this option then reports all folds.
    #[arg(long, value_delimiter = ',', value_name = "I,J,..")]
    pub only_folds: Vec<usize>,
    /// With --folds: the bundle's network is trained on every labelled track (no hold-out
    /// split, no test set) for the median of the folds' best epochs; the cross-validation
    /// estimates its accuracy and gives the calibration.
    #[arg(long, requires = "folds")]
    pub no_holdout: bool,
    /// With --folds: answers whose calibrated top probability is below the threshold fitted
    /// on the out-of-fold predictions are `uncertain`; the threshold is the lowest at which
    /// the others are right at least this often (0..1).
    #[arg(long, default_value_t = crate::calibrate::DEFAULT_TARGET_ACCURACY)]
    pub target_accuracy: f64,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// How the bundle stores the weight matrices: int8 (per-channel 8-bit, a quarter of the
    /// size), int6 or int5 (fewer levels: the int8 size, a smaller gzip), f16 (half) or f32
    /// (as trained). `trainer convert` changes it later.
    #[arg(long, value_name = "f32|f16|int8|int6|int5", default_value_t = WeightStorage::Int8)]
    pub weights: WeightStorage,
}

/// The optimiser and its schedule.
#[derive(Debug, Args)]
pub struct FitOptions {
    /// Most epochs per fit.
    #[arg(long, default_value_t = 50)]
    pub epochs: usize,
    /// Windows (or table rows) per optimiser step.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Adam's starting learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// L2 weight decay (off by default).
    #[arg(long)]
    pub weight_decay: Option<f32>,
    /// Epochs without validation improvement before stopping.
    #[arg(long, default_value_t = 10)]
    pub patience: usize,
    /// Epochs without validation improvement before halving the learning rate.
    #[arg(long, default_value_t = 3)]
    pub plateau_patience: usize,
}

/// A labelled audio folder and how to read it.
#[derive(Debug, Args)]
pub struct AudioData {
    /// Folder with one sub-folder of audio files per label (GTZAN's `genres/` works as is).
    #[arg(long)]
    pub data: PathBuf,
    /// Use at most this many tracks per label (quick experiments and smoke tests).
    #[arg(long)]
    pub limit_per_label: Option<usize>,
    /// Feature cache folder (default: $GENRESCOPE_CACHE, $XDG_CACHE_HOME/genrescope or
    /// ~/.cache/genrescope).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Decode every file again instead of using the cache.
    #[arg(long)]
    pub no_cache: bool,
}

/// A network trained from scratch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScratchArch {
    /// 3 conv blocks (32-64-128), dense 256-128 (the reference CNN).
    Cnn,
    /// 5 conv blocks (32-64-128-256-512), dense 256-128.
    Cnn5,
    /// Conv front end and a bidirectional GRU of 128 units.
    Crnn,
}

/// Options of `trainer train audio`.
#[derive(Debug, Args)]
pub struct AudioArgs {
    #[command(flatten)]
    pub data: AudioData,
    /// The network.
    #[arg(long, value_enum, default_value_t = ScratchArch::Cnn)]
    pub arch: ScratchArch,
    /// Turn off training augmentation (gain, noise, time shift, SpecAugment masks).
    #[arg(long)]
    pub no_augment: bool,
    #[command(flatten)]
    pub fit: FitOptions,
    #[command(flatten)]
    pub run: RunOptions,
}

/// Options of `trainer train transfer`.
#[derive(Debug, Args)]
pub struct TransferArgs {
    #[command(flatten)]
    pub data: AudioData,
    /// The backbone output the head reads (pools: temporal max and mean of every front- and
    /// mid-end channel, 1506 values; penultimate: the 200-unit layer after them, which adds
    /// 312 k parameters to the bundle; tags: the 50 MSD tag probabilities after that).
    #[arg(long, value_enum, default_value_t = EmbeddingChoice::Pools)]
    pub embedding: EmbeddingChoice,
    /// Units of the head's hidden layers (comma-separated; none: a linear head).
    #[arg(long, value_delimiter = ',', value_name = "N,M,..")]
    pub head_hidden: Vec<usize>,
    /// Dropout in the head.
    #[arg(long, default_value_t = 0.5)]
    pub head_dropout: f64,
    /// Classify with at most this many 3 s patches per track, evenly spread (stored in the
    /// bundle's front end; training still uses every patch).
    #[arg(long, value_name = "N")]
    pub max_patches: Option<usize>,
    /// Keep the backbone's penultimate and tag layers in the bundle, so every result also
    /// names MusiCNN's 50 Million Song Dataset tags (about 310 k more parameters).
    #[arg(long)]
    pub msd_tags: bool,
    /// The pretrained backbone (safetensors written by trainer/scripts/import_musicnn.py);
    /// default: the copy in web/models/backbones/.
    #[arg(long)]
    pub backbone: Option<PathBuf>,
    /// After the head has trained, fine-tune the backbone's top (mid-end convs, back-end
    /// batch-norm scales, dense layers) with the head for up to N more epochs at
    /// --fine-tune-lr, on the cached output of the frozen front end (about 420 kB of memory
    /// per 3 s patch). Kept only if it lowers the validation loss.
    #[arg(long, value_name = "N")]
    pub fine_tune: Option<usize>,
    /// With --fine-tune: Adam's starting learning rate for the fine-tuning stage.
    #[arg(long, default_value_t = 1e-4)]
    pub fine_tune_lr: f64,
    #[command(flatten)]
    pub fit: FitOptions,
    #[command(flatten)]
    pub run: RunOptions,
}

/// Options of `trainer train table`.
#[derive(Debug, Args)]
pub struct TableArgs {
    /// The descriptor table: a CSV with a `label` column (GTZAN's `features_30_sec.csv`, or
    /// `trainer describe`'s output, whose rows of one file stay in one fold).
    #[arg(value_name = "CSV")]
    pub table: PathBuf,
    /// The network (mlp: dense blocks, see --hidden; cnn1d: two convs and two dense layers,
    /// learning rate halved every 10 epochs).
    #[arg(long, value_enum, default_value_t = TableArch::Mlp)]
    pub arch: TableArch,
    /// With --arch mlp: units of the hidden layers (comma-separated; default 256,128).
    #[arg(long, value_delimiter = ',', value_name = "N,M,..")]
    pub hidden: Vec<usize>,
    /// With --arch mlp: dropout after each hidden layer.
    #[arg(long, default_value_t = 0.5)]
    pub dropout: f64,
    /// Drop a descriptor whose absolute correlation with an earlier kept one is at least
    /// this (fitted on each fold's training rows).
    #[arg(long, default_value_t = 0.8)]
    pub max_correlation: f64,
    /// Train this many networks per fold (seeds --seed, --seed + 1, ..) and average their
    /// probabilities (cross-validation only: a bundle holds one network).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub ensemble: u16,
    /// Leave out the table's rows of the audio files in this labelled folder (matched by
    /// file name), e.g. to test the model, or a fusion, on that folder's tracks.
    #[arg(long, value_name = "DIR")]
    pub exclude_data: Option<PathBuf>,
    /// With --exclude-data: also leave out rows named like an excluded file but numbered up
    /// to N away (GTZAN's files are numbered roughly by artist).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub exclude_neighbours: usize,
    /// The bundle's model describes at most N windows per track, evenly spread (default:
    /// every window).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_windows: Option<u32>,
    /// The bundle's model is used only on tracks at least this long, in seconds (a fusion
    /// leaves it out of shorter input, e.g. live mode's 3 s windows).
    #[arg(long, default_value_t = 15.0, value_name = "SECONDS")]
    pub min_seconds: f64,
    #[command(flatten)]
    pub fit: FitOptions,
    #[command(flatten)]
    pub run: RunOptions,
}

impl TryFrom<TrainCommand> for TrainArgs {
    type Error = anyhow::Error;

    /// The settings of `train audio|transfer|table`; `train own` has its own (it makes a
    /// whole bundle, never a fusion member).
    fn try_from(command: TrainCommand) -> anyhow::Result<TrainArgs> {
        Ok(match command {
            TrainCommand::Audio(a) => TrainArgs {
                arch: match a.arch {
                    ScratchArch::Cnn => Arch::Cnn,
                    ScratchArch::Cnn5 => Arch::Cnn5,
                    ScratchArch::Crnn => Arch::Crnn,
                },
                no_augment: a.no_augment,
                ..defaults(Some(a.data), None, a.fit, a.run)
            },
            TrainCommand::Transfer(t) => TrainArgs {
                arch: Arch::Musicnn,
                embedding: t.embedding,
                head_hidden: t.head_hidden,
                head_dropout: t.head_dropout,
                max_patches: t.max_patches,
                msd_tags: t.msd_tags,
                backbone: t.backbone,
                fine_tune: t.fine_tune,
                fine_tune_lr: t.fine_tune_lr,
                ..defaults(Some(t.data), None, t.fit, t.run)
            },
            TrainCommand::Table(t) => TrainArgs {
                table_arch: t.arch,
                head_hidden: t.hidden,
                head_dropout: t.dropout,
                max_correlation: t.max_correlation,
                ensemble: t.ensemble,
                exclude_data: t.exclude_data,
                exclude_neighbours: t.exclude_neighbours,
                max_windows: t.max_windows,
                min_seconds: t.min_seconds,
                ..defaults(None, Some(t.table), t.fit, t.run)
            },
            TrainCommand::Own(_) => anyhow::bail!(
                "`train own` makes a bundle of its own; train it first and pass its model.gscope as a member"
            ),
        })
    }
}

/// A run's settings from the shared options, every other option at its default.
fn defaults(
    data: Option<AudioData>,
    table: Option<PathBuf>,
    fit: FitOptions,
    run: RunOptions,
) -> TrainArgs {
    let (data, limit_per_label, cache, no_cache) = match data {
        Some(d) => (Some(d.data), d.limit_per_label, d.cache, d.no_cache),
        None => (None, None, None, false),
    };
    TrainArgs {
        data,
        table,
        table_arch: TableArch::Mlp,
        max_correlation: 0.8,
        ensemble: 1,
        exclude_data: None,
        exclude_neighbours: 0,
        max_windows: None,
        min_seconds: 15.0,
        out: run.out,
        arch: Arch::Cnn,
        embedding: EmbeddingChoice::Pools,
        head_hidden: Vec::new(),
        head_dropout: 0.5,
        max_patches: None,
        msd_tags: false,
        backbone: None,
        fine_tune: None,
        fine_tune_lr: 1e-4,
        epochs: fit.epochs,
        batch: fit.batch,
        lr: fit.lr,
        weight_decay: fit.weight_decay,
        patience: fit.patience,
        plateau_patience: fit.plateau_patience,
        seed: run.seed,
        folds: run.folds,
        cv_only: run.cv_only,
        only_folds: run.only_folds,
        no_holdout: run.no_holdout,
        target_accuracy: run.target_accuracy,
        no_augment: false,
        limit_per_label,
        backend: run.backend,
        weights: run.weights,
        cache,
        no_cache,
    }
}
