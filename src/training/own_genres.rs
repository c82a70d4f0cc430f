//! A user's own categories on the frozen MusiCNN backbone: from the per-patch embeddings of
//! labelled example tracks to a cross-validated, calibrated bundle. The page's training
//! module (web/pkg/train/) and `trainer train own` run this same function, so the same
//! examples, settings and seed give the same folds, figures and model.
//!
//! The recipe is `trainer train transfer`'s head on cached embeddings (see
//! [`train_head`]): stratified k-fold cross-validation by track (each fold keeps a
//! validation share of its training tracks for early stopping), a calibration fitted on the
//! out-of-fold predictions, then the bundle's head trained on every track for the median of
//! the folds' best epochs. The bundle keeps the base model's backbone, front end, music
//! detector and MSD tags; only the labels, the head and the calibration are new.

use std::collections::BTreeMap;

use anyhow::{bail, ensure, Context};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::calibrate::{self, CalibrationReport};
use super::cv::{cross_validate, median_epoch};
use super::head::{train_head, HeadSettings};
use super::metrics::CvSummary;
use super::rows::Rows;
use super::schedule::ScheduleConfig;
use crate::bundle::{
    Dataset, Evaluation, FusionBundle, Header, Provenance, SpectrogramBundle, SpectrogramHeader,
};
use crate::classify::{embedder_id, EMBEDDER_METRIC};
use crate::model::musicnn::MusicnnTransfer;
use crate::model::{ArchitectureConfig, GenreNet, Network};

/// One labelled example: a track's per-patch backbone embeddings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnTrack {
    /// Its category.
    pub label: String,
    /// A name that orders the tracks of a category (a file name); never stored in the bundle.
    pub name: String,
    /// Every patch's embedding, one after the other (`patches * dim` values).
    pub embedding: Vec<f32>,
}

/// How an own-genre model is trained; the defaults are `trainer train transfer`'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OwnSettings {
    /// Folds of the cross-validation (fewer when a category has fewer tracks).
    pub folds: usize,
    /// Seed of the folds, the initial weights, the dropout and the batch order.
    pub seed: u64,
    /// Most epochs per fit.
    pub epochs: usize,
    /// Patches per optimiser step.
    pub batch_size: usize,
    /// Adam's starting learning rate.
    pub learning_rate: f64,
    /// Epochs without improvement before training stops.
    pub patience: usize,
    /// Epochs without improvement before the learning rate is halved.
    pub plateau_patience: usize,
    /// Dropout on the embedding (training only).
    pub dropout: f64,
    /// The calibration's `uncertain` threshold aims at answers right this often.
    pub target_accuracy: f64,
}

impl Default for OwnSettings {
    fn default() -> Self {
        OwnSettings {
            folds: 5,
            seed: 42,
            epochs: 50,
            batch_size: 32,
            learning_rate: 1e-3,
            patience: 10,
            plateau_patience: 3,
            dropout: 0.5,
            target_accuracy: calibrate::DEFAULT_TARGET_ACCURACY,
        }
    }
}

impl OwnSettings {
    fn head(&self, epochs: usize, early_stop_patience: usize) -> HeadSettings {
        HeadSettings {
            hidden: Vec::new(),
            dropout: self.dropout,
            epochs,
            batch_size: self.batch_size,
            weight_decay: None,
            schedule: ScheduleConfig {
                learning_rate: self.learning_rate,
                plateau_patience: self.plateau_patience,
                early_stop_patience,
                ..ScheduleConfig::default()
            },
            seed: self.seed,
        }
    }
}

/// Where a model came from, for its provenance.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OwnOrigin {
    /// What trained it (the page, or the trainer's command line).
    pub command: String,
    /// When (RFC 3339).
    pub created: String,
    /// The examples in a few words (never file names unless the user chose to give them).
    pub data: String,
}

/// Where training is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnProgress {
    /// Fits finished.
    pub done: usize,
    /// Fits in all (the folds and the final one).
    pub total: usize,
}

/// One held-out track's prediction in the cross-validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnOutcome {
    /// Its index in the (sorted) examples.
    pub track: usize,
    /// Its category.
    pub truth: usize,
    /// The category predicted for it.
    pub predicted: usize,
    /// The held-out probabilities (uncalibrated), in label order.
    pub probabilities: Vec<f32>,
}

