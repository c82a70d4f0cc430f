//! [`ModelInfo`]: everything a caller needs to know about a model (kind, labels, input rate,
//! window and hop, members, structured provenance), computed from the bundle headers alone.
//!
//! It is the one record the CLI (`trainer info --json`) and the browser (`engine.info().model`,
//! `bundleInfo(bytes)`) hand out, serialised the same way: camelCase field names.

use serde::{Deserialize, Serialize};

use crate::bundle::{
    format, BundleError, Evaluation, FusionBundle, Header, ModelKind, Provenance, SpectrogramHeader,
};
use crate::model::ArchitectureConfig;
use crate::trust::SilenceGate;

/// What a model is and where it came from (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    /// What the bundle holds.
    pub kind: ModelKind,
    /// Labels in output order.
    pub labels: Vec<String>,
    /// The model in a few words (for a fusion, its members' descriptions).
    pub description: String,
    /// The rate to decode or resample input to, in Hz: the highest member rate.
    pub sample_rate: u32,
    /// Seconds of audio one analysis window of the primary member covers (the first
    /// spectrogram member, else the first member); its timeline has this resolution.
    pub window_seconds: f64,
    /// Seconds between the starts of the primary member's windows.
    pub hop_seconds: f64,
    /// Shortest input any member classifies, in seconds (0: shorter input is padded).
    pub min_seconds: f64,
    /// Seconds of audio live mode and the widget send per classification: one window of the
    /// primary member.
    pub live_seconds: f64,
    /// How often live mode and the widget classify, in seconds: every half window, so each
    /// moment of the stream is heard by two windows.
    pub live_hop_seconds: f64,
    /// A result whose top calibrated probability is below this is `uncertain` (0: never).
    pub uncertain_below: f32,
    /// Whether the model has a music / not-music detector (else no input is `not_music`).
    pub music_detector: bool,
    /// The names of the tags every result carries (MusiCNN's Million Song Dataset tags);
    /// empty when the model has none.
    pub tags: Vec<String>,
    /// When input is `silent`.
    pub silence: SilenceInfo,
    /// Each member (a bundle of one model has one, named `model`).
    pub members: Vec<MemberInfo>,
    /// How and on what the model was made.
    pub provenance: ProvenanceInfo,
    /// The pretrained backbone whose embeddings own genres are learnt on (the first MusiCNN
    /// transfer member); absent for models without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedder: Option<EmbedderInfo>,
}

/// Provenance metric naming the backbone a head was trained on (see [`embedder_id`]).
pub const EMBEDDER_METRIC: &str = "embedder";

/// A model's pretrained backbone, as own-genre training uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedderInfo {
    /// The member that has it.
    pub member: String,
    /// Which backbone it is (see [`embedder_id`]): embeddings cached under one id are only
    /// reused with a model of the same id.
    pub id: String,
    /// Values per patch embedding.
    pub dim: usize,
}

impl EmbedderInfo {
    /// The first MusiCNN transfer network among `members` (`(name, bundle bytes, header)`).
    pub fn find<'a>(
        members: impl IntoIterator<Item = (&'a str, &'a [u8], &'a Header)>,
    ) -> Option<Self> {
        members.into_iter().find_map(|(name, bytes, header)| match header {
            Header::Spectrogram(h) => match &h.architecture {
                ArchitectureConfig::Musicnn { embedding, .. } => Some(EmbedderInfo {
                    member: name.to_string(),
                    id: embedder_id(h, bytes),
                    dim: embedding.dim(),
                }),
                _ => None,
            },
            _ => None,
        })
    }
}

/// Which backbone a transfer network's embeddings come from: a model trained on another's
/// embeddings records that one's id in its provenance ([`EMBEDDER_METRIC`]); any other is
/// identified by its bundle's checksum (the last 4 bytes) and length, so a re-encoded
/// backbone (f16, int8) never passes for another.
pub fn embedder_id(header: &SpectrogramHeader, bundle: &[u8]) -> String {
    if let Some(id) = header.provenance.metrics.get(EMBEDDER_METRIC).and_then(|v| v.as_str()) {
        return id.to_string();
    }
    let crc = bundle.len().checked_sub(4).map_or(&[][..], |start| &bundle[start..]);
    let hex: String = crc.iter().rev().map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{}", bundle.len())
}

