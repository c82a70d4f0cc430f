//! [`Ensemble`]: any model bundle behind one interface. A spectrogram or table bundle is an
//! ensemble of one member; a fusion bundle's members each classify the track from their own
//! front end, and their track probabilities are averaged with the bundle's fusion weights.
//!
//! Stages, so that callers can time them: [`Ensemble::prepare`] (mono PCM resampled to each
//! member's rate) -> [`Ensemble::features`] (each member's inputs, or why it does not apply)
//! -> [`Ensemble::infer`] / [`Ensemble::infer_async`] (each member, then the fusion).
//!
//! A member that does not apply to an input (a table model on less audio than its
//! `min_seconds`, as in live mode's 3 s windows) is left out, the others' weights are
//! renormalised, and the result says so. The fused result's timeline (`windows`, `votes`)
//! and embedding are those of the first member that ran, so a fusion whose first member is
//! the spectrogram model keeps its 3 s timeline.

use burn::tensor::Device;
use serde_json::{json, Value};

use super::table::{TableClassifier, TableFeatures};
use super::{rank, Classification, Classifier, ClassifyError, MemberResult};
use crate::audio::{self, DecodeLimits};
use crate::bundle::kind::value_with_kind;
use crate::bundle::{
    Bundle, BundleError, BundleHeader, FusionBundle, FusionHeader, ModelKind, TableHeader,
};
use crate::segment::WindowFeatures;

/// A loaded member model.
// A handful per bundle: boxing the larger variant buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum MemberModel {
    /// A network on log-Mel windows.
    Spectrogram(Classifier),
    /// A network on clip descriptors.
    Table(TableClassifier),
}

impl MemberModel {
    /// What the member is.
    pub fn kind(&self) -> ModelKind {
        match self {
            MemberModel::Spectrogram(_) => ModelKind::Spectrogram,
            MemberModel::Table(_) => ModelKind::Table,
        }
    }

    /// The rate its front end expects, in Hz.
    pub fn sample_rate(&self) -> u32 {
        match self {
            MemberModel::Spectrogram(c) => c.sample_rate(),
            MemberModel::Table(c) => c.sample_rate(),
        }
    }

    /// Labels in output order.
    pub fn labels(&self) -> &[String] {
        match self {
            MemberModel::Spectrogram(c) => c.labels(),
            MemberModel::Table(t) => t.labels(),
        }
    }

    /// Its header as JSON, with `kind`.
    fn header_json(&self) -> Result<Value, BundleError> {
        match self {
            MemberModel::Spectrogram(c) => value_with_kind(c.header(), ModelKind::Spectrogram),
            MemberModel::Table(t) => value_with_kind(t.header(), ModelKind::Table),
        }
    }
}

/// A member with its name and fusion weight.
pub struct Member {
    /// Its name (`model` for a bundle of one model).
    pub name: String,
    /// Its fusion weight, as stored (1 for a bundle of one model).
    pub weight: f64,
    /// The model.
    pub model: MemberModel,
}

/// One member's inputs for one track.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberFeatures {
    /// Log-Mel windows of a spectrogram member.
    Windows(WindowFeatures),
    /// Descriptor vectors of a table member.
    Descriptors(TableFeatures),
    /// The member does not apply to this input, and why.
    Skipped(String),
}

/// A loaded bundle of any kind (see the module docs).
pub struct Ensemble {
    kind: ModelKind,
    labels: Vec<String>,
    members: Vec<Member>,
    summary: Value,
}

