//! [`Model`]: the one interface every loaded model kind implements, and [`load_model`], the
//! one place that maps a bundle's kind to its implementation.
//!
//! A model takes mono PCM at its own [`sample_rate`](Model::sample_rate), analyses some or all
//! of its windows ([`Analysis`]) and concludes a typed [`Classification`] from them; [`RunContext`] collects what a caller may want besides the result
//! (stage timings, the log-Mel image of the first spectrogram model that ran).

use std::future::Future;
use std::pin::Pin;

use crate::device::Device;

use super::parts::{AnalysedWindow, PatchSelection};
use super::spectrogram::SpectrogramModel;
use super::table::TableModel;
use super::{Classification, ClassifyError};
use crate::bundle::{BundleError, ModelKind};
use crate::mel_image::{mel_image, MelImage};
use crate::segment::WindowFeatures;

/// What one model's run over some of a track's windows gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// The track's number of windows for this model.
    pub total: usize,
    /// The windows analysed, by ascending index.
    pub windows: Vec<AnalysedWindow>,
}

/// Per-patch embeddings of one track (see [`Model::embed`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchEmbeddings {
    /// Values per patch.
    pub dim: usize,
    /// The patches' embeddings, one after the other.
    pub data: Vec<f32>,
}

impl PatchEmbeddings {
    /// Number of patches.
    pub fn patches(&self) -> usize {
        self.data.len() / self.dim.max(1)
    }
}

/// The future [`Model::analyse_async`] returns (not `Send`: WebGPU runs on one thread).
pub type AnalyseFuture<'a> = Pin<Box<dyn Future<Output = Result<Analysis, ClassifyError>> + 'a>>;

/// A loaded model of one kind (spectrogram network, table network, ...); shareable between
/// threads, as the CLI classifies files in parallel.
pub trait Model: Send + Sync {
    /// What the model is.
    fn kind(&self) -> ModelKind;

    /// Labels in output order.
    fn labels(&self) -> &[String];

    /// The rate of the mono PCM [`analyse`](Self::analyse) takes, in Hz.
    fn sample_rate(&self) -> u32;

    /// Why the model does not apply to `n_samples` of audio at its rate (too short for it),
    /// or `None` when it does.
    fn not_applicable(&self, n_samples: usize) -> Option<String>;

    /// Features and network on the `selection` of windows of mono PCM at
    /// [`sample_rate`](Self::sample_rate) (models that choose their own windows ignore it);
    /// reads results synchronously (CPU backends, native wgpu).
    fn analyse(
        &self,
        samples: &[f32],
        selection: PatchSelection,
        ctx: &mut RunContext,
    ) -> Result<Analysis, ClassifyError>;

    /// [`analyse`](Self::analyse) with asynchronous reads, as WebGPU in the browser requires.
    fn analyse_async<'a>(
        &'a self,
        samples: &'a [f32],
        selection: PatchSelection,
        ctx: &'a mut RunContext,
    ) -> AnalyseFuture<'a>;

    /// The track result (uncalibrated) from analysed windows: mean probabilities, votes,
    /// tags, music score.
    fn conclude(&self, windows: &[AnalysedWindow]) -> Classification;

    /// A first look at a long track: `count` evenly spread windows (as
    /// [`PatchSelection::Spread`]) computed from the audio around them only, `source` being
    /// the whole mono track at `source_rate` (not resampled); the same rows as
    /// [`analyse`](Self::analyse) on the resampled track. `None` where the model cannot
    /// (windows that are not patches of a whole-track spectrogram, a per-spectrogram
    /// compression, a track shorter than one patch).
    fn preview(
        &self,
        _source: &[f32],
        _source_rate: u32,
        _count: usize,
        _ctx: &mut RunContext,
    ) -> Option<Result<Analysis, ClassifyError>> {
        None
    }

    /// Every patch's backbone embedding of mono PCM at [`sample_rate`](Self::sample_rate)
    /// (all patches, whatever the bundle's patch limit), for training a head on; `None` for
    /// models without a pretrained backbone. Synchronous reads (CPU backends).
    fn embed(&self, _samples: &[f32]) -> Option<Result<PatchEmbeddings, ClassifyError>> {
        None
    }

    /// Uses at most `max` patches per track (`None`: all) where the model cuts a whole-track
    /// spectrogram into patches; other models ignore it.
    fn set_max_patches(&mut self, _max: Option<usize>) {}
}

