//! [`SpectrogramHeader`]: the JSON half of a model bundle, and its validation.

use std::collections::{BTreeMap, HashSet};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::error::BundleError;
use super::kind::{expect_kind, header_object, take_kind, ModelKind};
use super::storage::WeightStorage;
use crate::feature_config::{FeatureConfig, Windowing};
use crate::model::ArchitectureConfig;
use crate::trust::{Calibration, MusicDetector};

/// Everything about a trained model except its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpectrogramHeader {
    /// Class names, in the order of the model's outputs.
    pub labels: Vec<String>,
    /// The audio front end the model was trained on; it also fixes the input size
    /// (`n_mels` x frames per window).
    pub feature_config: FeatureConfig,
    /// Per-band standardisation applied to the log-Mel before the model.
    pub normalisation: Normalisation,
    /// The network to build before loading the weights.
    pub architecture: ArchitectureConfig,
    /// How the weight matrices are stored (format v2; absent, i.e. f32, in v1 bundles).
    #[serde(default)]
    pub weight_storage: WeightStorage,
    /// With an integer `weight_storage`: weight matrices (by parameter path) stored with
    /// fewer levels than the storage's (`q` in `-n..=n`), e.g. a layer whose rounding barely
    /// moves the outputs, to shrink the gzipped download. Empty: every matrix uses the
    /// storage's levels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub weight_levels: BTreeMap<String, u8>,
    /// Where the model came from.
    pub provenance: Provenance,
    /// The temperature and `uncertain` threshold fitted on out-of-fold predictions (absent:
    /// raw probabilities, never uncertain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    /// The music / not-music detector on the backbone's outputs (absent: every input is
    /// taken for music).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub music_detector: Option<MusicDetector>,
    /// The names of the backbone's tag outputs (MusiCNN's 50 Million Song Dataset tags), in
    /// output order, when the network keeps its tag layer; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// Per-mel-band statistics of the training set: the model sees `(x - mean[band]) / std[band]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalisation {
    /// Mean of each band (length `n_mels`).
    pub mean: Vec<f32>,
    /// Standard deviation of each band (length `n_mels`, all > 0).
    pub std: Vec<f32>,
}

impl Normalisation {
    /// Statistics that leave the input unchanged (mean 0, std 1), for `n_mels` bands.
    pub fn identity(n_mels: usize) -> Self {
        Normalisation { mean: vec![0.0; n_mels], std: vec![1.0; n_mels] }
    }

    /// Standardises a band-major window in place: `window[band * n_frames + frame]`, i.e. the
    /// `[n_mels, n_frames]` layout of one model input. Bands beyond the statistics' length
    /// are left unchanged.
    pub fn standardise(&self, window: &mut [f32], n_frames: usize) {
        if n_frames == 0 {
            return;
        }
        for ((row, mean), std) in window.chunks_mut(n_frames).zip(&self.mean).zip(&self.std) {
            let inv = 1.0 / std;
            for v in row {
                *v = (*v - mean) * inv;
            }
        }
    }
}

/// How and from what a model was trained. Informational: every field defaults when absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Provenance {
    /// The training data (name, version, size or hash).
    pub data: String,
    /// How it was split into train/validation/test (e.g. the fault-filtered GTZAN split).
    pub split: String,
    /// The random seed of the training run.
    pub seed: u64,
    /// The command line that trained the model.
    pub command: String,
    /// Evaluation results (free-form JSON: accuracy, per-class scores, confusion matrix ...).
    pub metrics: serde_json::Value,
    /// When the model was created (RFC 3339 timestamp).
    pub created: String,
    /// The data set by name and size (absent in bundles written before it existed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<Dataset>,
    /// The headline accuracy and how it was measured (absent when not measured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
}

/// The data a model was trained (or a fusion fitted) on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Its name for people (e.g. `GTZAN-mini`); never a file path.
    pub name: String,
    /// Tracks (or table rows) used.
    pub tracks: u64,
    /// Where the trainer read it (the folder or table as given on its command line): lets
    /// the trainer recognise its own data again; never shown to users.
    #[serde(default)]
    pub source: String,
}

