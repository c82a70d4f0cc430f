//! Chroma of a power spectrogram with its tuning estimated first, as
//! `librosa.feature.chroma_stft(S=power)` does: `estimate_tuning` (piptrack peaks),
//! `filters.chroma(tuning=..)`, then each frame divided by its largest chroma value.

use super::spectrum::{N_BINS, N_FFT};

/// Number of chroma classes (C first).
pub const N_CHROMA: usize = 12;

/// Tuning deviation from A440 in fractions of a semitone, to 0.01, from the peaks of a
/// frame-major power spectrogram (`librosa.estimate_tuning(S=power)`): peaks between 150
/// and 4000 Hz above a tenth of their frame's maximum, parabolically interpolated; those at
/// least as strong as the median peak vote in a 0.01-semitone histogram of their deviation,
/// and the left edge of the fullest bin wins. 0 without peaks.
pub fn estimate_tuning(power: &[f32], frequencies: &[f64], sample_rate: f64) -> f64 {
    let mut pitches = Vec::new();
    let mut strengths = Vec::new();
    for frame in power.chunks_exact(N_BINS) {
        let floor = 0.1f32 * frame.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let kept = |k: usize| if frame[k] > floor { frame[k] } else { 0.0 };
        for k in 1..N_BINS - 1 {
            let f = frequencies[k];
            if !((150.0..4000.0).contains(&f) && kept(k) > kept(k - 1) && kept(k) >= kept(k + 1)) {
                continue;
            }
            let (below, here, above) = (frame[k - 1], frame[k], frame[k + 1]);
            let curvature = (above + below) as f64 - 2.0 * here as f64;
            let slope = (above - below) as f64 / 2.0;
            let shift =
                if slope.abs() >= curvature.abs() { 0.0 } else { (-slope / curvature) as f32 };
            pitches.push(((k as f64 + shift as f64) * sample_rate / N_FFT as f64) as f32);
            strengths.push(here + 0.5f32 * ((above - below) / 2.0) * shift);
        }
    }
    if pitches.is_empty() {
        return 0.0;
    }
    let threshold = median_f32(&strengths);
    let mut counts = [0usize; 100];
    for (&pitch, &strength) in pitches.iter().zip(&strengths) {
        if strength < threshold {
            continue;
        }
        let mut residual = (12.0f32 * (pitch / 27.5f32).log2()).rem_euclid(1.0);
        if residual >= 0.5 {
            residual -= 1.0;
        }
        counts[histogram_bin(residual as f64)] += 1;
    }
    let best =
        counts.iter().enumerate().fold(0, |best, (i, &c)| if c > counts[best] { i } else { best });
    best as f64 * 0.01 - 0.5
}

/// The bin of `np.histogram(x, np.linspace(-0.5, 0.5, 101))` holding `x` (the last bin is closed).
fn histogram_bin(x: f64) -> usize {
    let edge = |i: usize| i as f64 * 0.01 - 0.5;
    let mut bin = (((x + 0.5) * 100.0) as usize).min(99);
    if x < edge(bin) && bin > 0 {
        bin -= 1;
    } else if bin < 99 && x >= edge(bin + 1) {
        bin += 1;
    }
    bin
}

