//! [`SpectrogramModel`]: a network on log-Mel windows, loaded from a spectrogram bundle.
//!
//! Stages, so callers can time and show each one: [`SpectrogramModel::features`] (raw log-Mel
//! windows, also the Mel image) -> the network on the windows a [`PatchSelection`] takes
//! (standardise, network, softmax, tags and detector input per window) -> [`Model::conclude`]
//! (mean per track). [`SpectrogramModel::infer`] runs the last two on given features.

#[cfg(feature = "burn")]
use burn::tensor::{Tensor, TensorData};

use super::model::{AnalyseFuture, Analysis, Model, PatchEmbeddings, RunContext};
use super::parts::{AnalysedWindow, PatchSelection};
use super::{mean_probabilities, rank, softmax, Classification, ClassifyError, WindowResult};
use crate::audio::{resample_range, resampled_len};
use crate::bundle::{BundleError, ModelKind, SpectrogramBundle, SpectrogramHeader};
use crate::device::Device;
use crate::feature_config::Windowing;
use crate::mel::MelExtractor;
use crate::model::plain::{self, PlainTransfer};
#[cfg(feature = "burn")]
use crate::model::GenreNet;
use crate::segment::{window_features, window_starts, WindowFeatures, WindowSpan};
use crate::trust::music_detector::sigmoid;
use crate::trust::DetectorInput;

/// Windows sent through the network at once; bounds memory on long tracks.
const BATCH: usize = 16;

/// A spectrogram model ready to classify: header, network, and the matching front end.
pub struct SpectrogramModel {
    header: SpectrogramHeader,
    network: Network,
    extractor: MelExtractor,
}

/// The network and what runs it.
// One per loaded model: boxing the larger variant buys nothing.
#[allow(clippy::large_enum_variant)]
enum Network {
    /// Burn-free, on the CPU: what a MusiCNN transfer network runs as on the plain CPU device.
    Plain(PlainTransfer),
    /// Burn's network on a device (the other architectures, and the GPU).
    #[cfg(feature = "burn")]
    Burn { model: GenreNet, device: Device },
}

impl SpectrogramModel {
    /// Loads a bundle for `device`, checking it completely (see [`SpectrogramBundle::from_bytes`]).
    /// On the plain CPU device a MusiCNN transfer network runs without Burn
    /// ([`PlainTransfer`], the same values).
    pub fn from_bundle(bytes: &[u8], device: &Device) -> Result<Self, ClassifyError> {
        let plain =
            if plain::serves(device) { SpectrogramBundle::plain_from_bytes(bytes)? } else { None };
        let (header, network) = match plain {
            Some((header, net)) => (header, Network::Plain(net)),
            #[cfg(feature = "burn")]
            None => {
                let (header, model) = SpectrogramBundle::from_bytes(bytes, device)?;
                (header, Network::Burn { model, device: device.clone() })
            }
            #[cfg(not(feature = "burn"))]
            None => {
                let header = SpectrogramBundle::read_header(bytes)?;
                return Err(ClassifyError::NeedsBurn(header.architecture.description().into()));
            }
        };
        let extractor =
            MelExtractor::new(&header.feature_config).map_err(BundleError::InvalidFeatureConfig)?;
        Ok(SpectrogramModel { header, network, extractor })
    }

    /// The bundle header (labels, feature config, provenance).
    pub fn header(&self) -> &SpectrogramHeader {
        &self.header
    }

    /// The raw (unstandardised) log-Mel windows of mono PCM at the model's rate.
    pub fn features(&self, samples: &[f32]) -> WindowFeatures {
        window_features(&self.header.feature_config, &self.extractor, samples)
    }

    /// Runs the network on every window and concludes the track result (uncalibrated);
    /// reads results synchronously (CPU backends, native wgpu).
    pub fn infer(&self, features: &WindowFeatures) -> Result<Classification, ClassifyError> {
        let indices: Vec<usize> = (0..features.len()).collect();
        Ok(self.conclude(&self.infer_windows(features, &indices)?))
    }