/// The accuracy a model reached on data it was not trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// How it was measured (e.g. `5-fold cross-validation`, `held-out tracks`).
    pub method: String,
    /// Folds of the cross-validation (0 for a single hold-out).
    pub folds: u32,
    /// Track accuracy (0..1): the mean over folds.
    pub accuracy: f64,
    /// Its standard deviation over folds, when there were folds.
    pub accuracy_std: Option<f64>,
}

/// The required top-level header fields, in the order they are checked.
#[cfg(test)]
pub(crate) const REQUIRED_FIELDS: [&str; 5] =
    ["labels", "feature_config", "normalisation", "architecture", "provenance"];

impl SpectrogramHeader {
    /// Mel bands of one model input.
    pub fn n_mels(&self) -> usize {
        self.feature_config.n_mels
    }

    /// Frames of one model input (see [`FeatureConfig::frames_per_window`]).
    pub fn n_frames(&self) -> usize {
        self.feature_config.frames_per_window()
    }

    /// Decodes and validates header JSON of the current format version, naming the first
    /// missing or invalid field.
    ///
    /// Unknown extra fields are ignored, so a later writer may add optional ones.
    pub fn from_json(json: &[u8]) -> Result<Self, BundleError> {
        Self::from_json_version(json, super::FORMAT_VERSION)
    }

    /// [`from_json`](Self::from_json) for a header of format `version`: a v1 header may only
    /// declare f32 weights (v1 had no other storage).
    pub fn from_json_version(json: &[u8], version: u32) -> Result<Self, BundleError> {
        let mut object = header_object(json)?;
        expect_kind(take_kind(&mut object, version)?, ModelKind::Spectrogram)?;
        let mut take = |field: &'static str| {
            object.remove(field).ok_or(BundleError::MissingHeaderField { field })
        };
        let labels = take("labels")?;
        let feature_config = take("feature_config")?;
        let normalisation = take("normalisation")?;
        let architecture = take("architecture")?;
        let provenance = take("provenance")?;
        let weight_storage = match object.remove("weight_storage") {
            Some(value) => decode_field("weight_storage", value)?,
            None => WeightStorage::F32,
        };
        if version < 2 && weight_storage != WeightStorage::F32 {
            return Err(BundleError::InvalidHeaderField {
                field: "weight_storage",
                message: format!(
                    "a format v{version} bundle stores f32 weights only, but the header says {weight_storage}"
                ),
            });
        }
        let header = SpectrogramHeader {
            labels: decode_field("labels", labels)?,
            feature_config: decode_field("feature_config", feature_config)?,
            normalisation: decode_field("normalisation", normalisation)?,
            architecture: decode_field("architecture", architecture)?,
            weight_storage,
            weight_levels: optional_field(&mut object, "weight_levels")?.unwrap_or_default(),
            provenance: decode_field("provenance", provenance)?,
            calibration: optional_field(&mut object, "calibration")?,
            music_detector: optional_field(&mut object, "music_detector")?,
            tags: optional_field(&mut object, "tags")?.unwrap_or_default(),
        };
        header.validate()?;
        Ok(header)
    }

    /// Encodes the header as compact JSON.
    pub fn to_json(&self) -> Result<Vec<u8>, BundleError> {
        serde_json::to_vec(self).map_err(|e| BundleError::Serialise(e.to_string()))
    }

    /// Checks that the fields agree with each other: labels non-empty and unique, a valid
    /// feature config, one finite mean and positive std per mel band, and an architecture that
    /// can be built for this input size and number of labels.
    pub fn validate(&self) -> Result<(), BundleError> {
        validate_labels(&self.labels)?;
        validate_weight_levels(&self.weight_levels, self.weight_storage)?;

        let fc = &self.feature_config;
        fc.validate().map_err(BundleError::InvalidFeatureConfig)?;
        // A longest analysis window far beyond any model input; it keeps the frame arithmetic
        // of a hostile header from overflowing.
        if let Windowing::AudioWindows { window_samples, .. } = fc.windowing {
            if u32::try_from(window_samples).is_err() {
                return Err(BundleError::InvalidFeatureConfig(format!(
                    "window_samples must be at most {}, got {window_samples}",
                    u32::MAX
                )));
            }
        }

        let n_mels = fc.n_mels;
        let norm = &self.normalisation;
        for (field, values) in [("mean", &norm.mean), ("std", &norm.std)] {
            if values.len() != n_mels {
                return Err(BundleError::NormalisationLength {
                    field,
                    found: values.len(),
                    n_mels,
                });
            }
        }
        if let Some((band, &value)) = norm.mean.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(BundleError::InvalidNormalisation { field: "mean", band, value });
        }
        if let Some((band, &value)) =
            norm.std.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v > 0.0))
        {
            return Err(BundleError::InvalidNormalisation { field: "std", band, value });
        }

        self.architecture
            .validate(n_mels, self.n_frames(), self.labels.len())
            .map_err(BundleError::InvalidArchitecture)?;
        validate_calibration(self.calibration.as_ref())?;
        let tag_outputs = self.architecture.tag_outputs();
        if self.tags.len() != tag_outputs {
            return Err(BundleError::InvalidHeaderField {
                field: "tags",
                message: format!(
                    "the network has {tag_outputs} tag outputs but the header names {}",
                    self.tags.len()
                ),
            });
        }
        validate_labels(&self.tags)
            .or_else(|e| if self.tags.is_empty() { Ok(()) } else { Err(e) })?;
        if let Some(detector) = &self.music_detector {
            let input_len =
                self.architecture.detector_input_len(detector.input).ok_or_else(|| {
                    BundleError::InvalidHeaderField {
                        field: "music_detector",
                        message: format!("the network has no {:?} output to read", detector.input),
                    }
                })?;
            detector.validate(input_len).map_err(|message| BundleError::InvalidHeaderField {
                field: "music_detector",
                message,
            })?;
        }
        Ok(())
    }
}

