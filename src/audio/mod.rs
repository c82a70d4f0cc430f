//! Audio in: bytes of any supported file to mono PCM at the model's sample rate.
//!
//! `bytes -> header guard -> decode (symphonia, or the AU reader) -> mean of channels ->
//! resample (rubato)`.
//! The browser has bytes, not paths, so everything starts from bytes ([`decode`]); natively,
//! [`decode_path`] reads a file and decodes it. Every failure is an [`AudioError`] that names
//! the problem; no input panics. A damaged but usable file decodes with [`DecodeWarnings`].
//!
//! Limits ([`DecodeLimits::default`]): files up to 2 GiB, audio up to 60 minutes (and at
//! most 345.6 million samples: 60 minutes at 96 kHz, 1.4 GB as mono f32), 1 to 32 channels,
//! sample rates from 1 kHz to 768 kHz. Memory is bounded by the limits, never by what a
//! header claims.

mod caf_guard;
mod error;
#[cfg(not(target_arch = "wasm32"))]
mod file;
mod guarded_probe;
mod header_guard;
mod matroska_guard;
mod mono;
mod packets;
mod panic_guard;
mod resample;
mod sun_au;
mod symphonia_decode;

pub use error::{fmt_duration, AudioError};
#[cfg(not(target_arch = "wasm32"))]
pub use file::{decode_path, AudioFile};
pub use packets::{stream_digest, StreamDigest};
pub use panic_guard::{decoding_under_guard, panic_message};
pub use resample::{resample, resample_range, resampled_len};
pub use sun_au::{decode_au, AU_MAGIC};
pub use symphonia_decode::decode_with_symphonia;

use crate::trust::conform_range;

/// Explicit limits on what is accepted, so a huge or hostile file fails fast and clearly.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeLimits {
    /// Largest accepted input, in bytes.
    pub max_input_bytes: usize,
    /// Longest accepted audio, in seconds.
    pub max_duration_seconds: f64,
    /// Most mono samples kept at the file's own rate before resampling: bounds the decoded
    /// audio's memory (4 bytes a sample) whatever the rate, so a long high-rate file stops
    /// with [`AudioError::TooManySamples`] before it is allocated.
    pub max_mono_samples: usize,
    /// Most channels accepted.
    pub max_channels: usize,
    /// Lowest accepted sample rate, in Hz.
    pub min_sample_rate: u32,
    /// Highest accepted sample rate, in Hz.
    pub max_sample_rate: u32,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_input_bytes: 2 << 30,
            max_duration_seconds: 3600.0,
            max_mono_samples: 3600 * 96_000,
            max_channels: 32,
            min_sample_rate: 1_000,
            max_sample_rate: 768_000,
        }
    }
}

impl DecodeLimits {
    /// The longest audio accepted at `sample_rate`: the duration limit, or less where the
    /// sample limit binds first.
    pub fn max_seconds_at(&self, sample_rate: u32) -> f64 {
        self.max_duration_seconds.min(self.max_mono_samples as f64 / f64::from(sample_rate.max(1)))
    }

    /// The error for `seconds` of audio at `sample_rate` beyond [`Self::max_seconds_at`]:
    /// [`AudioError::TooLong`], or [`AudioError::TooManySamples`] where the rate is the cause.
    pub fn too_long(&self, seconds: f64, sample_rate: u32) -> AudioError {
        let limit_seconds = self.max_seconds_at(sample_rate);
        if limit_seconds < self.max_duration_seconds && seconds <= self.max_duration_seconds {
            AudioError::TooManySamples { seconds, sample_rate, limit_seconds }
        } else {
            AudioError::TooLong { seconds, limit_seconds: self.max_duration_seconds }
        }
    }

    /// Fails with [`AudioError::InvalidSampleRate`] when `rate` is outside the limits.
    pub fn check_sample_rate(&self, rate: u32) -> Result<(), AudioError> {
        if rate < self.min_sample_rate || rate > self.max_sample_rate {
            return Err(AudioError::InvalidSampleRate {
                rate,
                min: self.min_sample_rate,
                max: self.max_sample_rate,
            });
        }
        Ok(())
    }
}

