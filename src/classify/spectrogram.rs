//! [`SpectrogramModel`]: a network on log-Mel windows, loaded from a spectrogram bundle.
//!
//! Stages, so callers can time and show each one: [`SpectrogramModel::features`] (raw log-Mel
//! windows, also the Mel image) -> [`SpectrogramModel::infer`] (standardise, network, softmax
//! per window, mean per track). [`SpectrogramModel::infer_async`] does the same with
//! asynchronous reads, as WebGPU requires. [`Model::run`] chains them.

use burn::tensor::{Device, Tensor, TensorData};

use super::model::{Model, RunContext, RunFuture};
use super::{mean_probabilities, rank, softmax, Classification, ClassifyError, WindowResult};
use crate::bundle::{BundleError, ModelKind, SpectrogramBundle, SpectrogramHeader};
use crate::feature_config::Windowing;
use crate::mel::MelExtractor;
use crate::model::GenreNet;
use crate::segment::{window_features, WindowFeatures};
use crate::trust::music_detector::sigmoid;
use crate::trust::DetectorInput;

/// Windows sent through the network at once; bounds memory on long tracks.
const BATCH: usize = 16;

/// A spectrogram model ready to classify: header, network on a device, and the matching
/// front end.
pub struct SpectrogramModel {
    header: SpectrogramHeader,
    model: GenreNet,
    device: Device,
    extractor: MelExtractor,
}

impl SpectrogramModel {
    /// Loads a bundle onto `device`, checking it completely (see [`SpectrogramBundle::from_bytes`]).
    pub fn from_bundle(bytes: &[u8], device: &Device) -> Result<Self, ClassifyError> {
        let (header, model) = SpectrogramBundle::from_bytes(bytes, device)?;
        let extractor =
            MelExtractor::new(&header.feature_config).map_err(BundleError::InvalidFeatureConfig)?;
        Ok(SpectrogramModel { header, model, device: device.clone(), extractor })
    }

    /// The bundle header (labels, feature config, provenance).
    pub fn header(&self) -> &SpectrogramHeader {
        &self.header
    }

    /// The raw (unstandardised) log-Mel windows of mono PCM at the model's rate.
    pub fn features(&self, samples: &[f32]) -> WindowFeatures {
        window_features(&self.header.feature_config, &self.extractor, samples)
    }

    /// Runs the network on every window; reads results synchronously (CPU backends, native
    /// wgpu). On WebGPU in the browser use [`infer_async`](Self::infer_async).
    pub fn infer(&self, features: &WindowFeatures) -> Result<Classification, ClassifyError> {
        let mut rows = self.rows(features)?;
        for start in (0..features.len()).step_by(BATCH) {
            let outputs = self.batch_outputs(features, start);
            for tensor in outputs {
                rows.read(tensor.try_into_data().map_err(backend_error)?)?;
            }
        }
        Ok(self.finish(features, rows))
    }

    /// [`infer`](Self::infer) with asynchronous reads, usable on every backend.
    pub async fn infer_async(
        &self,
        features: &WindowFeatures,
    ) -> Result<Classification, ClassifyError> {
        let mut rows = self.rows(features)?;
        for start in (0..features.len()).step_by(BATCH) {
            let outputs = self.batch_outputs(features, start);
            for tensor in outputs {
                rows.read(tensor.into_data_async().await.map_err(backend_error)?)?;
            }
        }
        Ok(self.finish(features, rows))
    }

    /// Room for the rows of every window; fails on an empty track.
    fn rows(&self, features: &WindowFeatures) -> Result<Rows, ClassifyError> {
        if features.is_empty() {
            return Err(ClassifyError::NoWindows);
        }
        Ok(Rows::new(
            features.len(),
            self.header.labels.len(),
            self.header.tags.len(),
            self.detector_input_len(),
        ))
    }

    /// Values per window the music detector reads (0 without a detector).
    fn detector_input_len(&self) -> usize {
        self.header
            .music_detector
            .as_ref()
            .and_then(|d| self.header.architecture.detector_input_len(d.input))
            .unwrap_or(0)
    }

    /// The outputs of the windows `start .. start + BATCH` that the result needs, in the
    /// order [`Rows::read`] takes them: logits, then tag logits (when the header names
    /// tags), then the music detector's input (when it has one). Standardised first.
    fn batch_outputs(&self, features: &WindowFeatures, start: usize) -> Vec<Tensor<2>> {
        let end = (start + BATCH).min(features.len());
        let (n_mels, n_frames) = (features.n_mels, features.n_frames);
        let size = n_mels * n_frames;
        let mut input = features.data[start * size..end * size].to_vec();
        for window in input.chunks_exact_mut(size) {
            self.header.normalisation.standardise(window, n_frames);
        }
        let shape = [end - start, 1, n_mels, n_frames];
        let x = Tensor::<4>::from_data(TensorData::new(input, shape), &self.device);
        let wants_tags = !self.header.tags.is_empty();
        let detector = self.header.music_detector.as_ref().map(|d| d.input);
        if !wants_tags && detector.is_none() {
            return vec![self.model.forward(x)];
        }
        let (logits, backbone) = self.model.forward_all(x);
        let mut outputs = vec![logits];
        if let Some(b) = backbone {
            if wants_tags {
                outputs.extend(b.tag_logits.clone());
            }
            outputs.extend(match detector {
                Some(DetectorInput::Penultimate) => b.penultimate,
                Some(DetectorInput::TagLogits) => b.tag_logits,
                Some(DetectorInput::Pools) => Some(b.pools),
                None => None,
            });
        }
        outputs
    }