/// Checks an optional calibration, naming the field.
pub(crate) fn validate_calibration(calibration: Option<&Calibration>) -> Result<(), BundleError> {
    match calibration.map(Calibration::validate) {
        Some(Err(message)) => {
            Err(BundleError::InvalidHeaderField { field: "calibration", message })
        }
        _ => Ok(()),
    }
}

/// An optional header field: `None` when absent or null, its error when it does not decode.
pub(crate) fn optional_field<T: DeserializeOwned>(
    object: &mut serde_json::Map<String, serde_json::Value>,
    field: &'static str,
) -> Result<Option<T>, BundleError> {
    match object.remove(field) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => decode_field(field, value).map(Some),
    }
}

pub(crate) fn decode_field<T: DeserializeOwned>(
    field: &'static str,
    value: serde_json::Value,
) -> Result<T, BundleError> {
    serde_json::from_value(value)
        .map_err(|e| BundleError::InvalidHeaderField { field, message: e.to_string() })
}

/// Checks a model's label list: non-empty, no empty label, no label twice.
pub(crate) fn validate_labels(labels: &[String]) -> Result<(), BundleError> {
    if labels.is_empty() {
        return Err(BundleError::NoLabels);
    }
    let mut seen = HashSet::new();
    for (index, label) in labels.iter().enumerate() {
        if label.is_empty() {
            return Err(BundleError::EmptyLabel { index });
        }
        if !seen.insert(label.as_str()) {
            return Err(BundleError::DuplicateLabel { label: label.clone() });
        }
    }
    Ok(())
}

/// `weight_levels` needs an integer storage and levels from 1 to the storage's own.
pub(crate) fn validate_weight_levels(
    levels: &BTreeMap<String, u8>,
    storage: WeightStorage,
) -> Result<(), BundleError> {
    let fail =
        |message: String| Err(BundleError::InvalidHeaderField { field: "weight_levels", message });
    for (name, &n) in levels {
        match storage.int_levels() {
            None => {
                return fail(format!(
                    "`{name}` has its own levels, but {storage} weights have none"
                ))
            }
            Some(most) if n == 0 || n > most => {
                return fail(format!("`{name}` has {n} levels; {storage} allows 1 to {most}"))
            }
            Some(_) => {}
        }
    }
    Ok(())
}
