//! Mel scales and the triangular mel filterbank, as `librosa.filters.mel` builds them.
//!
//! Pure functions: frequencies in, weights out. Weights are computed in f64 (as librosa
//! does) and stored sparsely, one contiguous run of FFT bins per band.

use crate::feature_config::{MelNorm, MelScale};

/// Converts a frequency in Hz to mels on the given scale.
pub fn hz_to_mel(hz: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 2595.0 * (1.0 + hz / 700.0).log10(),
        MelScale::Slaney => {
            let f_sp = 200.0 / 3.0;
            let min_log_hz = 1000.0;
            let min_log_mel = min_log_hz / f_sp;
            let logstep = 6.4f64.ln() / 27.0;
            if hz >= min_log_hz {
                min_log_mel + (hz / min_log_hz).ln() / logstep
            } else {
                hz / f_sp
            }
        }
    }
}

/// Converts mels back to Hz on the given scale (inverse of [`hz_to_mel`]).
pub fn mel_to_hz(mel: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 700.0 * (10f64.powf(mel / 2595.0) - 1.0),
        MelScale::Slaney => {
            let f_sp = 200.0 / 3.0;
            let min_log_hz = 1000.0;
            let min_log_mel = min_log_hz / f_sp;
            let logstep = 6.4f64.ln() / 27.0;
            if mel >= min_log_mel {
                min_log_hz * (logstep * (mel - min_log_mel)).exp()
            } else {
                f_sp * mel
            }
        }
    }
}

/// `n` frequencies in Hz evenly spaced on the mel scale from `fmin` to `fmax` inclusive
/// (`librosa.mel_frequencies`).
pub fn mel_frequencies(n: usize, fmin: f64, fmax: f64, scale: MelScale) -> Vec<f64> {
    let lo = hz_to_mel(fmin, scale);
    let hi = hz_to_mel(fmax, scale);
    linspace(lo, hi, n).into_iter().map(|m| mel_to_hz(m, scale)).collect()
}

/// numpy's `linspace(lo, hi, n)` (endpoint included), with numpy's rounding.
fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![lo],
        _ => {
            let step = (hi - lo) / (n - 1) as f64;
            let mut v: Vec<f64> = (0..n).map(|i| lo + i as f64 * step).collect();
            v[n - 1] = hi;
            v
        }
    }
}

/// One mel band: weights for the FFT bins `first_bin .. first_bin + weights.len()`.
#[derive(Debug, Clone, PartialEq)]
pub struct MelBand {
    /// Index of the first FFT bin with a non-zero weight.
    pub first_bin: usize,
    /// Weights of consecutive bins starting at `first_bin`.
    pub weights: Vec<f32>,
}

/// A mel filterbank of `n_mels` bands over `n_fft / 2 + 1` FFT bins.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilterbank {
    /// The bands, lowest first.
    pub bands: Vec<MelBand>,
    /// Number of FFT bins the bank applies to.
    pub n_bins: usize,
}

