//! Classification: a loaded model bundle that turns mono PCM into genre probabilities.
//!
//! - [`model`]: [`Model`], the one interface of a loaded model of any kind, and
//!   [`load_model`], the one place that maps a bundle's kind to its implementation.
//! - [`spectrogram`]: [`SpectrogramModel`], a network on log-Mel windows.
//! - [`table`]: [`TableModel`], a network on clip descriptors.
//! - `awaiting`: the stand-in for a detached fusion member not attached yet.
//! - [`ensemble`]: [`Ensemble`], any bundle (one model or a weighted fusion of members)
//!   behind one call; what the CLI and the browser use.
//! - [`info`]: [`ModelInfo`], the typed description of a model that callers show.
//! - [`parts`]: a track analysed in parts ([`TrackPart`]) that merge into one result.
//! - [`result`]: [`Classification`], the typed result, and its helpers.

mod awaiting;
mod ensemble;
mod info;
mod model;
mod parts;
mod result;
mod spectrogram;
mod table;

pub use ensemble::{Ensemble, Member, PartPlan, Prepared};
pub use info::{
    embedder_id, EmbedderInfo, EvaluationInfo, MemberInfo, ModelInfo, ProvenanceInfo, SilenceInfo,
    EMBEDDER_METRIC,
};
pub use model::{
    load_model, AnalyseFuture, Analysis, Describer, Model, PatchEmbeddings, RunContext,
};
pub use parts::{AnalysedWindow, Coverage, MemberPart, PatchSelection, TrackPart};
pub use result::{
    argmax, max_abs_diff, mean_probabilities, rank, softmax, Classification, LabelScore,
    MemberResult, WindowResult,
};
pub use spectrogram::SpectrogramModel;
pub use table::{TableFeatures, TableModel};

use thiserror::Error;

use crate::audio::AudioError;
use crate::bundle::BundleError;
use crate::descriptors::DescriptorError;

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
    /// A table model's descriptors were to come from elsewhere (the page's descriptor module)
    /// and could not be had: that source failed, or this build has no descriptor code and
    /// none was given.
    #[error("the clip descriptors could not be computed: {0}")]
    DescriptorSource(String),
    /// No member of a fusion applies to this input (e.g. it is shorter than each needs).
    #[error("no member of the model can classify this input: {0}")]
    NoMemberApplies(String),
    /// The compute backend failed while running the model.
    #[error("the model could not run on this device: {0}")]
    Backend(String),
    /// This build has no Burn (the browser's small CPU engine), and the model's network is one
    /// only Burn computes (a CNN or CRNN); the value names it.
    #[error("this engine runs MusiCNN transfer and descriptor-table networks; a {0} needs the engine built with Burn")]
    NeedsBurn(String),
    /// A detached fusion member was asked to run before its bundle was attached.
    #[error("fusion member `{member}` is not loaded: its weights are in `{file}`")]
    AwaitingWeights {
        /// The member's name.
        member: String,
        /// The file its bundle is in.
        file: String,
    },
}
