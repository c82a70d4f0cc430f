//! Frame-wise descriptors of the waveform itself: RMS energy and zero-crossing rate
//! (`librosa.feature.rms(pad_mode="reflect")`, `librosa.feature.zero_crossing_rate`).

use super::spectrum::{for_each_frame, frame_count, reflect_padded, N_FFT};

/// Root-mean-square energy of each frame (no window; reflect padding).
pub fn rms(samples: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(frame_count(samples.len()));
    for_each_frame(samples.len(), reflect_padded(samples), |frame| {
        let power: f64 = frame.iter().map(|&x| (x * x) as f64).sum::<f64>() / N_FFT as f64;
        out.push(power.sqrt() as f32);
    });
    out
}

/// Fraction of sign changes in each frame: edge padding, samples with `|x| <= 1e-10` count
/// as zero, zero counts as positive, and the first sample of a frame never counts.
pub fn zero_crossing_rate(samples: &[f32]) -> Vec<f64> {
    let mut out = Vec::with_capacity(frame_count(samples.len()));
    let last = samples.len() as isize - 1;
    let sample_at = |i: isize| samples[i.clamp(0, last) as usize];
    for_each_frame(samples.len(), sample_at, |frame| {
        let negative = |x: f32| x.abs() > 1e-10 && x.is_sign_negative();
        let crossings =
            frame.windows(2).filter(|pair| negative(pair[0]) != negative(pair[1])).count();
        out.push(crossings as f64 / N_FFT as f64);
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_of_a_constant_is_its_magnitude() {
        let r = rms(&vec![-0.25; 4096]);
        assert_eq!(r.len(), 9);
        assert!(r.iter().all(|&v| (v - 0.25).abs() < 1e-7));
    }

    #[test]
    fn alternating_signs_cross_on_every_sample_but_the_first() {
        let signal: Vec<f32> = (0..4096).map(|i| if i % 2 == 0 { 0.5 } else { -0.5 }).collect();
        let z = zero_crossing_rate(&signal);
        assert!((z[4] - 2047.0 / 2048.0).abs() < 1e-12);
        // Tiny values count as zero, which counts as positive: no crossings.
        let tiny: Vec<f32> = (0..4096).map(|i| if i % 2 == 0 { 1e-11 } else { -1e-11 }).collect();
        assert!(zero_crossing_rate(&tiny).iter().all(|&v| v == 0.0));
    }
}
