//! The stretches of a track whose descriptors a table model sees: the table's rows are
//! 30-second clips, so a long recording is described in 30 s windows every 15 s, and a
//! clip up to half a hop longer than a window is described whole (a GTZAN clip's 30.01 s
//! give one row, exactly as the table has it).

use std::ops::Range;

use serde::{Deserialize, Serialize};

#[cfg(feature = "descriptors")]
use super::{frame_descriptors, DescriptorError};
use crate::segment::window_starts;

/// Window length and hop of the descriptor windows, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DescriptorWindowing {
    /// Length of one window in seconds.
    pub window_seconds: f64,
    /// Distance between window starts in seconds.
    pub hop_seconds: f64,
}

impl Default for DescriptorWindowing {
    /// 30 s windows every 15 s.
    fn default() -> Self {
        DescriptorWindowing { window_seconds: 30.0, hop_seconds: 15.0 }
    }
}

impl DescriptorWindowing {
    /// The sample ranges described for a track of `len` samples at `sample_rate`: the whole
    /// track when it is at most a window and half a hop long, otherwise windows every hop
    /// (the last aligned to the end, as [`window_starts`] places them).
    pub fn spans(&self, len: usize, sample_rate: u32) -> Vec<Range<usize>> {
        let window = (self.window_seconds * sample_rate as f64).round() as usize;
        let hop = ((self.hop_seconds * sample_rate as f64).round() as usize).max(1);
        if len <= window + hop / 2 {
            return if len == 0 { Vec::new() } else { std::iter::once(0..len).collect() };
        }
        window_starts(len, window, hop).into_iter().map(|s| s..s + window).collect()
    }
}

/// The 57 descriptor values of one window of a track.
#[cfg(feature = "descriptors")]
#[derive(Debug, Clone, PartialEq)]
pub struct WindowDescriptors {
    /// Samples of the track the window covers.
    pub span: Range<usize>,
    /// The values in [`super::column_names`] order.
    pub values: Vec<f64>,
}

/// Descriptors of every window of a mono track at [`super::SAMPLE_RATE`].
#[cfg(feature = "descriptors")]
pub fn describe_windows(
    samples: &[f32],
    sample_rate: u32,
    windowing: &DescriptorWindowing,
) -> Result<Vec<WindowDescriptors>, DescriptorError> {
    windowing
        .spans(samples.len(), sample_rate)
        .into_iter()
        .map(|span| {
            Ok(WindowDescriptors {
                values: frame_descriptors(&samples[span.clone()], sample_rate)?.summary(),
                span,
            })
        })
        .collect()
}

#[cfg(all(test, feature = "descriptors"))]
mod tests {
    use super::*;

    #[test]
    fn a_gtzan_clip_is_one_window_and_long_tracks_are_cut_every_15_s() {
        let w = DescriptorWindowing::default();
        assert_eq!(w.spans(661_794, 22050), vec![0..661_794]);
        assert_eq!(w.spans(1000, 22050), vec![0..1000]);
        assert!(w.spans(0, 22050).is_empty());
        // 60 s: windows at 0, 15 and 30 s.
        let spans = w.spans(60 * 22050, 22050);
        assert_eq!(spans, vec![0..661_500, 330_750..992_250, 661_500..1_323_000]);
        // 70 s: the 10 s tail after the 30 s window gets a window aligned to the end.
        let spans = w.spans(70 * 22050, 22050);
        assert_eq!(spans.last().unwrap(), &(70 * 22050 - 661_500..70 * 22050));
        assert_eq!(spans.len(), 4);
    }

    #[test]
    fn each_window_is_described_on_its_own() {
        let w = DescriptorWindowing { window_seconds: 1.0, hop_seconds: 1.0 };
        // 1 s of a 440 Hz tone, then 1 s of a 3 kHz tone.
        let signal: Vec<f32> = (0..44100)
            .map(|n| {
                let f = if n < 22050 { 440.0 } else { 3000.0 };
                (2.0 * std::f32::consts::PI * f * n as f32 / 22050.0).sin() * 0.3
            })
            .collect();
        let windows = describe_windows(&signal, 22050, &w).unwrap();
        assert_eq!(windows.len(), 2);
        let centroid_mean = |i: usize| windows[i].values[4];
        assert!(
            centroid_mean(0) < 1000.0 && centroid_mean(1) > 2500.0,
            "{} {}",
            centroid_mean(0),
            centroid_mean(1)
        );
        assert_eq!(
            describe_windows(&signal[..100], 22050, &w),
            Err(DescriptorError::TooShort { samples: 100, min_samples: 2048 })
        );
    }
}
