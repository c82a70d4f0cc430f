//! Mixing decoded frames down to mono while enforcing the duration limit and
//! finding non-finite samples.

use super::error::AudioError;

/// Collects interleaved frames of any channel count as their mean (librosa's `to_mono`).
pub(crate) struct MonoMixer {
    samples: Vec<f32>,
    sample_rate: u32,
    max_frames: usize,
    limit_seconds: f64,
    non_finite: usize,
    first_non_finite: Option<usize>,
}

impl MonoMixer {
    /// A mixer for audio at `sample_rate` that refuses more than `limit_seconds` of it.
    pub(crate) fn new(sample_rate: u32, limit_seconds: f64) -> Self {
        MonoMixer {
            samples: Vec::new(),
            sample_rate,
            max_frames: (limit_seconds * sample_rate as f64).ceil() as usize,
            limit_seconds,
            non_finite: 0,
            first_non_finite: None,
        }
    }

    /// Reserves room for `frames` more frames (a hint from the container).
    pub(crate) fn reserve(&mut self, frames: usize) {
        self.samples.reserve(frames.min(self.max_frames));
    }

    /// Adds `interleaved` frames of `channels` channels.
    pub(crate) fn push_interleaved(
        &mut self,
        interleaved: &[f32],
        channels: usize,
    ) -> Result<(), AudioError> {
        let frames = interleaved.len() / channels;
        if self.samples.len() + frames > self.max_frames {
            return Err(AudioError::TooLong {
                seconds: (self.samples.len() + frames) as f64 / self.sample_rate as f64,
                limit_seconds: self.limit_seconds,
            });
        }
        let scale = 1.0 / channels as f32;
        for frame in interleaved.chunks_exact(channels) {
            let index = self.samples.len();
            let mut sum = 0.0f32;
            for &x in frame {
                if !x.is_finite() {
                    self.non_finite += 1;
                    self.first_non_finite.get_or_insert(index);
                }
                sum += x;
            }
            self.samples.push(if channels == 1 { sum } else { sum * scale });
        }
        Ok(())
    }

    /// Number of frames collected so far.
    pub(crate) fn len(&self) -> usize {
        self.samples.len()
    }

    /// The mono samples, or the error that the audio was empty or not finite.
    pub(crate) fn finish(self) -> Result<Vec<f32>, AudioError> {
        if let Some(first_index) = self.first_non_finite {
            return Err(AudioError::NonFiniteSamples { count: self.non_finite, first_index });
        }
        if self.samples.is_empty() {
            return Err(AudioError::NoSamples);
        }
        Ok(self.samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_is_averaged() {
        let mut m = MonoMixer::new(10, 100.0);
        m.push_interleaved(&[1.0, 0.0, 0.5, 0.5, -1.0, 1.0], 2).unwrap();
        assert_eq!(m.finish().unwrap(), vec![0.5, 0.5, 0.0]);
    }

    #[test]
    fn nan_and_length_limits_are_reported() {
        let mut m = MonoMixer::new(10, 100.0);
        m.push_interleaved(&[0.0, f32::NAN, f32::INFINITY], 1).unwrap();
        assert_eq!(m.finish(), Err(AudioError::NonFiniteSamples { count: 2, first_index: 1 }));
        let mut m = MonoMixer::new(10, 1.0);
        assert!(matches!(m.push_interleaved(&[0.0; 11], 1), Err(AudioError::TooLong { .. })));
        assert_eq!(MonoMixer::new(10, 1.0).finish(), Err(AudioError::NoSamples));
    }
}
