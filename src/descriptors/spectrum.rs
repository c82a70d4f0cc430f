//! The complex STFT behind every spectral descriptor, and its inverse, framed the way the
//! feature table was made: n_fft 2048, hop 512, periodic Hann, centred frames padded with
//! numpy's "reflect" (librosa's default before 0.9).

use rustfft::num_complex::{Complex32, Complex64};
use rustfft::FftPlanner;

use crate::feature_config::PadMode;
use crate::mel::source_index;

pub(super) use super::N_FFT;

/// Distance between frame starts in samples.
pub const HOP: usize = 512;
/// FFT bins per frame (`N_FFT / 2 + 1`).
pub const N_BINS: usize = N_FFT / 2 + 1;

/// Frames of a centred STFT of `n_samples`: `1 + n_samples / HOP`.
pub fn frame_count(n_samples: usize) -> usize {
    1 + n_samples / HOP
}

/// Centre frequency in Hz of each FFT bin (`np.fft.rfftfreq(N_FFT, 1 / sample_rate)`).
pub fn bin_frequencies(sample_rate: f64) -> Vec<f64> {
    let bin_hz = 1.0 / (N_FFT as f64 * (1.0 / sample_rate));
    (0..N_BINS).map(|k| k as f64 * bin_hz).collect()
}

/// Periodic Hann window of `len` samples in f64 (`scipy.signal.get_window("hann", len)`).
pub(crate) fn periodic_hann_f64(len: usize) -> Vec<f64> {
    (0..len)
        .map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / len as f64).cos())
        .collect()
}

/// A complex spectrogram stored frame by frame: bin `k` of frame `t` is `bins[t * N_BINS + k]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrogram {
    /// Number of frames.
    pub n_frames: usize,
    /// The STFT values, frame-major.
    pub bins: Vec<Complex32>,
}

impl Spectrogram {
    /// `|X|` of every bin, in the same layout (float32, as `np.abs` of complex64).
    pub fn magnitudes(&self) -> Vec<f32> {
        self.bins.iter().map(|z| z.norm()).collect()
    }

    /// `|X|^2` of every bin, in the same layout.
    pub fn powers(&self) -> Vec<f32> {
        self.bins.iter().map(|z| z.norm().powi(2)).collect()
    }
}

/// Sample `i` of `samples` padded with numpy's "reflect" (the edge is not repeated), for
/// any offset `i`.
pub(super) fn reflect_padded(samples: &[f32]) -> impl Fn(isize) -> f32 + '_ {
    move |i| samples[source_index(i, samples.len(), PadMode::Reflect).unwrap_or(0)]
}

/// Calls `each(frame)` with every centred frame of `N_FFT` samples of a signal of
/// `n_samples`, the padding given by `sample_at(padded_index)`.
pub(super) fn for_each_frame(
    n_samples: usize,
    sample_at: impl Fn(isize) -> f32,
    mut each: impl FnMut(&[f32]),
) {
    let mut frame = vec![0.0f32; N_FFT];
    for t in 0..frame_count(n_samples) {
        let start = (t * HOP) as isize - (N_FFT / 2) as isize;
        for (n, x) in frame.iter_mut().enumerate() {
            *x = sample_at(start + n as isize);
        }
        each(&frame);
    }
}

/// The STFT of `samples` (at least one sample): each reflect-padded frame times the window,
/// transformed in f64 and stored as complex64, as `librosa.stft(y, pad_mode="reflect")`
/// does for float32 input.
pub fn stft(samples: &[f32]) -> Spectrogram {
    let window = periodic_hann_f64(N_FFT);
    let fft = FftPlanner::<f64>::new().plan_fft_forward(N_FFT);
    let n_frames = frame_count(samples.len());
    let mut buffer = vec![Complex64::default(); N_FFT];
    let mut scratch = vec![Complex64::default(); fft.get_inplace_scratch_len()];
    let mut bins = Vec::with_capacity(n_frames * N_BINS);
    for_each_frame(samples.len(), reflect_padded(samples), |frame| {
        for ((z, &w), &x) in buffer.iter_mut().zip(&window).zip(frame) {
            *z = Complex64::new(w * x as f64, 0.0);
        }
        fft.process_with_scratch(&mut buffer, &mut scratch);
        bins.extend(buffer[..N_BINS].iter().map(|z| Complex32::new(z.re as f32, z.im as f32)));
    });
    Spectrogram { n_frames, bins }
}

/// The inverse STFT as librosa before 0.9 made the HPSS signals: windowed overlap-add
/// divided by the window's sum of squares, `HOP * (n_frames - 1)` samples after dropping
/// the centring, then zero-padded (or cut) to `length` (`fix_length(istft(D), length)`).
pub fn istft_legacy(spectrogram: &Spectrogram, length: usize) -> Vec<f32> {
    let frames = spectrogram.bins.chunks_exact(N_BINS);
    overlap_add(
        spectrogram.n_frames,
        length,
        frames.map(|frame| {
            move |buffer: &mut [Complex64]| {
                // The Hermitian spectrum of a real frame; the imaginary parts of the DC and
                // Nyquist bins are ignored, as irfft does.
                buffer[0] = Complex64::new(frame[0].re as f64, 0.0);
                buffer[N_FFT / 2] = Complex64::new(frame[N_FFT / 2].re as f64, 0.0);
                for k in 1..N_FFT / 2 {
                    let z = wide(frame[k]);
                    buffer[k] = z;
                    buffer[N_FFT - k] = z.conj();
                }
            }
        }),
    )
    .0
}

