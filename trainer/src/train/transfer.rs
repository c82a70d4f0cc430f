//! Transfer learning on a frozen pretrained backbone (MusiCNN): every window's backbone
//! embedding is computed once per run, then only the small genre head is trained on them.
//!
//! Freezing the backbone makes a cross-validation fold cost seconds instead of hours, and
//! the backbone's weights stay exactly those of the pretrained network.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::{Device, Int, Tensor, TensorData};
use genrescope::bundle::Normalisation;
use genrescope::classify::softmax;
use genrescope::mel::MelExtractor;
use genrescope::model::musicnn::{Musicnn, MusicnnEmbedding, MusicnnTransfer, TransferHead};
use genrescope::model::{ArchitectureConfig, GenreNet, Network};
use genrescope::segment::window_features;
use genrescope::FeatureConfig;
use indicatif::{ProgressBar, ProgressStyle};

use super::fit::{epoch_batches, epoch_line, epoch_record, optimiser_step, optimizer, FitOutcome, PassStats, TrainSettings, Tracks};
use super::schedule::Schedule;
use crate::metrics::{evaluate, Evaluation, WindowPrediction};

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
pub fn backbone_from_bytes(bytes: Vec<u8>, path: &Path, device: &Device) -> anyhow::Result<Musicnn> {
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

/// The frozen backbone of a run and the embedding of every window of every track.
pub struct FrozenBackbone {
    /// The pretrained network, on the plain (inference) device.
    pub backbone: Musicnn,
    /// Which output the head reads.
    pub embedding: MusicnnEmbedding,
    /// Per track: its windows' embeddings, `n_windows * embedding.dim()` values.
    pub tracks: Vec<Vec<f32>>,
}

impl FrozenBackbone {
    /// Embeds every window of every track in `pcm` (at `cfg.sample_rate`) with `backbone`;
    /// every patch, whatever `max_patches` the front end sets for classification.
    pub fn embed_all(
        backbone: Musicnn,
        embedding: MusicnnEmbedding,
        cfg: &FeatureConfig,
        pcm: &[Vec<f32>],
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
        let mut windows = 0;
        for samples in pcm {
            let feats = window_features(cfg, &extractor, samples);
            let size = feats.n_mels * feats.n_frames;
            let mut out = Vec::with_capacity(feats.len() * embedding.dim());
            for chunk in feats.data.chunks(EMBED_BATCH * size) {
                let n = chunk.len() / size;
                let x = Tensor::from_data(TensorData::new(chunk.to_vec(), [n, 1, feats.n_mels, feats.n_frames]), device);
                let e = backbone.embed(x, embedding).into_data().try_to_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
                if let Some(i) = e.iter().position(|v| !v.is_finite()) {
                    bail!("the backbone produced a non-finite embedding (value {i})");
                }
                out.extend(e);
            }
            windows += feats.len();
            tracks.push(out);
            bar.inc(1);
        }
        bar.finish_and_clear();
        eprintln!(
            "embedded {windows} windows of {} tracks with the frozen backbone in {:.1} s",
            pcm.len(),
            started.elapsed().as_secs_f64()
        );
        Ok(FrozenBackbone { backbone, embedding, tracks })
    }

    /// The embeddings of `indices` as rows, with each row's label and track.
    fn rows(&self, tracks: &Tracks, indices: &[usize]) -> EmbeddingRows {
        let dim = self.embedding.dim();
        let mut rows = EmbeddingRows { dim, ..Default::default() };
        for &t in indices {
            let data = &self.tracks[t];
            rows.data.extend_from_slice(data);
            let n = data.len() / dim;
            rows.labels.extend(std::iter::repeat_n(tracks.labels[t], n));
            rows.tracks.extend(std::iter::repeat_n(t, n));
        }
        rows
    }
}

/// Window embeddings with their labels and tracks.
#[derive(Default)]
struct EmbeddingRows {
    dim: usize,
    data: Vec<f32>,
    labels: Vec<usize>,
    tracks: Vec<usize>,
}

impl EmbeddingRows {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn batch(&self, indices: &[usize], device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
        let mut x = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            x.extend_from_slice(&self.data[i * self.dim..(i + 1) * self.dim]);
        }
        let y: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        (
            Tensor::from_data(TensorData::new(x, [indices.len(), self.dim]), device),
            Tensor::from_data(TensorData::new(y, [indices.len()]), device),
        )
    }

    /// Evaluates `head` (inference mode) on every row.
    fn evaluate(&self, head: &TransferHead, labels: &[String], device: &Device) -> anyhow::Result<Evaluation> {
        let all: Vec<usize> = (0..self.len()).collect();
        let mut windows = Vec::with_capacity(self.len());
        for chunk in all.chunks(256) {
            let (x, _) = self.batch(chunk, device);
            let logits = head.forward(x).into_data().try_to_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
            for (row, &i) in logits.chunks_exact(labels.len()).zip(chunk) {
                windows.push(WindowPrediction { track: self.tracks[i], truth: self.labels[i], probs: softmax(row) });
            }
        }
        Ok(evaluate(labels, &windows))
    }
}

