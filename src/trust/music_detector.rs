//! [`MusicDetector`]: is this music at all? A logistic model on the backbone's per-patch
//! outputs (its penultimate layer, tag logits or pooled features), stored in the bundle of
//! the spectrogram model whose backbone it reads. A track's music probability is the mean of
//! its patches'; below the detector's threshold the verdict is `not_music`.
//!
//! The trainer fits it on the labelled collection (music) against speech, animals, room tone
//! and synthesised noise, tones, sweeps, clicks and babble (not music).

use serde::{Deserialize, Serialize};

/// Which backbone output the detector reads, per patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorInput {
    /// MusiCNN's 200-unit penultimate layer (after its batch norm).
    Penultimate,
    /// MusiCNN's 50 tag logits (before the sigmoid).
    TagLogits,
    /// MusiCNN's normalised temporal max and mean pools.
    Pools,
}

/// A logistic music / not-music model (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusicDetector {
    /// What it reads.
    pub input: DetectorInput,
    /// Training mean of each input value.
    pub mean: Vec<f32>,
    /// Training standard deviation of each input value (all > 0).
    pub std: Vec<f32>,
    /// One weight per standardised input value.
    pub weights: Vec<f32>,
    /// The bias.
    pub bias: f32,
    /// A track whose music probability is below this is not music.
    pub threshold: f32,
}

/// The detector's opinion of one track.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MusicScore {
    /// Probability that the track is music: the mean over its patches (0..1).
    pub probability: f32,
    /// The detector's threshold.
    pub threshold: f32,
}

impl MusicScore {
    /// True when the probability is at least the threshold.
    pub fn is_music(&self) -> bool {
        self.probability >= self.threshold
    }
}

impl MusicDetector {
    /// Checks lengths and values: one finite mean, positive std and finite weight per input
    /// value, a finite bias and a threshold within 0..1.
    pub fn validate(&self, input_len: usize) -> Result<(), String> {
        for (field, len) in
            [("mean", self.mean.len()), ("std", self.std.len()), ("weights", self.weights.len())]
        {
            if len != input_len {
                return Err(format!(
                    "music_detector {field} has {len} values, its input {:?} has {input_len}",
                    self.input
                ));
            }
        }
        let all_finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
        if !all_finite(&self.mean) || !all_finite(&self.weights) || !self.bias.is_finite() {
            return Err("music_detector mean, weights and bias must be finite".into());
        }
        if !self.std.iter().all(|s| s.is_finite() && *s > 0.0) {
            return Err("music_detector std must be finite and > 0".into());
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(format!(
                "music_detector threshold must be within 0..1, got {}",
                self.threshold
            ));
        }
        Ok(())
    }

    /// The music probability of one patch's input values.
    pub fn patch_probability(&self, values: &[f32]) -> f32 {
        let z: f64 = values
            .iter()
            .zip(&self.mean)
            .zip(&self.std)
            .zip(&self.weights)
            .map(|(((&x, &m), &s), &w)| ((x - m) / s) as f64 * w as f64)
            .sum::<f64>()
            + self.bias as f64;
        sigmoid(z) as f32
    }

    /// The track's score from its patches' input values (`rows`, one per patch).
    pub fn score<'a>(&self, rows: impl IntoIterator<Item = &'a [f32]>) -> MusicScore {
        let (mut sum, mut n) = (0.0f64, 0usize);
        for row in rows {
            sum += self.patch_probability(row) as f64;
            n += 1;
        }
        let probability = if n == 0 { 0.0 } else { (sum / n as f64) as f32 };
        MusicScore { probability, threshold: self.threshold }
    }
}

/// The logistic function, stable for large |z|.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector() -> MusicDetector {
        MusicDetector {
            input: DetectorInput::TagLogits,
            mean: vec![1.0, 0.0],
            std: vec![2.0, 1.0],
            weights: vec![3.0, -1.0],
            bias: 0.5,
            threshold: 0.5,
        }
    }

    #[test]
    fn probability_is_the_mean_of_the_patches_logistic() {
        let d = detector();
        // z = 3 * (3 - 1) / 2 - 1 * 0 + 0.5 = 3.5
        let p = d.patch_probability(&[3.0, 0.0]);
        assert!((p as f64 - sigmoid(3.5)).abs() < 1e-6);
        // z = 3 * (-1 - 1) / 2 - 1 * 0 + 0.5 = -2.5
        let score = d.score([[3.0f32, 0.0].as_slice(), [-1.0, 0.0].as_slice()]);
        let expected = (sigmoid(3.5) + sigmoid(-2.5)) / 2.0;
        assert!((score.probability as f64 - expected).abs() < 1e-6);
        assert!(score.is_music());
        assert_eq!(d.score(std::iter::empty()).probability, 0.0);
        assert!(sigmoid(-1000.0) >= 0.0 && sigmoid(1000.0) <= 1.0);
    }

    #[test]
    fn validation_names_what_is_wrong() {
        assert!(detector().validate(2).is_ok());
        assert!(detector().validate(3).unwrap_err().contains("mean has 2 values"));
        let bad = MusicDetector { std: vec![1.0, 0.0], ..detector() };
        assert!(bad.validate(2).unwrap_err().contains("std"));
        let bad = MusicDetector { threshold: 2.0, ..detector() };
        assert!(bad.validate(2).unwrap_err().contains("threshold"));
    }
}
