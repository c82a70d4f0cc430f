//! [`Classifier`]: a loaded model bundle that turns audio into genre probabilities.
//!
//! The path is split into stages so callers can time and show each one:
//! [`decode`](crate::audio::decode) -> [`to_target_rate`](crate::audio::to_target_rate) ->
//! [`Classifier::features`] (raw log-Mel windows, also the Mel image) ->
//! [`Classifier::infer`] (standardise, CNN, softmax per window, mean per track).
//! [`Classifier::infer_async`] does the same with asynchronous reads, as WebGPU requires.
//! [`Ensemble`] runs these stages for any bundle, from decoding on.
//!
//! - [`table`]: [`TableClassifier`], a table model on clip descriptors.
//! - [`fused`]: [`Ensemble`], any bundle (one model or a fusion of members) behind one call.

pub mod fused;
pub mod table;

pub use fused::{Ensemble, Member, MemberFeatures, MemberModel};
pub use table::{TableClassifier, TableFeatures};

use burn::tensor::{Device, Tensor, TensorData, Transaction};
use serde::Serialize;
use thiserror::Error;

use crate::audio::AudioError;
use crate::bundle::{Bundle, BundleError, BundleHeader, ModelKind};
use crate::descriptors::DescriptorError;
use crate::mel::MelExtractor;
use crate::model::GenreNet;
use crate::segment::{window_features, WindowFeatures};

/// Windows sent through the network at once; bounds memory on long tracks.
pub const DEFAULT_BATCH: usize = 16;

/// Why a track could not be classified.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ClassifyError {
    /// The audio could not be read or is unusable.
    #[error(transparent)]
    Audio(#[from] AudioError),
    /// The model bundle could not be loaded.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The track gave no window (it was empty).
    #[error("the audio is empty: no window to classify")]
    NoWindows,
    /// The clip descriptors of a table model could not be computed.
    #[error(transparent)]
    Descriptors(#[from] DescriptorError),
    /// No member of a fusion applies to this input (e.g. it is shorter than each needs).
    #[error("no member of the model can classify this input: {0}")]
    NoMemberApplies(String),
    /// The compute backend failed while running the model.
    #[error("the model could not run on this device: {0}")]
    Backend(String),
}

/// A label with its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelScore {
    /// The genre.
    pub label: String,
    /// Its probability (0..1).
    pub probability: f32,
}

/// The model's view of one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowResult {
    /// Start of the window in the track, in seconds.
    pub start_seconds: f64,
    /// End of the real audio in the window, in seconds.
    pub end_seconds: f64,
    /// The window was zero-padded (the track is shorter than a window).
    pub padded: bool,
    /// Probabilities in label order.
    pub probabilities: Vec<f32>,
}

/// The result for a whole track.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// Labels in model output order.
    pub labels: Vec<String>,
    /// Track probabilities: the mean of the window probabilities, in label order.
    pub probabilities: Vec<f32>,
    /// Per-label count of windows whose most likely label it is (majority vote).
    pub votes: Vec<usize>,
    /// All labels, most likely first.
    pub ranking: Vec<LabelScore>,
    /// The per-window timeline.
    pub windows: Vec<WindowResult>,
    /// Mean of the windows' penultimate-layer embeddings, for similarity search (empty for
    /// a table model).
    pub embedding: Vec<f32>,
    /// For a fusion: each member's own result and how much it counted (empty otherwise).
    pub members: Vec<MemberResult>,
}

/// One member's opinion within a fused [`Classification`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberResult {
    /// The member's name in the bundle.
    pub name: String,
    /// What the member is.
    pub kind: ModelKind,
    /// Its weight in this result (renormalised over the members used; 0 when skipped).
    pub weight: f64,
    /// Why it was left out of this result (too short for it, ...); `None` when it counted.
    pub skipped: Option<String>,
    /// Its track probabilities, in label order (empty when skipped).
    pub probabilities: Vec<f32>,
    /// Its windows (3 s patches, 30 s descriptor windows, ...).
    pub windows: Vec<WindowResult>,
}