impl MelFilterbank {
    /// Builds the filterbank exactly as `librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax,
    /// htk, norm)` does (weights in f64, stored as f32).
    pub fn new(
        sample_rate: f64,
        n_fft: usize,
        n_mels: usize,
        fmin: f64,
        fmax: f64,
        scale: MelScale,
        norm: MelNorm,
    ) -> Self {
        let n_bins = n_fft / 2 + 1;
        // np.fft.rfftfreq(n_fft, d=1/sr), evaluated the way numpy does.
        let bin_hz = 1.0 / (n_fft as f64 * (1.0 / sample_rate));
        let fft_freqs: Vec<f64> = (0..n_bins).map(|i| i as f64 * bin_hz).collect();
        let mel_f = mel_frequencies(n_mels + 2, fmin, fmax, scale);
        let bands = (0..n_mels)
            .map(|i| {
                let (lo, centre, hi) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
                let enorm = match norm {
                    MelNorm::Slaney => 2.0 / (hi - lo),
                    MelNorm::None => 1.0,
                };
                let dense: Vec<f64> = fft_freqs
                    .iter()
                    .map(|&f| {
                        // librosa: lower = -(mel_f[i] - f) / fdiff[i]; upper = (mel_f[i+2] - f) / fdiff[i+1]
                        let lower = (f - lo) / (centre - lo);
                        let upper = (hi - f) / (hi - centre);
                        lower.min(upper).max(0.0) * enorm
                    })
                    .collect();
                let first = dense.iter().position(|&w| w > 0.0);
                match first {
                    None => MelBand { first_bin: 0, weights: Vec::new() },
                    Some(first) => {
                        let last = dense.iter().rposition(|&w| w > 0.0).unwrap_or(first);
                        MelBand {
                            first_bin: first,
                            weights: dense[first..=last].iter().map(|&w| w as f32).collect(),
                        }
                    }
                }
            })
            .collect();
        MelFilterbank { bands, n_bins }
    }

    /// Applies the bank to a block of up to [`FRAME_BLOCK`] power spectra stored bin-major
    /// (`block[bin * FRAME_BLOCK + lane]`), writing band `m` of lane `l` to
    /// `out[m * out_stride + l]` for the first `lanes` lanes.
    ///
    /// Working on several frames at once turns each weight into one vector multiply-add over
    /// the block, instead of a short dot product per band and frame (that loop overhead
    /// dominated the profile).
    pub fn apply_block(&self, block: &[f32], lanes: usize, out: &mut [f32], out_stride: usize) {
        for (m, band) in self.bands.iter().enumerate() {
            let mut acc = [0.0f32; FRAME_BLOCK];
            let rows = &block
                [band.first_bin * FRAME_BLOCK..(band.first_bin + band.weights.len()) * FRAME_BLOCK];
            for (&w, row) in band.weights.iter().zip(rows.chunks_exact(FRAME_BLOCK)) {
                for (a, &p) in acc.iter_mut().zip(row) {
                    *a += w * p;
                }
            }
            out[m * out_stride..m * out_stride + lanes].copy_from_slice(&acc[..lanes]);
        }
    }
}

/// Frames the filterbank processes together in [`MelFilterbank::apply_block`].
pub const FRAME_BLOCK: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips_and_is_linear_below_1khz() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 4000.0, 11025.0] {
            let back = mel_to_hz(hz_to_mel(hz, MelScale::Slaney), MelScale::Slaney);
            assert!((back - hz).abs() < 1e-9 * hz.max(1.0));
        }
        assert!((hz_to_mel(500.0, MelScale::Slaney) - 7.5).abs() < 1e-12);
        assert!((hz_to_mel(1000.0, MelScale::Slaney) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn htk_scale_matches_formula() {
        assert!((hz_to_mel(700.0, MelScale::Htk) - 2595.0 * 2f64.log10()).abs() < 1e-9);
        let back = mel_to_hz(hz_to_mel(3000.0, MelScale::Htk), MelScale::Htk);
        assert!((back - 3000.0).abs() < 1e-9);
    }

    #[test]
    fn slaney_bands_have_unit_area_in_hz() {
        let bank =
            MelFilterbank::new(22050.0, 2048, 128, 0.0, 11025.0, MelScale::Slaney, MelNorm::Slaney);
        assert_eq!(bank.bands.len(), 128);
        let bin_hz = 22050.0 / 2048.0;
        // A triangle of height 2/(hi-lo) over (hi-lo) Hz has area 1; sampled on bins of
        // width bin_hz, the sum of weights * bin_hz approaches 1 for wide bands.
        let top = &bank.bands[127];
        let area: f64 = top.weights.iter().map(|&w| w as f64 * bin_hz).sum();
        assert!((area - 1.0).abs() < 0.02, "area {area}");
    }
}
