//! A whole-track log-Mel image for display, assembled from the model's overlapping windows.
//!
//! The classifier computes the log-Mel of each window on its own (windows overlap, and each
//! has its own centre padding), so there is no whole-track spectrogram to show. This module
//! lays the windows side by side without overlap: each column of the image (one STFT hop of
//! the track) is taken from the window whose centre is nearest, which avoids the padded edges
//! of the windows wherever a neighbour covers them. No DSP is redone, so showing the image
//! costs a copy.

use crate::segment::WindowFeatures;

/// A band-major image: `data[band * columns + column]`, band 0 the lowest frequency.
#[derive(Debug, Clone, PartialEq)]
pub struct MelImage {
    /// Mel bands (rows).
    pub bands: usize,
    /// Time columns.
    pub columns: usize,
    /// Track time covered by one column, in seconds.
    pub seconds_per_column: f64,
    /// `bands * columns` values (dB for the default front end).
    pub data: Vec<f32>,
    /// Smallest finite value (0 when there is none).
    pub min: f32,
    /// Largest finite value (0 when there is none).
    pub max: f32,
}

/// Builds the image of a track from its window features.
///
/// `hop_length` is the STFT hop in samples and `sample_rate` the feature rate, both from the
/// feature config. At most `max_columns` columns are produced (at least 1): a longer track is
/// decimated evenly. An empty feature set gives an empty image.
pub fn mel_image(
    features: &WindowFeatures,
    hop_length: usize,
    sample_rate: u32,
    max_columns: usize,
) -> MelImage {
    let bands = features.n_mels;
    let frames = features.n_frames;
    let hop = hop_length.max(1);
    let track_samples = features.spans.iter().map(|s| s.end_sample).max().unwrap_or(0);
    if features.is_empty() || bands == 0 || frames == 0 || track_samples == 0 {
        return MelImage {
            bands,
            columns: 0,
            seconds_per_column: 0.0,
            data: Vec::new(),
            min: 0.0,
            max: 0.0,
        };
    }
    let track_columns = track_samples.div_ceil(hop).max(1);
    let columns = track_columns.min(max_columns.max(1));
    let step = track_columns as f64 / columns as f64;
    let window_len = (frames - 1) * hop;
    let centres: Vec<f64> =
        features.spans.iter().map(|s| s.start_sample as f64 + window_len as f64 / 2.0).collect();

    let mut data = vec![0.0f32; bands * columns];
    let mut window = 0usize;
    for col in 0..columns {
        let t = ((col as f64 + 0.5) * step).floor().min((track_columns - 1) as f64);
        let sample = t * hop as f64;
        // Window centres increase with the index, so the nearest one only moves forward.
        while window + 1 < centres.len()
            && (centres[window + 1] - sample).abs() <= (centres[window] - sample).abs()
        {
            window += 1;
        }
        let start = features.spans[window].start_sample as f64;
        let frame =
            ((sample - start) / hop as f64).round().clamp(0.0, (frames - 1) as f64) as usize;
        let w = features.window(window);
        for band in 0..bands {
            data[band * columns + col] = w[band * frames + frame];
        }
    }
    let (mut min, mut max) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in data.iter().filter(|v| v.is_finite()) {
        min = min.min(v);
        max = max.max(v);
    }
    if min > max {
        (min, max) = (0.0, 0.0);
    }
    let seconds_per_column = step * hop as f64 / sample_rate.max(1) as f64;
    MelImage { bands, columns, seconds_per_column, data, min, max }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::WindowSpan;

    /// Windows whose value at (band, frame) encodes the window, band and frame.
    fn fake(
        starts: &[usize],
        bands: usize,
        frames: usize,
        hop: usize,
        len: usize,
    ) -> WindowFeatures {
        let mut data = Vec::new();
        let spans = starts
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                for b in 0..bands {
                    for f in 0..frames {
                        data.push((i * 10_000 + b * 1000 + f) as f32);
                    }
                }
                let window = (frames - 1) * hop;
                WindowSpan {
                    start_sample: s,
                    end_sample: (s + window).min(len),
                    padded: s + window > len,
                }
            })
            .collect();
        WindowFeatures { n_mels: bands, n_frames: frames, spans, data }
    }

    #[test]
    fn overlapping_windows_are_laid_side_by_side() {
        // Windows of 10 frames (9 hops of 100 samples) every 450 samples, 1800-sample track.
        let f = fake(&[0, 450, 900], 2, 10, 100, 1800);
        let img = mel_image(&f, 100, 1000, 10_000);
        assert_eq!((img.bands, img.columns), (2, 18));
        let row0: Vec<f32> = img.data[..18].to_vec();
        // Columns map to (window, frame) pairs moving forward in time.
        assert_eq!(row0[0], 0.0);
        assert_eq!(row0[3], 3.0);
        assert_eq!(row0[7], 10_000.0 + 3.0, "the middle window covers the middle of the track");
        assert_eq!(row0[17], 20_000.0 + 8.0);
        assert_eq!(img.data[18 + 3], 1000.0 + 3.0, "band 1 comes from the same frame");
        assert_eq!(img.min, 0.0);
        assert!((img.seconds_per_column - 0.1).abs() < 1e-12);
    }

    #[test]
    fn long_tracks_are_decimated_and_empty_input_gives_an_empty_image() {
        let f = fake(&[0, 450, 900], 2, 10, 100, 1800);
        let img = mel_image(&f, 100, 1000, 6);
        assert_eq!(img.columns, 6);
        assert_eq!(img.data.len(), 12);
        assert!((img.seconds_per_column - 0.3).abs() < 1e-12);
        let empty = WindowFeatures { n_mels: 2, n_frames: 10, spans: vec![], data: vec![] };
        assert_eq!(mel_image(&empty, 100, 1000, 10).columns, 0);
    }

    #[test]
    fn short_padded_track_shows_only_its_audio() {
        let f = fake(&[0], 3, 10, 100, 250);
        let img = mel_image(&f, 100, 1000, 100);
        assert_eq!(img.columns, 3);
        assert_eq!(&img.data[..3], &[0.0, 1.0, 2.0]);
        assert_eq!(img.max, 2002.0);
    }
}