impl Ensemble {
    /// Loads a bundle of any kind, its spectrogram networks on `device` (table networks
    /// always run on the CPU), checking everything.
    pub fn from_bundle(bytes: &[u8], device: &Device) -> Result<Self, ClassifyError> {
        let kind = Bundle::kind(bytes)?;
        if kind != ModelKind::Fusion {
            let model = load_member(kind, bytes, device)?;
            let summary = single_summary(model.header_json()?);
            let labels = model.labels().to_vec();
            return Ok(Ensemble {
                kind,
                labels,
                members: vec![Member { name: "model".into(), weight: 1.0, model }],
                summary,
            });
        }
        let (header, parts) = FusionBundle::from_bytes(bytes)?;
        let mut members = Vec::with_capacity(parts.len());
        let mut member_headers = Vec::with_capacity(parts.len());
        for (entry, part) in header.members.iter().zip(parts) {
            let model = load_member(entry.kind, part, device).map_err(|e| match e {
                ClassifyError::Bundle(error) => {
                    ClassifyError::Bundle(BundleError::member(&entry.name, error))
                }
                other => other,
            })?;
            member_headers.push(model.header_json()?);
            members.push(Member { name: entry.name.clone(), weight: entry.weight, model });
        }
        let summary = fusion_summary(&header, member_headers);
        Ok(Ensemble { kind, labels: header.labels, members, summary })
    }

    /// The bytes of the first spectrogram member's bundle within `bytes` (all of them for a
    /// spectrogram bundle; `None` when the bundle has no spectrogram member): what a second
    /// device (WebGPU) loads.
    pub fn primary_bundle(bytes: &[u8]) -> Result<Option<&[u8]>, BundleError> {
        match Bundle::kind(bytes)? {
            ModelKind::Spectrogram => Ok(Some(bytes)),
            ModelKind::Table => Ok(None),
            ModelKind::Fusion => {
                let (header, parts) = FusionBundle::from_bytes(bytes)?;
                Ok(header
                    .members
                    .iter()
                    .zip(parts)
                    .find(|(m, _)| m.kind == ModelKind::Spectrogram)
                    .map(|(_, p)| p))
            }
        }
    }

    /// What the bundle holds.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Labels in output order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The members, in bundle order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The header for display, as JSON: the model's own header with `kind` and `members`
    /// (empty), or for a fusion `{kind, labels, provenance, members: [{name, kind, weight,
    /// header}]}` plus the first member's `architecture` and front end.
    pub fn summary(&self) -> &Value {
        &self.summary
    }

    /// The first spectrogram member with its index (the one whose log-Mel the page shows).
    pub fn primary(&self) -> Option<(usize, &Classifier)> {
        self.members.iter().enumerate().find_map(|(i, m)| match &m.model {
            MemberModel::Spectrogram(c) => Some((i, c)),
            MemberModel::Table(_) => None,
        })
    }

    /// Whether any member classifies input as short as `seconds` (live mode asks for 3 s).
    pub fn applies_to_seconds(&self, seconds: f64) -> bool {
        self.members.iter().any(|m| match &m.model {
            MemberModel::Spectrogram(_) => true,
            MemberModel::Table(t) => {
                t.not_applicable((seconds * t.sample_rate() as f64) as usize).is_none()
            }
        })
    }

    /// Mono PCM at `sample_rate` resampled to every rate the members need, one signal per
    /// distinct rate (in member order).
    pub fn prepare(
        &self,
        samples: &[f32],
        sample_rate: u32,
    ) -> Result<Vec<(u32, Vec<f32>)>, ClassifyError> {
        let mut out: Vec<(u32, Vec<f32>)> = Vec::new();
        for m in &self.members {
            let rate = m.model.sample_rate();
            if !out.iter().any(|(r, _)| *r == rate) {
                out.push((rate, audio::resample(samples, sample_rate, rate)?));
            }
        }
        Ok(out)
    }

    /// Each member's inputs from the prepared signals (see [`prepare`](Self::prepare)).
    pub fn features(
        &self,
        prepared: &[(u32, Vec<f32>)],
    ) -> Result<Vec<MemberFeatures>, ClassifyError> {
        self.members
            .iter()
            .map(|m| {
                let rate = m.model.sample_rate();
                let Some((_, samples)) = prepared.iter().find(|(r, _)| *r == rate) else {
                    return Err(ClassifyError::Backend(format!(
                        "no signal was prepared at {rate} Hz for member `{}`",
                        m.name
                    )));
                };
                Ok(match &m.model {
                    MemberModel::Spectrogram(c) => MemberFeatures::Windows(c.features(samples)),
                    MemberModel::Table(t) => match t.not_applicable(samples.len()) {
                        Some(reason) => MemberFeatures::Skipped(reason),
                        None => MemberFeatures::Descriptors(t.features(samples)?),
                    },
                })
            })
            .collect()
    }

