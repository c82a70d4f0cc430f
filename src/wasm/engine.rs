//! [`Engine`]: a model bundle loaded for the page, on the CPU (burn-flex) or WebGPU.
//!
//! ```js
//! const engine = await Engine.create(bundleBytes, { backend: 'auto' });  // or 'cpu' | 'webgpu'
//! engine.info();                       // backend, model info, WebGPU check, load time
//! await engine.classifyFile(bytes, 'song.mp3', { topK: 3 });
//! await engine.classifyPcm(float32Samples, 44100, { decoder: 'webaudio', channels: 2 });
//! ```
//!
//! Every call validates its arguments and returns errors as rejected promises or exceptions
//! (see `errors`); the engine stays usable after any failed call. The engine holds only
//! immutable state, so overlapping calls are safe too.

use std::cell::RefCell;
use std::rc::Rc;

use crate::device::Device;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::clock::{now_ms, Stopwatch};
use super::errors::{audio_error, classify_error, invalid_argument, js_error, to_js};
use super::limits::{page_limits, MAX_FILE_BYTES, MAX_MINUTES};
use super::output::{classification_to_js, Source, Timings};
use crate::audio::{self, DecodeLimits, DecodeWarnings};
use crate::classify::{
    ClassifyError, Ensemble, ModelInfo, PartPlan, PatchSelection, Prepared, RunContext, TrackPart,
};

/// Default width cap of the Mel image, in columns (a 30 s clip has about 1300).
const DEFAULT_MEL_COLUMNS: usize = 2048;

/// Largest width the caller may ask for.
const MAX_MEL_COLUMNS: usize = 16_384;

/// Default largest probability difference between WebGPU and the CPU on the start-up check.
pub(crate) const DEFAULT_GPU_TOLERANCE: f32 = 1e-3;

/// Which backend the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Requested {
    /// WebGPU when it works and agrees with the CPU, else the CPU.
    Auto,
    /// The CPU only.
    Cpu,
    /// WebGPU even if the check disagrees; fail if there is no WebGPU device.
    WebGpu,
}

