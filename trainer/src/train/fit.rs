//! The training loop: one model, one split, up to `epochs` epochs.

use std::time::Instant;

use anyhow::{bail, Context};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use genrescope::bundle::Normalisation;
use genrescope::mel::MelExtractor;
use genrescope::model::{ArchitectureConfig, GenreNet};
use genrescope::segment::{window_features, WindowFeatures};
pub use genrescope::training::step::{
    epoch_batches, epoch_line, epoch_record, mix, optimiser_step, optimizer, PassStats,
};
use genrescope::FeatureConfig;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::ChaCha8Rng;
use rand::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::normalise::band_statistics;
use super::schedule::{Schedule, ScheduleConfig};
use super::transfer::{fit_head, FineTuneSettings, FrozenBackbone};
use super::windows::{predict, WindowSet};
use crate::augment::{epoch_windows, spec_augment, AugmentConfig};
use crate::metrics::{evaluate, EpochRecord, Evaluation, WindowPrediction};

/// Everything that decides how a model is trained (recorded in the bundle's provenance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// The network.
    pub architecture: ArchitectureConfig,
    /// Most epochs to run.
    pub epochs: usize,
    /// Windows per optimiser step.
    pub batch_size: usize,
    /// L2 weight decay added to the gradients (Adam), if any.
    pub weight_decay: Option<f32>,
    /// Learning rate, plateau and early-stopping settings.
    pub schedule: ScheduleConfig,
    /// Training-only augmentation.
    pub augment: AugmentConfig,
    /// Seed of every random choice: augmentation, batch order, Burn's initialisation.
    pub seed: u64,
    /// For transfer architectures: the pretrained backbone file's BLAKE3 hash (so stored
    /// cross-validation folds are not reused with other backbone weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backbone: Option<String>,
    /// For transfer architectures: the optional second stage that fine-tunes the backbone's
    /// top after the head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine_tune: Option<FineTuneSettings>,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            architecture: ArchitectureConfig::cnn_default(),
            epochs: 50,
            batch_size: 32,
            weight_decay: None,
            schedule: ScheduleConfig::default(),
            augment: AugmentConfig::default(),
            seed: 42,
            backbone: None,
            fine_tune: None,
        }
    }
}

/// The result of [`fit`].
pub struct FitOutcome {
    /// The weights of the best epoch by validation loss, in inference mode on the plain device.
    pub model: GenreNet,
    /// The training split's per-band statistics the model expects.
    pub normalisation: Normalisation,
    /// One record per epoch run.
    pub history: Vec<EpochRecord>,
    /// The epoch (1-based) whose weights were kept.
    pub best_epoch: usize,
    /// Evaluation of the kept weights on the validation tracks (if there were any).
    pub validation: Option<Evaluation>,
    /// Wall-clock seconds of the whole fit.
    pub seconds: f64,
}

/// The tracks of a run: PCM at the front end's rate and a label per track.
pub struct Tracks<'a> {
    /// Mono PCM of every track, at `cfg.sample_rate`.
    pub pcm: &'a [Vec<f32>],
    /// Label index of every track.
    pub labels: &'a [usize],
    /// For transfer architectures: the frozen backbone and every track's window embeddings.
    pub frozen: Option<&'a FrozenBackbone>,
}

/// Un-augmented features of `indices` (in parallel).
pub fn plain_features(
    cfg: &FeatureConfig,
    extractor: &MelExtractor,
    tracks: &Tracks,
    indices: &[usize],
) -> Vec<WindowFeatures> {
    indices.par_iter().map(|&t| window_features(cfg, extractor, &tracks.pcm[t])).collect()
}

/// Standardised, labelled windows of `indices`.
pub fn window_set(
    cfg: &FeatureConfig,
    extractor: &MelExtractor,
    tracks: &Tracks,
    indices: &[usize],
    norm: &Normalisation,
) -> WindowSet {
    let mut set = WindowSet::new(cfg.n_mels, cfg.frames_per_window());
    for (feats, &t) in plain_features(cfg, extractor, tracks, indices).iter().zip(indices) {
        set.push_track(feats, tracks.labels[t], t, norm);
    }
    set
}

/// Evaluates `model` on a standardised window set.
pub fn evaluate_set(
    model: &GenreNet,
    set: &WindowSet,
    labels: &[String],
    device: &Device,
) -> anyhow::Result<Evaluation> {
    let probs = predict(model, set, device, 32)?;
    let windows: Vec<WindowPrediction> = probs
        .into_iter()
        .enumerate()
        .map(|(i, probs)| WindowPrediction { track: set.tracks[i], truth: set.labels[i], probs })
        .collect();
    Ok(evaluate(labels, &windows))
}

/// This epoch's augmented, standardised training windows (deterministic per seed, epoch
/// and track, whatever the thread count).
pub fn training_windows(
    cfg: &FeatureConfig,
    extractor: &MelExtractor,
    tracks: &Tracks,
    train: &[usize],
    norm: &Normalisation,
    settings: &TrainSettings,
    epoch: usize,
) -> WindowSet {
    let per_track: Vec<WindowFeatures> = train
        .par_iter()
        .map(|&t| {
            let mut rng = ChaCha8Rng::seed_from_u64(mix(settings.seed, epoch as u64, t as u64));
            let mut feats =
                epoch_windows(&tracks.pcm[t], cfg, extractor, &settings.augment, &mut rng).features;
            let (n_mels, n_frames) = (feats.n_mels, feats.n_frames);
            for w in feats.data.chunks_exact_mut(n_mels * n_frames) {
                norm.standardise(w, n_frames);
                spec_augment(w, n_mels, n_frames, &settings.augment, &mut rng);
            }
            feats
        })
        .collect();
    let mut set = WindowSet::new(cfg.n_mels, cfg.frames_per_window());
    let identity = Normalisation::identity(cfg.n_mels);
    for (feats, &t) in per_track.iter().zip(train) {
        set.push_track(feats, tracks.labels[t], t, &identity);
    }
    set
}

