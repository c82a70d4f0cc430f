//! Sample-rate conversion of whole mono clips with rubato's FFT resampler.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use super::error::AudioError;

/// Chunk size handed to rubato; it only affects speed, not the result's quality.
const CHUNK_FRAMES: usize = 1024;

/// Resamples a mono clip from `from` Hz to `to` Hz. The output has
/// `ceil(len * to / from)` samples and is aligned with the input (rubato's delay is removed),
/// like `librosa.resample`. Equal rates return a copy.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let fail = |e: &dyn std::fmt::Display| AudioError::Resample {
        detail: format!("{from} Hz to {to} Hz: {e}"),
    };
    let mut resampler =
        Fft::<f32>::new(from as usize, to as usize, CHUNK_FRAMES, 1, FixedSync::Both)
            .map_err(|e| fail(&e))?;
    let input = InterleavedSlice::new(samples, 1, samples.len()).map_err(|e| fail(&e))?;
    let output = resampler.process_all(&input, samples.len(), None).map_err(|e| fail(&e))?;
    Ok(output.take_data())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, len: usize) -> Vec<f32> {
        (0..len)
            .map(|n| (2.0 * std::f32::consts::PI * freq * n as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn length_and_phase_follow_librosa() {
        let x = sine(440.0, 44_100, 44_101);
        let y = resample(&x, 44_100, 22_050).unwrap();
        assert_eq!(y.len(), 22_051);
        let reference = sine(440.0, 22_050, 22_051);
        // Away from the edges the resampled sine matches the ideal one closely.
        let err = y[1000..21_000]
            .iter()
            .zip(&reference[1000..21_000])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err < 1e-3, "max error {err}");
    }

    #[test]
    fn content_above_the_new_nyquist_is_removed() {
        let x = sine(15_000.0, 48_000, 48_000);
        let y = resample(&x, 48_000, 22_050).unwrap();
        let rms = (y[2000..20_000].iter().map(|v| v * v).sum::<f32>() / 18_000.0).sqrt();
        assert!(rms < 1e-3, "aliased energy rms {rms}");
    }
}