/// What training measured: the cross-validation and the calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnReport {
    /// The categories, in output order (sorted by name).
    pub labels: Vec<String>,
    /// Example tracks per category, in label order.
    pub tracks_per_label: Vec<usize>,
    /// Patches (training rows) in all.
    pub patches: usize,
    /// Folds of the cross-validation.
    pub folds: usize,
    /// Track accuracy of the held-out folds: mean over folds.
    pub accuracy: f64,
    /// Its standard deviation over folds.
    pub accuracy_std: f64,
    /// Held-out tracks right, over all folds.
    pub correct: usize,
    /// The pooled confusion matrix, `[truth][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    /// Every track's held-out prediction.
    pub outcomes: Vec<OwnOutcome>,
    /// The best epoch of each fold.
    pub fold_epochs: Vec<usize>,
    /// Epochs the bundle's head trained for (their median).
    pub epochs: usize,
    /// The calibration and its figures.
    pub calibration: Option<CalibrationReport>,
    /// The base model's backbone (see [`embedder_id`]).
    pub embedder: String,
    /// Wall-clock seconds of the whole training.
    pub seconds: f64,
}

/// A trained own-genre model.
pub struct OwnModel {
    /// The bundle (`.gscope`).
    pub bundle: Vec<u8>,
    /// What training measured.
    pub report: OwnReport,
}

/// The transfer network a base bundle holds: the bundle itself, or a fusion's first member
/// that is a MusiCNN transfer network.
pub struct TransferBase {
    /// Its header.
    pub header: SpectrogramHeader,
    /// Its network (the backbone to keep).
    pub model: GenreNet,
    /// Which backbone it is (see [`embedder_id`]).
    pub embedder: String,
}

impl TransferBase {
    /// Finds and loads the transfer network in `bytes` (on the CPU); fails, saying why, when
    /// the bundle has none.
    pub fn from_bundle(bytes: &[u8], device: &Device) -> anyhow::Result<Self> {
        let part = transfer_part(bytes)?
            .context("the base model has no MusiCNN transfer network to learn new genres on")?;
        let (header, model) = SpectrogramBundle::from_bytes(part, device)?;
        let embedder = embedder_id(&header, part);
        Ok(TransferBase { header, model, embedder })
    }
}

/// The bytes of the MusiCNN transfer network in a bundle (itself, or a fusion's member).
pub fn transfer_part(bytes: &[u8]) -> anyhow::Result<Option<&[u8]>> {
    let is_transfer = |part: &[u8]| matches!(Header::read(part), Ok(Header::Spectrogram(h)) if h.architecture.is_transfer());
    Ok(match Header::read(bytes)? {
        Header::Fusion(_) => {
            FusionBundle::from_bytes(bytes)?.1.into_iter().find(|p| is_transfer(p))
        }
        Header::Spectrogram(_) if is_transfer(bytes) => Some(bytes),
        _ => None,
    })
}