    /// Every patch's backbone embedding (see [`Model::embed`]), standardised as for
    /// classification; fails on an empty track.
    fn backbone_embeddings(&self, samples: &[f32]) -> Result<PatchEmbeddings, ClassifyError> {
        let cfg = self.header.feature_config.without_patch_limit();
        let features = window_features(&cfg, &self.extractor, samples);
        if features.is_empty() {
            return Err(ClassifyError::NoWindows);
        }
        let mut data = Vec::new();
        for start in (0..features.len()).step_by(BATCH) {
            let input = self.standardised_batch(&features, start);
            match &self.network {
                Network::Plain(net) => {
                    data.extend(net.backbone_embedding(&input, features.n_mels, features.n_frames))
                }
                #[cfg(feature = "burn")]
                Network::Burn { model, device } => {
                    let x = tensor_batch(input, &features, device);
                    let e = model.backbone_embedding(x).ok_or_else(|| {
                        ClassifyError::Backend("this network has no backbone embedding".into())
                    })?;
                    data.extend(e.try_into_data().map_err(backend_error)?.iter::<f32>());
                }
            }
        }
        let dim = data.len() / features.len();
        Ok(PatchEmbeddings { dim, data })
    }

    /// The network's rows for every window of `features`, whose windows are the track's
    /// windows `indices`; synchronous reads.
    fn infer_windows(
        &self,
        features: &WindowFeatures,
        indices: &[usize],
    ) -> Result<Vec<AnalysedWindow>, ClassifyError> {
        let mut rows = self.rows(features)?;
        for start in (0..features.len()).step_by(BATCH) {
            for output in self.batch_outputs(features, start) {
                rows.read(output.values()?)?;
            }
        }
        Ok(self.analysed(features, indices, rows))
    }