/// Trains a fresh network on the `train` tracks (for a transfer architecture: only its head,
/// on the frozen embeddings in `tracks`, see [`fit_head`]), choosing the epoch by loss on the `val`
/// tracks (or on the training loss when `val` is empty), on `device` (a plain device; the
/// autodiff wrapper is added here).
///
/// Normalisation statistics come from the training tracks only. Burn initialises weights
/// from its own generator, so two runs with the same seed share splits, augmentation and
/// batch order but not the initial weights.
// The same inputs as `fit_head`, which it hands them to; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn fit(
    cfg: &FeatureConfig,
    labels: &[String],
    tracks: &Tracks,
    train: &[usize],
    val: &[usize],
    settings: &TrainSettings,
    device: &Device,
    name: &str,
) -> anyhow::Result<FitOutcome> {
    if train.is_empty() {
        bail!("no training tracks");
    }
    if settings.batch_size < 2 {
        bail!("--batch must be at least 2 (batch norm needs two windows)");
    }
    if settings.architecture.is_transfer() {
        let frozen = tracks
            .frozen
            .context("a transfer architecture needs the frozen backbone's embeddings")?;
        return fit_head(cfg, labels, tracks, frozen, train, val, settings, device, name);
    }
    let started = Instant::now();
    let extractor = MelExtractor::new(cfg).map_err(anyhow::Error::msg)?;
    let n_frames = cfg.frames_per_window();
    let norm = band_statistics(&plain_features(cfg, &extractor, tracks, train), cfg.n_mels);
    let val_set = window_set(cfg, &extractor, tracks, val, &norm);

    device.seed(settings.seed);
    let train_device = device.clone().autodiff();
    let mut model =
        GenreNet::new(&settings.architecture, cfg.n_mels, n_frames, labels.len(), &train_device)
            .map_err(anyhow::Error::msg)
            .context("building the network")?;
    let mut optim = optimizer(settings.weight_decay);
    let mut schedule = Schedule::new(settings.schedule.clone());
    let mut best: Option<(GenreNet, usize, Option<Evaluation>)> = None;
    let mut history = Vec::new();

    for epoch in 1..=settings.epochs {
        let epoch_start = Instant::now();
        let lr = schedule.learning_rate();
        let set = training_windows(cfg, &extractor, tracks, train, &norm, settings, epoch);
        let batches = epoch_batches(set.len(), settings.batch_size, settings.seed, epoch);
        let bar = epoch_bar(name, epoch, settings.epochs, batches.len());
        let (trained, pass) =
            train_pass(model, &mut optim, &set, &batches, lr, &train_device, |p| {
                bar.inc(1);
                bar.set_message(format!(
                    "loss {:.3} acc {:.1}%",
                    p.mean_loss(),
                    100.0 * p.accuracy()
                ));
            })
            .with_context(|| format!("{name} epoch {epoch}"))?;
        model = trained;
        bar.finish_and_clear();
        let inference = model.valid();
        let validation = if val_set.is_empty() {
            None
        } else {
            Some(evaluate_set(&inference, &val_set, labels, device)?)
        };
        let record = epoch_record(
            epoch,
            &pass,
            validation.as_ref(),
            lr,
            epoch_start.elapsed().as_secs_f64(),
        );
        let decision = schedule.step(record.val_loss);
        eprintln!("{}", epoch_line(name, settings.epochs, &record, decision.improved));
        history.push(record);
        if decision.improved || best.is_none() {
            best = Some((inference, epoch, validation));
        }
        if decision.stop {
            eprintln!(
                "{name}: no validation improvement for {} epochs; stopping",
                settings.schedule.early_stop_patience
            );
            break;
        }
    }
    let (model, best_epoch, validation) = best.context("no epoch was run (--epochs 0?)")?;
    Ok(FitOutcome {
        model,
        normalisation: norm,
        history,
        best_epoch,
        validation,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One optimiser step per batch of `set`: forward, cross-entropy, backward, Adam step at
/// learning rate `lr`, on `device` (the model's device; its [`Device::autodiff`] form is used).
/// The same code runs on every backend. `on_batch` sees the running totals after each step.
/// Fails when the loss stops being finite.
pub fn train_pass(
    mut model: GenreNet,
    optim: &mut ModuleOptimizer,
    set: &WindowSet,
    batches: &[Vec<usize>],
    lr: f64,
    device: &Device,
    mut on_batch: impl FnMut(&PassStats),
) -> anyhow::Result<(GenreNet, PassStats)> {
    let device = device.clone().autodiff();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut stats = PassStats::default();
    for batch in batches {
        let (x, y) = set.batch(batch, &device);
        let logits = model.forward(x);
        let truths = batch.iter().map(|&i| set.labels[i]);
        model = optimiser_step(model, optim, &loss_fn, (logits, y, truths), lr, &mut stats)?;
        on_batch(&stats);
    }
    Ok((model, stats))
}

/// A progress bar over one epoch's batches (hidden when stderr is not a terminal).
pub fn epoch_bar(name: &str, epoch: usize, epochs: usize, batches: usize) -> ProgressBar {
    let bar = ProgressBar::new(batches as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} batches {msg} (ETA {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{name} epoch {epoch}/{epochs}"));
    bar
}
