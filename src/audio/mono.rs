//! Mixing decoded frames down to mono while enforcing the duration limit and
//! finding non-finite samples.

use super::error::AudioError;
use super::DecodeLimits;

/// Collects interleaved frames of any channel count as their mean (librosa's `to_mono`).
pub(crate) struct MonoMixer {
    samples: Vec<f32>,
    sample_rate: u32,
    max_frames: usize,
    limits: DecodeLimits,
    non_finite: usize,
    first_non_finite: Option<usize>,
}

impl MonoMixer {
    /// A mixer for audio at `sample_rate` that refuses more than the limits' duration of it,
    /// or of samples ([`DecodeLimits::max_seconds_at`]).
    pub(crate) fn new(sample_rate: u32, limits: &DecodeLimits) -> Self {
        MonoMixer {
            samples: Vec::new(),
            sample_rate,
            max_frames: ((limits.max_duration_seconds * sample_rate as f64).ceil() as usize)
                .min(limits.max_mono_samples),
            limits: limits.clone(),
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
            let seconds = (self.samples.len() + frames) as f64 / self.sample_rate as f64;
            return Err(self.limits.too_long(seconds, self.sample_rate));
        }
        self.grow_for(frames);
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

    /// Makes room for `frames` more, doubling as a `Vec` does but never past the limit, so
    /// the buffer's capacity (its memory) stays within `max_frames` samples.
    fn grow_for(&mut self, frames: usize) {
        let needed = self.samples.len() + frames;
        if needed > self.samples.capacity() {
            let target = (self.samples.capacity() * 2).max(needed).min(self.max_frames);
            self.samples.reserve_exact(target - self.samples.len());
        }
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

    fn limits(seconds: f64) -> DecodeLimits {
        DecodeLimits { max_duration_seconds: seconds, ..DecodeLimits::default() }
    }

    #[test]
    fn stereo_is_averaged() {
        let mut m = MonoMixer::new(10, &limits(100.0));
        m.push_interleaved(&[1.0, 0.0, 0.5, 0.5, -1.0, 1.0], 2).unwrap();
        assert_eq!(m.finish().unwrap(), vec![0.5, 0.5, 0.0]);
    }

    #[test]
    fn nan_and_length_limits_are_reported() {
        let mut m = MonoMixer::new(10, &limits(100.0));
        m.push_interleaved(&[0.0, f32::NAN, f32::INFINITY], 1).unwrap();
        assert_eq!(m.finish(), Err(AudioError::NonFiniteSamples { count: 2, first_index: 1 }));
        let mut m = MonoMixer::new(10, &limits(1.0));
        assert!(matches!(m.push_interleaved(&[0.0; 11], 1), Err(AudioError::TooLong { .. })));
        assert_eq!(MonoMixer::new(10, &limits(1.0)).finish(), Err(AudioError::NoSamples));
    }

    #[test]
    fn high_rates_stop_at_the_sample_limit_before_the_duration_limit() {
        // 4 s allowed, but only 20 samples: at 10 Hz that is 2 s.
        let limits = DecodeLimits { max_mono_samples: 20, ..limits(4.0) };
        let mut m = MonoMixer::new(10, &limits);
        m.push_interleaved(&[0.0; 40], 2).unwrap();
        let err = m.push_interleaved(&[0.0; 2], 2).unwrap_err();
        assert_eq!(
            err,
            AudioError::TooManySamples { seconds: 2.1, sample_rate: 10, limit_seconds: 2.0 }
        );
        assert_eq!(
            err.to_string(),
            "the audio is at least 2.1 s long at 0.01 kHz; at that rate at most 2.0 s fit in \
             memory (convert it to 48 kHz or cut it)"
        );
        // The buffer grows by doubling, but never past the limit.
        let mut m = MonoMixer::new(10, &DecodeLimits { max_mono_samples: 24, ..limits });
        for _ in 0..12 {
            m.push_interleaved(&[0.0; 2], 1).unwrap();
        }
        assert_eq!(m.samples.capacity(), 24);
        // Past the duration limit itself it is the duration that is named.
        assert!(matches!(limits.too_long(5.0, 10), AudioError::TooLong { .. }));
        assert_eq!(limits.max_seconds_at(10), 2.0);
        assert_eq!(limits.max_seconds_at(1), 4.0);
    }
}