impl Requested {
    fn parse(s: Option<&str>) -> Result<Self, JsValue> {
        match s.unwrap_or("auto") {
            "auto" => Ok(Requested::Auto),
            "cpu" => Ok(Requested::Cpu),
            "webgpu" => Ok(Requested::WebGpu),
            other => Err(invalid_argument(&format!(
                "unknown backend {other:?}: use \"auto\", \"cpu\" or \"webgpu\""
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Requested::Auto => "auto",
            Requested::Cpu => "cpu",
            Requested::WebGpu => "webgpu",
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct CreateOptions {
    /// `"auto"` (default), `"cpu"` or `"webgpu"`.
    backend: Option<String>,
    /// Largest accepted probability difference on the WebGPU start-up check.
    gpu_tolerance: Option<f32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ClassifyOptions {
    /// How many labels `top` lists (default 3, at most the number of labels).
    top_k: Option<usize>,
    /// Include the Mel image (default true).
    mel: Option<bool>,
    /// Width cap of the Mel image in columns.
    mel_columns: Option<usize>,
    /// For PCM: who decoded it (shown as `source.decoder`, default `"pcm"`).
    decoder: Option<String>,
    /// For PCM: the channel count of the original (informational).
    channels: Option<usize>,
    /// For PCM: the container of the original file (informational).
    container: Option<String>,
    /// For PCM: the codec of the original file (informational).
    codec: Option<String>,
    /// For PCM decoded from a file: it ended before its announced length.
    truncated: Option<bool>,
    /// For PCM decoded from a file: packets skipped as undecodable.
    skipped_packets: Option<usize>,
    /// For PCM decoded from a file: the decoding time in ms (reported as `timings.decode`
    /// and counted in `timings.total`).
    decode_ms: Option<f64>,
    /// Which windows (3 s patches) to analyse (default: what the bundle says):
    /// `{kind: 'all'}`, `{kind: 'spread', count}` (a first answer) or
    /// `{kind: 'rest', after, part, parts}` (a share of the others). With it, the result
    /// carries `part`, which [`Engine::merge_parts`] merges with the track's other parts.
    patches: Option<PatchSelection>,
    /// Whether the members that choose their own windows (table models) run in this call
    /// (default true; a first answer leaves them for a later part).
    whole_track_members: Option<bool>,
    /// With `patches: {kind: 'spread'}` and `wholeTrackMembers: false`: compute those
    /// windows from the audio around them only, not the whole resampled track (the same
    /// values; a quick first answer for a long track). The result then has no Mel image.
    preview: Option<bool>,
    /// Keeps the decoded, resampled track under this key until a call with another key, so
    /// that the next part of the same track is not decoded again.
    track_key: Option<String>,
    /// For tests only: panic with this message before the file is read, so the browser
    /// suite can check the panic hook, the worker's crash report and the pool's recovery
    /// with a real wasm trap (no input is known to panic any more).
    simulate_panic: Option<String>,
}

/// What happened on the WebGPU path when the engine was created.
#[derive(Serialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GpuStatus {
    /// A WebGPU device was requested.
    pub attempted: bool,
    /// Inference runs on WebGPU.
    pub used: bool,
    /// Largest |p_webgpu - p_cpu| over the check input's window and track probabilities.
    pub max_diff: Option<f32>,
    /// The tolerance the check applied.
    pub tolerance: f32,
    /// Why WebGPU is not used (or why it is used despite the check), when relevant.
    pub reason: Option<String>,
    /// Time to get the device, load the model on it and run the check, in ms.
    pub setup_ms: f64,
    /// The network's time per window on the CPU (this worker, one thread), in ms, timed on
    /// the check input after a warm-up run.
    pub cpu_window_ms: Option<f64>,
    /// The same on WebGPU.
    pub gpu_window_ms: Option<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EngineInfo {
    /// `"webgpu"` or `"cpu"`: where inference runs.
    backend: &'static str,
    /// What was asked for: `"auto"`, `"cpu"` or `"webgpu"`.
    requested: &'static str,
    /// `"gpu"` or `"cpu"`: which wasm build this is.
    build: String,
    version: &'static str,
    /// The module was compiled with wasm SIMD (simd128).
    simd: bool,
    /// Its matrix products use relaxed-SIMD fused multiply-adds (the `relaxed-simd` build).
    relaxed_simd: bool,
    /// What the model is (the same record `bundleInfo` returns).
    model: ModelInfo,
    gpu: GpuStatus,
    /// Time to validate and load the bundle on the CPU, in ms.
    load_ms: f64,
    limits: Limits,
    /// `classifyFile` reads the compressed formats (FLAC, MP3, Ogg Vorbis, AAC/ALAC in MP4,
    /// Matroska). False in the CPU build: decode those with the decoder module
    /// (`web/pkg/decoders/`) and classify the PCM.
    compressed_formats: bool,
    /// The model's table members need the descriptor module: true in the CPU build (which has
    /// no descriptor code) for a model with one. Load `web/pkg/descriptors/` and hand its
    /// `describeWindow` to `setDescriber` before a run with the whole-track members.
    descriptor_module: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Limits {
    max_minutes: f64,
    max_file_bytes: usize,
}

/// A decoded track (mono, at its own rate), resampled for the members when first needed, and
/// kept for the next part of it when the call gave a key.
struct KeptTrack {
    key: String,
    source: Source,
    samples: Vec<f32>,
    rate: u32,
    prepared: RefCell<Option<Rc<Prepared>>>,
}

impl KeptTrack {
    /// The track resampled to every member's rate (once), and the milliseconds that took now.
    fn prepared(&self, cpu: &Ensemble) -> Result<(Rc<Prepared>, f64), JsValue> {
        if let Some(p) = self.prepared.borrow().as_ref() {
            return Ok((Rc::clone(p), 0.0));
        }
        let mut clock = Stopwatch::start();
        let p = Rc::new(cpu.prepare(&self.samples, self.rate).map_err(|e| classify_error(&e))?);
        *self.prepared.borrow_mut() = Some(Rc::clone(&p));
        Ok((p, clock.lap()))
    }
}

/// A loaded model, ready to classify (see the module docs).
#[wasm_bindgen]
pub struct Engine {
    inner: Rc<Inner>,
}

struct Inner {
    /// The track the last call kept (see `ClassifyOptions::track_key`).
    kept: RefCell<Option<Rc<KeptTrack>>>,
    /// Every member on the CPU.
    cpu: Ensemble,
    /// The same bundle with its spectrogram members on WebGPU, when WebGPU is used.
    #[cfg(feature = "webgpu")]
    gpu: Option<Ensemble>,
    info: EngineInfo,
    limits: DecodeLimits,
    /// Computes table members' descriptors when this build cannot (see `set_describer`).
    describer: RefCell<Option<js_sys::Function>>,
}

#[wasm_bindgen]
impl Engine {
    /// Loads a model bundle. `options.backend`: `"auto"` (WebGPU if a device exists and a
    /// start-up check agrees with the CPU within `options.gpuTolerance`, default 1e-3; else
    /// the CPU), `"cpu"`, or `"webgpu"` (use WebGPU whatever the check says; fails without a
    /// device). The CPU-only build rejects `"webgpu"` and treats `"auto"` as `"cpu"`.
    pub async fn create(bundle: Vec<u8>, options: JsValue) -> Result<Engine, JsValue> {
        let options: CreateOptions = parse_options(options, "Engine.create options")?;
        let requested = Requested::parse(options.backend.as_deref())?;
        let tolerance = match options.gpu_tolerance {
            None => DEFAULT_GPU_TOLERANCE,
            Some(t) if t.is_finite() && t > 0.0 => t,
            Some(t) => {
                return Err(invalid_argument(&format!(
                    "gpuTolerance must be a positive number, got {t}"
                )))
            }
        };
        if bundle.is_empty() {
            return Err(js_error("bundle", "the model bundle is empty (0 bytes)"));
        }
        let mut clock = Stopwatch::start();
        let cpu =
            Ensemble::from_bundle(&bundle, &Device::flex()).map_err(|e| classify_error(&e))?;
        let load_ms = clock.lap();
        let mut gpu_status = GpuStatus { tolerance, ..Default::default() };

        #[cfg(feature = "webgpu")]
        let gpu = {
            use crate::bundle::ModelKind::Spectrogram;
            let has_network = cpu.info().members.iter().any(|m| m.kind == Spectrogram);
            match requested {
                Requested::Cpu => None,
                _ if has_network => {
                    let forced = requested == Requested::WebGpu;
                    super::gpu::load(&bundle, &cpu, forced, &mut gpu_status).await?
                }
                Requested::WebGpu => {
                    return Err(js_error(
                        "webgpu_unavailable",
                        "WebGPU was requested, but this model has no spectrogram network to run there",
                    ));
                }
                Requested::Auto => {
                    gpu_status.reason =
                        Some("this model has no spectrogram network to run on WebGPU".into());
                    None
                }
            }
        };
        #[cfg(not(feature = "webgpu"))]
        {
            if requested == Requested::WebGpu {
                return Err(js_error("unsupported_backend", "this build of the engine has no WebGPU backend; load the GPU build (web/pkg/gpu)"));
            }
            if requested == Requested::Auto {
                gpu_status.reason =
                    Some("the CPU build of the engine has no WebGPU backend".into());
            }
        }

        let info = EngineInfo {
            backend: if gpu_status.used { "webgpu" } else { "cpu" },
            requested: requested.name(),
            build: super::flavour(),
            version: env!("CARGO_PKG_VERSION"),
            simd: cfg!(target_feature = "simd128"),
            relaxed_simd: cfg!(feature = "relaxed-simd"),
            model: cpu.info().clone(),
            gpu: gpu_status,
            load_ms,
            limits: Limits { max_minutes: MAX_MINUTES, max_file_bytes: MAX_FILE_BYTES },
            compressed_formats: cfg!(feature = "compressed-formats"),
            descriptor_module: !cfg!(feature = "descriptors")
                && cpu.info().members.iter().any(|m| m.kind == crate::bundle::ModelKind::Table),
        };
        let limits = page_limits();
        Ok(Engine {
            inner: Rc::new(Inner {
                kept: RefCell::new(None),
                cpu,
                #[cfg(feature = "webgpu")]
                gpu,
                info,
                limits,
                describer: RefCell::new(None),
            }),
        })
    }

    /// The backend in use, the model's info (`ModelInfo`), the WebGPU check and load time,
    /// as a plain object.
    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.info)
    }

    /// From now on, table members' clip descriptors come from `describe(samples:
    /// Float32Array, sampleRate) -> Float64Array` (the descriptor module's `describeWindow`),
    /// one call per descriptor window. What it throws fails the run with code
    /// `descriptor_module`, naming the cause.
    #[wasm_bindgen(js_name = setDescriber)]
    pub fn set_describer(&self, describe: js_sys::Function) {
        *self.inner.describer.borrow_mut() = Some(describe);
    }

    /// Gives the detached fusion member `name` its bundle: the file its
    /// `info().model.members[i].weightsFile` names, fetched from beside the model. Until
    /// then runs leave that member out and say why. Throws `bundle` when the bytes are not
    /// that member's file (length, checksum and header are checked against the fusion), and
    /// `busy` during a run (attach between runs).
    #[wasm_bindgen(js_name = attachMember)]
    pub fn attach_member(&mut self, name: String, bytes: Vec<u8>) -> Result<(), JsValue> {
        let inner = Rc::get_mut(&mut self.inner).ok_or_else(|| {
            js_error("busy", "a member can only be attached between runs, and one is running")
        })?;
        inner.cpu.attach(&name, &bytes).map_err(|e| classify_error(&e))?;
        #[cfg(feature = "webgpu")]
        if let Some(gpu) = &mut inner.gpu {
            gpu.attach(&name, &bytes).map_err(|e| classify_error(&e))?;
        }
        Ok(())
    }

    /// Decodes an encoded file (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A, AIFF, CAF, Sun AU, ...)
    /// and classifies it. `name` (optional) gives the extension as a hint; the bytes decide.
    /// Resolves to `{backend, labels, probabilities, top, votes, windows, source, timings,
    /// warnings, mel}`; rejects with a `GenrescopeError` whose `code` is
    /// `unrecognised_format`, `unsupported_codec` or `no_audio_track` when another decoder
    /// might read the file, or another code (`corrupt`, `empty`, `too_long`, ...).
    #[wasm_bindgen(js_name = classifyFile)]
    pub fn classify_file(
        &self,
        bytes: Vec<u8>,
        name: Option<String>,
        options: JsValue,
    ) -> js_sys::Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move { inner.classify_file(bytes, name, options).await })
    }

    /// Classifies mono PCM (e.g. decoded by WebAudio, or captured) at `sampleRate` Hz; it is
    /// checked (finite samples, rate 1 kHz..768 kHz, length limit) and resampled first.
    /// Resolves like [`classify_file`](Self::classify_file).
    #[wasm_bindgen(js_name = classifyPcm)]
    pub fn classify_pcm(
        &self,
        samples: Vec<f32>,
        sample_rate: f64,
        options: JsValue,
    ) -> js_sys::Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move { inner.classify_pcm(samples, sample_rate, options).await })
    }

    /// Whether the engine keeps the decoded track `key` (see the `trackKey` option): then
    /// `classifyFile` with that key needs no bytes.
    #[wasm_bindgen(js_name = keepsTrack)]
    pub fn keeps_track(&self, key: String) -> bool {
        self.inner.kept.borrow().as_ref().is_some_and(|t| t.key == key)
    }

    /// Every patch's backbone embedding of an encoded file, for learning own genres (the
    /// input of `trainOwnGenres`): `{embedding: Float32Array, dim, patches, embedder,
    /// durationSeconds, timings: {decode, embed}}`, where `embedder` names the backbone
    /// (embeddings of one id only go with models of that id). Throws like
    /// [`classify_file`](Self::classify_file), or with code `no_embedder` when the model has
    /// no pretrained backbone. Always on the CPU.
    #[wasm_bindgen(js_name = embedFile)]
    pub fn embed_file(&self, bytes: Vec<u8>, name: Option<String>) -> Result<JsValue, JsValue> {
        let mut clock = Stopwatch::start();
        let extension = name.and_then(audio::extension_of);
        let decoded = audio::decode(bytes, extension.as_deref(), &self.inner.limits)
            .map_err(|e| audio_error(&e))?;
        let decode_ms = clock.lap();
        self.inner.embed(&decoded.samples, decoded.sample_rate, decode_ms, clock)
    }

    /// [`embed_file`](Self::embed_file) for mono PCM at `sampleRate` Hz (checked as
    /// [`classify_pcm`](Self::classify_pcm) checks it).
    #[wasm_bindgen(js_name = embedPcm)]
    pub fn embed_pcm(&self, samples: Vec<f32>, sample_rate: f64) -> Result<JsValue, JsValue> {
        let rate = pcm_rate(sample_rate)?;
        audio::check_pcm(&samples, rate, &self.inner.limits).map_err(|e| audio_error(&e))?;
        self.inner.embed(&samples, rate, 0.0, Stopwatch::start())
    }

    /// Merges the `part`s of one track from calls with `patches` (on any engine of the same
    /// model, in any order) into one result: the same as one call over all of their windows.
    /// Resolves like [`classify_file`](Self::classify_file), without `source`, `mel` and
    /// with zero timings (take those from the call that gave the first answer);
    /// `result.coverage` says how much of the track it covers.
    #[wasm_bindgen(js_name = mergeParts)]
    pub fn merge_parts(&self, parts: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
        let options: ClassifyOptions = parse_options(options, "merge options")?;
        let parts: Vec<TrackPart> = serde_wasm_bindgen::from_value(parts).map_err(|e| {
            invalid_argument(&format!("parts must be the `part`s of classify results: {e}"))
        })?;
        let c = self.inner.cpu.merge(&parts).map_err(|e| classify_error(&e))?;
        let top_k = options.top_k.unwrap_or(3).clamp(1, c.labels.len().max(1));
        classification_to_js(
            self.inner.info.backend,
            self.inner.cpu.info(),
            &c,
            top_k,
            &Source::default(),
            &Timings::default(),
            &failure_warnings(&self.inner.cpu, &parts),
            None,
            None,
        )
    }
}

/// One window's descriptors from the JavaScript describer (see `Engine::set_describer`).
fn call_describer(f: &js_sys::Function, samples: &[f32], rate: u32) -> Result<Vec<f64>, String> {
    let out = f
        .call2(&JsValue::NULL, &js_sys::Float32Array::from(samples), &JsValue::from(rate))
        .map_err(|e| thrown_message(&e))?;
    let values: js_sys::Float64Array =
        out.dyn_into().map_err(|_| "the describer returned no Float64Array".to_string())?;
    Ok(values.to_vec())
}

/// The message of what a JavaScript call threw (an `Error`'s `message`, or a thrown string).
fn thrown_message(e: &JsValue) -> String {
    js_sys::Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the descriptor module failed".to_string())
}

/// A PCM sample rate from JavaScript: a positive whole number of Hz.
fn pcm_rate(sample_rate: f64) -> Result<u32, JsValue> {
    if sample_rate.is_finite()
        && sample_rate.fract() == 0.0
        && (1.0..=u32::MAX as f64).contains(&sample_rate)
    {
        Ok(sample_rate as u32)
    } else {
        Err(invalid_argument(&format!(
            "sampleRate must be a positive whole number of Hz, got {sample_rate}"
        )))
    }
}

/// What [`Engine::embed_file`] returns besides the embedding itself.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbeddingMeta<'a> {
    dim: usize,
    patches: usize,
    embedder: &'a str,
    duration_seconds: f64,
    timings: EmbedTimings,
}

#[derive(Serialize)]
struct EmbedTimings {
    decode: f64,
    embed: f64,
}

impl Inner {
    /// The embedding of decoded mono PCM, with its description (see [`Engine::embed_file`]).
    fn embed(
        &self,
        samples: &[f32],
        rate: u32,
        decode_ms: f64,
        mut clock: Stopwatch,
    ) -> Result<JsValue, JsValue> {
        let no_embedder = || {
            js_error("no_embedder", "this model has no pretrained backbone to learn own genres on")
        };
        let embedder = self.cpu.info().embedder.as_ref().ok_or_else(no_embedder)?;
        let embeddings = self
            .cpu
            .embed(samples, rate)
            .map_err(|e| classify_error(&e))?
            .ok_or_else(no_embedder)?;
        let meta = EmbeddingMeta {
            dim: embeddings.dim,
            patches: embeddings.patches(),
            embedder: &embedder.id,
            duration_seconds: samples.len() as f64 / rate as f64,
            timings: EmbedTimings { decode: decode_ms, embed: clock.lap() },
        };
        let out = to_js(&meta)?;
        let data = js_sys::Float32Array::from(embeddings.data.as_slice());
        js_sys::Reflect::set(&out, &JsValue::from_str("embedding"), &data)?;
        Ok(out)
    }