/// [`SilenceGate`] with camelCase names.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SilenceInfo {
    /// A 50 ms frame (mean removed) is signal above this RMS, in dBFS.
    pub threshold_dbfs: f32,
    /// Input with less signal than this, in seconds, is silent.
    pub min_signal_seconds: f64,
}

impl From<SilenceGate> for SilenceInfo {
    fn from(g: SilenceGate) -> Self {
        SilenceInfo { threshold_dbfs: g.threshold_dbfs, min_signal_seconds: g.min_signal_seconds }
    }
}

impl From<SilenceInfo> for SilenceGate {
    fn from(i: SilenceInfo) -> Self {
        SilenceGate { threshold_dbfs: i.threshold_dbfs, min_signal_seconds: i.min_signal_seconds }
    }
}

/// One member of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberInfo {
    /// Its name in the bundle.
    pub name: String,
    /// What it is.
    pub kind: ModelKind,
    /// Its fusion weight as stored (1 for a bundle of one model).
    pub weight: f64,
    /// The member in a few words.
    pub description: String,
    /// The rate its front end reads, in Hz.
    pub sample_rate: u32,
    /// Seconds of audio one of its windows covers.
    pub window_seconds: f64,
    /// Seconds between its window starts.
    pub hop_seconds: f64,
    /// Shortest input it classifies, in seconds (0: shorter input is padded).
    pub min_seconds: f64,
    /// The file beside the bundle that holds this detached member's complete bundle, which
    /// a caller attaches when a run first needs the member; absent when it is inside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_file: Option<String>,
}

/// The provenance fields a person reads, typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvenanceInfo {
    /// The data set's name, when the bundle says.
    pub dataset: Option<String>,
    /// Tracks (or table rows) it was trained or fitted on, when known.
    pub tracks: Option<u64>,
    /// The headline accuracy and how it was measured, when known.
    pub evaluation: Option<EvaluationInfo>,
    /// When the model was made (RFC 3339).
    pub created: String,
    /// The command that made it.
    pub command: String,
    /// Its random seed.
    pub seed: u64,
}

/// [`Evaluation`] with camelCase names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationInfo {
    /// How it was measured (e.g. `5-fold cross-validation`).
    pub method: String,
    /// Folds (0 for a single hold-out).
    pub folds: u32,
    /// Track accuracy, 0..1.
    pub accuracy: f64,
    /// Standard deviation of the accuracy over folds.
    pub accuracy_std: Option<f64>,
}