/// Mono audio as decoded from a file, at the file's own sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    /// Mean of all channels, in [-1, 1] for integer formats.
    pub samples: Vec<f32>,
    /// The file's sample rate in Hz.
    pub sample_rate: u32,
    /// Channel count of the file.
    pub channels: usize,
    /// Container, as recognised from its first bytes ("wav", "flac", "ogg", "mp3", "au", ...).
    pub container: String,
    /// Codec short name ("pcm_s16le", "mp3", "vorbis", ...).
    pub codec: String,
    /// What was wrong with a file that still decoded (truncation, skipped packets).
    pub warnings: DecodeWarnings,
}

impl DecodedAudio {
    /// Duration in seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }
}

/// The non-fatal problems of a file that decoded: the audio is usable, but not all of it may
/// be there. [`DecodeWarnings::messages`] is the one wording every caller shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeWarnings {
    /// The file ended before the length its header announced; what was present was decoded.
    pub truncated: bool,
    /// Packets skipped because they could not be decoded (a damaged but usable stream).
    pub skipped_packets: usize,
}

impl DecodeWarnings {
    /// The warning for a truncated file.
    pub const TRUNCATED: &'static str =
        "the file ends before the length its header announces; the part present was used";

    /// True when there is nothing to warn about.
    pub fn is_empty(&self) -> bool {
        *self == DecodeWarnings::default()
    }

    /// One sentence per problem, for people (empty when there is none).
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.truncated {
            out.push(Self::TRUNCATED.to_string());
        }
        if self.skipped_packets > 0 {
            out.push(format!("{} damaged packet(s) were skipped", self.skipped_packets));
        }
        out
    }
}

/// The lower-case extension of a file name or path (`"song.MP3"` gives `"mp3"`), without the
/// dot: a hint for the decoders (the bytes decide) and the test for "looks like audio".
pub fn extension_of(name: impl AsRef<std::path::Path>) -> Option<String> {
    name.as_ref().extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase)
}

/// Names the container from its first bytes, when it is one this module reads.
pub fn sniff_container(head: &[u8]) -> Option<&'static str> {
    let at = |i: usize, magic: &[u8]| {
        head.len() >= i + magic.len() && &head[i..i + magic.len()] == magic
    };
    if at(0, b"RIFF") && at(8, b"WAVE") || at(0, b"RF64") {
        Some("wav")
    } else if at(0, b"fLaC") {
        Some("flac")
    } else if at(0, b"OggS") {
        Some("ogg")
    } else if at(0, AU_MAGIC) {
        Some("au")
    } else if at(0, b"FORM") {
        Some("aiff")
    } else if at(0, b"caff") {
        Some("caf")
    } else if at(4, b"ftyp") {
        Some("mp4")
    } else if at(0, &[0x1a, 0x45, 0xdf, 0xa3]) {
        Some("mkv")
    } else if at(0, b"ID3") || (head.len() >= 2 && head[0] == 0xff && head[1] & 0xe0 == 0xe0) {
        Some("mp3")
    } else {
        None
    }
}

/// Says what unrecognised bytes look like (text, an image, ...) for error messages.
pub(crate) fn describe_unknown_bytes(head: &[u8]) -> String {
    let known = [
        (&b"%PDF"[..], "a PDF document"),
        (&b"\x89PNG"[..], "a PNG image"),
        (&b"\xff\xd8\xff"[..], "a JPEG image"),
        (&b"GIF8"[..], "a GIF image"),
        (&b"PK\x03\x04"[..], "a ZIP archive"),
        (&b"\x00asm"[..], "a WebAssembly module"),
    ];
    if let Some((_, what)) = known.iter().find(|(magic, _)| head.starts_with(magic)) {
        return format!("the file is {what}, not audio");
    }
    if !head.is_empty()
        && head.iter().all(|&b| b == b'\t' || b == b'\n' || b == b'\r' || (0x20..0x7f).contains(&b))
    {
        let text: String = head.iter().map(|&b| b as char).collect();
        return format!(
            "the file looks like text (it starts with {:?}), not audio",
            text.trim_end()
        );
    }
    let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("unknown content starting with bytes {}", hex.join(" "))
}

