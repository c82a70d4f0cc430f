//! The music / not-music detector's fitting rules, pure: a logistic regression on per-patch
//! rows with balanced classes, cross-validation by file (grouped, stratified by source), the
//! threshold from the out-of-fold track scores, and the figures the report gives.

use anyhow::{bail, Context};
use genrescope::trust::{DetectorInput, MusicDetector};
use serde::{Deserialize, Serialize};

use crate::logistic::{balanced_weights, FitOptions, Logistic};
use crate::split::stratified_k_fold;

/// One file (or synthesised signal): its per-patch rows and whether it is music.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// What it is called in the report.
    pub name: String,
    /// Where it comes from (`music`, `not-music`, `synth:noise`, ...): folds are stratified
    /// by it and rates reported per source.
    pub source: String,
    /// True for music.
    pub music: bool,
    /// One row per patch.
    pub rows: Vec<Vec<f32>>,
}

/// Fits the logistic model on every patch of `examples`, the classes weighed equally.
pub fn fit(examples: &[&Example], options: FitOptions) -> anyhow::Result<Logistic> {
    let mut rows = Vec::new();
    let mut positive = Vec::new();
    for e in examples {
        for r in &e.rows {
            rows.push(r.as_slice());
            positive.push(e.music);
        }
    }
    if !positive.iter().any(|&p| p) || positive.iter().all(|&p| p) {
        bail!("the detector needs patches of music and of not music");
    }
    Logistic::fit(&rows, &positive, &balanced_weights(&positive), options)
}

/// A track's music score: the mean of its patches' probabilities (0 without patches).
pub fn track_score(model: &Logistic, rows: &[Vec<f32>]) -> f64 {
    if rows.is_empty() {
        return 0.0;
    }
    rows.iter().map(|r| model.probability(r)).sum::<f64>() / rows.len() as f64
}

/// Out-of-fold track scores of every example: `k` folds by example (all patches of a file
/// in one fold), stratified by source, dealt with `seed`; each fold's model is fitted on the
/// other folds.
pub fn cross_validate(
    examples: &[Example],
    k: usize,
    seed: u64,
    options: FitOptions,
) -> anyhow::Result<Vec<f64>> {
    let mut sources: Vec<&str> = examples.iter().map(|e| e.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    let strata: Vec<usize> =
        examples.iter().map(|e| sources.binary_search(&e.source.as_str()).unwrap_or(0)).collect();
    let folds = stratified_k_fold(&strata, k, seed).map_err(|e| {
        anyhow::anyhow!("{e} (every source needs at least {k} files for {k} folds)")
    })?;
    let mut scores = vec![f64::NAN; examples.len()];
    for (i, fold) in folds.iter().enumerate() {
        let train: Vec<&Example> =
            fold.train.iter().chain(&fold.val).map(|&t| &examples[t]).collect();
        let model = fit(&train, options).with_context(|| format!("fold {}/{k}", i + 1))?;
        for &t in &fold.test {
            scores[t] = track_score(&model, &examples[t].rows);
        }
    }
    Ok(scores)
}

/// The detector's threshold and how it was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// Tracks scoring below it are not music.
    pub value: f32,
    /// True when every music score is above every not-music score (the threshold is then
    /// their midpoint); false when they overlap (it is then the lowest music score, so no
    /// music is rejected).
    pub separated: bool,
}

/// The threshold from out-of-fold `(score, is_music)` pairs: the midpoint between the
/// highest not-music score and the lowest music score when they separate, else the lowest
/// music score (no music rejected). `None` without both classes.
pub fn choose_threshold(scores: &[(f64, bool)]) -> Option<Threshold> {
    let lowest_music = scores.iter().filter(|s| s.1).map(|s| s.0).fold(f64::INFINITY, f64::min);
    let highest_other =
        scores.iter().filter(|s| !s.1).map(|s| s.0).fold(f64::NEG_INFINITY, f64::max);
    if !lowest_music.is_finite() || !highest_other.is_finite() {
        return None;
    }
    if highest_other < lowest_music {
        let value = ((highest_other + lowest_music) / 2.0) as f32;
        return Some(Threshold { value, separated: true });
    }
    // As an f32 at most the lowest music score, so that track stays music.
    let mut value = lowest_music as f32;
    if value as f64 > lowest_music {
        value = f32::from_bits(value.to_bits() - 1);
    }
    Some(Threshold { value, separated: false })
}

/// The share of one source's files on each side of the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRate {
    /// The source.
    pub source: String,
    /// Whether its files are music.
    pub music: bool,
    /// Its files.
    pub files: usize,
    /// Those scoring below the threshold (called not music).
    pub rejected: usize,
    /// `rejected / files`: the detection rate of a not-music source, the false-rejection
    /// rate of a music one.
    pub rate: f64,
}

