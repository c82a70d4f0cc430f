//! Global tempo as the old `librosa.beat.beat_track(y, sr)` estimated it: a median-aggregated
//! onset envelope, the mean of its 8-second autocorrelation tempogram, weighted by a
//! log-normal prior around 120 BPM.

use rustfft::num_complex::Complex64;
use rustfft::FftPlanner;

use super::mel_cepstrum::N_MELS;
use super::spectrum::{periodic_hann_f64, HOP, N_FFT};

/// Tempogram window in onset frames: `floor(8 s * sr / hop)` = 344 at 22050 Hz.
pub fn tempogram_window(sample_rate: f64) -> usize {
    (8.0 * sample_rate / HOP as f64) as usize
}

/// Onset strength of each frame from a frame-major dB mel spectrogram: the median over
/// bands of the positive change from the previous frame, delayed by 3 frames (leading
/// zeros), as `librosa.onset.onset_strength(aggregate=np.median)`.
pub fn onset_envelope(log_mel: &[f32]) -> Vec<f32> {
    let n_frames = log_mel.len() / N_MELS;
    let delay = 1 + N_FFT / (2 * HOP);
    let mut envelope = vec![0.0f32; n_frames];
    let mut flux = [0.0f32; N_MELS];
    for t in delay..n_frames {
        // Frame t holds the change from frame t - delay to t - delay + 1.
        let (previous, current) =
            (&log_mel[(t - delay) * N_MELS..], &log_mel[(t - delay + 1) * N_MELS..]);
        for ((f, &now), &before) in flux.iter_mut().zip(current).zip(previous) {
            *f = (now - before).max(0.0);
        }
        flux.sort_by(f32::total_cmp);
        envelope[t] = (flux[N_MELS / 2 - 1] + flux[N_MELS / 2]) / 2.0;
    }
    envelope
}

/// The mean over frames of the autocorrelation tempogram (`librosa.feature.tempogram(
/// onset_envelope, win_length)`): centred windows of the envelope padded with linear ramps
/// to zero, Hann-weighted, autocorrelated, each scaled to a peak of 1.
pub fn mean_tempogram(envelope: &[f32], win_length: usize) -> Vec<f64> {
    let n = envelope.len();
    let half = win_length / 2;
    let ramp = |edge: f32, j: usize| (j as f64 * edge as f64 / half as f64) as f32;
    let mut padded: Vec<f32> = (0..half).map(|j| ramp(envelope[0], j)).collect();
    padded.extend_from_slice(envelope);
    padded.extend((0..half).rev().map(|j| ramp(envelope[n - 1], j)));
    let window = periodic_hann_f64(win_length);
    let n_pad = (2 * win_length - 1).next_power_of_two();
    let mut planner = FftPlanner::<f64>::new();
    let (forward, inverse) = (planner.plan_fft_forward(n_pad), planner.plan_fft_inverse(n_pad));
    let mut buffer = vec![Complex64::default(); n_pad];
    let mut scratch = vec![
        Complex64::default();
        forward.get_inplace_scratch_len().max(inverse.get_inplace_scratch_len())
    ];
    let mut mean = vec![0.0f64; win_length];
    for t in 0..n {
        for (i, z) in buffer.iter_mut().enumerate() {
            let x = if i < win_length { window[i] * padded[t + i] as f64 } else { 0.0 };
            *z = Complex64::new(x, 0.0);
        }
        forward.process_with_scratch(&mut buffer, &mut scratch);
        buffer.iter_mut().for_each(|z| *z = Complex64::new(z.norm_sqr(), 0.0));
        inverse.process_with_scratch(&mut buffer, &mut scratch);
        let lags: Vec<f64> = buffer[..win_length].iter().map(|z| z.re / n_pad as f64).collect();
        let peak = lags.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let scale = if peak < f64::MIN_POSITIVE { 1.0 } else { peak };
        for (m, v) in mean.iter_mut().zip(&lags) {
            *m += v / scale;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    mean
}

/// A tempo estimate: the winning autocorrelation lag and its BPM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tempo {
    /// Lag in onset frames (0 when the envelope is silent).
    pub lag: usize,
    /// Beats per minute: `60 * sr / (HOP * lag)`, 0 for a silent envelope.
    pub bpm: f64,
}

/// Tempo of an onset envelope: the lag maximising the mean tempogram times
/// `exp(-0.5 (log2(bpm) - log2(120))^2)`, lags faster than 320 BPM excluded.
pub fn tempo(envelope: &[f32], sample_rate: f64) -> Tempo {
    if envelope.iter().all(|&v| v == 0.0) {
        return Tempo { lag: 0, bpm: 0.0 };
    }
    let win_length = tempogram_window(sample_rate);
    let mean = mean_tempogram(envelope, win_length);
    let bpm = |k: usize| {
        if k == 0 {
            f64::INFINITY
        } else {
            60.0 * sample_rate / (HOP as f64 * k as f64)
        }
    };
    let fastest = (0..win_length).find(|&k| bpm(k) < 320.0).unwrap_or(win_length);
    let mut best = (0usize, f64::NEG_INFINITY);
    for (k, &score) in mean.iter().enumerate() {
        let prior =
            if k < fastest { 0.0 } else { (-0.5 * (bpm(k).log2() - 120f64.log2()).powi(2)).exp() };
        if score * prior > best.1 {
            best = (k, score * prior);
        }
    }
    match best.0 {
        0 => Tempo { lag: 0, bpm: 120.0 },
        lag => Tempo { lag, bpm: bpm(lag) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_344_frames_at_22050_hz() {
        assert_eq!(tempogram_window(22050.0), 344);
    }

    #[test]
    fn a_pulse_train_every_21_frames_is_123_bpm() {
        let envelope: Vec<f32> =
            (0..1200).map(|t| if t >= 3 && t % 21 == 0 { 1.0 } else { 0.0 }).collect();
        let tempo = tempo(&envelope, 22050.0);
        assert_eq!(tempo.lag, 21);
        assert_eq!(tempo.bpm, 123.046875);
    }

    #[test]
    fn a_silent_envelope_has_tempo_zero() {
        assert_eq!(tempo(&[0.0; 500], 22050.0), Tempo { lag: 0, bpm: 0.0 });
    }

    #[test]
    fn the_envelope_is_the_median_positive_flux_three_frames_late() {
        // Frame 1 rises by 2 dB in 70 bands and by 5 dB in 58: the median is 2.
        let mut log_mel = vec![0.0f32; 6 * N_MELS];
        for m in 0..N_MELS {
            log_mel[N_MELS + m] = if m < 70 { 2.0 } else { 5.0 };
            for t in 2..6 {
                log_mel[t * N_MELS + m] = log_mel[N_MELS + m];
            }
        }
        let env = onset_envelope(&log_mel);
        assert_eq!(env, vec![0.0, 0.0, 0.0, 2.0, 0.0, 0.0]);
    }
}