    async fn classify_file(
        &self,
        bytes: Vec<u8>,
        name: Option<String>,
        options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let options: ClassifyOptions = parse_options(options, "classify options")?;
        if let Some(message) = &options.simulate_panic {
            panic!("{message}");
        }
        let mut clock = Stopwatch::start();
        let mut timings = Timings::default();
        let kept = self.kept_track(options.track_key.as_deref());
        let track = match kept {
            Some(track) => track,
            None => {
                let extension = name.and_then(audio::extension_of);
                let decoded = audio::decode(bytes, extension.as_deref(), &self.limits)
                    .map_err(|e| audio_error(&e))?;
                let decode_ms = clock.lap();
                let source = Source {
                    decoder: "genrescope".into(),
                    container: decoded.container.clone(),
                    codec: decoded.codec.clone(),
                    sample_rate: decoded.sample_rate,
                    channels: decoded.channels,
                    duration_seconds: decoded.duration_seconds(),
                    truncated: decoded.warnings.truncated,
                    skipped_packets: decoded.warnings.skipped_packets,
                };
                timings.decode = decode_ms;
                self.keep(options.track_key.clone(), decoded.samples, decoded.sample_rate, source)
            }
        };
        self.finish(&track, timings, clock, &options).await
    }

    /// The kept track if `key` names it; forgets any other (one track is kept at a time).
    fn kept_track(&self, key: Option<&str>) -> Option<Rc<KeptTrack>> {
        let mut kept = self.kept.borrow_mut();
        match (key, kept.as_ref()) {
            (Some(key), Some(track)) if track.key == key => Some(Rc::clone(track)),
            _ => {
                *kept = None;
                None
            }
        }
    }

