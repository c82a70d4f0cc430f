//! Short-time power spectrum, as `librosa.stft` frames and windows a signal.
//!
//! Pure DSP: a signal in, power spectra out. One [`PowerSpectrogram`] plan is reused for
//! every window of every track, so FFT plans and the window are built once.
//!
//! The transform is rustfft's in-place complex FFT of the real frame: callgrind counts about
//! the same instructions as realfft's half-size transform plus its scalar post-processing,
//! with one buffer and no scratch juggling, and rustfft's AVX and wasm-simd kernels.

use std::sync::Arc;

use rustfft::{num_complex::Complex32, Fft, FftPlanner};

use crate::feature_config::{stft_frame_count, FeatureConfig, PadMode};

/// Periodic Hann window of `win_length` samples, zero-padded and centred to `n_fft`
/// (`librosa.filters.get_window("hann", win_length, fftbins=True)` + `pad_center`).
pub fn periodic_hann(win_length: usize, n_fft: usize) -> Vec<f32> {
    let mut window = vec![0.0f32; n_fft];
    let offset = (n_fft - win_length) / 2;
    for n in 0..win_length {
        let phase = 2.0 * std::f64::consts::PI * n as f64 / win_length as f64;
        window[offset + n] = (0.5 - 0.5 * phase.cos()) as f32;
    }
    window
}

/// Maps an index of the padded signal to the original signal, or `None` for a zero.
fn source_index(i: isize, len: usize, mode: PadMode) -> Option<usize> {
    if i >= 0 && (i as usize) < len {
        return Some(i as usize);
    }
    match mode {
        PadMode::Constant => None,
        PadMode::Reflect => {
            if len == 1 {
                return Some(0);
            }
            // numpy's iterated "reflect" padding is periodic with period 2 (len - 1).
            let period = 2 * (len as isize - 1);
            let k = i.rem_euclid(period);
            Some(if k < len as isize { k as usize } else { (period - k) as usize })
        }
    }
}

/// A reusable STFT plan: window, FFT and frame geometry from a [`FeatureConfig`].
pub struct PowerSpectrogram {
    n_fft: usize,
    hop: usize,
    center: bool,
    pad_mode: PadMode,
    power: f32,
    window: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
}

impl PowerSpectrogram {
    /// Plans the STFT described by `cfg` (n_fft, hop, window, centring, padding, power).
    pub fn new(cfg: &FeatureConfig) -> Self {
        let mut planner = FftPlanner::<f32>::new();
        PowerSpectrogram {
            n_fft: cfg.n_fft,
            hop: cfg.hop_length,
            center: cfg.center,
            pad_mode: cfg.pad_mode,
            power: cfg.power,
            window: periodic_hann(cfg.win_length, cfg.n_fft),
            fft: planner.plan_fft_forward(cfg.n_fft),
        }
    }

    /// Number of FFT bins per frame (`n_fft / 2 + 1`).
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Number of frames produced for a signal of `n_samples`.
    pub fn n_frames(&self, n_samples: usize) -> usize {
        stft_frame_count(n_samples, self.n_fft, self.hop, self.center)
    }

    /// Calls `each(frame_index, power_spectrum)` for every frame of `signal`, in order.
    /// The spectrum slice holds `n_bins()` values of `|X|^power`.
    pub fn for_each_frame(&self, signal: &[f32], mut each: impl FnMut(usize, &[f32])) {
        let n_frames = self.n_frames(signal.len());
        let pad = if self.center { (self.n_fft / 2) as isize } else { 0 };
        let mut frame = vec![Complex32::default(); self.n_fft];
        let mut scratch = vec![Complex32::default(); self.fft.get_inplace_scratch_len()];
        let mut power = vec![0.0f32; self.n_bins()];
        for t in 0..n_frames {
            let start = (t * self.hop) as isize - pad;
            let fully_inside = start >= 0 && (start as usize + self.n_fft) <= signal.len();
            if fully_inside {
                let s = start as usize;
                let samples = &signal[s..s + self.n_fft];
                for ((f, &x), &w) in frame.iter_mut().zip(samples).zip(&self.window) {
                    f.re = x * w;
                    f.im = 0.0;
                }
            } else {
                for (k, (f, &w)) in frame.iter_mut().zip(&self.window).enumerate() {
                    let x = source_index(start + k as isize, signal.len(), self.pad_mode).map_or(0.0, |i| signal[i] * w);
                    *f = Complex32::new(x, 0.0);
                }
            }
            self.fft.process_with_scratch(&mut frame, &mut scratch);
            magnitude_pow(&frame[..self.n_bins()], self.power, &mut power);
            each(t, &power);
        }
    }
}

/// `|X|^power` for each bin, with the common powers 1 and 2 done without `powf`.
fn magnitude_pow(spectrum: &[Complex32], power: f32, out: &mut [f32]) {
    let squares = out.iter_mut().zip(spectrum);
    if power == 2.0 {
        squares.for_each(|(o, c)| *o = c.re * c.re + c.im * c.im);
    } else if power == 1.0 {
        squares.for_each(|(o, c)| *o = (c.re * c.re + c.im * c.im).sqrt());
    } else {
        squares.for_each(|(o, c)| *o = (c.re * c.re + c.im * c.im).powf(power / 2.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hann_is_periodic() {
        let w = periodic_hann(8, 8);
        assert_eq!(w[0], 0.0);
        assert!((w[4] - 1.0).abs() < 1e-7);
        assert!((w[2] - 0.5).abs() < 1e-7 && (w[6] - 0.5).abs() < 1e-7);
    }

    #[test]
    fn reflect_padding_mirrors_without_edge_repeat() {
        let idx: Vec<usize> = (-3..7).map(|i| source_index(i, 4, PadMode::Reflect).unwrap()).collect();
        assert_eq!(idx, vec![3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
        assert_eq!(source_index(-1, 4, PadMode::Constant), None);
    }

    #[test]
    fn sine_peaks_in_its_bin() {
        let cfg = FeatureConfig::gtzan_default();
        let stft = PowerSpectrogram::new(&cfg);
        let sr = cfg.sample_rate as f32;
        let bin = 100usize;
        let f = bin as f32 * sr / cfg.n_fft as f32;
        let signal: Vec<f32> = (0..8192).map(|n| (2.0 * std::f32::consts::PI * f * n as f32 / sr).sin()).collect();
        let mut peaks = Vec::new();
        stft.for_each_frame(&signal, |t, p| {
            if t == 8 {
                let argmax = p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
                peaks.push(argmax);
            }
        });
        assert_eq!(peaks, vec![bin]);
        assert_eq!(stft.n_frames(8192), 17);
    }
}
