//! [`Ensemble`]: any model bundle behind one interface. A spectrogram or table bundle is an
//! ensemble of one member; a fusion bundle's members each classify the track from their own
//! front end, and their track probabilities are averaged with the bundle's fusion weights.
//!
//! Stages, so that callers can time them: [`Ensemble::prepare`] (mono PCM resampled to each
//! member's rate) -> [`Ensemble::analyse`] / [`Ensemble::analyse_async`] (each member's
//! [`Model::analyse`] on the windows a [`PartPlan`] selects: one [`TrackPart`]) ->
//! [`Ensemble::merge`] (parts concluded, calibrated, fused). [`Ensemble::run`] does all of it
//! in one part.
//!
//! A member that does not apply to an input (a table model on less audio than its
//! `min_seconds`, as in live mode's 3 s windows) is left out, the others' weights are
//! renormalised, and the result says so. The fused result's timeline (`windows`, `votes`)
//! is that of the primary member (the first spectrogram member that ran, else the first
//! member that ran), the one whose window and hop [`ModelInfo`] gives, so a fusion keeps
//! its 3 s timeline whatever the members' order.

use std::borrow::Cow;

use crate::device::Device;

use super::awaiting::AwaitingWeights;
use super::model::{load_model, Analysis, Model, PatchEmbeddings, RunContext};
use super::parts::{self, Coverage, MemberPart, PatchSelection, TrackPart};
use super::{Classification, ClassifyError, EmbedderInfo, MemberResult, ModelInfo};
use crate::audio;
use crate::bundle::{BundleError, FusionBundle, FusionMember, Header, ModelKind};
use crate::trust::verdict::Evidence;
use crate::trust::{conform_range, Calibration, SignalLevel, Verdict};

/// What one run of an [`Ensemble`] analyses of a track (see [`Ensemble::analyse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    /// The windows of each spectrogram member.
    pub patches: PatchSelection,
    /// Whether the other members (table models, which choose their own windows) run.
    pub whole_track_members: bool,
}

impl Default for PartPlan {
    /// Everything the bundle says: the whole result in one part.
    fn default() -> Self {
        PartPlan { patches: PatchSelection::Configured, whole_track_members: true }
    }
}

impl From<Analysis> for MemberPart {
    fn from(a: Analysis) -> Self {
        MemberPart::Analysed { total: a.total, windows: a.windows }
    }
}

/// A loaded member with its name and fusion weight.
pub struct Member {
    /// Its name (`model` for a bundle of one model).
    pub name: String,
    /// Its fusion weight, as stored (1 for a bundle of one model).
    pub weight: f64,
    /// Its calibration (applied to its track and window probabilities).
    pub calibration: Option<Calibration>,
    /// The model.
    pub model: Box<dyn Model>,
}

/// Mono PCM resampled to every rate an ensemble's members read (see [`Ensemble::prepare`]),
/// and its level.
pub struct Prepared {
    signals: Vec<(u32, Vec<f32>)>,
    level: SignalLevel,
}

impl Prepared {
    /// The input's level, measured before resampling.
    pub fn level(&self) -> &SignalLevel {
        &self.level
    }
}

impl Prepared {
    /// The signal at `rate` (empty when none was prepared at that rate).
    fn at(&self, rate: u32) -> &[f32] {
        self.signals.iter().find(|(r, _)| *r == rate).map_or(&[], |(_, s)| s.as_slice())
    }
}

/// A detached fusion member not attached yet: where it is in the member list, its entry
/// in the fusion header and the header-only bundle the fusion holds for it.
struct Detachment {
    index: usize,
    entry: FusionMember,
    inline: Vec<u8>,
}

/// A loaded bundle of any kind (see the module docs).
pub struct Ensemble {
    info: ModelInfo,
    members: Vec<Member>,
    /// A fusion's calibration of the fused probabilities.
    fused_calibration: Option<Calibration>,
    /// Detached members still waiting for their bundles (see [`Ensemble::attach`]).
    awaiting: Vec<Detachment>,
}

