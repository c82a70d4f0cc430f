//! [`TableHeader`]: the header of a table-model bundle (a network on clip descriptors), and
//! its reading and writing.
//!
//! The header names the descriptors the network reads (a subset of
//! [`descriptors::column_names`](crate::descriptors::column_names), in input order) with the
//! training mean and standard deviation of each, the windows the descriptors are computed
//! on, the network and the provenance. The weights section is the network's burnpack
//! record, stored as `weight_storage` says, as in a spectrogram bundle.

#[cfg(feature = "burn")]
use burn::module::Module;
#[cfg(feature = "burn")]
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::error::BundleError;
use super::header::{
    decode_field, optional_field, validate_calibration, validate_labels, Provenance,
};
use super::kind::{expect_kind, header_object, json_with_kind, take_kind, ModelKind};
use super::storage::WeightStorage;
use super::{format, weights};
use crate::descriptors::{column_names, DescriptorWindowing, SAMPLE_RATE};
use crate::model::plain::PlainTableNet;
use crate::model::table::TableArchitecture;
#[cfg(feature = "burn")]
use crate::model::table::TableNet;
use crate::trust::Calibration;

/// Longest descriptor window a header may ask for, in seconds (an hour).
pub(crate) const MAX_WINDOW_SECONDS: f64 = 3600.0;

/// What a table model reads: descriptors of windows of the track, selected and standardised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DescriptorInput {
    /// The rate the audio is resampled to before the descriptors (always
    /// [`SAMPLE_RATE`]: the descriptors are defined there).
    pub sample_rate: u32,
    /// The windows the descriptors are computed on (30 s every 15 s for the GTZAN table).
    pub windowing: DescriptorWindowing,
    /// Describe at most this many windows per track, evenly spread (first and last kept);
    /// `None` describes them all. It bounds the work on long recordings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_windows: Option<usize>,
    /// Shortest track the model is used on, in seconds: the descriptors of a much shorter
    /// stretch than the training windows (their variances, the tempo) are not what the
    /// model learnt from. A fusion leaves the member out for shorter input (live mode's 3 s).
    pub min_seconds: f64,
    /// The descriptor columns the network reads, in input order.
    pub columns: Vec<String>,
    /// Training mean of each column.
    pub mean: Vec<f64>,
    /// Training standard deviation of each column (all > 0).
    pub std: Vec<f64>,
}

impl DescriptorInput {
    /// Index of each column in [`column_names`] order; fails on an unknown or repeated name.
    pub fn column_indices(&self) -> Result<Vec<usize>, BundleError> {
        let all = column_names();
        let mut indices = Vec::with_capacity(self.columns.len());
        for name in &self.columns {
            let Some(index) = all.iter().position(|c| c == name) else {
                return Err(BundleError::InvalidDescriptors(format!(
                    "unknown descriptor column `{name}`"
                )));
            };
            if indices.contains(&index) {
                return Err(BundleError::InvalidDescriptors(format!(
                    "descriptor column `{name}` is listed twice"
                )));
            }
            indices.push(index);
        }
        Ok(indices)
    }

    /// Checks every field, naming the first problem.
    pub fn validate(&self) -> Result<(), BundleError> {
        let fail = |m: String| Err(BundleError::InvalidDescriptors(m));
        if self.sample_rate != SAMPLE_RATE {
            return fail(format!(
                "sample_rate must be {SAMPLE_RATE} Hz (the descriptors are defined there), got {}",
                self.sample_rate
            ));
        }
        let w = self.windowing;
        if !(w.window_seconds > 0.0
            && w.window_seconds <= MAX_WINDOW_SECONDS
            && w.hop_seconds > 0.0
            && w.hop_seconds <= MAX_WINDOW_SECONDS)
        {
            return fail(format!(
                "window and hop must be in (0, {MAX_WINDOW_SECONDS}] seconds, got {} and {}",
                w.window_seconds, w.hop_seconds
            ));
        }
        if self.max_windows == Some(0) {
            return fail("max_windows must be at least 1".into());
        }
        if !(self.min_seconds.is_finite() && self.min_seconds >= 0.0) {
            return fail(format!("min_seconds must be a number >= 0, got {}", self.min_seconds));
        }
        if self.columns.is_empty() {
            return fail("the model reads no descriptor column".into());
        }
        self.column_indices()?;
        for (field, values) in [("mean", &self.mean), ("std", &self.std)] {
            if values.len() != self.columns.len() {
                return fail(format!(
                    "{field} has {} values for {} columns",
                    values.len(),
                    self.columns.len()
                ));
            }
        }
        if let Some((i, v)) = self.mean.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return fail(format!("the mean of `{}` is {v}", self.columns[i]));
        }
        if let Some((i, v)) =
            self.std.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v > 0.0))
        {
            return fail(format!(
                "the standard deviation of `{}` is {v}; it must be finite and positive",
                self.columns[i]
            ));
        }
        Ok(())
    }
}