/// Decodes any supported file to mono at its own rate. The bytes decide the format;
/// `_extension` (the name's, without the dot) is accepted for callers that have one, but
/// symphonia 0.5's probe takes no hint (`Probe::format` ignores it), so it is not used.
pub fn decode(
    bytes: Vec<u8>,
    _extension: Option<&str>,
    limits: &DecodeLimits,
) -> Result<DecodedAudio, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::EmptyInput);
    }
    if bytes.len() > limits.max_input_bytes {
        return Err(AudioError::TooLarge { bytes: bytes.len(), limit: limits.max_input_bytes });
    }
    let container = sniff_container(&bytes[..bytes.len().min(16)]).unwrap_or("audio");
    // The header guards (in both branches) run before a decoder sees the bytes; what they do
    // not foresee still cannot panic across this function (natively).
    panic_guard::catch_decoder_panic(container, || {
        if bytes.starts_with(AU_MAGIC) {
            header_guard::check_header(&bytes, limits)?;
            decode_au(&bytes, limits)
        } else {
            decode_with_symphonia(bytes, limits)
        }
    })
}

/// Mono audio at the front end's sample rate, with what is known of its source.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedAudio {
    /// Mono samples at `sample_rate`.
    pub samples: Vec<f32>,
    /// The target sample rate in Hz.
    pub sample_rate: u32,
    /// The file's rate before resampling, in Hz.
    pub source_sample_rate: u32,
    /// Channel count of the file.
    pub source_channels: usize,
    /// Container of the file.
    pub container: String,
    /// Codec of the file.
    pub codec: String,
    /// What was wrong with a file that still decoded.
    pub warnings: DecodeWarnings,
    /// The factor the samples were scaled by to bring them within full scale before
    /// resampling ([`conform_range`]); 1 for audio within [-1, 1].
    pub scaled_by: f32,
}

/// Brings decoded (or captured) mono PCM to `target_rate`. Audio beyond full scale (a float
/// file with samples near `f32::MAX`) is first scaled to a peak of 1, as the classifier's
/// range rule does: resampling it as it is could overflow to infinity (found by fuzzing).
pub fn to_target_rate(decoded: DecodedAudio, target_rate: u32) -> Result<LoadedAudio, AudioError> {
    let mut mono = decoded.samples;
    let scaled_by = conform_range(&mut mono);
    let samples = resample(&mono, decoded.sample_rate, target_rate)?;
    Ok(LoadedAudio {
        scaled_by,
        samples,
        sample_rate: target_rate,
        source_sample_rate: decoded.sample_rate,
        source_channels: decoded.channels,
        container: decoded.container,
        codec: decoded.codec,
        warnings: decoded.warnings,
    })
}

/// Decodes a file and resamples it to `target_rate`: the whole path from bytes to the PCM
/// the feature extractor takes.
pub fn load_mono(
    bytes: Vec<u8>,
    extension: Option<&str>,
    target_rate: u32,
    limits: &DecodeLimits,
) -> Result<LoadedAudio, AudioError> {
    to_target_rate(decode(bytes, extension, limits)?, target_rate)
}

/// Checks PCM handed over directly (microphone, WebAudio): finite samples, a usable rate,
/// within the duration limit.
pub fn check_pcm(
    samples: &[f32],
    sample_rate: u32,
    limits: &DecodeLimits,
) -> Result<(), AudioError> {
    limits.check_sample_rate(sample_rate)?;
    if samples.is_empty() {
        return Err(AudioError::NoSamples);
    }
    let seconds = samples.len() as f64 / sample_rate as f64;
    if seconds > limits.max_duration_seconds {
        return Err(AudioError::TooLong { seconds, limit_seconds: limits.max_duration_seconds });
    }
    let mut bad = samples.iter().enumerate().filter(|(_, x)| !x.is_finite());
    if let Some((first_index, _)) = bad.next() {
        return Err(AudioError::NonFiniteSamples { count: 1 + bad.count(), first_index });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_near_f32_max_are_scaled_before_resampling_and_stay_finite() {
        // Found by fuzzing: a float WAV with a sample of 1.7e38 resampled to infinity.
        let mut samples = vec![-1.0e8f32; 24];
        samples[19] = 1.711_381e38;
        samples[8] = 7.4e28;
        let decoded = DecodedAudio {
            samples,
            sample_rate: 8_000,
            channels: 1,
            container: "wav".into(),
            codec: "pcm_f32le".into(),
            warnings: DecodeWarnings::default(),
        };
        let loaded = to_target_rate(decoded, 22_050).unwrap();
        assert!(loaded.samples.iter().all(|x| x.is_finite() && x.abs() <= 1.5), "{loaded:?}");
        assert!((loaded.scaled_by - 1.0 / 1.711_381e38).abs() < 1e-42, "{}", loaded.scaled_by);
    }
}