    /// Wraps a decoded track, and keeps it when the call gave a key.
    fn keep(
        &self,
        key: Option<String>,
        samples: Vec<f32>,
        rate: u32,
        source: Source,
    ) -> Rc<KeptTrack> {
        let track = Rc::new(KeptTrack {
            key: key.clone().unwrap_or_default(),
            source,
            samples,
            rate,
            prepared: RefCell::new(None),
        });
        if key.is_some() {
            *self.kept.borrow_mut() = Some(Rc::clone(&track));
        }
        track
    }

    async fn classify_pcm(
        &self,
        samples: Vec<f32>,
        sample_rate: f64,
        options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let options: ClassifyOptions = parse_options(options, "classify options")?;
        self.kept_track(None);
        let rate = pcm_rate(sample_rate)?;
        let decode_ms = match options.decode_ms {
            None => 0.0,
            Some(ms) if ms.is_finite() && ms >= 0.0 => ms,
            Some(ms) => {
                return Err(invalid_argument(&format!("decodeMs must be a number >= 0, got {ms}")))
            }
        };
        let mut clock = Stopwatch::start();
        clock.count_earlier(decode_ms);
        let timings = Timings { decode: decode_ms, ..Timings::default() };
        audio::check_pcm(&samples, rate, &self.limits).map_err(|e| audio_error(&e))?;
        let source = Source {
            decoder: options.decoder.clone().unwrap_or_else(|| "pcm".into()),
            container: options.container.clone().unwrap_or_default(),
            codec: options.codec.clone().unwrap_or_default(),
            sample_rate: rate,
            channels: options.channels.unwrap_or(1),
            duration_seconds: samples.len() as f64 / sample_rate,
            truncated: options.truncated.unwrap_or(false),
            skipped_packets: options.skipped_packets.unwrap_or(0),
        };
        let track = self.keep(options.track_key.clone(), samples, rate, source);
        self.finish(&track, timings, clock, &options).await
    }

