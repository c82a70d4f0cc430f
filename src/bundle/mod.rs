//! The model bundle: one self-describing, versioned file per trained model, read the same way
//! natively and in wasm.
//!
//! A bundle holds a JSON [`SpectrogramHeader`] (labels in output order, feature config,
//! normalisation statistics, architecture, provenance) and the Burn weights, framed as
//! described in [`format`]. Reading validates everything and fails with a named
//! [`BundleError`]; no byte input makes it panic.
//!
//! - `crc32`: the checksum that detects corruption.
//! - `error`: the [`BundleError`] type.
//! - [`format`]: the byte layout (magic, version, lengths, checksum).
//! - `fusion`: [`FusionHeader`], bundles of several member models fused into one verdict.
//! - `header`: [`SpectrogramHeader`] (spectrogram models) and its validation.
//! - `kind`: [`ModelKind`], what a bundle holds.
//! - `storage`: [`WeightStorage`] (f32, f16 or int8 weight matrices) and its conversions.
//! - `table`: [`TableHeader`], models on clip descriptors (the feature-table model).
//! - `weights`: the burnpack weights and their checked loading.

mod crc32;
mod error;
pub mod format;
mod fusion;
mod header;
mod kind;
mod storage;
mod table;
mod weights;

#[cfg(all(test, feature = "burn"))]
mod tests;

pub use error::BundleError;
pub use format::{FORMAT_VERSION, MAGIC};
pub use fusion::{DetachedMember, FusionBundle, FusionHeader, FusionMember, MemberBundle};
pub use header::{Dataset, Evaluation, Normalisation, Provenance, SpectrogramHeader};
pub use kind::{Header, ModelKind};
pub use storage::WeightStorage;
pub use table::{DescriptorInput, TableBundle, TableHeader};
pub(crate) use weights::StoredParam;
#[cfg(feature = "burn")]
pub use weights::{rounded, rounded_with_levels, weight_matrices};

#[cfg(feature = "burn")]
use burn::tensor::Device;

use crate::model::plain::PlainTransfer;
#[cfg(feature = "burn")]
use crate::model::GenreNet;

/// Reading and writing model bundles.
pub struct SpectrogramBundle;

impl SpectrogramBundle {
    #[cfg(feature = "burn")]
    /// Encodes `header` and `model`'s weights as a bundle, the weight matrices stored as
    /// `header.weight_storage` says (rounded to f16 or quantised to int8 if it says so).
    ///
    /// Refuses to write a bundle that would not load: the header must pass
    /// [`SpectrogramHeader::validate`], the model must have been built from its architecture,
    /// input size and number of labels, and every weight must be finite (and, for f16,
    /// within its range). Reads the weights back to the host, so call it on a model on a CPU
    /// device (not a WebGPU-resident one in wasm).
    pub fn to_bytes(header: &SpectrogramHeader, model: &GenreNet) -> Result<Vec<u8>, BundleError> {
        header.validate()?;
        let mismatch = |what: &str, model_value: String, header_value: String| {
            Err(BundleError::ModelMismatch(format!(
                "the model's {what} is {model_value} but the header's is {header_value}"
            )))
        };
        if model.architecture != header.architecture {
            return mismatch(
                "architecture",
                format!("{:?}", model.architecture),
                format!("{:?}", header.architecture),
            );
        }
        if model.n_labels != header.labels.len() {
            return mismatch(
                "number of labels",
                model.n_labels.to_string(),
                header.labels.len().to_string(),
            );
        }
        if [model.n_mels, model.n_frames] != [header.n_mels(), header.n_frames()] {
            return mismatch(
                "input size (mels x frames)",
                format!("{} x {}", model.n_mels, model.n_frames),
                format!("{} x {}", header.n_mels(), header.n_frames()),
            );
        }
        let weights = weights::encode(model, header.weight_storage, &header.weight_levels)?;
        format::write(&header.to_json()?, &weights)
    }

    #[cfg(feature = "burn")]
    /// Decodes a bundle: checks the container, validates the header, builds the network from
    /// its architecture on `device` and loads the weights into it.
    ///
    /// Reads format v1 to v3 bundles of spectrogram models (other kinds fail with
    /// [`BundleError::WrongKind`]). The returned model holds f32 weights whatever the
    /// storage, and is in inference mode on a plain (non-autodiff) device.
    pub fn from_bytes(
        bytes: &[u8],
        device: &Device,
    ) -> Result<(SpectrogramHeader, GenreNet), BundleError> {
        let sections = format::read(bytes)?;
        let header = SpectrogramHeader::from_json_version(sections.header, sections.version)?;
        let model = GenreNet::new(
            &header.architecture,
            header.n_mels(),
            header.n_frames(),
            header.labels.len(),
            device,
        )
        .map_err(BundleError::InvalidArchitecture)?;
        let model =
            weights::decode(model, sections.weights, header.weight_storage, &header.weight_levels)?;
        Ok((header, model))
    }

    /// Decodes a bundle of a MusiCNN transfer network into the Burn-free
    /// [`PlainTransfer`] (the same checks as [`from_bytes`](Self::from_bytes)); `Ok(None)`
    /// when its architecture is another one.
    pub fn plain_from_bytes(
        bytes: &[u8],
    ) -> Result<Option<(SpectrogramHeader, PlainTransfer)>, BundleError> {
        let sections = format::read(bytes)?;
        let header = SpectrogramHeader::from_json_version(sections.header, sections.version)?;
        // The header's validation checked the architecture against its input and labels.
        let n_labels = header.labels.len();
        let Some(expected) = PlainTransfer::expected(&header.architecture, n_labels) else {
            return Ok(None);
        };
        let params = weights::read_params(
            sections.weights,
            header.weight_storage,
            &header.weight_levels,
            expected.0,
        )?;
        let net = PlainTransfer::from_params(&header.architecture, n_labels, params)?;
        Ok(Some((header, net)))
    }

    /// Decodes and validates only the header, without touching the weights or checksum: the
    /// bytes up to the end of the header are enough (e.g. to list models cheaply).
    pub fn read_header(bytes: &[u8]) -> Result<SpectrogramHeader, BundleError> {
        let (version, json) = format::read_header_section(bytes)?;
        SpectrogramHeader::from_json_version(json, version)
    }
}