/// [`istft_legacy`] of two spectrograms of `n_frames` frames each (the HPSS signals) with half
/// the transforms: both real signals come out of one complex inverse transform per frame, the
/// first as its real part and the second as its imaginary part. The same values in exact
/// arithmetic; in f64, the two differ from separate transforms by rounding only.
pub(super) fn istft_legacy_pair(
    first: &Spectrogram,
    second: &Spectrogram,
    length: usize,
) -> (Vec<f32>, Vec<f32>) {
    let n_frames = first.n_frames.min(second.n_frames);
    let frames = first.bins.chunks_exact(N_BINS).zip(second.bins.chunks_exact(N_BINS));
    overlap_add(
        n_frames,
        length,
        frames.map(|(a, b)| {
            move |buffer: &mut [Complex64]| {
                // A + iB of the two Hermitian spectra (see `istft_legacy`).
                let edge = |k: usize| Complex64::new(a[k].re as f64, b[k].re as f64);
                buffer[0] = edge(0);
                buffer[N_FFT / 2] = edge(N_FFT / 2);
                let i = Complex64::new(0.0, 1.0);
                for k in 1..N_FFT / 2 {
                    let (x, y) = (wide(a[k]), wide(b[k]));
                    buffer[k] = x + i * y;
                    buffer[N_FFT - k] = x.conj() + i * y.conj();
                }
            }
        }),
    )
}

fn wide(z: Complex32) -> Complex64 {
    Complex64::new(z.re as f64, z.im as f64)
}

/// The inverse transforms of `n_frames` frames, each spectrum written by one of `frames`,
/// windowed and overlap-added as [`istft_legacy`] describes: the real parts' signal and the
/// imaginary parts' signal.
fn overlap_add<F: FnOnce(&mut [Complex64])>(
    n_frames: usize,
    length: usize,
    frames: impl Iterator<Item = F>,
) -> (Vec<f32>, Vec<f32>) {
    let window = periodic_hann_f64(N_FFT);
    let ifft = FftPlanner::<f64>::new().plan_fft_inverse(N_FFT);
    let total = N_FFT + HOP * n_frames.saturating_sub(1);
    let mut real = vec![0.0f64; total];
    let mut imaginary = vec![0.0f64; total];
    let mut window_power = vec![0.0f64; total];
    let mut buffer = vec![Complex64::default(); N_FFT];
    let mut scratch = vec![Complex64::default(); ifft.get_inplace_scratch_len()];
    for (t, fill) in frames.take(n_frames).enumerate() {
        fill(&mut buffer);
        ifft.process_with_scratch(&mut buffer, &mut scratch);
        let offset = t * HOP;
        for (n, (z, &w)) in buffer.iter().zip(&window).enumerate() {
            real[offset + n] += w * z.re / N_FFT as f64;
            imaginary[offset + n] += w * z.im / N_FFT as f64;
            window_power[offset + n] += w * w;
        }
    }
    let finish = |mut signal: Vec<f64>| {
        for (y, &p) in signal.iter_mut().zip(&window_power) {
            if p > f32::MIN_POSITIVE as f64 {
                *y /= p;
            }
        }
        let kept = &signal[N_FFT / 2..total - N_FFT / 2];
        let mut out = vec![0.0f32; length];
        for (o, &y) in out.iter_mut().zip(kept) {
            *o = y as f32;
        }
        out
    };
    (finish(real), finish(imaginary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_follow_the_centred_count() {
        assert_eq!(frame_count(661_794), 1293);
        assert_eq!(frame_count(2048), 5);
        assert_eq!(stft(&vec![0.5; 3000]).n_frames, 6);
    }

    #[test]
    fn inverse_restores_the_signal_except_the_legacy_tail() {
        let n = 5000;
        let signal: Vec<f32> = (0..n)
            .map(|i| ((i as f32 * 0.07).sin() + 0.3 * (i as f32 * 0.31).cos()) * 0.5)
            .collect();
        let back = istft_legacy(&stft(&signal), n);
        let reconstructed = HOP * (frame_count(n) - 1);
        assert_eq!(reconstructed, 4608);
        for i in 0..reconstructed {
            assert!((back[i] - signal[i]).abs() < 1e-5, "sample {i}: {} vs {}", back[i], signal[i]);
        }
        assert!(back[reconstructed..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn two_signals_invert_together_as_each_alone() {
        let n = 9000;
        let tone = |f: f32| -> Vec<f32> {
            (0..n).map(|i| (i as f32 * f).sin() * 0.4 + (i as f32 * f * 3.7).cos() * 0.1).collect()
        };
        let (a, b) = (stft(&tone(0.05)), stft(&tone(0.23)));
        let (pa, pb) = istft_legacy_pair(&a, &b, n);
        for (pair, alone) in [(pa, istft_legacy(&a, n)), (pb, istft_legacy(&b, n))] {
            assert_eq!(pair.len(), n);
            let worst = pair.iter().zip(&alone).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
            assert!(worst < 1e-6, "{worst}");
            assert!(alone.iter().any(|&v| v.abs() > 0.1));
        }
    }
}