    /// [`infer_windows`](Self::infer_windows) with asynchronous reads, usable on every backend.
    async fn infer_windows_async(
        &self,
        features: &WindowFeatures,
        indices: &[usize],
    ) -> Result<Vec<AnalysedWindow>, ClassifyError> {
        let mut rows = self.rows(features)?;
        for start in (0..features.len()).step_by(BATCH) {
            for output in self.batch_outputs(features, start) {
                rows.read(output.values_async().await?)?;
            }
        }
        Ok(self.analysed(features, indices, rows))
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

    /// The windows `start .. start + BATCH` of `features`, standardised
    /// (`[n][n_mels][n_frames]`).
    fn standardised_batch(&self, features: &WindowFeatures, start: usize) -> Vec<f32> {
        let end = (start + BATCH).min(features.len());
        let size = features.n_mels * features.n_frames;
        let mut input = features.data[start * size..end * size].to_vec();
        for window in input.chunks_exact_mut(size) {
            self.header.normalisation.standardise(window, features.n_frames);
        }
        input
    }

    /// The outputs of the windows `start .. start + BATCH` that the result needs, in the
    /// order [`Rows::read`] takes them: logits, then tag logits (when the header names
    /// tags), then the music detector's input (when it has one). Standardised first.
    fn batch_outputs(&self, features: &WindowFeatures, start: usize) -> Vec<BatchOutput> {
        let input = self.standardised_batch(features, start);
        let wants_tags = !self.header.tags.is_empty();
        let detector = self.header.music_detector.as_ref().map(|d| d.input);
        match &self.network {
            Network::Plain(net) => {
                let out = net.forward_all(&input, features.n_mels, features.n_frames);
                let backbone = Backbone {
                    pools: out.pools,
                    penultimate: out.penultimate,
                    tag_logits: out.tag_logits,
                };
                let outputs = needed_outputs(out.logits, Some(backbone), wants_tags, detector);
                outputs.into_iter().map(BatchOutput::Values).collect()
            }
            #[cfg(feature = "burn")]
            Network::Burn { model, device } => {
                let x = tensor_batch(input, features, device);
                if !wants_tags && detector.is_none() {
                    return vec![BatchOutput::Tensor(Box::new(model.forward(x)))];
                }
                let (logits, backbone) = model.forward_all(x);
                let backbone = backbone.map(|b| Backbone {
                    pools: b.pools,
                    penultimate: b.penultimate,
                    tag_logits: b.tag_logits,
                });
                let outputs = needed_outputs(logits, backbone, wants_tags, detector);
                outputs.into_iter().map(|t| BatchOutput::Tensor(Box::new(t))).collect()
            }
        }
    }

    /// Each window's rows with its index and place in the track.
    fn analysed(
        &self,
        features: &WindowFeatures,
        indices: &[usize],
        rows: Rows,
    ) -> Vec<AnalysedWindow> {
        let rate = self.header.feature_config.sample_rate;
        let mut tags = rows.tags.into_iter();
        let mut detector = rows.detector.into_iter();
        features
            .spans
            .iter()
            .zip(indices)
            .zip(rows.probabilities)
            .map(|((span, &index), probabilities)| AnalysedWindow {
                index,
                window: WindowResult {
                    start_seconds: span.start_seconds(rate),
                    end_seconds: span.end_seconds(rate),
                    padded: span.padded,
                    probabilities,
                },
                tags: tags.next().unwrap_or_default(),
                detector: detector.next().unwrap_or_default(),
            })
            .collect()
    }

    /// The windows of `samples` that `selection` takes, their indices and the track's
    /// window count; times the features. When a Mel image is wanted, the whole track's
    /// log-Mel is computed (and offered for the image) and the windows picked from it; else
    /// only the chosen patches' frames are ([`Self::patch_features`]), which gives the same
    /// values.
    fn selected_features(
        &self,
        samples: &[f32],
        selection: PatchSelection,
        ctx: &mut RunContext,
    ) -> Selected {
        let start = ctx.now();
        let cfg = self.header.feature_config.without_patch_limit();
        if !ctx.wants_mel() {
            if let Some((starts, patch_frames)) = self.patch_starts(samples.len()) {
                let indices = selection.indices(starts.len(), self.max_patches());
                let partial = (indices.len() < starts.len())
                    .then(|| self.patch_features(samples, &starts, patch_frames, &indices))
                    .flatten();
                if let Some(features) = partial {
                    ctx.features_ms += ctx.now() - start;
                    return Selected { features, indices, total: starts.len() };
                }
            }
        }
        let all = window_features(&cfg, &self.extractor, samples);
        let total = all.len();
        let indices = selection.indices(total, self.max_patches());
        let chosen = if indices.len() == total { None } else { Some(all.select(&indices)) };
        ctx.features_ms += ctx.now() - start;
        ctx.offer_mel(&all, cfg.hop_length, cfg.sample_rate);
        Selected { features: chosen.unwrap_or(all), indices, total }
    }

    /// The first frame of every patch of a track of `len` samples (at the model's rate), and
    /// the patch length in frames; `None` for models without patches, or a track shorter than
    /// one patch (padded to one: the whole-track path handles it).
    fn patch_starts(&self, len: usize) -> Option<(Vec<usize>, usize)> {
        let cfg = &self.header.feature_config;
        let Windowing::SpectrogramPatches { patch_frames, hop_frames, .. } = cfg.windowing else {
            return None;
        };
        if len < (patch_frames - 1) * cfg.hop_length {
            return None;
        }
        Some((window_starts(self.extractor.n_frames(len), patch_frames, hop_frames), patch_frames))
    }

    /// The log-Mel features of the patches `indices` of `track` (starting at the frames
    /// `starts`), computed for those frames only: the same values as the whole track's.
    /// `None` when the compression needs the whole spectrogram (a `top_db` floor).
    fn patch_features(
        &self,
        track: &[f32],
        starts: &[usize],
        patch_frames: usize,
        indices: &[usize],
    ) -> Option<WindowFeatures> {
        let hop = self.header.feature_config.hop_length;
        let n_mels = self.extractor.n_mels();
        let mut data = Vec::with_capacity(indices.len() * n_mels * patch_frames);
        let mut spans = Vec::with_capacity(indices.len());
        for &i in indices {
            let start = starts[i];
            data.extend(self.extractor.log_mel_frames(track, start..start + patch_frames)?.data);
            spans.push(WindowSpan {
                start_sample: start * hop,
                end_sample: ((start + patch_frames) * hop).min(track.len()),
                padded: false,
            });
        }
        Some(WindowFeatures { n_mels, n_frames: patch_frames, spans, data })
    }

    /// The features of `count` evenly spread patches of `source` (at `source_rate`), from the
    /// audio around each only: resampled piecewise ([`resample_range`]) into an otherwise
    /// empty track, whose log-Mel is computed for those frames only; with their indices and
    /// the track's patch count. `None` where that does not apply (see [`Model::preview`]).
    fn preview_features(
        &self,
        source: &[f32],
        source_rate: u32,
        count: usize,
    ) -> Option<Result<Selected, ClassifyError>> {
        let cfg = &self.header.feature_config;
        let len = resampled_len(source.len(), source_rate, cfg.sample_rate);
        let (starts, patch_frames) = self.patch_starts(len)?;
        let indices = PatchSelection::Spread { count }.indices(starts.len(), None);
        let mut track = vec![0.0f32; len];
        let margin = cfg.n_fft;
        for &i in &indices {
            let (first, last) = (starts[i] & !1, (starts[i] + patch_frames) | 1);
            let from = self.extractor.frame_support(first, len).start.saturating_sub(margin);
            let to = (self.extractor.frame_support(last, len).end + margin).min(len);
            match resample_range(source, source_rate, cfg.sample_rate, from..to) {
                Ok(piece) => track[from..from + piece.len()].copy_from_slice(&piece),
                Err(e) => return Some(Err(e.into())),
            }
        }
        let features = self.patch_features(&track, &starts, patch_frames, &indices)?;
        Some(Ok(Selected { features, indices, total: starts.len() }))
    }

    /// The bundle's `max_patches` (`None` for every patch, or for audio windows).
    fn max_patches(&self) -> Option<usize> {
        match self.header.feature_config.windowing {
            Windowing::SpectrogramPatches { max_patches, .. } => max_patches,
            Windowing::AudioWindows { .. } => None,
        }
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

    fn embed(&self, samples: &[f32]) -> Option<Result<PatchEmbeddings, ClassifyError>> {
        if !self.header.architecture.is_transfer() {
            return None;
        }
        Some(self.backbone_embeddings(samples))
    }

    /// Never: input shorter than one window is padded with silence.
    fn not_applicable(&self, _n_samples: usize) -> Option<String> {
        None
    }

    fn analyse(
        &self,
        samples: &[f32],
        selection: PatchSelection,
        ctx: &mut RunContext,
    ) -> Result<Analysis, ClassifyError> {
        let Selected { features, indices, total } = self.selected_features(samples, selection, ctx);
        if total == 0 {
            return Err(ClassifyError::NoWindows);
        }
        let start = ctx.now();
        let windows =
            if indices.is_empty() { Vec::new() } else { self.infer_windows(&features, &indices)? };
        ctx.inference_ms += ctx.now() - start;
        Ok(Analysis { total, windows })
    }

    fn analyse_async<'a>(
        &'a self,
        samples: &'a [f32],
        selection: PatchSelection,
        ctx: &'a mut RunContext,
    ) -> AnalyseFuture<'a> {
        Box::pin(async move {
            let Selected { features, indices, total } =
                self.selected_features(samples, selection, ctx);
            if total == 0 {
                return Err(ClassifyError::NoWindows);
            }
            let start = ctx.now();
            let windows = if indices.is_empty() {
                Vec::new()
            } else {
                self.infer_windows_async(&features, &indices).await?
            };
            ctx.inference_ms += ctx.now() - start;
            Ok(Analysis { total, windows })
        })
    }