impl Ensemble {
    /// Loads a bundle of any kind, its spectrogram networks on `device` (table networks
    /// always run on the CPU), checking everything. A fusion's detached members wait for
    /// [`attach`](Self::attach); until then runs leave them out and say why.
    pub fn from_bundle(bytes: &[u8], device: &Device) -> Result<Self, ClassifyError> {
        let header = Header::read(bytes)?;
        let parts: Vec<(String, f64, &[u8])> = match &header {
            Header::Fusion(_) => {
                let (fusion, parts) = FusionBundle::from_bytes(bytes)?;
                fusion
                    .members
                    .iter()
                    .zip(parts)
                    .map(|(m, p)| (m.name.clone(), m.weight, p))
                    .collect()
            }
            _ => vec![("model".to_string(), 1.0, bytes)],
        };
        let entries = match &header {
            Header::Fusion(f) => f.members.clone(),
            _ => Vec::new(),
        };
        let mut members = Vec::with_capacity(parts.len());
        let mut headers = Vec::with_capacity(parts.len());
        let mut awaiting = Vec::new();
        for (index, &(ref name, weight, part)) in parts.iter().enumerate() {
            let name = name.clone();
            let in_member = |e: ClassifyError| match (e, &header) {
                (ClassifyError::Bundle(e), Header::Fusion(_)) => {
                    ClassifyError::Bundle(BundleError::member(&name, e))
                }
                (e, _) => e,
            };
            let member_header = Header::read(part).map_err(|e| in_member(e.into()))?;
            let entry = entries.get(index);
            let model: Box<dyn Model> = match entry.and_then(|e| Some((e, e.detached.as_ref()?))) {
                Some((entry, detached)) => {
                    awaiting.push(Detachment {
                        index,
                        entry: entry.clone(),
                        inline: part.to_vec(),
                    });
                    Box::new(AwaitingWeights::new(&name, &detached.file, &member_header))
                }
                None => load_model(member_header.kind(), part, device).map_err(in_member)?,
            };
            let calibration = member_header.calibration();
            headers.push((name.clone(), weight, member_header));
            members.push(Member { name, weight, calibration, model });
        }
        let fused_calibration = match &header {
            Header::Fusion(h) => h.calibration,
            _ => None,
        };
        let embedder = EmbedderInfo::find(
            headers.iter().zip(&parts).map(|((n, _, h), (_, _, p))| (n.as_str(), *p, h)),
        );
        let info = ModelInfo { embedder, ..ModelInfo::new(&header, &headers) };
        Ok(Ensemble { info, members, fused_calibration, awaiting })
    }

    /// Gives the detached member `name` its complete bundle (the file
    /// [`MemberInfo::weights_file`](super::MemberInfo::weights_file) names), checked against
    /// the length, checksum and header the fusion records, and loads it (detached members
    /// are table models, which run on the CPU).
    pub fn attach(&mut self, name: &str, bytes: &[u8]) -> Result<(), ClassifyError> {
        let Some(at) = self.awaiting.iter().position(|d| d.entry.name == name) else {
            let known = self.members.iter().any(|m| m.name == name);
            return Err(ClassifyError::Bundle(BundleError::member(
                name,
                BundleError::InvalidFusion(if known {
                    "it is not waiting for its weights (not detached, or attached already)".into()
                } else {
                    "the model has no member of that name".into()
                }),
            )));
        };
        let d = &self.awaiting[at];
        FusionBundle::check_detached(&d.entry, &d.inline, bytes)?;
        let model = load_model(d.entry.kind, bytes, &Device::flex()).map_err(|e| match e {
            ClassifyError::Bundle(e) => ClassifyError::Bundle(BundleError::member(name, e)),
            e => e,
        })?;
        let d = self.awaiting.remove(at);
        self.members[d.index].model = model;
        Ok(())
    }

    /// The detached members not attached yet: each one's name and the file its bundle is in.
    pub fn awaiting(&self) -> Vec<(&str, &str)> {
        self.awaiting
            .iter()
            .filter_map(|d| Some((d.entry.name.as_str(), d.entry.detached.as_ref()?.file.as_str())))
            .collect()
    }

    /// Classifies with at most `max` patches per track (`None`: every patch) instead of
    /// what the bundle says, for models that cut whole-track spectrograms into patches.
    pub fn set_max_patches(&mut self, max: Option<usize>) {
        for m in &mut self.members {
            m.model.set_max_patches(max);
        }
    }

    /// What the model is: kind, labels, rates, windows, members, provenance.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// What the bundle holds.
    pub fn kind(&self) -> ModelKind {
        self.info.kind
    }

    /// Labels in output order.
    pub fn labels(&self) -> &[String] {
        &self.info.labels
    }

    /// The members, in bundle order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Every patch's backbone embedding of mono PCM at `sample_rate` (see [`Model::embed`]),
    /// from the member [`ModelInfo::embedder`] names, at its rate; `None` for a model without
    /// a pretrained backbone. The input is brought within full scale first, as for
    /// classification.
    pub fn embed(
        &self,
        samples: &[f32],
        sample_rate: u32,
    ) -> Result<Option<PatchEmbeddings>, ClassifyError> {
        let Some(name) = self.info.embedder.as_ref().map(|e| &e.member) else {
            return Ok(None);
        };
        let Some(member) = self.members.iter().find(|m| &m.name == name) else {
            return Ok(None);
        };
        let (input, _) = self.conformed(samples, sample_rate);
        let input = audio::resample(&input, sample_rate, member.model.sample_rate())?;
        member.model.embed(&input).transpose()
    }