    /// The track result from every window's rows: probabilities, tags, music score.
    fn finish(&self, features: &WindowFeatures, rows: Rows) -> Classification {
        let rate = self.header.feature_config.sample_rate;
        let windows = features
            .spans
            .iter()
            .zip(rows.probabilities)
            .map(|(span, probabilities)| WindowResult {
                start_seconds: span.start_seconds(rate),
                end_seconds: span.end_seconds(rate),
                padded: span.padded,
                probabilities,
            })
            .collect();
        let mut result = Classification::from_windows(self.header.labels.clone(), windows);
        if !self.header.tags.is_empty() {
            let mean = mean_probabilities(&rows.tags, self.header.tags.len());
            result.tags = rank(&self.header.tags, &mean);
        }
        result.music = self
            .header
            .music_detector
            .as_ref()
            .map(|d| d.score(rows.detector.iter().map(Vec::as_slice)));
        result
    }

    /// Times the features, hands them to the context for the Mel image, and returns them.
    fn timed_features(&self, samples: &[f32], ctx: &mut RunContext) -> WindowFeatures {
        let start = ctx.now();
        let features = self.features(samples);
        ctx.features_ms += ctx.now() - start;
        let cfg = &self.header.feature_config;
        ctx.offer_mel(&features, cfg.hop_length, cfg.sample_rate);
        features
    }
}

impl Model for SpectrogramModel {
    fn kind(&self) -> ModelKind {
        ModelKind::Spectrogram
    }

    fn labels(&self) -> &[String] {
        &self.header.labels
    }

    fn sample_rate(&self) -> u32 {
        self.header.feature_config.sample_rate
    }

    fn set_max_patches(&mut self, max: Option<usize>) {
        if let Windowing::SpectrogramPatches { max_patches, .. } =
            &mut self.header.feature_config.windowing
        {
            *max_patches = max;
        }
    }

    /// Never: input shorter than one window is padded with silence.
    fn not_applicable(&self, _n_samples: usize) -> Option<String> {
        None
    }

    fn run(&self, samples: &[f32], ctx: &mut RunContext) -> Result<Classification, ClassifyError> {
        let features = self.timed_features(samples, ctx);
        let start = ctx.now();
        let result = self.infer(&features);
        ctx.inference_ms += ctx.now() - start;
        result
    }

    fn run_async<'a>(&'a self, samples: &'a [f32], ctx: &'a mut RunContext) -> RunFuture<'a> {
        Box::pin(async move {
            let features = self.timed_features(samples, ctx);
            let start = ctx.now();
            let result = self.infer_async(&features).await;
            ctx.inference_ms += ctx.now() - start;
            result
        })
    }
}

/// What the network gave for each window so far.
struct Rows {
    /// Softmax probabilities, one row per window.
    probabilities: Vec<Vec<f32>>,
    /// Tag probabilities (sigmoid of the tag logits), one row per window; empty without tags.
    tags: Vec<Vec<f32>>,
    /// The music detector's input, one row per window; empty without a detector.
    detector: Vec<Vec<f32>>,
    n_labels: usize,
    n_tags: usize,
    detector_len: usize,
}

impl Rows {
    fn new(windows: usize, n_labels: usize, n_tags: usize, detector_len: usize) -> Self {
        let room = |wanted: usize| Vec::with_capacity(if wanted > 0 { windows } else { 0 });
        Rows {
            probabilities: Vec::with_capacity(windows),
            tags: room(n_tags),
            detector: room(detector_len),
            n_labels,
            n_tags,
            detector_len,
        }
    }

    /// Takes the next output of a batch, in [`SpectrogramModel::batch_outputs`]'s order.
    fn read(&mut self, data: TensorData) -> Result<(), ClassifyError> {
        let values = data.try_to_vec::<f32>().map_err(backend_error)?;
        match self.pending() {
            Pending::Logits => {
                self.probabilities.extend(values.chunks_exact(self.n_labels).map(softmax))
            }
            Pending::Tags => self.tags.extend(
                values
                    .chunks_exact(self.n_tags)
                    .map(|row| row.iter().map(|&z| sigmoid(z as f64) as f32).collect()),
            ),
            Pending::Detector => {
                self.detector.extend(values.chunks_exact(self.detector_len).map(<[f32]>::to_vec))
            }
        }
        Ok(())
    }

    /// Which output comes next: the logits of a new batch, or the tags or detector input of
    /// the batch whose logits came last.
    fn pending(&self) -> Pending {
        let done = self.probabilities.len();
        if self.n_tags > 0 && self.tags.len() < done {
            Pending::Tags
        } else if self.detector_len > 0 && self.detector.len() < done {
            Pending::Detector
        } else {
            Pending::Logits
        }
    }
}

/// See [`Rows::pending`].
enum Pending {
    Logits,
    Tags,
    Detector,
}

fn backend_error(e: impl std::fmt::Debug) -> ClassifyError {
    ClassifyError::Backend(format!("{e:?}"))
}