    /// Features, inference and the Mel image of the track for every member, on the windows
    /// `options.patches` selects; with `options.preview` and a spread, from the audio around
    /// those windows only (the same rows; see `Ensemble::preview`).
    async fn finish(
        &self,
        track: &KeptTrack,
        mut timings: Timings,
        clock: Stopwatch,
        options: &ClassifyOptions,
    ) -> Result<JsValue, JsValue> {
        let source = &track.source;
        // Without a describer, table members use the build's own descriptor code, and a build
        // without it says so (`TableModel::features_with`).
        let describer = self.describer.borrow().clone();
        let describe = describer
            .as_ref()
            .map(|f| move |samples: &[f32], rate: u32| call_describer(f, samples, rate));
        let mut ctx = RunContext::timed(&now_ms);
        if let Some(describe) = &describe {
            ctx = ctx.with_describer(describe);
        }
        if options.mel.unwrap_or(true) {
            let columns =
                options.mel_columns.unwrap_or(DEFAULT_MEL_COLUMNS).clamp(1, MAX_MEL_COLUMNS);
            ctx = ctx.with_mel_image(columns);
        }
        let plan = PartPlan {
            patches: options.patches.unwrap_or_default(),
            whole_track_members: options.whole_track_members.unwrap_or(true),
        };
        let preview = match (options.preview, plan.patches) {
            (Some(true), PatchSelection::Spread { count }) if !plan.whole_track_members => self
                .cpu
                .preview(&track.samples, track.rate, count, &mut ctx)
                .map_err(|e| classify_error(&e))?,
            _ => None,
        };
        let (part, backend, gpu_warning) = match preview {
            Some(part) => (part, "cpu", None),
            None => {
                let (prepared, resample_ms) = track.prepared(&self.cpu)?;
                timings.resample = resample_ms;
                self.analyse(&prepared, plan, &mut ctx).await?
            }
        };
        let parts = std::slice::from_ref(&part);
        let classification = match self.cpu.merge(parts) {
            Ok(c) => c,
            // A share with nothing but a member that failed (its descriptors): the error, with
            // the part (the failure) for the page to merge. Other errors fail the share.
            Err(e) => {
                let failed = matches!(e, ClassifyError::DescriptorSource(_));
                let part = options.patches.filter(|_| failed).map(|_| &part);
                return Err(with_part(classify_error(&e), part));
            }
        };
        timings.features = ctx.features_ms;
        timings.inference = ctx.inference_ms;
        timings.mel_image = ctx.mel_image_ms;
        // The clock started before decoding (for PCM decoded elsewhere, it counts that time
        // too), so this covers every stage.
        timings.total = clock.total();

        let mut warnings =
            DecodeWarnings { truncated: source.truncated, skipped_packets: source.skipped_packets }
                .messages();
        if classification.windows.iter().any(|w| w.padded) {
            warnings.push(
                "the audio is shorter than one analysis window; it was padded with silence"
                    .to_string(),
            );
        }
        warnings.extend(gpu_warning);
        warnings.extend(failure_warnings(&self.cpu, parts));

        let n_labels = classification.labels.len();
        let top_k = options.top_k.unwrap_or(3).clamp(1, n_labels.max(1));
        let part = options.patches.map(|_| to_js(&part)).transpose()?;
        classification_to_js(
            backend,
            self.cpu.info(),
            &classification,
            top_k,
            source,
            &timings,
            &warnings,
            ctx.mel_image.as_ref(),
            part,
        )
    }

