//! Transfer learning on a pretrained backbone (MusiCNN): every window's backbone embedding is
//! computed once per run, then the small genre head is trained on them. Optionally a second
//! stage then fine-tunes the backbone's top (mid end, back-end batch-norm scales, head) at a
//! low learning rate on the cached output of the frozen front end.
//!
//! Caching makes a cross-validation fold cost seconds (head only) or minutes (fine-tuning)
//! instead of hours: the front end is nearly all of the network's work.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::{Device, Tensor, TensorData};
use genrescope::bundle::Normalisation;
use genrescope::mel::MelExtractor;
use genrescope::model::musicnn::{Musicnn, MusicnnEmbedding, MusicnnTransfer, FRONT_END_CHANNELS};
use genrescope::model::{ArchitectureConfig, GenreNet, Network};
use genrescope::segment::window_features;
use genrescope::training::head::{train_head, HeadSettings};
use genrescope::FeatureConfig;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::fit::{FitOutcome, Tracks, TrainSettings};
use super::rows::{to_vec, Kept, Rows, Stage};
use super::schedule::{Schedule, ScheduleConfig};
use crate::metrics::EpochRecord;

/// Windows embedded per backbone pass.
const EMBED_BATCH: usize = 16;

/// Reads the pretrained MusiCNN weights file (see [`backbone_from_bytes`]), naming where the
/// shipped copy lives when `path` does not exist.
pub fn read_backbone(path: &Path) -> anyhow::Result<Vec<u8>> {
    if !path.is_file() {
        bail!(
            "the MusiCNN backbone {} does not exist; it ships in web/models/backbones/musicnn-msd/ \
             (pass --backbone PATH to use another copy)",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("reading the backbone {}", path.display()))
}

/// Builds the pretrained MusiCNN network on `device` from the bytes of the safetensors file
/// written by `trainer/scripts/import_musicnn.py` (Burn parameter names), read from `path`.
/// Fails, naming them, when a parameter is missing, unexpected or of the wrong shape.
pub fn backbone_from_bytes(
    bytes: Vec<u8>,
    path: &Path,
    device: &Device,
) -> anyhow::Result<Musicnn> {
    let mut backbone = Musicnn::new(device);
    let mut store = SafetensorsStore::from_bytes(Some(bytes));
    let result = backbone
        .load_from(&mut store)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("loading the backbone {}", path.display()))?;
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        bail!(
            "{} is not a MusiCNN backbone: {} errors ({:?}), missing {:?}, unexpected {:?}",
            path.display(),
            result.errors.len(),
            result.errors.first(),
            result.missing.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            result.unused
        );
    }
    Ok(backbone)
}

/// [`read_backbone`] then [`backbone_from_bytes`].
pub fn load_backbone(path: &Path, device: &Device) -> anyhow::Result<Musicnn> {
    backbone_from_bytes(read_backbone(path)?, path, device)
}

/// The second, optional stage of transfer training: the backbone's top fine-tuned together
/// with the head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FineTuneSettings {
    /// Most epochs of the stage (early stopping and plateau cuts as in the first).
    pub epochs: usize,
    /// Adam's starting learning rate for the stage (backbone top and head alike).
    pub learning_rate: f64,
}

/// The frozen backbone of a run and the embedding of every window of every track.
pub struct FrozenBackbone {
    /// The pretrained network, on the plain (inference) device.
    pub backbone: Musicnn,
    /// Which output the head reads.
    pub embedding: MusicnnEmbedding,
    /// Per track: its windows' embeddings, `n_windows * embedding.dim()` values.
    pub tracks: Vec<Vec<f32>>,
    /// Per track, when kept for fine-tuning: its windows' front-end outputs,
    /// `n_windows * front_dim` values (about 420 kB per 3 s window).
    pub fronts: Option<Vec<Vec<f32>>>,
    /// Values of one window's front-end output (`FRONT_END_CHANNELS * frames`).
    pub front_dim: usize,
}

