//! The typed result of classifying one track ([`Classification`]) and the small numeric
//! helpers every model uses to build it (softmax, mean, ranking).

use serde::{Deserialize, Serialize};

use super::parts::Coverage;

use crate::bundle::ModelKind;
use crate::trust::verdict::Evidence;
use crate::trust::{MusicScore, SignalLevel, Verdict};

/// A label with its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelScore {
    /// The genre.
    pub label: String,
    /// Its probability (0..1).
    pub probability: f32,
}

/// The model's view of one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowResult {
    /// Start of the window in the track, in seconds.
    pub start_seconds: f64,
    /// End of the real audio in the window, in seconds.
    pub end_seconds: f64,
    /// The window was zero-padded (the track is shorter than a window).
    pub padded: bool,
    /// Probabilities in label order.
    pub probabilities: Vec<f32>,
}

/// The result for a whole track.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// Labels in model output order.
    pub labels: Vec<String>,
    /// Track probabilities: the mean of the window probabilities, in label order.
    pub probabilities: Vec<f32>,
    /// Per-label count of windows whose most likely label it is (majority vote).
    pub votes: Vec<usize>,
    /// All labels, most likely first.
    pub ranking: Vec<LabelScore>,
    /// The per-window timeline.
    pub windows: Vec<WindowResult>,
    /// For a fusion: each member's own result and how much it counted (empty otherwise).
    pub members: Vec<MemberResult>,
    /// What the answer is: a genre, unsure between two, not music, or silence
    /// ([`Verdict`]).
    pub verdict: Verdict,
    /// The backbone's Million Song Dataset tags with their probabilities (the mean over
    /// patches of each tag's sigmoid), most likely first; empty when the model has none.
    pub tags: Vec<LabelScore>,
    /// The music detector's score; `None` when the model has no detector.
    pub music: Option<MusicScore>,
    /// The input's level (silence, DC offset, scaling); `None` for a member's own result.
    pub signal: Option<SignalLevel>,
    /// How much of the track this result covers (a first answer covers a few windows).
    pub coverage: Coverage,
}

/// One member's opinion within a fused [`Classification`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberResult {
    /// The member's name in the bundle.
    pub name: String,
    /// What the member is.
    pub kind: ModelKind,
    /// Its weight in this result (renormalised over the members used; 0 when skipped).
    pub weight: f64,
    /// Why it was left out of this result (too short for it, ...); `None` when it counted.
    pub skipped: Option<String>,
    /// Its track probabilities, in label order (empty when skipped).
    pub probabilities: Vec<f32>,
    /// Its windows (3 s patches, 30 s descriptor windows, ...).
    pub windows: Vec<WindowResult>,
}

impl Classification {
    /// The track result from per-window results: mean probabilities, majority votes and the
    /// ranking; the verdict is the top label until [`Ensemble`](super::Ensemble) decides it.
    pub fn from_windows(labels: Vec<String>, windows: Vec<WindowResult>) -> Self {
        let per_window: Vec<Vec<f32>> = windows.iter().map(|w| w.probabilities.clone()).collect();
        let probabilities = mean_probabilities(&per_window, labels.len());
        let mut votes = vec![0usize; labels.len()];
        for p in &per_window {
            votes[argmax(p)] += 1;
        }
        Self::from_probabilities(labels, probabilities, votes, windows)
    }

    /// A result from track probabilities, votes and windows, with no members, tags, music
    /// score or signal, and the top label as its verdict.
    pub fn from_probabilities(
        labels: Vec<String>,
        probabilities: Vec<f32>,
        votes: Vec<usize>,
        windows: Vec<WindowResult>,
    ) -> Self {
        let ranking = rank(&labels, &probabilities);
        let verdict = Verdict::decide(Evidence {
            ranking: &ranking,
            level: None,
            music: None,
            uncertain_below: 0.0,
        });
        Classification {
            labels,
            probabilities,
            votes,
            ranking,
            windows,
            members: Vec::new(),
            verdict,
            tags: Vec::new(),
            music: None,
            signal: None,
            coverage: Coverage::default(),
        }
    }

    /// Replaces the track probabilities (e.g. calibrated ones) and re-ranks.
    pub fn set_probabilities(&mut self, probabilities: Vec<f32>) {
        self.ranking = rank(&self.labels, &probabilities);
        self.probabilities = probabilities;
    }

    /// The first non-finite probability (track, window or member), as an error: no result
    /// with NaN or infinity ever reaches a user.
    pub fn check_finite(&self) -> Result<(), super::ClassifyError> {
        let finite = |p: &[f32]| p.iter().all(|x| x.is_finite());
        let ok = finite(&self.probabilities)
            && self.windows.iter().all(|w| finite(&w.probabilities))
            && self.members.iter().all(|m| finite(&m.probabilities))
            && self.tags.iter().all(|t| t.probability.is_finite());
        if ok {
            Ok(())
        } else {
            Err(super::ClassifyError::Backend(
                "the model gave a probability that is not a finite number".into(),
            ))
        }
    }

    /// The `k` most likely labels.
    pub fn top(&self, k: usize) -> &[LabelScore] {
        &self.ranking[..k.min(self.ranking.len())]
    }
}

/// Every label with its probability, most likely first.
pub fn rank(labels: &[String], probabilities: &[f32]) -> Vec<LabelScore> {
    let mut ranking: Vec<LabelScore> = labels
        .iter()
        .zip(probabilities)
        .map(|(label, &probability)| LabelScore { label: label.clone(), probability })
        .collect();
    ranking.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    ranking
}

/// Numerically stable softmax of one row of logits.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = logits.iter().map(|&l| ((l - max) as f64).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| (e / sum) as f32).collect()
}

/// Per-label mean of window probabilities (the track-level aggregate).
pub fn mean_probabilities(windows: &[Vec<f32>], n_labels: usize) -> Vec<f32> {
    let mut sum = vec![0.0f64; n_labels];
    for p in windows {
        for (s, &v) in sum.iter_mut().zip(p) {
            *s += v as f64;
        }
    }
    let n = windows.len().max(1) as f64;
    sum.iter().map(|s| (s / n) as f32).collect()
}

/// Largest absolute difference between two equally long lists of values (infinite when
/// their lengths differ or a difference is not finite): how far two runs' probabilities are
/// apart.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, |m, d| {
        if d.is_nan() {
            f32::INFINITY
        } else {
            m.max(d)
        }
    })
}

/// Index of the largest value (the first one on ties).
pub fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold(0, |best, (i, &v)| if v > values[best] { i } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let p = softmax(&[1000.0, 1000.0, -1000.0]);
        assert!((p[0] - 0.5).abs() < 1e-6 && (p[1] - 0.5).abs() < 1e-6 && p[2] == 0.0);
        let p = softmax(&[0.1, 2.0, -0.3]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(argmax(&p), 1);
    }

    #[test]
    fn mean_of_window_probabilities() {
        let m = mean_probabilities(&[vec![1.0, 0.0], vec![0.5, 0.5]], 2);
        assert_eq!(m, vec![0.75, 0.25]);
        assert_eq!(argmax(&[0.2, 0.2, 0.1]), 0);
    }
}
