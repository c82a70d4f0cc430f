//! The 57 clip descriptors of the GTZAN feature table (`gtzan-features-30s.csv`) computed
//! from audio, as the table was made: librosa's chroma, RMS, spectral centroid, bandwidth
//! and roll-off, zero-crossing rate, HPSS signals, tempo and 20 MFCCs, each summarised by
//! its mean and variance over the clip, in the table's column order.
//!
//! The table was made with librosa before 0.9, so the recipe is not librosa 0.11's
//! defaults: reflect padding, the old HPSS inverse STFT and beat_track's median onset
//! envelope (`tests/fixtures/descriptors/RECIPE.md` has every detail and the evidence).
//! Pure DSP: 22050 Hz mono samples in, numbers out.
//!
//! The DSP itself is the `descriptors` feature (on by default). Without it (the browser's CPU
//! engine, which gets the numbers from the separate descriptor module) only what describes
//! the table is built: [`column_names`], [`DescriptorWindowing`], the rate and sizes.

#[cfg(feature = "descriptors")]
mod chroma;
#[cfg(feature = "descriptors")]
mod hpss;
#[cfg(feature = "descriptors")]
mod mel_cepstrum;
#[cfg(feature = "descriptors")]
mod spectral_shape;
#[cfg(feature = "descriptors")]
mod spectrum;
#[cfg(feature = "descriptors")]
mod tempo;
#[cfg(feature = "descriptors")]
mod time_domain;
mod windows;

#[cfg(feature = "descriptors")]
pub use chroma::{chroma, chroma_filterbank, estimate_tuning, N_CHROMA};
#[cfg(feature = "descriptors")]
pub use hpss::{hpss, running_median, KERNEL};
#[cfg(feature = "descriptors")]
pub use mel_cepstrum::{log_mel, mfcc, N_MELS};
#[cfg(feature = "descriptors")]
pub use spectral_shape::{spectral_shape, SpectralShape};
#[cfg(feature = "descriptors")]
use spectrum::istft_legacy_pair;
#[cfg(feature = "descriptors")]
pub use spectrum::{bin_frequencies, frame_count, istft_legacy, stft, Spectrogram, HOP, N_BINS};
#[cfg(feature = "descriptors")]
pub use tempo::{mean_tempogram, onset_envelope, tempo, tempogram_window, Tempo};
#[cfg(feature = "descriptors")]
pub use time_domain::{rms, zero_crossing_rate};
pub use windows::DescriptorWindowing;
#[cfg(feature = "descriptors")]
pub use windows::{describe_windows, WindowDescriptors};

/// FFT length of the descriptors' STFT (librosa's default): the shortest audio they describe.
pub const N_FFT: usize = 2048;
/// Cepstral coefficients kept (`librosa.feature.mfcc(n_mfcc=20)`).
pub const N_MFCC: usize = 20;

use thiserror::Error;

/// The sample rate the descriptors are defined at (the table's clips are 22050 Hz).
pub const SAMPLE_RATE: u32 = 22050;

/// Number of descriptor columns.
pub const N_COLUMNS: usize = 57;

/// The columns before the MFCCs, in the table's order.
const LEADING_COLUMNS: [&str; 17] = [
    "chroma_stft_mean",
    "chroma_stft_var",
    "rms_mean",
    "rms_var",
    "spectral_centroid_mean",
    "spectral_centroid_var",
    "spectral_bandwidth_mean",
    "spectral_bandwidth_var",
    "rolloff_mean",
    "rolloff_var",
    "zero_crossing_rate_mean",
    "zero_crossing_rate_var",
    "harmony_mean",
    "harmony_var",
    "perceptr_mean",
    "perceptr_var",
    "tempo",
];

/// The 57 column names in the table's order (`mfcc1_mean`, `mfcc1_var`, .. last).
pub fn column_names() -> Vec<String> {
    let mfcc = (1..=N_MFCC).flat_map(|k| [format!("mfcc{k}_mean"), format!("mfcc{k}_var")]);
    LEADING_COLUMNS.iter().map(|s| s.to_string()).chain(mfcc).collect()
}

/// Why descriptors cannot be computed for a signal.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DescriptorError {
    /// The signal is not at [`SAMPLE_RATE`].
    #[error("descriptors are defined at {SAMPLE_RATE} Hz; the audio is at {sample_rate} Hz (resample it first)")]
    WrongSampleRate {
        /// The signal's rate in Hz.
        sample_rate: u32,
    },
    /// The signal is shorter than one FFT frame.
    #[error(
        "the audio is too short for descriptors: {samples} samples, at least {min_samples} needed"
    )]
    TooShort {
        /// Samples given.
        samples: usize,
        /// Samples needed.
        min_samples: usize,
    },
    /// A sample is NaN or infinite.
    #[error("the audio contains a non-finite sample at index {index}")]
    NonFinite {
        /// Index of the first such sample.
        index: usize,
    },
}

