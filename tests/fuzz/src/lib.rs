//! The bodies of the fuzz targets, shared by the cargo-fuzz binaries (`fuzz_targets/`) and
//! the corpus replay in `cargo test` (tests/fuzz_replay.rs includes this file).
//!
//! Each takes any bytes and checks what the engine promises a user: a finite result or an
//! error that names its cause in one line, never a panic (under libFuzzer a panic aborts,
//! even one the decoder guard would catch, so a decoder's panic is found, not hidden).

use std::fmt::Display;

use burn::tensor::Device;
use genrescope::audio::{decode as decode_bytes, load_mono, AudioError, DecodeLimits};
use genrescope::classify::{Classification, Ensemble, ModelInfo};

/// Extension hints a fuzz input picks from with its first byte (the bytes decide the format;
/// the hint only steers the probe).
const HINTS: [Option<&str>; 12] = [
    None,
    Some("wav"),
    Some("mp3"),
    Some("flac"),
    Some("ogg"),
    Some("m4a"),
    Some("webm"),
    Some("aiff"),
    Some("au"),
    Some("caf"),
    Some("opus"),
    Some("mka"),
];

/// Sample rates the `descriptors` target's PCM is said to have.
const PCM_RATES: [u32; 6] = [22_050, 44_100, 48_000, 8_000, 1_000, 768_000];

/// The small spectrogram CNN of the bundle fixtures (11 kB).
const SMALL_CNN: &[u8] = include_bytes!("../../fixtures/bundle/v1-small-cnn.gscope");

/// The descriptor-table model of the shipped fusion (64 kB): the descriptors' consumer.
const TABLE_MODEL: &[u8] = include_bytes!("../../../web/models/fused/members/table/model.gscope");

/// Decoding limits with a short duration cap, so one input stays fast; every other limit is
/// the default one.
fn limits() -> DecodeLimits {
    DecodeLimits { max_duration_seconds: 120.0, ..DecodeLimits::default() }
}

/// An error a user may see: one non-empty line that names a cause, never panic text.
fn check_error(error: &dyn Display) {
    let message = error.to_string();
    assert!(message.len() >= 10, "vague error: {message:?}");
    assert!(!message.contains('\n'), "multi-line error: {message:?}");
    for vague in ["panicked", "unreachable", "RuntimeError"] {
        assert!(!message.contains(vague), "panic text in an error: {message:?}");
    }
}

/// A decode error of `bytes`: any but a caught decoder panic (a guard should have named the
/// problem). One exception, in builds with overflow checks only (tests, not the shipped
/// release builds): symphonia's Matroska reader computes `7 - leading_zeros` for an EBML
/// integer whose first byte is 0 (docs/upstream/symphonia-mkv-vint-overflow.md); the overflow
/// check panics and the guard catches it as this file's named error. In release builds the
/// value wraps and the reader fails with an error of its own. The Matroska stream may start
/// after other bytes, so the file's sniffed container is not always "mkv".
fn check_audio_error(error: &AudioError, bytes: &[u8]) {
    let has_matroska = bytes.windows(4).any(|w| w == [0x1A, 0x45, 0xDF, 0xA3]);
    let overflow_in_mkv = cfg!(debug_assertions)
        && has_matroska
        && matches!(error, AudioError::DecoderFailure { message, .. }
            if message == "attempt to subtract with overflow");
    if !overflow_in_mkv {
        assert!(!matches!(error, AudioError::DecoderFailure { .. }), "a decoder panicked: {error}");
    }
    check_error(error);
}

/// A classification a user may see: finite probabilities summing to 1 and a verdict.
fn check_classification(result: &Classification) {
    assert!(result.probabilities.iter().all(|p| p.is_finite()), "{:?}", result.probabilities);
    let sum: f32 = result.probabilities.iter().sum();
    assert!((sum - 1.0).abs() < 1e-3, "probabilities sum to {sum}");
    let text = &result.verdict.text;
    assert!(!text.is_empty() && !text.contains('\n'), "verdict text {text:?}");
}

/// The input's extension hint (its first byte) and the file bytes (the rest).
fn split_hint(data: &[u8]) -> Option<(Option<&'static str>, &[u8])> {
    let (&first, rest) = data.split_first()?;
    Some((HINTS[first as usize % HINTS.len()], rest))
}