    fn preview(
        &self,
        source: &[f32],
        source_rate: u32,
        count: usize,
        ctx: &mut RunContext,
    ) -> Option<Result<Analysis, ClassifyError>> {
        let start = ctx.now();
        let Selected { features, indices, total } =
            match self.preview_features(source, source_rate, count)? {
                Ok(found) => found,
                Err(e) => return Some(Err(e)),
            };
        let inferred = ctx.now();
        ctx.features_ms += inferred - start;
        let windows = self.infer_windows(&features, &indices);
        ctx.inference_ms += ctx.now() - inferred;
        Some(windows.map(|windows| Analysis { total, windows }))
    }

    /// Mean window probabilities, mean tag probabilities, and the music detector's score.
    fn conclude(&self, windows: &[AnalysedWindow]) -> Classification {
        let mut result = Classification::from_windows(
            self.header.labels.clone(),
            windows.iter().map(|w| w.window.clone()).collect(),
        );
        if !self.header.tags.is_empty() {
            let rows: Vec<Vec<f32>> = windows.iter().map(|w| w.tags.clone()).collect();
            result.tags =
                rank(&self.header.tags, &mean_probabilities(&rows, self.header.tags.len()));
        }
        result.music = self
            .header
            .music_detector
            .as_ref()
            .map(|d| d.score(windows.iter().map(|w| w.detector.as_slice())));
        result
    }
}