/// Every frame-level descriptor of one clip, before summarising.
#[cfg(feature = "descriptors")]
#[derive(Debug, Clone, PartialEq)]
pub struct FrameDescriptors {
    /// Number of STFT frames.
    pub n_frames: usize,
    /// Chroma, class-major (`[N_CHROMA][n_frames]`), each frame scaled to a peak of 1.
    pub chroma: Vec<f32>,
    /// Tuning used for the chroma, in semitones.
    pub tuning: f64,
    /// RMS energy per frame.
    pub rms: Vec<f32>,
    /// Centroid, bandwidth and roll-off per frame.
    pub shape: SpectralShape,
    /// Zero-crossing rate per frame.
    pub zero_crossing_rate: Vec<f64>,
    /// The harmonic signal (same length as the input).
    pub harmonic: Vec<f32>,
    /// The percussive signal (same length as the input).
    pub percussive: Vec<f32>,
    /// MFCCs, coefficient-major (`[N_MFCC][n_frames]`).
    pub mfcc: Vec<f32>,
    /// Median-aggregated onset strength per frame.
    pub onset_envelope: Vec<f32>,
    /// The clip's tempo.
    pub tempo: Tempo,
}

/// Computes every frame-level descriptor of a mono clip at [`SAMPLE_RATE`].
#[cfg(feature = "descriptors")]
pub fn frame_descriptors(
    samples: &[f32],
    sample_rate: u32,
) -> Result<FrameDescriptors, DescriptorError> {
    if sample_rate != SAMPLE_RATE {
        return Err(DescriptorError::WrongSampleRate { sample_rate });
    }
    if samples.len() < N_FFT {
        return Err(DescriptorError::TooShort { samples: samples.len(), min_samples: N_FFT });
    }
    if let Some(index) = samples.iter().position(|x| !x.is_finite()) {
        return Err(DescriptorError::NonFinite { index });
    }
    let sr = sample_rate as f64;
    let frequencies = bin_frequencies(sr);
    let spectrogram = stft(samples);
    let magnitudes = spectrogram.magnitudes();
    // `powers()` squares the same norms: the same bits without computing them twice.
    let power: Vec<f32> = magnitudes.iter().map(|m| m * m).collect();
    let (chroma, tuning) = chroma(&power, &frequencies, sr);
    let shape = spectral_shape(&magnitudes, &frequencies);
    let log_mel = log_mel(&power, sr);
    drop(power);
    let onset_envelope = onset_envelope(&log_mel);
    let (harmonic, percussive) = hpss(&spectrogram, &magnitudes);
    let (harmonic, percussive) = istft_legacy_pair(&harmonic, &percussive, samples.len());
    Ok(FrameDescriptors {
        n_frames: spectrogram.n_frames,
        chroma,
        tuning,
        rms: rms(samples),
        shape,
        zero_crossing_rate: zero_crossing_rate(samples),
        harmonic,
        percussive,
        mfcc: mfcc(&log_mel),
        tempo: tempo(&onset_envelope, sr),
        onset_envelope,
    })
}

#[cfg(feature = "descriptors")]
impl FrameDescriptors {
    /// The 57 table values in [`column_names`] order: mean and variance (ddof 0) of each
    /// descriptor over the clip, and the tempo.
    pub fn summary(&self) -> Vec<f64> {
        let wide = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        let mut out = Vec::with_capacity(N_COLUMNS);
        let mut push = |values: &[f64]| {
            let (mean, var) = mean_and_variance(values);
            out.extend([mean, var]);
        };
        push(&wide(&self.chroma));
        push(&wide(&self.rms));
        push(&self.shape.centroid);
        push(&self.shape.bandwidth);
        push(&self.shape.rolloff);
        push(&self.zero_crossing_rate);
        push(&wide(&self.harmonic));
        push(&wide(&self.percussive));
        out.push(self.tempo.bpm);
        for row in self.mfcc.chunks_exact(self.n_frames) {
            let (mean, var) = mean_and_variance(&wide(row));
            out.extend([mean, var]);
        }
        out
    }
}

/// Mean and population variance (numpy's `mean`, `var` with ddof 0).
pub fn mean_and_variance(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

/// The 57 table values of a mono clip at [`SAMPLE_RATE`], in [`column_names`] order.
#[cfg(feature = "descriptors")]
pub fn describe(samples: &[f32], sample_rate: u32) -> Result<Vec<f64>, DescriptorError> {
    Ok(frame_descriptors(samples, sample_rate)?.summary())
}

#[cfg(all(test, feature = "descriptors"))]
mod tests {
    use super::*;

    #[test]
    fn columns_follow_the_table_header() {
        let names = column_names();
        assert_eq!(names.len(), N_COLUMNS);
        assert_eq!(names[16], "tempo");
        assert_eq!(names[17], "mfcc1_mean");
        assert_eq!(names[56], "mfcc20_var");
    }

    #[test]
    fn bad_signals_are_named() {
        assert_eq!(
            describe(&[0.0; 100], 22050),
            Err(DescriptorError::TooShort { samples: 100, min_samples: 2048 })
        );
        assert_eq!(
            describe(&[0.0; 4096], 44100),
            Err(DescriptorError::WrongSampleRate { sample_rate: 44100 })
        );
        let mut signal = vec![0.1f32; 4096];
        signal[77] = f32::NAN;
        assert_eq!(describe(&signal, 22050), Err(DescriptorError::NonFinite { index: 77 }));
    }

    #[test]
    fn silence_gives_finite_values_and_tempo_zero() {
        let values = describe(&vec![0.0; 22050], 22050).unwrap();
        assert!(values.iter().all(|v| v.is_finite()), "{values:?}");
        assert_eq!(values[16], 0.0);
        assert_eq!(values[2], 0.0);
    }
}
