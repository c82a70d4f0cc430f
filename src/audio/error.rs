//! Errors of the audio front end, each naming what is wrong with the input.

use thiserror::Error;

/// Why audio could not be decoded, resampled or accepted.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum AudioError {
    /// The file could not be read from disk (missing, unreadable, a folder). Native only:
    /// the browser hands over bytes.
    #[cfg(not(target_arch = "wasm32"))]
    #[error("cannot read the file: {detail}")]
    Read {
        /// The operating system's reason.
        detail: String,
    },
    /// The input has no bytes at all.
    #[error("the file is empty (0 bytes)")]
    EmptyInput,
    /// The bytes are not a container this build can read.
    #[error("not a recognised audio format: {detail}")]
    UnrecognisedFormat {
        /// What the bytes look like instead.
        detail: String,
    },
    /// The container is known but its codec is not supported.
    #[error(
        "unsupported audio codec: {codec} (supported: PCM, FLAC, MP3, Vorbis, AAC, ALAC, ADPCM)"
    )]
    UnsupportedCodec {
        /// The codec's name, as the container states it.
        codec: String,
    },
    /// The container holds no audio track.
    #[error("the file contains no audio track")]
    NoAudioTrack,
    /// The stream is damaged beyond use.
    #[error("the audio stream is corrupt: {detail}")]
    Corrupt {
        /// The decoder's description of the damage.
        detail: String,
    },
    /// Decoding produced no samples.
    #[error("the file contains no audio samples")]
    NoSamples,
    /// The decoded audio contains NaN or infinite values.
    #[error("the audio contains {count} non-finite (NaN or infinite) samples, the first at sample {first_index}")]
    NonFiniteSamples {
        /// How many samples are not finite.
        count: usize,
        /// Index (per channel frame) of the first one.
        first_index: usize,
    },
    /// The input is larger than [`crate::audio::DecodeLimits::max_input_bytes`].
    #[error("the file is {bytes} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Size of the input.
        bytes: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The audio is longer than [`crate::audio::DecodeLimits::max_duration_seconds`].
    #[error("the audio is at least {} long; the limit is {}", fmt_duration(*seconds), fmt_duration(*limit_seconds))]
    TooLong {
        /// Duration found (or at least reached while decoding), in seconds.
        seconds: f64,
        /// The limit in force, in seconds.
        limit_seconds: f64,
    },
    /// The audio is within the duration limit but holds more samples than
    /// [`crate::audio::DecodeLimits::max_mono_samples`] at its high sample rate: decoding it
    /// would need more memory than is allowed.
    #[error(
        "the audio is at least {} long at {} kHz; at that rate at most {} fit in memory \
         (convert it to 48 kHz or cut it)",
        fmt_duration(*seconds), *sample_rate as f64 / 1000.0, fmt_duration(*limit_seconds)
    )]
    TooManySamples {
        /// Duration found (or reached while decoding), in seconds.
        seconds: f64,
        /// The file's sample rate in Hz.
        sample_rate: u32,
        /// The longest audio accepted at this rate, in seconds.
        limit_seconds: f64,
    },
    /// The sample rate is zero or outside what the front end accepts.
    #[error("unsupported sample rate {rate} Hz (accepted: {min} to {max} Hz)")]
    InvalidSampleRate {
        /// The rate found.
        rate: u32,
        /// Lowest accepted rate.
        min: u32,
        /// Highest accepted rate.
        max: u32,
    },
    /// The channel layout changes mid-stream or has no channels.
    #[error("unsupported channel layout: {detail}")]
    UnsupportedChannels {
        /// What is wrong with the channels.
        detail: String,
    },
    /// A header field makes no sense (0 Hz, 0 channels, 0 or 65 bits per sample, a header cut
    /// short): found by the header guard before any decoder reads the stream.
    #[error("the {format} header {problem}")]
    InvalidHeader {
        /// The format whose header it is ("WAV", "AIFF", "AU", "FLAC", ...).
        format: String,
        /// What the header says that cannot be right, e.g. "gives a sample rate of 0 Hz".
        problem: String,
    },
    /// A decoder panicked on malformed data (a bug in the decoder, caught as this file's error).
    #[error("decoder failure: {message} (in the {container} decoder, on malformed data)")]
    DecoderFailure {
        /// The container being decoded ("wav", "mkv", ...).
        container: String,
        /// The first line of the panic message.
        message: String,
    },
    /// The resampler refused the conversion.
    #[error("resampling failed: {detail}")]
    Resample {
        /// The resampler's message.
        detail: String,
    },
}

/// Formats seconds as `1 h 02 min 03 s`, `4 min 05 s` or `6.7 s`.
pub fn fmt_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let total = seconds.round() as u64;
    let (h, m, s) = (total / 3600, (total / 60) % 60, total % 60);
    if h > 0 {
        format!("{h} h {m:02} min {s:02} s")
    } else {
        format!("{m} min {s:02} s")
    }
}