/// Trains the genre head of a transfer network on the frozen embeddings of the `train`
/// tracks, keeping the epoch with the lowest validation loss (training loss when `val` is
/// empty). The returned model is the whole network: the backbone and the trained head.
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
    let ArchitectureConfig::Musicnn { embedding, hidden, dropout } = &settings.architecture else {
        bail!("fit_head needs a transfer architecture, got {}", settings.architecture.kind());
    };
    if *embedding != frozen.embedding {
        bail!("the frozen embeddings are {:?}, the architecture reads {:?}", frozen.embedding, embedding);
    }
    let train_rows = frozen.rows(tracks, train);
    if train_rows.len() == 0 {
        bail!("no training windows");
    }
    let val_rows = frozen.rows(tracks, val);

    device.seed(settings.seed);
    let train_device = device.clone().autodiff();
    let mut head = TransferHead::new(embedding.dim(), hidden, *dropout, labels.len(), &train_device);
    let mut optim = optimizer(settings.weight_decay);
    let loss_fn = CrossEntropyLossConfig::new().init(&train_device);
    let mut schedule = Schedule::new(settings.schedule.clone());
    let mut best: Option<(TransferHead, usize, Option<Evaluation>)> = None;
    let mut history = Vec::new();

    for epoch in 1..=settings.epochs {
        let epoch_start = Instant::now();
        let lr = schedule.learning_rate();
        let mut pass = PassStats::default();
        for batch in epoch_batches(train_rows.len(), settings.batch_size, settings.seed, epoch) {
            let (x, y) = train_rows.batch(&batch, &train_device);
            let logits = head.forward(x);
            let truths = batch.iter().map(|&i| train_rows.labels[i]);
            head = optimiser_step(head, &mut optim, &loss_fn, (logits, y, truths), lr, &mut pass)?;
        }
        let inference = head.valid();
        let validation = if val_rows.len() == 0 { None } else { Some(val_rows.evaluate(&inference, labels, device)?) };
        let record = epoch_record(epoch, &pass, validation.as_ref(), lr, epoch_start.elapsed().as_secs_f64());
        let decision = schedule.step(record.val_loss);
        // Head epochs take milliseconds: print only the ones that matter.
        if epoch == 1 || decision.improved || decision.stop || epoch % 10 == 0 {
            eprintln!("{}", epoch_line(name, settings.epochs, &record, decision.improved));
        }
        history.push(record);
        if decision.improved || best.is_none() {
            best = Some((inference, epoch, validation));
        }
        if decision.stop {
            break;
        }
    }
    let (head, best_epoch, validation) = best.context("no epoch was run (--epochs 0?)")?;
    let mut model = GenreNet::new(&settings.architecture, cfg.n_mels, cfg.frames_per_window(), labels.len(), device)
        .map_err(anyhow::Error::msg)?;
    let backbone = frozen.backbone.clone().trimmed_for(*embedding);
    model.network = Network::Musicnn(MusicnnTransfer { backbone, head, embedding: *embedding });
    Ok(FitOutcome {
        model,
        normalisation: Normalisation::identity(cfg.n_mels),
        history,
        best_epoch,
        validation,
        seconds: started.elapsed().as_secs_f64(),
    })
}