    /// Runs the spectrogram networks on WebGPU when it is in use (the rest on the CPU),
    /// else everything on the CPU. A WebGPU failure falls back to the CPU for this track
    /// and says so in a warning.
    async fn analyse(
        &self,
        prepared: &Prepared,
        plan: PartPlan,
        ctx: &mut RunContext<'_>,
    ) -> Result<(TrackPart, &'static str, Option<String>), JsValue> {
        #[allow(unused_mut)]
        let mut warning = None;
        #[cfg(feature = "webgpu")]
        if let Some(gpu) = &self.gpu {
            match gpu.analyse_async(prepared, plan, ctx).await {
                Ok(part) => return Ok((part, "webgpu", None)),
                Err(ClassifyError::Backend(e)) => {
                    warning = Some(format!("WebGPU failed ({e}); this file ran on the CPU"))
                }
                Err(e) => return Err(classify_error(&e)),
            }
        }
        let part = self.cpu.analyse(prepared, plan, ctx).map_err(|e| classify_error(&e))?;
        Ok((part, "cpu", warning))
    }
}

/// A warning for each member that failed in `parts` and ran in none.
fn failure_warnings(model: &Ensemble, parts: &[TrackPart]) -> Vec<String> {
    model
        .failures(parts)
        .into_iter()
        .map(|(name, source)| {
            format!("the `{name}` member was left out: its clip descriptors could not be computed ({source})")
        })
        .collect()
}

/// `error` with a `part` property (see `ClassifyOptions::patches`) when there is one.
fn with_part(error: JsValue, part: Option<&TrackPart>) -> JsValue {
    if let Some(value) = part.and_then(|p| to_js(p).ok()) {
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&error, &JsValue::from_str("part"), &value);
    }
    error
}

/// Reads an options object; `undefined` and `null` give the defaults.
fn parse_options<T: DeserializeOwned + Default>(value: JsValue, what: &str) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    if !value.is_object() {
        return Err(invalid_argument(&format!("{what} must be an object")));
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| {
        // The error renders as a JS error ("Error: invalid type ..."); keep the message only.
        let message = e.to_string();
        let message = message.strip_prefix("Error: ").unwrap_or(&message);
        invalid_argument(&format!("invalid {what}: {message}"))
    })
}
