//! Cutting a track into model inputs and computing their features.
//!
//! Rules (the same for training and inference):
//! - Windows start every hop while a whole window fits in the signal.
//! - If the audio after the last such window is at least half a hop long, one more window is
//!   added, aligned to the end of the signal, so the tail is heard without padding.
//! - A signal shorter than one window gives exactly one window, zero-padded at the end;
//!   [`WindowSpan::padded`] says so.
//! - An empty signal gives no window (callers report it as an error before this point).
//!
//! For [`Windowing::SpectrogramPatches`] the same rules apply to STFT frames of the
//! whole-track spectrogram instead of samples.

use crate::feature_config::{FeatureConfig, Windowing};
use crate::mel::MelExtractor;

/// Where one model input comes from in the track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSpan {
    /// First sample of the window (at the feature sample rate).
    pub start_sample: usize,
    /// One past the last real (non-padding) sample of the window.
    pub end_sample: usize,
    /// True when the window was zero-padded because the signal was shorter than a window.
    pub padded: bool,
}

impl WindowSpan {
    /// Start time in seconds.
    pub fn start_seconds(&self, sample_rate: u32) -> f64 {
        self.start_sample as f64 / sample_rate as f64
    }

    /// End time (of real audio) in seconds.
    pub fn end_seconds(&self, sample_rate: u32) -> f64 {
        self.end_sample as f64 / sample_rate as f64
    }
}

/// Start positions of `window`-long pieces of a `len`-long sequence, every `hop`
/// (see the module rules). Returns an empty list for `len == 0`.
pub fn window_starts(len: usize, window: usize, hop: usize) -> Vec<usize> {
    if len == 0 {
        return Vec::new();
    }
    if len <= window {
        return vec![0];
    }
    let mut starts: Vec<usize> = (0..).map(|k| k * hop).take_while(|s| s + window <= len).collect();
    let last_end = starts.last().map_or(0, |s| s + window);
    let tail = len - last_end;
    if tail * 2 >= hop && tail > 0 {
        starts.push(len - window);
    }
    starts
}

/// At most `max` of `starts`, evenly spread: the first and the last are kept and the rest
/// are taken at evenly spaced indices (`round(i * (n - 1) / (max - 1))`); one start keeps the
/// middle one. Fewer than `max` starts are returned as they are.
pub fn spread_evenly(starts: Vec<usize>, max: usize) -> Vec<usize> {
    let n = starts.len();
    if n <= max || max == 0 {
        return starts;
    }
    if max == 1 {
        return vec![starts[(n - 1) / 2]];
    }
    (0..max).map(|i| starts[(i * (n - 1) + (max - 1) / 2) / (max - 1)]).collect()
}

/// The features of every window of a track, contiguous so they can become one tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowFeatures {
    /// Mel bands per window.
    pub n_mels: usize,
    /// Frames per window.
    pub n_frames: usize,
    /// Where each window comes from.
    pub spans: Vec<WindowSpan>,
    /// `spans.len() * n_mels * n_frames` values: window-major, then band-major.
    pub data: Vec<f32>,
}

impl WindowFeatures {
    /// Number of windows.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when there is no window.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The windows at `indices` (each below [`len`](Self::len)), in that order.
    pub fn select(&self, indices: &[usize]) -> WindowFeatures {
        let mut data = Vec::with_capacity(indices.len() * self.n_mels * self.n_frames);
        for &i in indices {
            data.extend_from_slice(self.window(i));
        }
        WindowFeatures {
            n_mels: self.n_mels,
            n_frames: self.n_frames,
            spans: indices.iter().map(|&i| self.spans[i]).collect(),
            data,
        }
    }

    /// The band-major features of window `i`.
    pub fn window(&self, i: usize) -> &[f32] {
        let size = self.n_mels * self.n_frames;
        &self.data[i * size..(i + 1) * size]
    }
}