impl FrozenBackbone {
    /// Embeds every window of every track in `pcm` (at `cfg.sample_rate`) with `backbone`;
    /// every patch, whatever `max_patches` the front end sets for classification. With
    /// `keep_front_end`, also keeps every window's front-end output (for fine-tuning).
    pub fn embed_all(
        backbone: Musicnn,
        embedding: MusicnnEmbedding,
        cfg: &FeatureConfig,
        pcm: &[Vec<f32>],
        keep_front_end: bool,
        device: &Device,
    ) -> anyhow::Result<Self> {
        let cfg = &cfg.without_patch_limit();
        let extractor = MelExtractor::new(cfg).map_err(anyhow::Error::msg)?;
        let started = Instant::now();
        let bar = ProgressBar::new(pcm.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("embedding [{bar:30}] {pos}/{len} tracks (ETA {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        let mut tracks = Vec::with_capacity(pcm.len());
        let mut fronts = keep_front_end.then(|| Vec::with_capacity(pcm.len()));
        let mut windows = 0;
        for samples in pcm {
            let feats = window_features(cfg, &extractor, samples);
            let size = feats.n_mels * feats.n_frames;
            let mut out = Vec::with_capacity(feats.len() * embedding.dim());
            let mut front_out = Vec::new();
            for chunk in feats.data.chunks(EMBED_BATCH * size) {
                let n = chunk.len() / size;
                let x = Tensor::from_data(
                    TensorData::new(chunk.to_vec(), [n, 1, feats.n_mels, feats.n_frames]),
                    device,
                );
                let front = backbone.front_end(x);
                if keep_front_end {
                    front_out.extend(to_vec(front.clone())?);
                }
                let e = to_vec(backbone.embed_from_front(front, embedding))?;
                if let Some(i) = e.iter().position(|v| !v.is_finite()) {
                    bail!("the backbone produced a non-finite embedding (value {i})");
                }
                out.extend(e);
            }
            windows += feats.len();
            tracks.push(out);
            if let Some(fronts) = &mut fronts {
                fronts.push(front_out);
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        eprintln!(
            "embedded {windows} windows of {} tracks with the frozen backbone in {:.1} s",
            pcm.len(),
            started.elapsed().as_secs_f64()
        );
        let front_dim = FRONT_END_CHANNELS * cfg.frames_per_window();
        Ok(FrozenBackbone { backbone, embedding, tracks, fronts, front_dim })
    }
}

/// Trains the genre head of a transfer network on the frozen embeddings of the `train`
/// tracks, keeping the epoch with the lowest validation loss (training loss when `val` is
/// empty); then, with `settings.fine_tune`, fine-tunes the backbone's top and the head
/// together, keeping the result only if it lowers that loss further. The returned model is
/// the whole network: the backbone and the trained head.
#[allow(clippy::too_many_arguments)]
pub fn fit_head(
    cfg: &FeatureConfig,
    labels: &[String],
    tracks: &Tracks,
    frozen: &FrozenBackbone,
    train: &[usize],
    val: &[usize],
    settings: &TrainSettings,
    device: &Device,
    name: &str,
) -> anyhow::Result<FitOutcome> {
    let started = Instant::now();
    let ArchitectureConfig::Musicnn { embedding, hidden, dropout, msd_tags } =
        &settings.architecture
    else {
        bail!("fit_head needs a transfer architecture, got {}", settings.architecture.kind());
    };
    if *embedding != frozen.embedding {
        bail!(
            "the frozen embeddings are {:?}, the architecture reads {:?}",
            frozen.embedding,
            embedding
        );
    }
    let dim = embedding.dim();
    let train_rows = Rows::of(&frozen.tracks, dim, tracks.labels, train);
    let val_rows = Rows::of(&frozen.tracks, dim, tracks.labels, val);

    let head_settings = HeadSettings {
        hidden: hidden.clone(),
        dropout: *dropout,
        epochs: settings.epochs,
        batch_size: settings.batch_size,
        weight_decay: settings.weight_decay,
        schedule: settings.schedule.clone(),
        seed: settings.seed,
    };
    let mut history = Vec::new();
    let kept =
        train_head(name, labels, &train_rows, &val_rows, &head_settings, device, &mut history)?;
    let backbone = frozen.backbone.clone().trimmed_for(*embedding, *msd_tags);
    let mut kept = Kept {
        model: MusicnnTransfer { backbone, head: kept.model, embedding: *embedding },
        epoch: kept.epoch,
        loss: kept.loss,
        validation: kept.validation,
    };
    if let Some(fine_tune) = &settings.fine_tune {
        if let Some(better) = fine_tune_top(
            &kept,
            fine_tune,
            frozen,
            tracks,
            train,
            val,
            settings,
            labels,
            device,
            name,
            &mut history,
        )? {
            kept = better;
        }
    }
    let mut model = GenreNet::new(
        &settings.architecture,
        cfg.n_mels,
        cfg.frames_per_window(),
        labels.len(),
        device,
    )
    .map_err(anyhow::Error::msg)?;
    model.network = Network::Musicnn(kept.model);
    Ok(FitOutcome {
        model,
        normalisation: Normalisation::identity(cfg.n_mels),
        history,
        best_epoch: kept.epoch,
        validation: kept.validation,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The second stage: fine-tunes the backbone's top and the head of `start` (see
/// [`Musicnn::with_trainable_top`]) on the cached front-end outputs. Returns the best epoch
/// if it beat `start`'s validation loss.
#[allow(clippy::too_many_arguments)]
fn fine_tune_top(
    start: &Kept<MusicnnTransfer>,
    fine_tune: &FineTuneSettings,
    frozen: &FrozenBackbone,
    tracks: &Tracks,
    train: &[usize],
    val: &[usize],
    settings: &TrainSettings,
    labels: &[String],
    device: &Device,
    name: &str,
    history: &mut Vec<EpochRecord>,
) -> anyhow::Result<Option<Kept<MusicnnTransfer>>> {
    let fronts = frozen
        .fronts
        .as_ref()
        .context("fine-tuning needs the front end's outputs: embed with keep_front_end")?;
    let train_rows = Rows::of(fronts, frozen.front_dim, tracks.labels, train);
    let val_rows = Rows::of(fronts, frozen.front_dim, tracks.labels, val);
    let frames = frozen.front_dim / FRONT_END_CHANNELS;
    let network = MusicnnTransfer {
        backbone: start.model.backbone.clone().with_trainable_top(),
        head: start.model.head.clone(),
        embedding: start.model.embedding,
    }
    .train();
    let stage_name = format!("{name} fine-tune");
    let stage = Stage {
        name: &stage_name,
        train: &train_rows,
        val: &val_rows,
        eval_chunk: 32,
        first_epoch: history.len() + 1,
        epochs: fine_tune.epochs,
        batch_size: settings.batch_size,
        seed: settings.seed,
        weight_decay: settings.weight_decay,
    };
    let schedule = Schedule::new(ScheduleConfig {
        learning_rate: fine_tune.learning_rate,
        ..settings.schedule.clone()
    })
    .continuing_from(start.loss);
    let logits = |model: &MusicnnTransfer, x: Tensor<2>| {
        let [n, _] = x.dims();
        model.forward_from_front(x.reshape([n, FRONT_END_CHANNELS, frames]))
    };
    let kept = stage.run(network, logits, schedule, labels, device, history)?;
    match &kept {
        Some(k) => eprintln!("{name}: fine-tuning lowered the validation loss from {:.4} to {:.4} (epoch {})", start.loss, k.loss, k.epoch),
        None => eprintln!("{name}: fine-tuning did not lower the validation loss ({:.4}); keeping the head-only weights", start.loss),
    }
    Ok(kept)
}
