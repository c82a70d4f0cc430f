//! Per-band standardisation statistics from the training split only.

use genrescope::bundle::Normalisation;
use genrescope::segment::WindowFeatures;

/// Mean and standard deviation of every mel band over all frames of all windows given.
/// A band with (near) zero spread gets std 1 so standardising never divides by zero.
pub fn band_statistics<'a>(
    windows: impl IntoIterator<Item = &'a WindowFeatures>,
    n_mels: usize,
) -> Normalisation {
    let mut sum = vec![0.0f64; n_mels];
    let mut sum_sq = vec![0.0f64; n_mels];
    let mut count = 0u64;
    for feats in windows {
        for w in 0..feats.len() {
            for (band, row) in feats.window(w).chunks_exact(feats.n_frames).enumerate() {
                for &v in row {
                    sum[band] += v as f64;
                    sum_sq[band] += (v as f64) * (v as f64);
                }
            }
            count += feats.n_frames as u64;
        }
    }
    let n = count.max(1) as f64;
    let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
    let std = sum_sq
        .iter()
        .zip(&sum)
        .map(|(sq, s)| {
            let var = (sq / n - (s / n).powi(2)).max(0.0);
            let sd = var.sqrt();
            if sd > 1e-6 {
                sd as f32
            } else {
                1.0
            }
        })
        .collect();
    Normalisation { mean, std }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genrescope::segment::WindowSpan;

    #[test]
    fn statistics_per_band() {
        let span = WindowSpan { start_sample: 0, end_sample: 1, padded: false };
        // 2 bands x 2 frames per window, two windows.
        let feats = WindowFeatures {
            n_mels: 2,
            n_frames: 2,
            spans: vec![span, span],
            data: vec![1.0, 3.0, 5.0, 5.0, 1.0, 3.0, 5.0, 5.0],
        };
        let stats = band_statistics([&feats], 2);
        assert_eq!(stats.mean, vec![2.0, 5.0]);
        assert_eq!(stats.std, vec![1.0, 1.0], "band 1 has no spread and gets std 1");
    }
}