/// Some windows of a track: their features, their indices among the track's windows, and
/// how many windows the track has.
struct Selected {
    features: WindowFeatures,
    indices: Vec<usize>,
    total: usize,
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
    fn read(&mut self, values: Vec<f32>) -> Result<(), ClassifyError> {
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

/// A transfer network's backbone outputs of a batch, as values or tensors.
struct Backbone<T> {
    pools: T,
    penultimate: Option<T>,
    tag_logits: Option<T>,
}

/// The outputs [`Rows::read`] takes, in its order: the logits, then the tag logits when
/// `wants_tags`, then the music detector's input, from a transfer network's `backbone`
/// outputs (pools, and penultimate layer and tag logits when it has its top).
fn needed_outputs<T: Clone>(
    logits: T,
    backbone: Option<Backbone<T>>,
    wants_tags: bool,
    detector: Option<DetectorInput>,
) -> Vec<T> {
    let mut outputs = vec![logits];
    if let Some(Backbone { pools, penultimate, tag_logits }) = backbone {
        if wants_tags {
            outputs.extend(tag_logits.clone());
        }
        outputs.extend(match detector {
            Some(DetectorInput::Penultimate) => penultimate,
            Some(DetectorInput::TagLogits) => tag_logits,
            Some(DetectorInput::Pools) => Some(pools),
            None => None,
        });
    }
    outputs
}

/// One output of a batch: values already on the host (the plain network), or a tensor to
/// read back.
enum BatchOutput {
    Values(Vec<f32>),
    #[cfg(feature = "burn")]
    Tensor(Box<Tensor<2>>),
}

impl BatchOutput {
    /// The values, read synchronously (CPU backends, native wgpu).
    fn values(self) -> Result<Vec<f32>, ClassifyError> {
        match self {
            BatchOutput::Values(values) => Ok(values),
            #[cfg(feature = "burn")]
            BatchOutput::Tensor(t) => {
                t.try_into_data().map_err(backend_error)?.try_to_vec::<f32>().map_err(backend_error)
            }
        }
    }

    /// The values, read asynchronously (every backend).
    async fn values_async(self) -> Result<Vec<f32>, ClassifyError> {
        match self {
            BatchOutput::Values(values) => Ok(values),
            #[cfg(feature = "burn")]
            BatchOutput::Tensor(t) => {
                let data = t.into_data_async().await.map_err(backend_error)?;
                data.try_to_vec::<f32>().map_err(backend_error)
            }
        }
    }
}

/// Standardised windows as the Burn network's input `[n, 1, n_mels, n_frames]` on `device`.
#[cfg(feature = "burn")]
fn tensor_batch(input: Vec<f32>, features: &WindowFeatures, device: &Device) -> Tensor<4> {
    let n = input.len() / (features.n_mels * features.n_frames).max(1);
    let shape = [n, 1, features.n_mels, features.n_frames];
    Tensor::<4>::from_data(TensorData::new(input, shape), device)
}

#[cfg(feature = "burn")]
fn backend_error(e: impl std::fmt::Debug) -> ClassifyError {
    ClassifyError::Backend(format!("{e:?}"))
}
