//! Sample-rate conversion of whole mono clips with rubato's FFT resampler.

use std::ops::Range;

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

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

/// The length of [`resample`]'s output for `len` samples: `ceil(len * to / from)`.
pub fn resampled_len(len: usize, from: u32, to: u32) -> usize {
    if from == to || len == 0 {
        return len;
    }
    (to as f64 / from as f64 * len as f64).ceil() as usize
}

/// Chunks fed before the first one whose output is wanted, so that the resampler's state (the
/// overlap it carries from chunk to chunk) is what it is in a run over the whole clip.
const WARM_UP_CHUNKS: usize = 2;

/// Output samples `wanted` of [`resample`]`(samples, from, to)`, the same values, computed
/// from the input around them only (a few chunks before them): what a quick look at a few
/// places of a long track needs. `wanted` is clipped to the output's length.
pub fn resample_range(
    samples: &[f32],
    from: u32,
    to: u32,
    wanted: Range<usize>,
) -> Result<Vec<f32>, AudioError> {
    if from == to || samples.is_empty() {
        let end = wanted.end.min(samples.len());
        return Ok(samples[wanted.start.min(end)..end].to_vec());
    }
    let fail = |e: &dyn std::fmt::Display| AudioError::Resample {
        detail: format!("{from} Hz to {to} Hz: {e}"),
    };
    let mut resampler =
        Fft::<f32>::new(from as usize, to as usize, CHUNK_FRAMES, 1, FixedSync::Both)
            .map_err(|e| fail(&e))?;
    let total = (resampler.resample_ratio() * samples.len() as f64).ceil() as usize;
    let wanted = wanted.start.min(total)..wanted.end.min(total);
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let (chunk_in, chunk_out) = (resampler.input_frames_next(), resampler.output_frames_next());
    let delay = resampler.output_delay();
    // Chunk k of the whole run reads input [k * chunk_in, ..) and gives output [k * chunk_out,
    // ..) before the delay is trimmed.
    let first = ((wanted.start + delay) / chunk_out).saturating_sub(WARM_UP_CHUNKS);
    let end = (wanted.end + delay).div_ceil(chunk_out);
    let mut raw = vec![0.0f32; (end - first) * chunk_out];
    let input = InterleavedSlice::new(samples, 1, samples.len()).map_err(|e| fail(&e))?;
    let out_len = raw.len();
    let mut output = InterleavedSlice::new_mut(&mut raw, 1, out_len).map_err(|e| fail(&e))?;
    let mut indexing = Indexing {
        input_offset: first * chunk_in,
        output_offset: 0,
        active_channels_mask: None,
        partial_len: None,
    };
    for _ in first..end {
        let left = samples.len().saturating_sub(indexing.input_offset);
        indexing.partial_len = (left <= chunk_in).then_some(left);
        indexing.input_offset = indexing.input_offset.min(samples.len());
        let (_, n_out) = resampler
            .process_into_buffer(&input, &mut output, Some(&indexing))
            .map_err(|e| fail(&e))?;
        indexing.input_offset += chunk_in;
        indexing.output_offset += n_out;
    }
    let offset = first * chunk_out;
    Ok(raw[wanted.start + delay - offset..wanted.end + delay - offset].to_vec())
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
    fn a_range_equals_that_part_of_the_whole_run() {
        let x: Vec<f32> = (0..220_500)
            .map(|n| ((n as f32 * 0.031).sin() + (n as f32 * 0.0007).cos()) * 0.4)
            .collect();
        for (from, to) in [(22_050, 16_000), (44_100, 16_000), (48_000, 22_050), (16_000, 22_050)] {
            let whole = resample(&x, from, to).unwrap();
            let n = whole.len();
            for range in [0..500, 1000..9000, 31_234..40_001, n - 5000..n, n - 10..n + 100] {
                let part = resample_range(&x, from, to, range.clone()).unwrap();
                let expected = &whole[range.start.min(n)..range.end.min(n)];
                assert_eq!(part, expected, "{from} -> {to}, {range:?}");
            }
            assert_eq!(resampled_len(x.len(), from, to), n);
        }
    }

    #[test]
    fn content_above_the_new_nyquist_is_removed() {
        let x = sine(15_000.0, 48_000, 48_000);
        let y = resample(&x, 48_000, 22_050).unwrap();
        let rms = (y[2000..20_000].iter().map(|v| v * v).sum::<f32>() / 18_000.0).sqrt();
        assert!(rms < 1e-3, "aliased energy rms {rms}");
    }
}