    /// Runs every member that applies and fuses them; synchronous reads (CPU backends).
    pub fn infer(&self, features: &[MemberFeatures]) -> Result<Classification, ClassifyError> {
        let mut results = Vec::with_capacity(self.members.len());
        for (m, f) in self.members.iter().zip(features) {
            results.push(match (&m.model, f) {
                (_, MemberFeatures::Skipped(reason)) => Err(reason.clone()),
                (MemberModel::Spectrogram(c), MemberFeatures::Windows(w)) => Ok(c.infer(w)?),
                (MemberModel::Table(t), MemberFeatures::Descriptors(d)) => Ok(t.infer(d)?),
                _ => return Err(mismatched(&m.name)),
            });
        }
        self.fuse(results)
    }

    /// [`infer`](Self::infer) with asynchronous reads; `gpu`, when given, runs the
    /// [`primary`](Self::primary) member instead of its CPU copy (the same bundle loaded on
    /// WebGPU).
    pub async fn infer_async(
        &self,
        features: &[MemberFeatures],
        gpu: Option<&Classifier>,
    ) -> Result<Classification, ClassifyError> {
        let primary = self.primary().map(|(i, _)| i);
        let mut results = Vec::with_capacity(self.members.len());
        for (i, (m, f)) in self.members.iter().zip(features).enumerate() {
            results.push(match (&m.model, f) {
                (_, MemberFeatures::Skipped(reason)) => Err(reason.clone()),
                (MemberModel::Spectrogram(c), MemberFeatures::Windows(w)) => {
                    match gpu.filter(|_| Some(i) == primary) {
                        Some(g) => Ok(g.infer_async(w).await?),
                        None => Ok(c.infer_async(w).await?),
                    }
                }
                (MemberModel::Table(t), MemberFeatures::Descriptors(d)) => Ok(t.infer(d)?),
                _ => return Err(mismatched(&m.name)),
            });
        }
        self.fuse(results)
    }

    /// Resampling, features and inference of checked mono PCM in one call.
    pub fn classify_mono(
        &self,
        samples: &[f32],
        sample_rate: u32,
    ) -> Result<Classification, ClassifyError> {
        self.infer(&self.features(&self.prepare(samples, sample_rate)?)?)
    }

    /// Decode, resample, features and inference of a file in one call.
    pub fn classify_file(
        &self,
        bytes: Vec<u8>,
        extension: Option<&str>,
        limits: &DecodeLimits,
    ) -> Result<Classification, ClassifyError> {
        let decoded = audio::decode(bytes, extension, limits)?;
        self.classify_mono(&decoded.samples, decoded.sample_rate)
    }

    /// The fused result from each member's (or why it was skipped).
    fn fuse(
        &self,
        results: Vec<Result<Classification, String>>,
    ) -> Result<Classification, ClassifyError> {
        if self.kind != ModelKind::Fusion {
            // A bundle of one model: its result as it is.
            return match results.into_iter().next() {
                Some(Ok(c)) => Ok(c),
                Some(Err(reason)) => Err(ClassifyError::NoMemberApplies(reason)),
                None => Err(ClassifyError::NoWindows),
            };
        }
        let total: f64 = self
            .members
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(m, _)| m.weight)
            .sum();
        if total <= 0.0 || total.is_nan() {
            let reasons: Vec<String> = self
                .members
                .iter()
                .zip(&results)
                .map(|(m, r)| match r {
                    Err(reason) => format!("`{}`: {reason}", m.name),
                    Ok(_) => format!("`{}` has fusion weight 0", m.name),
                })
                .collect();
            return Err(ClassifyError::NoMemberApplies(reasons.join("; ")));
        }
        let n = self.labels.len();
        let mut fused = vec![0.0f64; n];
        let mut first: Option<Classification> = None;
        let mut members = Vec::with_capacity(results.len());
        for (m, r) in self.members.iter().zip(results) {
            match r {
                Ok(c) => {
                    let w = m.weight / total;
                    for (f, &p) in fused.iter_mut().zip(&c.probabilities) {
                        *f += w * p as f64;
                    }
                    members.push(MemberResult {
                        name: m.name.clone(),
                        kind: m.model.kind(),
                        weight: w,
                        skipped: None,
                        probabilities: c.probabilities.clone(),
                        windows: c.windows.clone(),
                    });
                    first.get_or_insert(c);
                }
                Err(reason) => members.push(MemberResult {
                    name: m.name.clone(),
                    kind: m.model.kind(),
                    weight: 0.0,
                    skipped: Some(reason),
                    probabilities: Vec::new(),
                    windows: Vec::new(),
                }),
            }
        }
        let timeline = first.expect("a member with a positive weight ran");
        let probabilities: Vec<f32> = fused.iter().map(|&p| p as f32).collect();
        Ok(Classification {
            ranking: rank(&self.labels, &probabilities),
            labels: self.labels.clone(),
            probabilities,
            votes: timeline.votes,
            windows: timeline.windows,
            embedding: timeline.embedding,
            members,
        })
    }
}

