//! [`SpectrogramModel`]: a network on log-Mel windows, loaded from a spectrogram bundle.
//!
//! Stages, so callers can time and show each one: [`SpectrogramModel::features`] (raw log-Mel
//! windows, also the Mel image) -> [`SpectrogramModel::infer`] (standardise, network, softmax
//! per window, mean per track). [`SpectrogramModel::infer_async`] does the same with
//! asynchronous reads, as WebGPU requires. [`Model::run`] chains them.

use burn::tensor::{Device, Tensor, TensorData};

use super::model::{Model, RunContext, RunFuture};
use super::{softmax, Classification, ClassifyError, WindowResult};
use crate::bundle::{BundleError, ModelKind, SpectrogramBundle, SpectrogramHeader};
use crate::mel::MelExtractor;
use crate::model::GenreNet;
use crate::segment::{window_features, WindowFeatures};

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
            let logits = self.batch_logits(features, start).try_into_data();
            rows.extend(self.softmax_rows(&logits.map_err(backend_error)?)?);
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
            let logits = self.batch_logits(features, start).into_data_async().await;
            rows.extend(self.softmax_rows(&logits.map_err(backend_error)?)?);
        }
        Ok(self.finish(features, rows))
    }

    /// Room for one probability row per window; fails on an empty track.
    fn rows(&self, features: &WindowFeatures) -> Result<Vec<Vec<f32>>, ClassifyError> {
        if features.is_empty() {
            return Err(ClassifyError::NoWindows);
        }
        Ok(Vec::with_capacity(features.len()))
    }

    /// The logits of the windows `start .. start + BATCH`, standardised first.
    fn batch_logits(&self, features: &WindowFeatures, start: usize) -> Tensor<2> {
        let end = (start + BATCH).min(features.len());
        let (n_mels, n_frames) = (features.n_mels, features.n_frames);
        let size = n_mels * n_frames;
        let mut input = features.data[start * size..end * size].to_vec();
        for window in input.chunks_exact_mut(size) {
            self.header.normalisation.standardise(window, n_frames);
        }
        let shape = [end - start, 1, n_mels, n_frames];
        self.model.forward(Tensor::<4>::from_data(TensorData::new(input, shape), &self.device))
    }

    /// One softmax row per window of a batch's logits.
    fn softmax_rows(&self, logits: &TensorData) -> Result<Vec<Vec<f32>>, ClassifyError> {
        let values = logits.try_to_vec::<f32>().map_err(backend_error)?;
        Ok(values.chunks_exact(self.header.labels.len()).map(softmax).collect())
    }

    /// The track result from every window's probabilities.
    fn finish(&self, features: &WindowFeatures, rows: Vec<Vec<f32>>) -> Classification {
        let rate = self.header.feature_config.sample_rate;
        let windows = features
            .spans
            .iter()
            .zip(rows)
            .map(|(span, probabilities)| WindowResult {
                start_seconds: span.start_seconds(rate),
                end_seconds: span.end_seconds(rate),
                padded: span.padded,
                probabilities,
            })
            .collect();
        Classification::from_windows(self.header.labels.clone(), windows)
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

fn backend_error(e: impl std::fmt::Debug) -> ClassifyError {
    ClassifyError::Backend(format!("{e:?}"))
}