    /// Whether any member classifies input as short as `seconds` (live mode asks for 3 s).
    pub fn applies_to_seconds(&self, seconds: f64) -> bool {
        self.members.iter().any(|m| {
            let n_samples = (seconds * m.model.sample_rate() as f64) as usize;
            m.model.not_applicable(n_samples).is_none()
        })
    }

    /// Mono PCM at `sample_rate` brought within full scale ([`conform_range`]), measured
    /// against the silence gate, and resampled to every rate the members read, once per rate.
    pub fn prepare(&self, samples: &[f32], sample_rate: u32) -> Result<Prepared, ClassifyError> {
        let (input, level) = self.conformed(samples, sample_rate);
        let mut signals: Vec<(u32, Vec<f32>)> = Vec::new();
        for m in &self.members {
            let rate = m.model.sample_rate();
            if !signals.iter().any(|(r, _)| *r == rate) {
                signals.push((rate, audio::resample(&input, sample_rate, rate)?));
            }
        }
        Ok(Prepared { signals, level })
    }

    /// Whether a member is a spectrogram network (without one, a table model alone answers
    /// every part itself: nothing else could).
    fn has_spectrogram_member(&self) -> bool {
        self.members.iter().any(|m| m.model.kind() == ModelKind::Spectrogram)
    }

