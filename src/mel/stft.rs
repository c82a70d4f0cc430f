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
pub(crate) fn source_index(i: isize, len: usize, mode: PadMode) -> Option<usize> {
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
    ///
    /// Two real frames go through one complex FFT (frame `t` as the real part, `t + 1` as
    /// the imaginary part) and are separated with `X[k] ± conj(X[n - k])`, which halves the
    /// FFT work. The separation leaks about 1e-7 of the louder frame into the quieter one;
    /// with librosa's `top_db` floor and for `log10(1 + C x)` that stays far below the
    /// 0.05 dB the parity tests allow.
    pub fn for_each_frame(&self, signal: &[f32], each: impl FnMut(usize, &[f32])) {
        self.for_frames(signal, 0..self.n_frames(signal.len()), each);
    }

    /// [`for_each_frame`](Self::for_each_frame) for the frames `frames` only (clipped to the
    /// signal's), with the same values: frames are paired from an even index, as in a run
    /// over every frame, so each frame's leak from its partner is the same too.
    pub fn for_frames(
        &self,
        signal: &[f32],
        frames: std::ops::Range<usize>,
        mut each: impl FnMut(usize, &[f32]),
    ) {
        let n_frames = self.n_frames(signal.len());
        let end = frames.end.min(n_frames);
        let mut pair = vec![Complex32::default(); self.n_fft];
        let mut scratch = vec![Complex32::default(); self.fft.get_inplace_scratch_len()];
        let (mut first, mut second) = (vec![0.0f32; self.n_fft], vec![0.0f32; self.n_fft]);
        let (mut power_a, mut power_b) = (vec![0.0f32; self.n_bins()], vec![0.0f32; self.n_bins()]);
        for t in (frames.start & !1..end).step_by(2) {
            let has_second = t + 1 < n_frames;
            self.windowed_frame(signal, t, &mut first);
            if has_second {
                self.windowed_frame(signal, t + 1, &mut second);
            } else {
                second.fill(0.0);
            }
            for ((z, &a), &b) in pair.iter_mut().zip(&first).zip(&second) {
                *z = Complex32::new(a, b);
            }
            self.fft.process_with_scratch(&mut pair, &mut scratch);
            self.split_pair_power(&pair, &mut power_a, &mut power_b);
            if t >= frames.start {
                each(t, &power_a);
            }
            if has_second && t + 1 < end {
                each(t + 1, &power_b);
            }
        }
    }

    /// The samples frame `t` reads: `[t * hop - n_fft / 2, t * hop + n_fft / 2)` when
    /// centred (clipped to `0..n_samples`; padding reads near the edges, which this covers).
    pub fn frame_support(&self, t: usize, n_samples: usize) -> std::ops::Range<usize> {
        let pad = if self.center { self.n_fft / 2 } else { 0 };
        let start = (t * self.hop).saturating_sub(pad);
        start.min(n_samples)..(t * self.hop + self.n_fft - pad).min(n_samples)
    }

    /// Frame `t` of `signal`, padded as configured and multiplied by the window.
    fn windowed_frame(&self, signal: &[f32], t: usize, out: &mut [f32]) {
        let pad = if self.center { (self.n_fft / 2) as isize } else { 0 };
        let start = (t * self.hop) as isize - pad;
        if start >= 0 && (start as usize + self.n_fft) <= signal.len() {
            let s = start as usize;
            for ((o, &x), &w) in out.iter_mut().zip(&signal[s..s + self.n_fft]).zip(&self.window) {
                *o = x * w;
            }
        } else {
            for (k, (o, &w)) in out.iter_mut().zip(&self.window).enumerate() {
                *o = source_index(start + k as isize, signal.len(), self.pad_mode)
                    .map_or(0.0, |i| signal[i] * w);
            }
        }
    }

    /// `|A[k]|^power` and `|B[k]|^power` of the two real frames packed in `z = fft(a + i b)`:
    /// `A[k] = (z[k] + conj(z[n-k])) / 2` and `B[k] = (z[k] - conj(z[n-k])) / 2i`.
    fn split_pair_power(&self, z: &[Complex32], power_a: &mut [f32], power_b: &mut [f32]) {
        let n = self.n_fft;
        let bins = self.n_bins();
        // Bin 0 pairs with itself; bins 1.. pair with n-1, n-2, ... (iterated in reverse so
        // the loop has no index arithmetic and vectorises).
        let mirrored = std::iter::once(&z[0]).chain(z[n + 1 - bins..].iter().rev());
        for (((x, y), a), b) in
            z[..bins].iter().zip(mirrored).zip(power_a.iter_mut()).zip(power_b.iter_mut())
        {
            let (sr, si) = (x.re + y.re, x.im - y.im);
            let (dr, di) = (x.re - y.re, x.im + y.im);
            *a = 0.25 * (sr * sr + si * si);
            *b = 0.25 * (dr * dr + di * di);
        }
        if self.power != 2.0 {
            raise_power(power_a, self.power);
            raise_power(power_b, self.power);
        }
    }
}

/// Turns squared magnitudes into `|X|^power`, with power 1 done without `powf`.
fn raise_power(squares: &mut [f32], power: f32) {
    if power == 1.0 {
        squares.iter_mut().for_each(|v| *v = v.sqrt());
    } else {
        squares.iter_mut().for_each(|v| *v = v.powf(power / 2.0));
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
        let idx: Vec<usize> =
            (-3..7).map(|i| source_index(i, 4, PadMode::Reflect).unwrap()).collect();
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
        let signal: Vec<f32> =
            (0..8192).map(|n| (2.0 * std::f32::consts::PI * f * n as f32 / sr).sin()).collect();
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
