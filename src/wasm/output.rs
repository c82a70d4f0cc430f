//! The objects handed to JavaScript. Field names are camelCase; probabilities are plain
//! numbers (each f32 converts to a JS number exactly), the Mel image is a `Float32Array`.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::errors::to_js;
use crate::classify::{rank, Classification, Coverage, LabelScore, ModelInfo};
use crate::mel_image::MelImage;
use crate::trust::{MusicScore, SignalLevel, Verdict};

/// Where the audio came from and how it was read.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Source {
    /// `"genrescope"` (the Rust decoder in this module) or whatever the caller passed for PCM
    /// (e.g. `"webaudio"`).
    pub decoder: String,
    pub container: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub duration_seconds: f64,
    pub truncated: bool,
    pub skipped_packets: usize,
}

/// Milliseconds per stage. `decode` is 0 for PCM input (the caller decoded it).
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Timings {
    pub decode: f64,
    pub resample: f64,
    pub features: f64,
    pub inference: f64,
    pub mel_image: f64,
    pub total: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Window<'a> {
    start: f64,
    end: f64,
    padded: bool,
    probabilities: &'a [f32],
}

/// One fusion member's opinion (see [`crate::classify::MemberResult`]).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Member<'a> {
    name: &'a str,
    kind: &'static str,
    /// The member in a few words (from its `ModelInfo` entry).
    description: &'a str,
    /// Seconds of audio one of its windows covers.
    window_seconds: f64,
    /// Its weight in this result (0 when skipped).
    weight: f64,
    /// Why it was left out (e.g. too short for it); absent when it counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'a str>,
    probabilities: &'a [f32],
    top: Vec<LabelScore>,
    windows: Vec<Window<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TrackResult<'a> {
    backend: &'a str,
    labels: &'a [String],
    probabilities: &'a [f32],
    top: &'a [LabelScore],
    votes: &'a [usize],
    windows: Vec<Window<'a>>,
    /// For a fusion: each member's opinion (empty otherwise).
    members: Vec<Member<'a>>,
    /// What the answer is (genre, uncertain, not_music, silent).
    verdict: &'a Verdict,
    /// The Million Song Dataset tags, most likely first (empty when the model has none).
    tags: &'a [LabelScore],
    /// The music detector's score (null when the model has none).
    music: Option<&'a MusicScore>,
    /// The input's level.
    signal: Option<Signal>,
    /// How much of the track the result covers: `{analysed, total, complete}`.
    coverage: &'a Coverage,
    source: &'a Source,
    timings: &'a Timings,
    warnings: &'a [String],
}

/// [`SignalLevel`] with camelCase names.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Signal {
    seconds: f64,
    active_seconds: f64,
    rms_dbfs: f32,
    dc_offset: f32,
    scaled_by: f32,
    silent: bool,
}

impl From<&SignalLevel> for Signal {
    fn from(l: &SignalLevel) -> Self {
        Signal {
            seconds: l.seconds,
            active_seconds: l.active_seconds,
            rms_dbfs: l.rms_dbfs,
            dc_offset: l.dc_offset,
            scaled_by: l.scaled_by,
            silent: l.silent,
        }
    }
}

fn windows_of(windows: &[crate::classify::WindowResult]) -> Vec<Window<'_>> {
    windows
        .iter()
        .map(|w| Window {
            start: w.start_seconds,
            end: w.end_seconds,
            padded: w.padded,
            probabilities: &w.probabilities,
        })
        .collect()
}

/// The whole result of classifying one track, with the Mel image attached as
/// `mel: {data: Float32Array, bands, columns, secondsPerColumn, min, max}` and, for a part of
/// a track, `part` (what `Engine.mergeParts` takes).
// Each argument is a separate part of the result object; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn classification_to_js(
    backend: &str,
    model: &ModelInfo,
    c: &Classification,
    top_k: usize,
    source: &Source,
    timings: &Timings,
    warnings: &[String],
    mel: Option<&MelImage>,
    part: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let windows = windows_of(&c.windows);
    let members = c
        .members
        .iter()
        .map(|m| Member {
            name: &m.name,
            kind: m.kind.name(),
            description: model.member(&m.name).map_or("", |i| i.description.as_str()),
            window_seconds: model.member(&m.name).map_or(0.0, |i| i.window_seconds),
            weight: m.weight,
            skipped: m.skipped.as_deref(),
            probabilities: &m.probabilities,
            top: if m.probabilities.is_empty() {
                Vec::new()
            } else {
                rank(&c.labels, &m.probabilities).into_iter().take(top_k).collect()
            },
            windows: windows_of(&m.windows),
        })
        .collect();
    let result = TrackResult {
        members,
        backend,
        labels: &c.labels,
        probabilities: &c.probabilities,
        top: c.top(top_k),
        votes: &c.votes,
        windows,
        verdict: &c.verdict,
        tags: &c.tags,
        music: c.music.as_ref(),
        signal: c.signal.as_ref().map(Signal::from),
        coverage: &c.coverage,
        source,
        timings,
        warnings,
    };
    let value = to_js(&result)?;
    if let Some(mel) = mel {
        let object = js_sys::Object::new();
        let set =
            |key: &str, v: JsValue| js_sys::Reflect::set(&object, &JsValue::from_str(key), &v);
        set("data", js_sys::Float32Array::from(&mel.data[..]).into())?;
        set("bands", (mel.bands as f64).into())?;
        set("columns", (mel.columns as f64).into())?;
        set("secondsPerColumn", mel.seconds_per_column.into())?;
        set("min", (mel.min as f64).into())?;
        set("max", (mel.max as f64).into())?;
        js_sys::Reflect::set(&value, &JsValue::from_str("mel"), &object)?;
    }
    if let Some(part) = part {
        js_sys::Reflect::set(&value, &JsValue::from_str("part"), &part)?;
    }
    Ok(value)
}