/// The examples in training order: labels sorted by name, tracks by label then name.
fn sorted_examples(tracks: &[OwnTrack]) -> (Vec<String>, Vec<&OwnTrack>) {
    let labels: Vec<String> = tracks
        .iter()
        .map(|t| t.label.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut sorted: Vec<&OwnTrack> = tracks.iter().collect();
    sorted.sort_by(|a, b| (&a.label, &a.name).cmp(&(&b.label, &b.name)));
    (labels, sorted)
}

/// Trains an own-genre model on `tracks` (embeddings from `base`'s transfer network, see
/// [`TransferBase`]), calling `progress` after each fit. Fails, naming the problem, with
/// fewer than 2 categories, a category of fewer than 2 tracks, an empty or blank label, or
/// embeddings of the wrong length or not finite.
pub fn train_own_genres(
    base: &[u8],
    tracks: &[OwnTrack],
    settings: &OwnSettings,
    origin: &OwnOrigin,
    progress: &mut dyn FnMut(OwnProgress),
) -> anyhow::Result<OwnModel> {
    let timer = super::clock::Timer::start();
    let device = Device::flex();
    let base = TransferBase::from_bundle(base, &device)?;
    let ArchitectureConfig::Musicnn { embedding, msd_tags, .. } = base.header.architecture.clone()
    else {
        unreachable!("transfer_part returns MusiCNN transfer networks only");
    };
    let dim = embedding.dim();
    let (labels, sorted) = sorted_examples(tracks);
    check_examples(&labels, &sorted, dim, settings)?;
    let truths: Vec<usize> =
        sorted.iter().map(|t| labels.iter().position(|l| *l == t.label).unwrap_or(0)).collect();
    let per_track: Vec<&[f32]> = sorted.iter().map(|t| t.embedding.as_slice()).collect();
    let mut per_label = vec![0usize; labels.len()];
    for &t in &truths {
        per_label[t] += 1;
    }
    let folds = settings.folds.min(per_label.iter().copied().min().unwrap_or(0));
    let total = folds + 1;
    let mut fold_epochs = Vec::with_capacity(folds);
    let head_settings = settings.head(settings.epochs, settings.patience);
    let cv = cross_validate(&truths, folds, settings.seed, |i, fold| {
        let train = Rows::of(&per_track, dim, &truths, &fold.train);
        let val = Rows::of(&per_track, dim, &truths, &fold.val);
        let name = format!("fold {}/{folds}", i + 1);
        let kept =
            train_head(&name, &labels, &train, &val, &head_settings, &device, &mut Vec::new())?;
        fold_epochs.push(kept.epoch);
        let test = Rows::of(&per_track, dim, &truths, &fold.test);
        let evaluation = test.evaluate(|x| kept.model.forward(x), 256, &labels, &device)?;
        progress(OwnProgress { done: i + 1, total });
        Ok(evaluation)
    })?;
    // A handful of held-out tracks, all right, would fit a temperature near 0 (every answer
    // 100 % sure, also on music of none of these categories): never sharpen.
    let calibration =
        calibrate::fit_from(&calibrate::out_of_fold(&cv), settings.target_accuracy, 1.0);
    let epochs = median_epoch(&fold_epochs).context("no fold reported a best epoch")?;

    let all: Vec<usize> = (0..sorted.len()).collect();
    let rows = Rows::of(&per_track, dim, &truths, &all);
    // No validation set: train for the folds' median epochs, nothing to stop early on.
    let final_settings = settings.head(epochs, epochs + 1);
    let kept = train_head(
        "all tracks",
        &labels,
        &rows,
        &Rows::of(&per_track, dim, &truths, &[]),
        &final_settings,
        &device,
        &mut Vec::new(),
    )?;
    progress(OwnProgress { done: total, total });

    let report = report(
        &labels,
        per_label,
        rows.len(),
        folds,
        &cv,
        fold_epochs,
        epochs,
        calibration,
        &base.embedder,
        timer.seconds(),
    );
    let bundle =
        own_bundle(base, &labels, kept.model, embedding, msd_tags, settings, origin, &report)?;
    Ok(OwnModel { bundle, report })
}

fn check_examples(
    labels: &[String],
    sorted: &[&OwnTrack],
    dim: usize,
    settings: &OwnSettings,
) -> anyhow::Result<()> {
    ensure!(labels.len() >= 2, "at least 2 categories are needed, got {}", labels.len());
    if let Some(l) = labels.iter().find(|l| l.trim().is_empty()) {
        bail!("a category has a blank name ({l:?})");
    }
    let mut counts = BTreeMap::new();
    for t in sorted {
        *counts.entry(&t.label).or_insert(0usize) += 1;
        let n = t.embedding.len();
        ensure!(
            n > 0 && n % dim == 0,
            "the example {:?} of {:?} has {n} embedding values, not a multiple of the backbone's {dim}",
            t.name,
            t.label
        );
        if let Some(i) = t.embedding.iter().position(|v| !v.is_finite()) {
            bail!(
                "the example {:?} of {:?} has a non-finite embedding value ({i})",
                t.name,
                t.label
            );
        }
    }
    if let Some((label, n)) = counts.iter().find(|(_, &n)| n < 2) {
        bail!("the category {label:?} has {n} example; every category needs at least 2 (5 or more for a useful estimate)");
    }
    ensure!(settings.folds >= 2, "cross-validation needs at least 2 folds, got {}", settings.folds);
    ensure!(settings.epochs >= 1, "epochs must be at least 1");
    ensure!(
        settings.target_accuracy > 0.0 && settings.target_accuracy <= 1.0,
        "targetAccuracy must be within (0, 1], got {}",
        settings.target_accuracy
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn report(
    labels: &[String],
    tracks_per_label: Vec<usize>,
    patches: usize,
    folds: usize,
    cv: &CvSummary,
    fold_epochs: Vec<usize>,
    epochs: usize,
    calibration: Option<CalibrationReport>,
    embedder: &str,
    seconds: f64,
) -> OwnReport {
    let mut outcomes: Vec<OwnOutcome> = cv
        .folds
        .iter()
        .flat_map(|f| &f.tracks)
        .map(|t| OwnOutcome {
            track: t.track,
            truth: t.truth,
            predicted: super::metrics::argmax(&t.probabilities),
            probabilities: t.probabilities.clone(),
        })
        .collect();
    outcomes.sort_by_key(|o| o.track);
    let correct = outcomes.iter().filter(|o| o.truth == o.predicted).count();
    OwnReport {
        labels: labels.to_vec(),
        tracks_per_label,
        patches,
        folds,
        accuracy: cv.track_accuracy.mean,
        accuracy_std: cv.track_accuracy.std,
        correct,
        confusion: cv.pooled_confusion.clone(),
        outcomes,
        fold_epochs,
        epochs,
        calibration,
        embedder: embedder.to_string(),
        seconds,
    }
}

/// The bundle: the base's header and backbone with the new labels, head, calibration and
/// provenance.
#[allow(clippy::too_many_arguments)]
fn own_bundle(
    base: TransferBase,
    labels: &[String],
    head: crate::model::musicnn::TransferHead,
    embedding: crate::model::musicnn::MusicnnEmbedding,
    msd_tags: bool,
    settings: &OwnSettings,
    origin: &OwnOrigin,
    report: &OwnReport,
) -> anyhow::Result<Vec<u8>> {
    let Network::Musicnn(network) = base.model.network else {
        bail!("the base model's network is not a MusiCNN transfer network");
    };
    let architecture = ArchitectureConfig::Musicnn {
        embedding,
        hidden: Vec::new(),
        dropout: settings.dropout,
        msd_tags,
    };
    let mut header = base.header;
    let mut model = GenreNet::new(
        &architecture,
        header.n_mels(),
        header.n_frames(),
        labels.len(),
        &Device::flex(),
    )
    .map_err(anyhow::Error::msg)?;
    model.network =
        Network::Musicnn(MusicnnTransfer { backbone: network.backbone, head, embedding });
    let per_label: Vec<String> =
        labels.iter().zip(&report.tracks_per_label).map(|(l, n)| format!("{l} {n}")).collect();
    let tracks: usize = report.tracks_per_label.iter().sum();
    header.labels = labels.to_vec();
    header.architecture = architecture;
    header.calibration = report.calibration.as_ref().map(|c| c.calibration);
    header.provenance = Provenance {
        data: format!("{} ({tracks} tracks: {})", origin.data, per_label.join(", ")),
        split: format!(
            "{}-fold cross-validation by track (stratified, seed {}; each fold's validation share stops its training early), then the head trained on all {tracks} tracks for {} epochs, the median of the folds' best epochs",
            report.folds, settings.seed, report.epochs
        ),
        seed: settings.seed,
        command: origin.command.clone(),
        metrics: serde_json::json!({
            EMBEDDER_METRIC: report.embedder,
            "tracks_per_label": labels.iter().cloned().zip(report.tracks_per_label.iter().copied()).collect::<BTreeMap<_, _>>(),
            "cv_accuracy": report.accuracy,
            "cv_accuracy_std": report.accuracy_std,
            "cv_confusion": report.confusion,
            "fold_epochs": report.fold_epochs,
            "settings": settings,
            "calibration": report.calibration.as_ref().map(CalibrationReport::metrics),
        }),
        created: origin.created.clone(),
        dataset: Some(Dataset { name: origin.data.clone(), tracks: tracks as u64, source: String::new() }),
        evaluation: Some(Evaluation {
            method: format!("{}-fold cross-validation by track", report.folds),
            folds: report.folds as u32,
            accuracy: report.accuracy,
            accuracy_std: Some(report.accuracy_std),
        }),
    };
    Ok(SpectrogramBundle::to_bytes(&header, &model)?)
}