/// Everything about a table model except its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableHeader {
    /// Class names, in the order of the model's outputs.
    pub labels: Vec<String>,
    /// The descriptors the model reads and how.
    pub descriptors: DescriptorInput,
    /// The network.
    pub architecture: TableArchitecture,
    /// How the weight matrices are stored.
    #[serde(default)]
    pub weight_storage: WeightStorage,
    /// Where the model came from.
    pub provenance: Provenance,
    /// The temperature and `uncertain` threshold fitted on out-of-fold predictions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

impl TableHeader {
    /// Decodes and validates table-model header JSON of format `version`.
    pub fn from_json_version(json: &[u8], version: u32) -> Result<Self, BundleError> {
        let mut object = header_object(json)?;
        expect_kind(take_kind(&mut object, version)?, ModelKind::Table)?;
        let mut take = |field: &'static str| {
            object.remove(field).ok_or(BundleError::MissingHeaderField { field })
        };
        let header = TableHeader {
            labels: decode_field("labels", take("labels")?)?,
            descriptors: decode_field("descriptors", take("descriptors")?)?,
            architecture: decode_field("architecture", take("architecture")?)?,
            provenance: decode_field("provenance", take("provenance")?)?,
            weight_storage: match object.remove("weight_storage") {
                Some(value) => decode_field("weight_storage", value)?,
                None => WeightStorage::F32,
            },
            calibration: optional_field(&mut object, "calibration")?,
        };
        header.validate()?;
        Ok(header)
    }

    /// Encodes the header as compact JSON, with `"kind": "table"`.
    pub fn to_json(&self) -> Result<Vec<u8>, BundleError> {
        json_with_kind(self, ModelKind::Table)
    }

    /// Checks labels, descriptor input and that the network can be built for them.
    pub fn validate(&self) -> Result<(), BundleError> {
        validate_labels(&self.labels)?;
        self.descriptors.validate()?;
        self.architecture
            .validate(self.descriptors.columns.len(), self.labels.len())
            .map_err(BundleError::InvalidArchitecture)?;
        validate_calibration(self.calibration.as_ref())
    }
}

/// Reading and writing table-model bundles.
pub struct TableBundle;

impl TableBundle {
    #[cfg(feature = "burn")]
    /// Encodes `header` and the network's weights (stored as `header.weight_storage` says).
    /// Refuses a header that fails validation or a network of another shape.
    pub fn to_bytes(header: &TableHeader, net: &TableNet) -> Result<Vec<u8>, BundleError> {
        header.validate()?;
        let expected = TableNet::new(
            &header.architecture,
            header.descriptors.columns.len(),
            header.labels.len(),
            &Device::flex(),
        )
        .map_err(BundleError::InvalidArchitecture)?;
        if expected.num_params() != net.num_params() {
            return Err(BundleError::ModelMismatch(format!(
                "the network has {} parameters, the header's architecture {}",
                net.num_params(),
                expected.num_params()
            )));
        }
        let weights = weights::encode(net, header.weight_storage, &Default::default())?;
        format::write(&header.to_json()?, &weights)
    }

    /// Decodes a bundle into the Burn-free [`PlainTableNet`] (the same checks as
    /// [`from_bytes`](Self::from_bytes)).
    pub fn plain_from_bytes(bytes: &[u8]) -> Result<(TableHeader, PlainTableNet), BundleError> {
        let sections = format::read(bytes)?;
        let header = TableHeader::from_json_version(sections.header, sections.version)?;
        // The header's validation checked the architecture against its columns and labels.
        let (n_inputs, n_labels) = (header.descriptors.columns.len(), header.labels.len());
        let expected = PlainTableNet::expected(&header.architecture, n_inputs, n_labels);
        let params = weights::read_params(
            sections.weights,
            header.weight_storage,
            &Default::default(),
            expected.0,
        )?;
        let net = PlainTableNet::from_params(&header.architecture, n_inputs, n_labels, params)?;
        Ok((header, net))
    }

    #[cfg(feature = "burn")]
    /// Decodes a table-model bundle: container, header, then the network on `device`.
    pub fn from_bytes(
        bytes: &[u8],
        device: &Device,
    ) -> Result<(TableHeader, TableNet), BundleError> {
        let sections = format::read(bytes)?;
        let header = TableHeader::from_json_version(sections.header, sections.version)?;
        let net = TableNet::new(
            &header.architecture,
            header.descriptors.columns.len(),
            header.labels.len(),
            device,
        )
        .map_err(BundleError::InvalidArchitecture)?;
        let net =
            weights::decode(net, sections.weights, header.weight_storage, &Default::default())?;
        Ok((header, net))
    }
}
