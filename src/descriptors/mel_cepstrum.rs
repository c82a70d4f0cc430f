//! The dB mel spectrogram shared by the MFCCs and the onset envelope, and the MFCCs
//! themselves (`librosa.feature.mfcc(n_mfcc=20)`: 128 Slaney mel bands up to Nyquist,
//! `power_to_db(ref=1, amin=1e-10, top_db=80)` over the whole clip, orthonormal DCT-II).

use super::spectrum::{N_BINS, N_FFT};
use super::N_MFCC;
use crate::feature_config::{Compression, MelNorm, MelScale};
use crate::mel::{compress_in_place, MelFilterbank};

/// Mel bands of the dB mel spectrogram.
pub const N_MELS: usize = 128;

/// The dB mel spectrogram of a frame-major power spectrogram, frame-major
/// (`out[t * N_MELS + m]`); the 80 dB floor is relative to the whole clip's maximum.
pub fn log_mel(power: &[f32], sample_rate: f64) -> Vec<f32> {
    let bank = MelFilterbank::new(
        sample_rate,
        N_FFT,
        N_MELS,
        0.0,
        sample_rate / 2.0,
        MelScale::Slaney,
        MelNorm::Slaney,
    );
    let mut out = Vec::with_capacity(power.len() / N_BINS * N_MELS);
    for frame in power.chunks_exact(N_BINS) {
        for band in &bank.bands {
            let bins = &frame[band.first_bin..band.first_bin + band.weights.len()];
            out.push(
                band.weights.iter().zip(bins).map(|(&w, &p)| w as f64 * p as f64).sum::<f64>()
                    as f32,
            );
        }
    }
    compress_in_place(
        &mut out,
        Compression::PowerToDb { ref_value: 1.0, amin: 1e-10, top_db: Some(80.0) },
    );
    out
}

/// The first [`N_MFCC`] coefficients of the orthonormal DCT-II of each dB mel frame,
/// coefficient-major (`out[k * n_frames + t]`).
pub fn mfcc(log_mel: &[f32]) -> Vec<f32> {
    let n = N_MELS as f64;
    let basis: Vec<f64> = (0..N_MFCC)
        .flat_map(|k| {
            let scale = if k == 0 { (1.0 / n).sqrt() } else { (2.0 / n).sqrt() };
            (0..N_MELS).map(move |m| {
                scale * (std::f64::consts::PI * k as f64 * (2 * m + 1) as f64 / (2.0 * n)).cos()
            })
        })
        .collect();
    let n_frames = log_mel.len() / N_MELS;
    let mut out = vec![0.0f32; N_MFCC * n_frames];
    for (t, frame) in log_mel.chunks_exact(N_MELS).enumerate() {
        for (k, row) in basis.chunks_exact(N_MELS).enumerate() {
            out[k * n_frames + t] =
                row.iter().zip(frame).map(|(&b, &x)| b * x as f64).sum::<f64>() as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_mel_frame_has_only_a_zeroth_coefficient() {
        let frame = vec![-20.0f32; N_MELS * 2];
        let c = mfcc(&frame);
        assert!((c[0] - (-20.0 * (N_MELS as f32).sqrt())).abs() < 1e-3);
        assert!(c[2..].iter().all(|v| v.abs() < 1e-4), "{c:?}");
    }

    #[test]
    fn the_floor_is_80_db_below_the_clip_maximum() {
        let mut power = vec![0.0f32; N_BINS * 2];
        power[N_BINS + 200] = 1.0;
        let db = log_mel(&power, 22050.0);
        let max = db.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let min = db.iter().copied().fold(f32::INFINITY, f32::min);
        assert!((max - min - 80.0).abs() < 1e-4, "{max} {min}");
        // The silent first frame sits on the floor everywhere.
        assert!(db[..N_MELS].iter().all(|&v| v == min));
    }
}