impl ModelInfo {
    /// The info of a bundle of any kind, checking its container (and each member's) as
    /// loading does, without loading any weights.
    pub fn from_bundle(bytes: &[u8]) -> Result<ModelInfo, BundleError> {
        let sections = format::read(bytes)?;
        match Header::from_json_version(sections.header, sections.version)? {
            Header::Fusion(_) => {
                let (fusion, parts) = FusionBundle::from_bytes(bytes)?;
                let members = fusion
                    .members
                    .iter()
                    .zip(&parts)
                    .map(|(m, &part)| {
                        format::read(part)
                            .and_then(|_| Header::read(part))
                            .map(|h| (m.name.clone(), m.weight, h))
                            .map_err(|e| BundleError::member(&m.name, e))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let embedder = EmbedderInfo::find(
                    members.iter().zip(&parts).map(|((n, _, h), p)| (n.as_str(), *p, h)),
                );
                Ok(Self { embedder, ..Self::new(&Header::Fusion(fusion), &members) })
            }
            single => {
                let member = ("model".to_string(), 1.0, single.clone());
                let embedder = EmbedderInfo::find([("model", bytes, &single)]);
                Ok(Self { embedder, ..Self::new(&single, std::slice::from_ref(&member)) })
            }
        }
    }

    /// The info of a model with `header` whose members are `(name, weight, header)`.
    pub fn new(header: &Header, members: &[(String, f64, Header)]) -> ModelInfo {
        let spectrogram_headers = || {
            members.iter().filter_map(|(_, _, h)| match h {
                Header::Spectrogram(s) => Some(s),
                _ => None,
            })
        };
        let uncertain_below = match header {
            Header::Fusion(f) => f.calibration,
            _ => members.first().and_then(|(_, _, h)| h.calibration()),
        }
        .map_or(0.0, |c| c.uncertain_below);
        let music_detector = spectrogram_headers().any(|h| h.music_detector.is_some());
        let tags = spectrogram_headers().find(|h| !h.tags.is_empty()).map(|h| h.tags.clone());
        let silence = spectrogram_headers().next().map(|h| h.feature_config.silence);
        let mut members: Vec<MemberInfo> =
            members.iter().map(|(name, weight, h)| MemberInfo::new(name, *weight, h)).collect();
        if let Header::Fusion(f) = header {
            for (info, entry) in members.iter_mut().zip(&f.members) {
                info.weights_file = entry.detached.as_ref().map(|d| d.file.clone());
            }
        }
        let primary = members
            .iter()
            .find(|m| m.kind == ModelKind::Spectrogram)
            .or(members.first())
            .cloned()
            .unwrap_or_else(|| MemberInfo::new("model", 1.0, header));
        let description = match header {
            Header::Fusion(_) => {
                let parts: Vec<&str> = members.iter().map(|m| m.description.as_str()).collect();
                format!("fusion of {}", parts.join(" and "))
            }
            _ => primary.description.clone(),
        };
        ModelInfo {
            kind: header.kind(),
            labels: header.labels().to_vec(),
            description,
            sample_rate: members.iter().map(|m| m.sample_rate).max().unwrap_or(primary.sample_rate),
            window_seconds: primary.window_seconds,
            hop_seconds: primary.hop_seconds,
            min_seconds: members.iter().map(|m| m.min_seconds).fold(f64::INFINITY, f64::min),
            live_seconds: primary.window_seconds,
            live_hop_seconds: primary.window_seconds / 2.0,
            uncertain_below,
            music_detector,
            tags: tags.unwrap_or_default(),
            silence: silence.unwrap_or_default().into(),
            members,
            provenance: ProvenanceInfo::from(header.provenance()),
            embedder: None,
        }
    }
}

impl ModelInfo {
    /// The member named `name`.
    pub fn member(&self, name: &str) -> Option<&MemberInfo> {
        self.members.iter().find(|m| m.name == name)
    }
}

impl MemberInfo {
    /// The info of one member model from its header.
    fn new(name: &str, weight: f64, header: &Header) -> MemberInfo {
        let (description, sample_rate, window_seconds, hop_seconds, min_seconds) = match header {
            Header::Spectrogram(h) => {
                let fc = &h.feature_config;
                let window = fc.window_seconds();
                (h.architecture.description(), fc.sample_rate, window, fc.hop_seconds(), 0.0)
            }
            Header::Table(h) => {
                let d = &h.descriptors;
                let (window, hop) = (d.windowing.window_seconds, d.windowing.hop_seconds);
                (h.architecture.description(), d.sample_rate, window, hop, d.min_seconds)
            }
            Header::Fusion(_) => ("fusion", 0, 0.0, 0.0, 0.0),
        };
        MemberInfo {
            name: name.to_string(),
            kind: header.kind(),
            weight,
            description: description.to_string(),
            sample_rate,
            window_seconds,
            hop_seconds,
            min_seconds,
            weights_file: None,
        }
    }
}

impl From<&Provenance> for ProvenanceInfo {
    fn from(p: &Provenance) -> Self {
        ProvenanceInfo {
            dataset: p.dataset.as_ref().map(|d| d.name.clone()),
            tracks: p.dataset.as_ref().map(|d| d.tracks),
            evaluation: p.evaluation.as_ref().map(EvaluationInfo::from),
            created: p.created.clone(),
            command: p.command.clone(),
            seed: p.seed,
        }
    }
}

impl From<&Evaluation> for EvaluationInfo {
    fn from(e: &Evaluation) -> Self {
        EvaluationInfo {
            method: e.method.clone(),
            folds: e.folds,
            accuracy: e.accuracy,
            accuracy_std: e.accuracy_std,
        }
    }
}