/// A bundle's headers as JSON for display, without loading any weights: the model's own
/// header with `kind` and an empty `members` list, or for a fusion `{kind, labels,
/// provenance, members: [{name, kind, weight, header}]}` plus the first member's
/// `architecture` and front end (`feature_config` or `descriptors`), which a page shows of
/// a single model. Checks the container (and each member's) as loading does. What
/// [`Ensemble::summary`] holds once the bundle is loaded.
pub fn summary_of(bytes: &[u8]) -> Result<Value, BundleError> {
    let header_json = |kind: ModelKind, bytes: &[u8]| -> Result<Value, BundleError> {
        let sections = crate::bundle::format::read(bytes)?;
        match kind {
            ModelKind::Spectrogram => value_with_kind(
                &BundleHeader::from_json_version(sections.header, sections.version)?,
                kind,
            ),
            ModelKind::Table => value_with_kind(
                &TableHeader::from_json_version(sections.header, sections.version)?,
                kind,
            ),
            ModelKind::Fusion => Err(BundleError::nested_fusion()),
        }
    };
    let kind = Bundle::kind(bytes)?;
    if kind != ModelKind::Fusion {
        return Ok(single_summary(header_json(kind, bytes)?));
    }
    let (header, parts) = FusionBundle::from_bytes(bytes)?;
    let member_headers = header
        .members
        .iter()
        .zip(parts)
        .map(|(entry, part)| {
            header_json(entry.kind, part).map_err(|e| BundleError::member(&entry.name, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(fusion_summary(&header, member_headers))
}

/// The summary of a bundle of one model: its header (with `kind`) and no members.
fn single_summary(mut header: Value) -> Value {
    header["members"] = json!([]);
    header
}

/// The summary of a fusion from its header and its members' headers (in member order).
fn fusion_summary(header: &FusionHeader, member_headers: Vec<Value>) -> Value {
    let mut summary =
        json!({"kind": "fusion", "labels": header.labels, "provenance": header.provenance});
    if let Some(first) = member_headers.first().and_then(Value::as_object) {
        for key in ["architecture", "feature_config", "descriptors"] {
            if let Some(v) = first.get(key) {
                summary[key] = v.clone();
            }
        }
    }
    let members = header
        .members
        .iter()
        .zip(member_headers)
        .map(|(entry, member)| json!({"name": entry.name, "kind": entry.kind, "weight": entry.weight, "header": member}))
        .collect();
    summary["members"] = Value::Array(members);
    summary
}

fn load_member(
    kind: ModelKind,
    bytes: &[u8],
    device: &Device,
) -> Result<MemberModel, ClassifyError> {
    match kind {
        ModelKind::Spectrogram => {
            Ok(MemberModel::Spectrogram(Classifier::from_bundle(bytes, device)?))
        }
        ModelKind::Table => Ok(MemberModel::Table(TableClassifier::from_bundle(bytes)?)),
        ModelKind::Fusion => Err(BundleError::nested_fusion().into()),
    }
}

fn mismatched(name: &str) -> ClassifyError {
    ClassifyError::Backend(format!("the features given for member `{name}` are not of its kind"))
}