/// Cuts `signal` (mono, at `cfg.sample_rate`) into windows and computes each window's
/// log-Mel with `extractor` (built from the same `cfg`).
pub fn window_features(
    cfg: &FeatureConfig,
    extractor: &MelExtractor,
    signal: &[f32],
) -> WindowFeatures {
    let n_mels = extractor.n_mels();
    match cfg.windowing {
        Windowing::AudioWindows { window_samples, hop_samples } => {
            let n_frames = extractor.n_frames(window_samples);
            let size = n_mels * n_frames;
            let starts = window_starts(signal.len(), window_samples, hop_samples);
            let mut data = vec![0.0f32; starts.len() * size];
            let mut padded_buf = Vec::new();
            let spans = starts
                .iter()
                .zip(data.chunks_exact_mut(size))
                .map(|(&start, out)| {
                    let end = (start + window_samples).min(signal.len());
                    let padded = end - start < window_samples;
                    let piece = if padded {
                        padded_buf.clear();
                        padded_buf.extend_from_slice(&signal[start..end]);
                        padded_buf.resize(window_samples, 0.0);
                        &padded_buf[..]
                    } else {
                        &signal[start..end]
                    };
                    extractor.log_mel_into(piece, out);
                    WindowSpan { start_sample: start, end_sample: end, padded }
                })
                .collect();
            WindowFeatures { n_mels, n_frames, spans, data }
        }
        Windowing::SpectrogramPatches { patch_frames, hop_frames, max_patches } => {
            let hop = cfg.hop_length;
            // Pad short signals with zeros so the whole-track spectrogram has one full patch.
            let min_samples = (patch_frames - 1) * hop;
            let padded = signal.len() < min_samples;
            let owned;
            let source = if padded {
                owned = {
                    let mut v = signal.to_vec();
                    v.resize(min_samples, 0.0);
                    v
                };
                &owned[..]
            } else {
                signal
            };
            let full = extractor.log_mel(source);
            let starts = if signal.is_empty() {
                Vec::new()
            } else {
                let all = window_starts(full.n_frames, patch_frames, hop_frames);
                match max_patches {
                    Some(max) => spread_evenly(all, max),
                    None => all,
                }
            };
            let size = n_mels * patch_frames;
            let mut data = vec![0.0f32; starts.len() * size];
            let spans = starts
                .iter()
                .zip(data.chunks_exact_mut(size))
                .map(|(&start, out)| {
                    for band in 0..n_mels {
                        let row = &full.band(band)[start..start + patch_frames];
                        out[band * patch_frames..(band + 1) * patch_frames].copy_from_slice(row);
                    }
                    let start_sample = start * hop;
                    let end_sample = ((start + patch_frames) * hop).min(signal.len());
                    WindowSpan { start_sample, end_sample, padded }
                })
                .collect();
            WindowFeatures { n_mels, n_frames: patch_frames, spans, data }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_second_clip_gives_nineteen_windows() {
        // A GTZAN clip: 661_794 samples; 3 s windows every 1.5 s; the 294-sample tail is
        // under half a hop, so no extra window.
        let starts = window_starts(661_794, 66_150, 33_075);
        assert_eq!(starts.len(), 19);
        assert_eq!(*starts.last().unwrap(), 18 * 33_075);
    }

    #[test]
    fn long_tail_gets_an_end_aligned_window() {
        let starts = window_starts(100 + 20, 40, 20);
        assert_eq!(starts, vec![0, 20, 40, 60, 80]);
        let starts = window_starts(110, 40, 20);
        assert_eq!(starts, vec![0, 20, 40, 60, 70]);
        let starts = window_starts(105, 40, 20);
        assert_eq!(starts, vec![0, 20, 40, 60], "a 5-sample tail is under half a hop");
    }

    #[test]
    fn spreading_keeps_the_ends_and_even_gaps() {
        let starts: Vec<usize> = (0..10).map(|i| i * 187).collect();
        assert_eq!(spread_evenly(starts.clone(), 3), vec![0, 5 * 187, 9 * 187]);
        assert_eq!(spread_evenly(starts.clone(), 4), vec![0, 3 * 187, 6 * 187, 9 * 187]);
        assert_eq!(spread_evenly(starts.clone(), 1), vec![4 * 187]);
        assert_eq!(spread_evenly(starts.clone(), 10), starts);
        assert_eq!(spread_evenly(starts.clone(), 20), starts);
        assert_eq!(spread_evenly(vec![0, 5], 1), vec![0]);
    }

    #[test]
    fn patch_limit_picks_patches_of_the_full_grid() {
        let mut cfg = FeatureConfig::musicnn();
        let ex = MelExtractor::new(&cfg).unwrap();
        let signal: Vec<f32> =
            (0..16_000 * 30).map(|i| (i as f32 * 0.01).sin() * ((i / 7919) % 5) as f32).collect();
        let all = window_features(&cfg, &ex, &signal);
        assert_eq!(all.len(), 10);
        if let Windowing::SpectrogramPatches { max_patches, .. } = &mut cfg.windowing {
            *max_patches = Some(3);
        }
        let some = window_features(&cfg, &ex, &signal);
        assert_eq!(some.len(), 3);
        for (k, i) in [0, 5, 9].into_iter().enumerate() {
            assert_eq!(some.spans[k], all.spans[i]);
            assert_eq!(some.window(k), all.window(i));
        }
        assert_eq!(cfg.without_patch_limit(), FeatureConfig::musicnn());
    }

    #[test]
    fn short_and_empty_signals() {
        assert_eq!(window_starts(0, 40, 20), Vec::<usize>::new());
        assert_eq!(window_starts(1, 40, 20), vec![0]);
        assert_eq!(window_starts(40, 40, 20), vec![0]);
    }

    #[test]
    fn short_signal_is_padded_to_one_full_window() {
        let cfg = FeatureConfig::gtzan_default();
        let ex = MelExtractor::new(&cfg).unwrap();
        let signal: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.05).sin()).collect();
        let feats = window_features(&cfg, &ex, &signal);
        assert_eq!(feats.len(), 1);
        assert_eq!((feats.n_mels, feats.n_frames), (128, 130));
        assert!(feats.spans[0].padded);
        assert_eq!(feats.spans[0].end_sample, 1000);
        let mut padded = signal.clone();
        padded.resize(66_150, 0.0);
        assert_eq!(feats.window(0), &ex.log_mel(&padded).data[..]);
    }

    #[test]
    fn patches_slice_the_whole_track_spectrogram() {
        let cfg = FeatureConfig::musicnn();
        let ex = MelExtractor::new(&cfg).unwrap();
        let signal: Vec<f32> = (0..16_000 * 7).map(|i| (i as f32 * 0.01).sin() * 0.3).collect();
        let feats = window_features(&cfg, &ex, &signal);
        let full = ex.log_mel(&signal);
        assert_eq!(feats.n_frames, 187);
        assert_eq!(feats.len(), window_starts(full.n_frames, 187, 187).len());
        for (i, span) in feats.spans.iter().enumerate() {
            let f0 = span.start_sample / cfg.hop_length;
            assert_eq!(feats.window(i)[5 * 187 + 3], full.band(5)[f0 + 3]);
        }
    }
}