impl Classification {
    /// The track result from per-window results: mean probabilities, majority votes and the
    /// ranking; `embedding` is kept as given.
    pub fn from_windows(
        labels: Vec<String>,
        windows: Vec<WindowResult>,
        embedding: Vec<f32>,
    ) -> Self {
        let per_window: Vec<Vec<f32>> = windows.iter().map(|w| w.probabilities.clone()).collect();
        let probabilities = mean_probabilities(&per_window, labels.len());
        let mut votes = vec![0usize; labels.len()];
        for p in &per_window {
            votes[argmax(p)] += 1;
        }
        let ranking = rank(&labels, &probabilities);
        Classification {
            labels,
            probabilities,
            votes,
            ranking,
            windows,
            embedding,
            members: Vec::new(),
        }
    }
}

/// Every label with its probability, most likely first.
pub fn rank(labels: &[String], probabilities: &[f32]) -> Vec<LabelScore> {
    let mut ranking: Vec<LabelScore> = labels
        .iter()
        .zip(probabilities)
        .map(|(label, &probability)| LabelScore { label: label.clone(), probability })
        .collect();
    ranking.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    ranking
}

impl Classification {
    /// The `k` most likely labels.
    pub fn top(&self, k: usize) -> &[LabelScore] {
        &self.ranking[..k.min(self.ranking.len())]
    }
}

/// A model ready to classify: header, network on a device, and the matching front end.
pub struct Classifier {
    header: BundleHeader,
    model: GenreNet,
    device: Device,
    extractor: MelExtractor,
    batch: usize,
}

impl Classifier {
    /// Loads a bundle onto `device`, checking it completely (see [`Bundle::from_bytes`]).
    pub fn from_bundle(bytes: &[u8], device: &Device) -> Result<Self, ClassifyError> {
        let (header, model) = Bundle::from_bytes(bytes, device)?;
        let extractor =
            MelExtractor::new(&header.feature_config).map_err(BundleError::InvalidFeatureConfig)?;
        Ok(Classifier { header, model, device: device.clone(), extractor, batch: DEFAULT_BATCH })
    }

    /// Sets how many windows run through the network at once (at least 1).
    pub fn with_batch_size(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// The bundle header (labels, feature config, provenance).
    pub fn header(&self) -> &BundleHeader {
        &self.header
    }

    /// Labels in output order.
    pub fn labels(&self) -> &[String] {
        &self.header.labels
    }

    /// The sample rate the model's front end expects, in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.header.feature_config.sample_rate
    }

    /// The device the network runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The raw (unstandardised) log-Mel windows of mono PCM at the model's rate.
    pub fn features(&self, samples: &[f32]) -> WindowFeatures {
        window_features(&self.header.feature_config, &self.extractor, samples)
    }

    /// Runs the network on every window; reads results synchronously (CPU backends, native
    /// wgpu). On WebGPU in the browser use [`infer_async`](Self::infer_async).
    pub fn infer(&self, features: &WindowFeatures) -> Result<Classification, ClassifyError> {
        let mut acc = self.accumulator(features)?;
        for start in (0..features.len()).step_by(self.batch) {
            let data = self.batch_reads(features, start).try_execute().map_err(backend_error)?;
            acc.push(&data)?;
        }
        Ok(acc.finish(features, self.sample_rate()))
    }

    /// [`infer`](Self::infer) with asynchronous reads, usable on every backend.
    pub async fn infer_async(
        &self,
        features: &WindowFeatures,
    ) -> Result<Classification, ClassifyError> {
        let mut acc = self.accumulator(features)?;
        for start in (0..features.len()).step_by(self.batch) {
            let data =
                self.batch_reads(features, start).execute_async().await.map_err(backend_error)?;
            acc.push(&data)?;
        }
        Ok(acc.finish(features, self.sample_rate()))
    }

    fn accumulator(&self, features: &WindowFeatures) -> Result<Accumulator, ClassifyError> {
        if features.is_empty() {
            return Err(ClassifyError::NoWindows);
        }
        Ok(Accumulator {
            labels: self.header.labels.clone(),
            probabilities: Vec::with_capacity(features.len()),
            embedding_sum: vec![0.0; self.model.embedding_dim()],
        })
    }