/// numpy's median of a float32 slice (mean of the two middle values for an even count).
fn median_f32(values: &[f32]) -> f32 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The chroma filter bank `librosa.filters.chroma(sr, n_fft=2048, tuning, n_chroma=12,
/// ctroct=5, octwidth=2, norm=2, base_c=True)`, row-major `[N_CHROMA][N_BINS]`.
pub fn chroma_filterbank(sample_rate: f64, tuning: f64) -> Vec<f32> {
    let n_chroma = N_CHROMA as f64;
    let a440 = 440.0 * 2f64.powf(tuning / n_chroma);
    let step = sample_rate / N_FFT as f64;
    // Bins 1 ..= N_BINS in fractional chroma, with the 0 Hz bin made up 1.5 octaves below bin 1.
    let mut bins: Vec<f64> =
        (1..=N_BINS).map(|k| n_chroma * (k as f64 * step / (a440 / 16.0)).log2()).collect();
    bins.insert(0, bins[0] - 1.5 * n_chroma);
    let half = (n_chroma / 2.0).round();
    // librosa builds all N_FFT columns and keeps the first N_BINS; only those are computed.
    let mut weights = vec![0.0f32; N_CHROMA * N_BINS];
    for i in 0..N_BINS {
        let width = (bins[i + 1] - bins[i]).max(1.0);
        let column: Vec<f64> = (0..N_CHROMA)
            .map(|c| {
                let d = (bins[i] - c as f64 + half + 10.0 * n_chroma).rem_euclid(n_chroma) - half;
                (-0.5 * (2.0 * d / width).powi(2)).exp()
            })
            .collect();
        let norm = column.iter().map(|w| w * w).sum::<f64>().sqrt();
        let norm = if norm < f64::MIN_POSITIVE { 1.0 } else { norm };
        let octave_weight = (-0.5 * ((bins[i] / n_chroma - 5.0) / 2.0).powi(2)).exp();
        for (c, w) in column.iter().enumerate() {
            // base_c: roll by -3 rows so that row 0 is C.
            let row = (c + N_CHROMA - 3) % N_CHROMA;
            weights[row * N_BINS + i] = (w / norm * octave_weight) as f32;
        }
    }
    weights
}

/// Chroma of a frame-major power spectrogram, class-major (`out[c * n_frames + t]`), and the
/// tuning used. Each frame is divided by its largest value unless that is (near) zero.
pub fn chroma(power: &[f32], frequencies: &[f64], sample_rate: f64) -> (Vec<f32>, f64) {
    let tuning = estimate_tuning(power, frequencies, sample_rate);
    let bank = chroma_filterbank(sample_rate, tuning);
    let n_frames = power.len() / N_BINS;
    let mut out = vec![0.0f32; N_CHROMA * n_frames];
    for (t, frame) in power.chunks_exact(N_BINS).enumerate() {
        let mut values = [0.0f32; N_CHROMA];
        for (value, row) in values.iter_mut().zip(bank.chunks_exact(N_BINS)) {
            *value = row.iter().zip(frame).map(|(&w, &p)| w as f64 * p as f64).sum::<f64>() as f32;
        }
        let max = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let scale = if max < f32::MIN_POSITIVE { 1.0 } else { max };
        for (c, v) in values.iter().enumerate() {
            out[c * n_frames + t] = v / scale;
        }
    }
    (out, tuning)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptors::spectrum::{bin_frequencies, stft};

    #[test]
    fn histogram_bins_match_numpy_edges() {
        assert_eq!(histogram_bin(-0.5), 0);
        assert_eq!(histogram_bin(0.5), 99);
        assert_eq!(histogram_bin(0.0), 50);
        assert_eq!(histogram_bin(0.0499999), 54);
        assert_eq!(histogram_bin(0.05000000000000005), 55);
    }

    #[test]
    fn a_tone_30_cents_sharp_is_tuned_0_3_and_chroma_peaks_on_its_class() {
        let sr = 22050.0;
        // E4 (329.63 Hz) raised by 0.3 semitone, with two harmonics.
        let f0 = 329.627_556_9 * 2f64.powf(0.3 / 12.0);
        let signal: Vec<f32> = (0..22050)
            .map(|n| {
                let t = n as f64 / sr;
                ((2.0 * std::f64::consts::PI * f0 * t).sin()
                    + 0.5 * (4.0 * std::f64::consts::PI * f0 * t).sin()) as f32
                    * 0.3
            })
            .collect();
        let power = stft(&signal).powers();
        let freqs = bin_frequencies(sr);
        let tuning = estimate_tuning(&power, &freqs, sr);
        assert!((tuning - 0.3).abs() <= 0.051, "tuning {tuning}");
        let (chroma, _) = chroma(&power, &freqs, sr);
        let n_frames = power.len() / N_BINS;
        let t = n_frames / 2;
        let column: Vec<f32> = (0..N_CHROMA).map(|c| chroma[c * n_frames + t]).collect();
        assert_eq!(column[4], 1.0, "E is class 4: {column:?}");
        assert!(column.iter().enumerate().all(|(c, &v)| c == 4 || v < 0.5), "{column:?}");
    }
}