/// Per source (in order of first appearance), how many files score below `threshold`.
pub fn rates(examples: &[Example], scores: &[f64], threshold: f32) -> Vec<SourceRate> {
    let mut out: Vec<SourceRate> = Vec::new();
    for (e, &s) in examples.iter().zip(scores) {
        let i = match out.iter().position(|r| r.source == e.source) {
            Some(i) => i,
            None => {
                out.push(SourceRate {
                    source: e.source.clone(),
                    music: e.music,
                    files: 0,
                    rejected: 0,
                    rate: 0.0,
                });
                out.len() - 1
            }
        };
        out[i].files += 1;
        out[i].rejected += usize::from(s < threshold as f64);
    }
    for r in &mut out {
        r.rate = r.rejected as f64 / r.files.max(1) as f64;
    }
    out
}

/// The area under the ROC curve of music against not-music scores (the chance that a
/// music file outscores a not-music one; ties count half). NaN without both classes.
pub fn auc(scores: &[(f64, bool)]) -> f64 {
    let music: Vec<f64> = scores.iter().filter(|s| s.1).map(|s| s.0).collect();
    let other: Vec<f64> = scores.iter().filter(|s| !s.1).map(|s| s.0).collect();
    let mut wins = 0.0;
    for m in &music {
        for o in &other {
            wins += if m > o {
                1.0
            } else if m == o {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (music.len() * other.len()) as f64
}

/// The bundle's detector from a fitted model, the input it reads and its threshold.
pub fn detector(model: &Logistic, input: DetectorInput, threshold: f32) -> MusicDetector {
    MusicDetector {
        input,
        mean: model.standardiser.mean.clone(),
        std: model.standardiser.std.clone(),
        weights: model.weights.iter().map(|&w| w as f32).collect(),
        bias: model.bias as f32,
        threshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` examples of a source whose patches sit around `centre` in both columns.
    fn examples(source: &str, music: bool, n: usize, centre: f32) -> Vec<Example> {
        (0..n)
            .map(|i| Example {
                name: format!("{source}-{i}"),
                source: source.into(),
                music,
                rows: (0..4)
                    .map(|p| {
                        let jitter = ((i * 7 + p * 3) % 5) as f32 * 0.1;
                        vec![centre + jitter, centre - jitter]
                    })
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn grouped_cross_validation_scores_every_file_out_of_fold() {
        let mut all = examples("music", true, 10, 2.0);
        all.extend(examples("not-music", false, 6, -2.0));
        all.extend(examples("synth:noise", false, 5, -1.0));
        let scores = cross_validate(&all, 5, 42, FitOptions::default()).unwrap();
        assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
        let pairs: Vec<(f64, bool)> = scores.iter().zip(&all).map(|(&s, e)| (s, e.music)).collect();
        assert_eq!(auc(&pairs), 1.0);
        let threshold = choose_threshold(&pairs).unwrap();
        assert!(threshold.separated);
        let table = rates(&all, &scores, threshold.value);
        assert_eq!(table.len(), 3);
        assert_eq!((table[0].source.as_str(), table[0].rejected), ("music", 0));
        assert!(table[1..].iter().all(|r| r.rate == 1.0), "{table:?}");
        // A source with fewer files than folds is named.
        let mut few = examples("music", true, 10, 2.0);
        few.extend(examples("not-music", false, 3, -2.0));
        let err = cross_validate(&few, 5, 42, FitOptions::default()).unwrap_err();
        assert!(err.to_string().contains("at least 5 files"), "{err}");
    }

    #[test]
    fn the_threshold_is_the_midpoint_or_keeps_every_music_track() {
        let separated = [(0.9, true), (0.7, true), (0.3, false), (0.1, false)];
        let t = choose_threshold(&separated).unwrap();
        assert!(t.separated && (t.value - 0.5).abs() < 1e-6, "{t:?}");
        let overlapping = [(0.9, true), (0.4, true), (0.6, false), (0.1, false)];
        let t = choose_threshold(&overlapping).unwrap();
        assert!(!t.separated && t.value as f64 <= 0.4 && t.value > 0.39, "{t:?}");
        assert_eq!(auc(&overlapping), 0.75);
        assert!(choose_threshold(&[(0.5, true)]).is_none());
        // The lowest music score is itself kept (stored as f32).
        let t = choose_threshold(&[(0.123456789, true), (0.9, false)]).unwrap();
        assert!(t.value as f64 <= 0.123456789);
    }
}