    /// A read of the logits and embeddings of the windows `start .. start + batch`.
    fn batch_reads(&self, features: &WindowFeatures, start: usize) -> Transaction {
        let end = (start + self.batch).min(features.len());
        let (n_mels, n_frames) = (features.n_mels, features.n_frames);
        let size = n_mels * n_frames;
        let mut input = features.data[start * size..end * size].to_vec();
        for window in input.chunks_exact_mut(size) {
            self.header.normalisation.standardise(window, n_frames);
        }
        let x = Tensor::<4>::from_data(
            TensorData::new(input, [end - start, 1, n_mels, n_frames]),
            &self.device,
        );
        let (logits, embedding) = self.model.forward_with_embedding(x);
        Transaction::default().register(logits).register(embedding)
    }
}

fn backend_error(e: impl std::fmt::Debug) -> ClassifyError {
    ClassifyError::Backend(format!("{e:?}"))
}

/// Collects per-batch outputs into a [`Classification`].
struct Accumulator {
    labels: Vec<String>,
    probabilities: Vec<Vec<f32>>,
    embedding_sum: Vec<f64>,
}

impl Accumulator {
    fn push(&mut self, data: &[TensorData]) -> Result<(), ClassifyError> {
        let read = |d: &TensorData| d.try_to_vec::<f32>().map_err(backend_error);
        let (logits, embedding) = match data {
            [l, e] => (read(l)?, read(e)?),
            _ => {
                return Err(ClassifyError::Backend(format!(
                    "expected 2 tensors, read {}",
                    data.len()
                )))
            }
        };
        let n_labels = self.labels.len();
        for row in logits.chunks_exact(n_labels) {
            self.probabilities.push(softmax(row));
        }
        let dim = self.embedding_sum.len();
        for row in embedding.chunks_exact(dim) {
            for (s, &v) in self.embedding_sum.iter_mut().zip(row) {
                *s += v as f64;
            }
        }
        Ok(())
    }

    fn finish(self, features: &WindowFeatures, sample_rate: u32) -> Classification {
        let n = self.probabilities.len().max(1) as f64;
        let windows = features
            .spans
            .iter()
            .zip(self.probabilities)
            .map(|(span, probabilities)| WindowResult {
                start_seconds: span.start_seconds(sample_rate),
                end_seconds: span.end_seconds(sample_rate),
                padded: span.padded,
                probabilities,
            })
            .collect();
        let embedding = self.embedding_sum.iter().map(|s| (s / n) as f32).collect();
        Classification::from_windows(self.labels, windows, embedding)
    }
}

/// Numerically stable softmax of one row of logits.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = logits.iter().map(|&l| ((l - max) as f64).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| (e / sum) as f32).collect()
}

/// Per-label mean of window probabilities (the track-level aggregate).
pub fn mean_probabilities(windows: &[Vec<f32>], n_labels: usize) -> Vec<f32> {
    let mut sum = vec![0.0f64; n_labels];
    for p in windows {
        for (s, &v) in sum.iter_mut().zip(p) {
            *s += v as f64;
        }
    }
    let n = windows.len().max(1) as f64;
    sum.iter().map(|s| (s / n) as f32).collect()
}

/// Index of the largest value (the first one on ties).
pub fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold(0, |best, (i, &v)| if v > values[best] { i } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let p = softmax(&[1000.0, 1000.0, -1000.0]);
        assert!((p[0] - 0.5).abs() < 1e-6 && (p[1] - 0.5).abs() < 1e-6 && p[2] == 0.0);
        let p = softmax(&[0.1, 2.0, -0.3]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(argmax(&p), 1);
    }

    #[test]
    fn mean_of_window_probabilities() {
        let m = mean_probabilities(&[vec![1.0, 0.0], vec![0.5, 0.5]], 2);
        assert_eq!(m, vec![0.75, 0.25]);
        assert_eq!(argmax(&[0.2, 0.2, 0.1]), 0);
    }
}