thread_local! {
    static SMALL_CNN_MODEL: Ensemble =
        Ensemble::from_bundle(SMALL_CNN, &Device::flex()).expect("the small CNN fixture loads");
    static TABLE: Ensemble =
        Ensemble::from_bundle(TABLE_MODEL, &Device::flex()).expect("the table model loads");
}

/// Target `decode`: any bytes with any extension hint, decoded and resampled to 22 050 Hz.
pub fn decode(data: &[u8]) {
    let Some((hint, bytes)) = split_hint(data) else { return };
    match load_mono(bytes.to_vec(), hint, 22_050, &limits()) {
        Ok(audio) => {
            assert!(!audio.samples.is_empty());
            assert!(audio.samples.iter().all(|x| x.is_finite()), "non-finite PCM");
            for warning in audio.warnings.messages() {
                check_error(&warning);
            }
        }
        Err(error) => check_audio_error(&error, bytes),
    }
}

/// Re-frames bytes laid out like a bundle (magic, version, header length, header, weights
/// length, weights) with a correct checksum, so mutations of the header and weights reach the
/// parsers instead of stopping at the CRC. Lengths are clamped to the bytes present.
fn reframe(bytes: &[u8]) -> Option<Vec<u8>> {
    let header_len = u32::from_le_bytes(bytes.get(12..16)?.try_into().ok()?) as usize;
    let header = bytes.get(16..)?;
    let header = &header[..header_len.min(header.len())];
    let rest = &bytes[16 + header.len()..];
    let weights = match rest.get(..8) {
        Some(len) => {
            let len = u64::from_le_bytes(len.try_into().ok()?);
            let weights = &rest[8..];
            &weights[..usize::try_from(len).map_or(weights.len(), |l| l.min(weights.len()))]
        }
        None => &[],
    };
    genrescope::bundle::format::write(header, weights).ok()
}

/// Target `bundle`: any bytes as a model file (the first byte's low bit: as they are, or
/// re-framed with a valid checksum): its info, then the model, which (when it loads)
/// classifies one second of a fixed signal.
pub fn bundle(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let reframed;
    let data = if mode & 1 == 1 {
        match reframe(rest) {
            Some(bytes) => {
                reframed = bytes;
                &reframed[..]
            }
            None => rest,
        }
    } else {
        rest
    };
    let info = ModelInfo::from_bundle(data);
    if let Err(error) = &info {
        check_error(error);
    }
    match Ensemble::from_bundle(data, &Device::flex()) {
        Ok(model) => {
            assert!(info.is_ok(), "the model loads but its info does not");
            let rate = 22_050;
            let signal: Vec<f32> = (0..rate).map(|n| 0.3 * (n as f32 * 0.0627).sin()).collect();
            match model.classify_mono(&signal, rate as u32) {
                Ok(result) => check_classification(&result),
                Err(error) => check_error(&error),
            }
        }
        Err(error) => check_error(&error),
    }
}

/// Target `classify`: any bytes through decoding, the front end and the small CNN.
pub fn classify(data: &[u8]) {
    let Some((hint, bytes)) = split_hint(data) else { return };
    let audio = match decode_bytes(bytes.to_vec(), hint, &limits()) {
        Ok(audio) => audio,
        Err(error) => return check_audio_error(&error, bytes),
    };
    SMALL_CNN_MODEL.with(|model| match model.classify_mono(&audio.samples, audio.sample_rate) {
        Ok(result) => check_classification(&result),
        Err(error) => check_error(&error),
    });
}

/// Target `descriptors`: any PCM (the first byte picks the rate and whether the rest is
/// 16-bit integers or raw 32-bit floats, NaN and 1e38 included) through the descriptor-table
/// model: level rule, resampling, the 57 descriptors and the network.
pub fn descriptors(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let rate = PCM_RATES[(mode >> 1) as usize % PCM_RATES.len()];
    let samples: Vec<f32> = if mode & 1 == 0 {
        rest.chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0)
            .collect()
    } else {
        rest.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    };
    if let Err(error) = genrescope::audio::check_pcm(&samples, rate, &limits()) {
        return check_audio_error(&error, rest);
    }
    TABLE.with(|model| match model.classify_mono(&samples, rate) {
        Ok(result) => check_classification(&result),
        Err(error) => check_error(&error),
    });
}