    /// `samples` brought within full scale ([`conform_range`]; copied only when needed) and
    /// their level against the silence gate.
    fn conformed<'s>(&self, samples: &'s [f32], sample_rate: u32) -> (Cow<'s, [f32]>, SignalLevel) {
        let mut input = Cow::Borrowed(samples);
        let mut scaled_by = 1.0;
        if samples.iter().any(|x| !x.is_finite() || x.abs() > 1.0) {
            scaled_by = conform_range(input.to_mut());
        }
        let level = SignalLevel {
            scaled_by,
            ..SignalLevel::measure(&input, sample_rate, &self.info.silence.into())
        };
        (input, level)
    }

    /// A first look at a long track (see [`Model::preview`]): `count` evenly spread windows
    /// of each spectrogram member, computed from the audio around them only, as one
    /// [`TrackPart`] whose rows equal [`analyse`](Self::analyse)'s with
    /// [`PatchSelection::Spread`]; the other members are deferred. `samples` is the whole
    /// mono track at `sample_rate`, not resampled. `None` when a spectrogram member cannot
    /// preview (then analyse the prepared track).
    pub fn preview(
        &self,
        samples: &[f32],
        sample_rate: u32,
        count: usize,
        ctx: &mut RunContext,
    ) -> Result<Option<TrackPart>, ClassifyError> {
        if !self.has_spectrogram_member() {
            return Ok(None);
        }
        let (input, level) = self.conformed(samples, sample_rate);
        let input: &[f32] = &input;
        let mut members = Vec::with_capacity(self.members.len());
        for m in &self.members {
            let n = audio::resampled_len(input.len(), sample_rate, m.model.sample_rate());
            members.push(match m.model.not_applicable(n) {
                Some(reason) => MemberPart::Skipped { reason },
                None if m.model.kind() != ModelKind::Spectrogram => MemberPart::Deferred,
                None => match m.model.preview(input, sample_rate, count, ctx) {
                    Some(analysis) => analysis?.into(),
                    None => return Ok(None),
                },
            });
        }
        Ok(Some(TrackPart { level, members }))
    }

    /// Runs every member that applies on every window the bundle says and fuses them;
    /// synchronous reads (CPU backends).
    pub fn run(
        &self,
        prepared: &Prepared,
        ctx: &mut RunContext,
    ) -> Result<Classification, ClassifyError> {
        self.merge(&[self.analyse(prepared, PartPlan::default(), ctx)?])
    }

    /// [`run`](Self::run) with asynchronous reads, usable on every backend (WebGPU).
    pub async fn run_async(
        &self,
        prepared: &Prepared,
        ctx: &mut RunContext<'_>,
    ) -> Result<Classification, ClassifyError> {
        self.merge(&[self.analyse_async(prepared, PartPlan::default(), ctx).await?])
    }

    /// One part of a track (see [`TrackPart`]): the windows `plan` selects of each
    /// spectrogram member, and the other members when `plan` says so; synchronous reads.
    pub fn analyse(
        &self,
        prepared: &Prepared,
        plan: PartPlan,
        ctx: &mut RunContext,
    ) -> Result<TrackPart, ClassifyError> {
        let mut members = Vec::with_capacity(self.members.len());
        for (m, input) in self.planned(prepared, plan) {
            members.push(match input {
                Ok(samples) => self.member_part(m, m.model.analyse(samples, plan.patches, ctx))?,
                Err(part) => part,
            });
        }
        Ok(TrackPart { level: prepared.level, members })
    }

    /// [`analyse`](Self::analyse) with asynchronous reads, usable on every backend (WebGPU).
    pub async fn analyse_async(
        &self,
        prepared: &Prepared,
        plan: PartPlan,
        ctx: &mut RunContext<'_>,
    ) -> Result<TrackPart, ClassifyError> {
        let mut members = Vec::with_capacity(self.members.len());
        for (m, input) in self.planned(prepared, plan) {
            members.push(match input {
                Ok(samples) => {
                    self.member_part(m, m.model.analyse_async(samples, plan.patches, ctx).await)?
                }
                Err(part) => part,
            });
        }
        Ok(TrackPart { level: prepared.level, members })
    }

    /// A member's analysis as its share of a part. A detached member not attached yet is
    /// left out, with why. In a model with a network, a member whose clip descriptors could
    /// not be had (the page's descriptor module failed) fails alone: the part keeps the
    /// network's rows. Any other error fails the part.
    fn member_part(
        &self,
        member: &Member,
        analysis: Result<Analysis, ClassifyError>,
    ) -> Result<MemberPart, ClassifyError> {
        match analysis {
            Ok(analysis) => Ok(analysis.into()),
            Err(ClassifyError::AwaitingWeights { file, .. }) => Ok(MemberPart::Skipped {
                reason: format!("its weights, in `{file}`, are not loaded"),
            }),
            Err(ClassifyError::DescriptorSource(reason))
                if member.model.kind() != ModelKind::Spectrogram
                    && self.has_spectrogram_member() =>
            {
                Ok(MemberPart::Failed { reason })
            }
            Err(e) => Err(e),
        }
    }

    /// The result from parts of one track (any number, any order; see [`TrackPart`]): each
    /// member's windows gathered by index, concluded and calibrated, then fused, calibrated
    /// and given a verdict. A member no part has run counts as skipped (one that failed says
    /// why), and the result's [`Coverage`] says how much of the track it covers. Parts with
    /// no rows at all, where a member failed, give that member's error.
    pub fn merge(&self, parts: &[TrackPart]) -> Result<Classification, ClassifyError> {
        let level = parts.first().ok_or(ClassifyError::NoWindows)?.level;
        if parts.iter().any(|p| p.members.len() != self.members.len()) {
            return Err(ClassifyError::Backend(format!(
                "a part of this track has the wrong number of members (the model has {})",
                self.members.len()
            )));
        }
        let mut results = Vec::with_capacity(self.members.len());
        // (is a spectrogram member, windows analysed, windows in the track) of each that ran.
        let mut covered = Vec::new();
        let mut complete = true;
        for (i, m) in self.members.iter().enumerate() {
            match parts::gather(parts, i) {
                Some((total, windows)) if !windows.is_empty() => {
                    complete &= windows.len() == total;
                    covered.push((m.model.kind() == ModelKind::Spectrogram, windows.len(), total));
                    let c = calibrate(m.model.conclude(&windows), m.calibration.as_ref());
                    results.push(Ok(c));
                }
                _ => {
                    complete &=
                        parts.iter().any(|p| matches!(p.members[i], MemberPart::Skipped { .. }));
                    results.push(Err(parts::missing_reason(parts, i)));
                }
            }
        }
        if results.iter().all(Result::is_err) {
            if let Some(source) = (0..self.members.len()).find_map(|i| parts::failure(parts, i)) {
                return Err(ClassifyError::DescriptorSource(source.to_string()));
            }
        }
        let mut result = self.finish(results, level)?;
        let (_, analysed, total) =
            covered.iter().find(|c| c.0).or(covered.first()).copied().unwrap_or_default();
        result.coverage = Coverage { analysed, total, complete };
        Ok(result)
    }

    /// Each member that failed in one of `parts` (see [`MemberPart::Failed`]) and no part
    /// analysed: its name and the descriptor source's error.
    pub fn failures<'p>(&'p self, parts: &'p [TrackPart]) -> Vec<(&'p str, &'p str)> {
        self.members
            .iter()
            .enumerate()
            .filter(|&(i, _)| !parts::has_rows(parts, i))
            .filter_map(|(i, m)| Some((m.name.as_str(), parts::failure(parts, i)?)))
            .collect()
    }

    /// The fused result with its tags, music score, level and verdict; refuses a result that
    /// is not finite.
    fn finish(
        &self,
        results: Vec<Result<Classification, String>>,
        level: SignalLevel,
    ) -> Result<Classification, ClassifyError> {
        let mut result = self.fuse(results)?;
        if let Some(calibration) = self.fused_calibration {
            result.set_probabilities(calibration.apply(&result.probabilities));
        }
        result.signal = Some(level);
        result.verdict = Verdict::decide(Evidence {
            ranking: &result.ranking,
            level: result.signal.as_ref(),
            music: result.music.as_ref(),
            uncertain_below: self.info.uncertain_below,
        });
        result.check_finite()?;
        Ok(result)
    }

    /// Each member with its input from `prepared` when it runs in this part (`plan`, made
    /// feasible), else its share as it stands: deferred to a later part, or skipped with why
    /// it does not apply to this input.
    fn planned<'a>(
        &'a self,
        prepared: &'a Prepared,
        plan: PartPlan,
    ) -> impl Iterator<Item = (&'a Member, Result<&'a [f32], MemberPart>)> {
        let whole_track_members = plan.whole_track_members || !self.has_spectrogram_member();
        self.members.iter().map(move |m| {
            if !whole_track_members && m.model.kind() != ModelKind::Spectrogram {
                return (m, Err(MemberPart::Deferred));
            }
            let samples = prepared.at(m.model.sample_rate());
            let input = match m.model.not_applicable(samples.len()) {
                Some(reason) => Err(MemberPart::Skipped { reason }),
                None => Ok(samples),
            };
            (m, input)
        })
    }

    /// Resampling and every member of checked mono PCM in one call.
    pub fn classify_mono(
        &self,
        samples: &[f32],
        sample_rate: u32,
    ) -> Result<Classification, ClassifyError> {
        self.run(&self.prepare(samples, sample_rate)?, &mut RunContext::default())
    }

    /// The fused result from each member's (or why it was skipped).
    fn fuse(
        &self,
        results: Vec<Result<Classification, String>>,
    ) -> Result<Classification, ClassifyError> {
        if self.kind() != ModelKind::Fusion {
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
        let mut fused = vec![0.0f64; self.labels().len()];
        let (mut tags, mut music) = (None, None);
        let mut timeline: Option<(ModelKind, Classification)> = None;
        let mut members = Vec::with_capacity(results.len());
        for (m, r) in self.members.iter().zip(results) {
            let (weight, skipped, c) = match r {
                Ok(c) => (m.weight / total, None, Some(c)),
                Err(reason) => (0.0, Some(reason), None),
            };
            if let Some(c) = &c {
                for (f, &p) in fused.iter_mut().zip(&c.probabilities) {
                    *f += weight * p as f64;
                }
                if tags.is_none() && !c.tags.is_empty() {
                    tags = Some(c.tags.clone());
                }
                music = music.or(c.music);
            }
            members.push(MemberResult {
                name: m.name.clone(),
                kind: m.model.kind(),
                weight,
                skipped,
                probabilities: c.as_ref().map(|c| c.probabilities.clone()).unwrap_or_default(),
                windows: c.as_ref().map(|c| c.windows.clone()).unwrap_or_default(),
            });
            let finer = m.model.kind() == ModelKind::Spectrogram
                && timeline.as_ref().is_none_or(|(kind, _)| *kind != ModelKind::Spectrogram);
            if let Some(c) = c.filter(|_| timeline.is_none() || finer) {
                timeline = Some((m.model.kind(), c));
            }
        }
        let probabilities: Vec<f32> = fused.iter().map(|&p| p as f32).collect();
        let (votes, windows) = timeline.map(|(_, t)| (t.votes, t.windows)).unwrap_or_default();
        let mut result = Classification::from_probabilities(
            self.labels().to_vec(),
            probabilities,
            votes,
            windows,
        );
        result.members = members;
        result.tags = tags.unwrap_or_default();
        result.music = music;
        Ok(result)
    }
}

/// `result` with `calibration`'s temperature applied to its track and window probabilities.
fn calibrate(mut result: Classification, calibration: Option<&Calibration>) -> Classification {
    let Some(calibration) = calibration else { return result };
    for w in &mut result.windows {
        w.probabilities = calibration.apply(&w.probabilities);
    }
    result.set_probabilities(calibration.apply(&result.probabilities));
    result
}
