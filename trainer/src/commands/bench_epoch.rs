//! `trainer bench-epoch`: how long one training epoch takes on a labelled folder.
//!
//! Runs what `train` runs per epoch, on every track of the folder: augmented, standardised
//! windows, then forward, cross-entropy, backward and an Adam step per batch
//! ([`train_pass`], the training loop's own code). Prints seconds per epoch and windows per
//! second for the steps, and separately the time spent building the windows.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use genrescope::mel::MelExtractor;
use genrescope::model::GenreNet;
use genrescope::FeatureConfig;

use super::backend::Backend;
use super::train::{load, Arch};
use crate::augment::AugmentConfig;
use crate::train::fit::{
    epoch_bar, epoch_batches, optimizer, plain_features, train_pass, training_windows, Tracks,
};
use crate::train::normalise::band_statistics;
use crate::train::TrainSettings;

/// Options of `trainer bench-epoch`.
#[derive(Debug, Args)]
pub struct BenchEpochArgs {
    /// Folder with one sub-folder of audio files per label; every track is used for training.
    #[arg(long)]
    pub data: PathBuf,
    /// Network architecture.
    #[arg(long, value_enum, default_value_t = Arch::Cnn)]
    pub arch: Arch,
    /// Windows per optimiser step.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Epochs to time, each reported (the first includes warm-up, e.g. wgpu's shader compilation).
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Seed of the augmentation, batch order and initialisation.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Turn off augmentation.
    #[arg(long)]
    pub no_augment: bool,
    /// Use at most this many tracks per label.
    #[arg(long)]
    pub limit_per_label: Option<usize>,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// Feature cache folder (default as for `train`).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Decode every file again instead of using the cache.
    #[arg(long)]
    pub no_cache: bool,
}

/// Runs `trainer bench-epoch`.
pub fn run(args: BenchEpochArgs) -> anyhow::Result<ExitCode> {
    if args.epochs == 0 {
        anyhow::bail!("--epochs must be at least 1");
    }
    if args.batch < 2 {
        anyhow::bail!("--batch must be at least 2 (batch norm needs two windows)");
    }
    if args.arch == Arch::Musicnn {
        anyhow::bail!("bench-epoch times from-scratch training; --arch musicnn trains only a head on frozen embeddings");
    }
    let cfg = FeatureConfig::gtzan_default();
    let (device, backend_name) = args.backend.device()?;
    let started = Instant::now();
    let data = load(&args.data, args.limit_per_label, args.cache.as_deref(), args.no_cache, &cfg)?;
    let labels = data.track_labels();
    let tracks = Tracks { pcm: &data.pcm, labels: &labels, frozen: None };
    let all: Vec<usize> = (0..data.tracks.len()).collect();
    let extractor = MelExtractor::new(&cfg).map_err(anyhow::Error::msg)?;
    let norm = band_statistics(&plain_features(&cfg, &extractor, &tracks, &all), cfg.n_mels);
    eprintln!("decoding and statistics: {:.2} s", started.elapsed().as_secs_f64());

    let settings = TrainSettings {
        architecture: args.arch.config(),
        batch_size: args.batch,
        augment: if args.no_augment { AugmentConfig::none() } else { AugmentConfig::default() },
        seed: args.seed,
        ..TrainSettings::default()
    };
    device.seed(args.seed);
    let train_device = device.clone().autodiff();
    let mut model = GenreNet::new(
        &settings.architecture,
        cfg.n_mels,
        cfg.frames_per_window(),
        data.labels.len(),
        &train_device,
    )
    .map_err(anyhow::Error::msg)
    .context("building the network")?;
    let mut optim = optimizer(None);
    let lr = settings.schedule.learning_rate;
    println!(
        "bench-epoch: {} tracks, {} labels, {} network, batch {}, augmentation {}, {backend_name}, {} threads",
        data.tracks.len(),
        data.labels.len(),
        settings.architecture.kind(),
        args.batch,
        if args.no_augment { "off" } else { "on" },
        rayon::current_num_threads()
    );

    let mut step_seconds = Vec::new();
    for epoch in 1..=args.epochs {
        let windows_start = Instant::now();
        let set = training_windows(&cfg, &extractor, &tracks, &all, &norm, &settings, epoch);
        let windows_seconds = windows_start.elapsed().as_secs_f64();
        let batches = epoch_batches(set.len(), args.batch, args.seed, epoch);
        let stepped: usize = batches.iter().map(Vec::len).sum();
        let bar = epoch_bar("bench", epoch, args.epochs, batches.len());
        let steps_start = Instant::now();
        let (trained, pass) =
            train_pass(model, &mut optim, &set, &batches, lr, &train_device, |_| bar.inc(1))
                .with_context(|| format!("epoch {epoch}"))?;
        let seconds = steps_start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        model = trained;
        println!(
            "epoch {epoch}: {seconds:.2} s per epoch ({stepped} windows in {} batches: {:.1} windows/s, forward+backward+Adam); \
             building the augmented windows {windows_seconds:.2} s; train loss {:.3}",
            batches.len(),
            stepped as f64 / seconds,
            pass.mean_loss()
        );
        step_seconds.push((seconds, stepped));
    }
    if step_seconds.len() > 1 {
        let later = &step_seconds[1..];
        let seconds: f64 = later.iter().map(|(s, _)| s).sum();
        let windows: usize = later.iter().map(|(_, n)| n).sum();
        println!(
            "epochs 2-{}: {:.2} s per epoch, {:.1} windows/s",
            step_seconds.len(),
            seconds / later.len() as f64,
            windows as f64 / seconds
        );
    }
    Ok(ExitCode::SUCCESS)
}
