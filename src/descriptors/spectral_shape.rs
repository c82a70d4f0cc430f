//! Spectral centroid, bandwidth and 85 % roll-off of each magnitude frame
//! (`librosa.feature.spectral_centroid`, `spectral_bandwidth`, `spectral_rolloff`).

use super::spectrum::N_BINS;

/// The three shape descriptors, one value per frame.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralShape {
    /// Magnitude-weighted mean frequency in Hz.
    pub centroid: Vec<f64>,
    /// Magnitude-weighted standard deviation around the centroid in Hz.
    pub bandwidth: Vec<f64>,
    /// Lowest frequency below which 85 % of the frame's magnitude lies, in Hz.
    pub rolloff: Vec<f64>,
}

/// Shape descriptors of frame-major magnitudes (`N_BINS` per frame), with `frequencies`
/// the bin centres in Hz.
pub fn spectral_shape(magnitudes: &[f32], frequencies: &[f64]) -> SpectralShape {
    let n_frames = magnitudes.len() / N_BINS;
    let mut shape = SpectralShape {
        centroid: Vec::with_capacity(n_frames),
        bandwidth: Vec::with_capacity(n_frames),
        rolloff: Vec::with_capacity(n_frames),
    };
    for frame in magnitudes.chunks_exact(N_BINS) {
        // librosa normalises in float32 and leaves (near-)silent frames as they are.
        let total: f32 = frame.iter().sum();
        let scale = if total < f32::MIN_POSITIVE { 1.0 } else { total };
        let normalised = frame.iter().map(|&m| (m / scale) as f64);
        let centroid: f64 = normalised.clone().zip(frequencies).map(|(w, &f)| w * f).sum();
        let spread: f64 =
            normalised.zip(frequencies).map(|(w, &f)| w * (f - centroid).powi(2)).sum();
        shape.centroid.push(centroid);
        shape.bandwidth.push(spread.sqrt());
        shape.rolloff.push(rolloff(frame, total, frequencies, 0.85));
    }
    shape
}

/// The first bin frequency whose float32 running sum reaches `fraction` of the frame's
/// `total` (0 for a silent frame).
fn rolloff(frame: &[f32], total: f32, frequencies: &[f64], fraction: f32) -> f64 {
    let threshold = fraction * total;
    let mut running = 0.0f32;
    for (&m, &f) in frame.iter().zip(frequencies) {
        running += m;
        if running >= threshold {
            return f;
        }
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptors::spectrum::bin_frequencies;

    #[test]
    fn a_single_bin_has_its_frequency_and_no_spread() {
        let freqs = bin_frequencies(22050.0);
        let mut frame = vec![0.0f32; N_BINS];
        frame[100] = 2.0;
        let s = spectral_shape(&frame, &freqs);
        assert!((s.centroid[0] - freqs[100]).abs() < 1e-9);
        assert!(s.bandwidth[0].abs() < 1e-9);
        assert_eq!(s.rolloff[0], freqs[100]);
    }

    #[test]
    fn two_equal_bins_centre_between_them_and_silence_gives_zero() {
        let freqs = bin_frequencies(22050.0);
        let mut frame = vec![0.0f32; 2 * N_BINS];
        frame[10] = 1.0;
        frame[30] = 1.0;
        let s = spectral_shape(&frame, &freqs);
        assert!((s.centroid[0] - freqs[20]).abs() < 1e-9);
        assert!((s.bandwidth[0] - (freqs[30] - freqs[20])).abs() < 1e-9);
        assert_eq!(s.rolloff[0], freqs[30]);
        assert_eq!((s.centroid[1], s.bandwidth[1], s.rolloff[1]), (0.0, 0.0, 0.0));
    }
}