/// Loads a member bundle of `kind`: spectrogram networks on `device`, table networks on the
/// CPU (they are tiny). Fusions do not nest.
pub fn load_model(
    kind: ModelKind,
    bytes: &[u8],
    device: &Device,
) -> Result<Box<dyn Model>, ClassifyError> {
    Ok(match kind {
        ModelKind::Spectrogram => Box::new(SpectrogramModel::from_bundle(bytes, device)?),
        ModelKind::Table => Box::new(TableModel::from_bundle(bytes)?),
        ModelKind::Fusion => return Err(BundleError::nested_fusion().into()),
    })
}

/// Computes one window's 57 clip descriptors ([`column_names`](crate::descriptors::column_names)
/// order) from mono PCM at the given rate, or says why it cannot (see
/// [`RunContext::with_describer`]).
pub type Describer<'d> = dyn Fn(&[f32], u32) -> Result<Vec<f64>, String> + 'd;

/// What a caller wants from a run besides the result, and what the run measured.
pub struct RunContext<'c> {
    clock: Option<&'c dyn Fn() -> f64>,
    describer: Option<&'c Describer<'c>>,
    mel_columns: Option<usize>,
    /// Milliseconds spent computing features (log-Mel, descriptors), over every model run.
    pub features_ms: f64,
    /// Milliseconds spent in the networks, over every model run.
    pub inference_ms: f64,
    /// Milliseconds spent drawing the log-Mel image.
    pub mel_image_ms: f64,
    /// The log-Mel image of the first spectrogram model that ran, when asked for.
    pub mel_image: Option<MelImage>,
}

impl Default for RunContext<'_> {
    fn default() -> Self {
        RunContext {
            clock: None,
            describer: None,
            mel_columns: None,
            features_ms: 0.0,
            inference_ms: 0.0,
            mel_image_ms: 0.0,
            mel_image: None,
        }
    }
}

impl<'c> RunContext<'c> {
    /// Times the stages with `clock` (milliseconds; e.g. `performance.now()` in the browser).
    pub fn timed(clock: &'c dyn Fn() -> f64) -> Self {
        RunContext { clock: Some(clock), ..Self::default() }
    }

    /// Gets table models' clip descriptors from `describer` instead of computing them here
    /// (the browser's CPU engine, built without the descriptor code, calls the descriptor
    /// module through it).
    pub fn with_describer(mut self, describer: &'c Describer<'c>) -> Self {
        self.describer = Some(describer);
        self
    }

    /// The describer given with [`with_describer`](Self::with_describer), if any.
    pub(crate) fn describer(&self) -> Option<&'c Describer<'c>> {
        self.describer
    }

    /// Also draws the log-Mel image of the first spectrogram model, `columns` wide at most.
    pub fn with_mel_image(mut self, columns: usize) -> Self {
        self.mel_columns = Some(columns.max(1));
        self
    }

    /// The clock's time in ms (0 without a clock).
    pub(crate) fn now(&self) -> f64 {
        self.clock.map_or(0.0, |c| c())
    }

    /// Whether a Mel image is still wanted (asked for, and not drawn yet): only then does a
    /// model need the whole track's log-Mel when it analyses part of it.
    pub(crate) fn wants_mel(&self) -> bool {
        self.mel_columns.is_some() && self.mel_image.is_none()
    }

    /// Keeps the log-Mel image of `features` when one is wanted and none was drawn yet.
    pub(crate) fn offer_mel(&mut self, features: &WindowFeatures, hop: usize, sample_rate: u32) {
        let Some(columns) = self.mel_columns.filter(|_| self.wants_mel()) else { return };
        let start = self.now();
        self.mel_image = Some(mel_image(features, hop, sample_rate, columns));
        self.mel_image_ms += self.now() - start;
    }
}
