//! Evaluation metrics for genre classification: window and track accuracy,
//! confusion matrices, per-class precision/recall/F1, cross-entropy, training
//! history records and cross-validation summaries.
//!
//! Everything here is a pure function of its inputs (no I/O, no randomness), so
//! the numbers in a committed report can be recomputed from the saved
//! predictions.
//!
//! Conventions:
//! * Confusion matrices are indexed `[truth][predicted]`, rows and columns in
//!   the order of `labels`.
//! * A track's prediction is the argmax of the **mean of its windows'
//!   probabilities** (docs/ARCHITECTURE.md, "Aggregate per track"). Argmax ties go to the
//!   lowest class index; NaN probabilities never win.
//! * Per-class and macro metrics are computed at **track** level.
//! * Divisions by zero give 0: precision of a class never predicted, recall of a
//!   class with no support, F1 when precision + recall = 0, and accuracies of an
//!   empty evaluation are all 0 (never NaN, so the JSON stays valid).
//! * Macro averages are unweighted means over **all** labels, including labels
//!   with no support (which then contribute 0), like scikit-learn with
//!   `labels=<all labels>` and `zero_division=0`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Probabilities below this are clamped before taking the log in the
/// cross-entropy, so one confident mistake cannot make the loss infinite.
pub const LOSS_EPS: f64 = 1e-7;

/// One window's model output together with its ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowPrediction {
    /// Identifier of the track the window was cut from. Any value; windows of
    /// one track share it. Windows need not be contiguous or sorted.
    pub track: usize,
    /// Index of the true class in `labels`. All windows of a track must agree.
    pub truth: usize,
    /// Softmax probabilities, one per label, in label order.
    pub probs: Vec<f32>,
}

/// Precision, recall and F1 of one class (track level).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Class name.
    pub label: String,
    /// `tp / (tp + fp)`; 0 when the class is never predicted.
    pub precision: f64,
    /// `tp / (tp + fn)`; 0 when the class has no support.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub f1: f64,
    /// Number of tracks whose true class this is.
    pub support: usize,
}

/// The full result of evaluating a model on a set of windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Class names; index order of every matrix and vector below.
    pub labels: Vec<String>,
    /// Fraction of windows whose argmax is the true class.
    pub window_accuracy: f64,
    /// Fraction of tracks whose aggregated prediction is the true class.
    pub track_accuracy: f64,
    /// Window-level confusion counts, `[truth][predicted]`.
    pub window_confusion: Vec<Vec<usize>>,
    /// Track-level confusion counts, `[truth][predicted]`.
    pub track_confusion: Vec<Vec<usize>>,
    /// Track-level per-class metrics, in label order.
    pub per_class: Vec<ClassMetrics>,
    /// Unweighted mean of the per-class precisions.
    pub macro_precision: f64,
    /// Unweighted mean of the per-class recalls.
    pub macro_recall: f64,
    /// Unweighted mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// Number of windows evaluated.
    pub n_windows: usize,
    /// Number of distinct tracks evaluated.
    pub n_tracks: usize,
    /// Mean window cross-entropy `-ln(max(p_truth, 1e-7))`; `None` without windows.
    pub mean_loss: Option<f64>,
    /// Each track's mean probabilities, in track-id order: the raw predictions the numbers
    /// above come from (cross-validation folds keep them, so held-out predictions can be
    /// reused, e.g. to fit fusion weights). Absent in reports written before they were kept.
    #[serde(default)]
    pub tracks: Vec<TrackOutcome>,
}

/// One track's aggregated prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackOutcome {
    /// The track's identifier, as in [`WindowPrediction::track`].
    pub track: usize,
    /// The file it comes from, when the caller named it (see [`Evaluation::name_tracks`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Index of the true class.
    pub truth: usize,
    /// Mean of the track's window probabilities, in label order.
    pub probabilities: Vec<f32>,
}

impl Evaluation {
    /// Sets each track's `name` from its identifier.
    pub fn name_tracks(&mut self, name: impl Fn(usize) -> String) {
        for t in &mut self.tracks {
            t.name = Some(name(t.track));
        }
    }
}

/// One row of the training history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number (1-based by convention).
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Training window accuracy over the epoch.
    pub train_accuracy: f64,
    /// Validation loss at the end of the epoch.
    pub val_loss: f64,
    /// Validation accuracy at the end of the epoch.
    pub val_accuracy: f64,
    /// Learning rate used during the epoch.
    pub learning_rate: f64,
    /// Wall-clock duration of the epoch in seconds.
    pub seconds: f64,
}

/// Mean and sample standard deviation of one metric across folds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Arithmetic mean over folds (0 with no folds).
    pub mean: f64,
    /// Sample standard deviation (n - 1 denominator); 0 with fewer than 2 folds.
    pub std: f64,
}

/// Cross-validation summary: every fold's evaluation plus aggregates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvSummary {
    /// Class names (those of the first fold; all folds must agree).
    pub labels: Vec<String>,
    /// Per-fold evaluations, in fold order.
    pub folds: Vec<Evaluation>,
    /// Track accuracy across folds.
    pub track_accuracy: MeanStd,
    /// Window accuracy across folds.
    pub window_accuracy: MeanStd,
    /// Macro F1 across folds.
    pub macro_f1: MeanStd,
    /// Sum of the folds' track-level confusion matrices, `[truth][predicted]`.
    pub pooled_confusion: Vec<Vec<usize>>,
    /// Per-class metrics computed from `pooled_confusion`.
    pub pooled_per_class: Vec<ClassMetrics>,
}

/// Index of the largest value; ties go to the lowest index, NaN never wins.
/// Returns 0 for an empty or all-NaN slice.
pub fn argmax<T: Copy + PartialOrd>(values: &[T]) -> usize {
    let mut best = 0;
    // `x != x` only for NaN.
    #[allow(clippy::eq_op)]
    let is_nan = |x: &T| x != x;
    for (i, v) in values.iter().enumerate() {
        if is_nan(&values[best]) && !is_nan(v) {
            best = i; // the current best is NaN: any real value replaces it
        } else if *v > values[best] {
            // strict `>` keeps the first of equal maxima; NaN never compares greater
            best = i;
        }
    }
    best
}

/// Per-class precision/recall/F1 from a `[truth][predicted]` confusion matrix,
/// plus the macro averages `(precision, recall, f1)` over all labels.
///
/// # Panics
/// If the matrix is not `labels.len()` x `labels.len()`.
pub fn per_class_metrics(
    labels: &[String],
    confusion: &[Vec<usize>],
) -> (Vec<ClassMetrics>, f64, f64, f64) {
    let n = labels.len();
    assert_eq!(confusion.len(), n, "confusion matrix has {} rows for {n} labels", confusion.len());
    for row in confusion {
        assert_eq!(row.len(), n, "confusion matrix row has {} columns for {n} labels", row.len());
    }
    let per_class: Vec<ClassMetrics> = (0..n)
        .map(|c| {
            let tp = confusion[c][c];
            let support: usize = confusion[c].iter().sum();
            let predicted: usize = confusion.iter().map(|row| row[c]).sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            ClassMetrics { label: labels[c].clone(), precision, recall, f1, support }
        })
        .collect();
    let mean = |f: fn(&ClassMetrics) -> f64| {
        if n == 0 {
            0.0
        } else {
            per_class.iter().map(f).sum::<f64>() / n as f64
        }
    };
    let (p, r, f) = (mean(|m| m.precision), mean(|m| m.recall), mean(|m| m.f1));
    (per_class, p, r, f)
}

/// Evaluates window predictions at window and track level.
///
/// Track prediction = argmax of the mean of the track's window probabilities.
/// Track truth = the truth of its windows. See the module docs for the
/// zero-division and macro-averaging conventions.
///
/// # Panics
/// If a window's `probs` length differs from `labels.len()`, its `truth` is out
/// of range, or two windows of the same track disagree on `truth` (these are
/// programming errors in the caller, not data conditions).
pub fn evaluate(labels: &[String], windows: &[WindowPrediction]) -> Evaluation {
    let n = labels.len();
    let mut window_confusion = vec![vec![0usize; n]; n];
    let mut loss_sum = 0.0f64;
    // track id -> (truth, summed probabilities, windows)
    let mut tracks: BTreeMap<usize, (usize, Vec<f64>, usize)> = BTreeMap::new();

    for (i, w) in windows.iter().enumerate() {
        assert_eq!(
            w.probs.len(),
            n,
            "window {i} (track {}) has {} probabilities for {n} labels",
            w.track,
            w.probs.len()
        );
        assert!(w.truth < n, "window {i} (track {}) has truth {} >= {n} labels", w.track, w.truth);
        window_confusion[w.truth][argmax(&w.probs)] += 1;
        let p = f64::from(w.probs[w.truth]);
        // NaN clamps to the epsilon too (f64::max ignores NaN).
        loss_sum -= p.max(LOSS_EPS).ln();

        let entry = tracks.entry(w.track).or_insert_with(|| (w.truth, vec![0.0; n], 0));
        entry.2 += 1;
        assert_eq!(
            entry.0, w.truth,
            "windows of track {} disagree on truth ({} vs {})",
            w.track, entry.0, w.truth
        );
        for (acc, &p) in entry.1.iter_mut().zip(&w.probs) {
            *acc += f64::from(p);
        }
    }

    // Summed and mean probabilities have the same argmax.
    let mut track_confusion = vec![vec![0usize; n]; n];
    let mut outcomes = Vec::with_capacity(tracks.len());
    for (&track, (truth, sums, count)) in &tracks {
        track_confusion[*truth][argmax(sums)] += 1;
        let count = *count as f64;
        outcomes.push(TrackOutcome {
            track,
            name: None,
            truth: *truth,
            probabilities: sums.iter().map(|s| (s / count) as f32).collect(),
        });
    }

    let (per_class, macro_precision, macro_recall, macro_f1) =
        per_class_metrics(labels, &track_confusion);
    Evaluation {
        labels: labels.to_vec(),
        window_accuracy: accuracy(&window_confusion),
        track_accuracy: accuracy(&track_confusion),
        window_confusion,
        track_confusion,
        per_class,
        macro_precision,
        macro_recall,
        macro_f1,
        n_windows: windows.len(),
        n_tracks: tracks.len(),
        mean_loss: (!windows.is_empty()).then(|| loss_sum / windows.len() as f64),
        tracks: outcomes,
    }
}

/// Trace over total of a confusion matrix; 0 for an empty matrix.
pub fn accuracy(confusion: &[Vec<usize>]) -> f64 {
    let correct: usize =
        confusion.iter().enumerate().map(|(i, row)| row.get(i).copied().unwrap_or(0)).sum();
    let total: usize = confusion.iter().flatten().sum();
    ratio(correct, total)
}

/// Mean and sample standard deviation (n - 1) of `values`; std is 0 for fewer
/// than two values, mean is 0 for none.
pub fn mean_std(values: &[f64]) -> MeanStd {
    let n = values.len();
    if n == 0 {
        return MeanStd { mean: 0.0, std: 0.0 };
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = if n < 2 {
        0.0
    } else {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    };
    MeanStd { mean, std }
}

/// Summarises cross-validation folds: mean ± sample std of track accuracy,
/// window accuracy and macro F1, and the pooled (summed) track-level confusion
/// matrix with its per-class metrics.
///
/// # Panics
/// If the folds do not all have the same labels.
pub fn summarize(folds: Vec<Evaluation>) -> CvSummary {
    let labels = folds.first().map(|f| f.labels.clone()).unwrap_or_default();
    let n = labels.len();
    let mut pooled = vec![vec![0usize; n]; n];
    for (k, fold) in folds.iter().enumerate() {
        assert_eq!(fold.labels, labels, "fold {k} has different labels from fold 0");
        for (prow, frow) in pooled.iter_mut().zip(&fold.track_confusion) {
            for (p, f) in prow.iter_mut().zip(frow) {
                *p += f;
            }
        }
    }
    let collect = |f: fn(&Evaluation) -> f64| mean_std(&folds.iter().map(f).collect::<Vec<_>>());
    let track_accuracy = collect(|e| e.track_accuracy);
    let window_accuracy = collect(|e| e.window_accuracy);
    let macro_f1 = collect(|e| e.macro_f1);
    let (pooled_per_class, _, _, _) = per_class_metrics(&labels, &pooled);
    CvSummary {
        labels,
        folds,
        track_accuracy,
        window_accuracy,
        macro_f1,
        pooled_confusion: pooled,
        pooled_per_class,
    }
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn w(track: usize, truth: usize, probs: [f32; 3]) -> WindowPrediction {
        WindowPrediction { track, truth, probs: probs.to_vec() }
    }

    const TOL: f64 = 1e-12;

    /// Labels rock=0, jazz=1, pop=2; seven tracks, sixteen windows.
    ///
    /// | track | truth | windows (argmax)                               | mean probs          | track pred |
    /// |-------|-------|------------------------------------------------|---------------------|------------|
    /// | 0     | rock  | .7/.2/.1 (rock) .6/.3/.1 (rock)                | .65/.25/.10         | rock  ok   |
    /// | 1     | rock  | .2/.7/.1 (jazz) .6/.3/.1 (rock) .3/.6/.1 (jazz)| .367/.533/.10       | jazz  x    |
    /// | 2     | jazz  | .1/.8/.1 (jazz) .2/.7/.1 (jazz)                | .15/.75/.10         | jazz  ok   |
    /// | 3     | jazz  | .1/.3/.6 (pop) .1/.6/.3 (jazz) .1/.5/.4 (jazz) | .10/.467/.433       | jazz  ok   |
    /// | 4     | pop   | .1/.2/.7 (pop) .3/.1/.6 (pop)                  | .20/.15/.65         | pop   ok   |
    /// | 5     | pop   | .5/.1/.4 (rock) .3/.1/.6 (pop)                 | .40/.10/.50         | pop   ok   |
    /// | 6     | pop   | .6/.3/.1 (rock) .5/.2/.3 (rock)                | .55/.25/.20         | rock  x    |
    fn example() -> (Vec<String>, Vec<WindowPrediction>) {
        let l = labels(&["rock", "jazz", "pop"]);
        let ws = vec![
            w(0, 0, [0.7, 0.2, 0.1]),
            w(0, 0, [0.6, 0.3, 0.1]),
            w(1, 0, [0.2, 0.7, 0.1]),
            w(1, 0, [0.6, 0.3, 0.1]),
            w(1, 0, [0.3, 0.6, 0.1]),
            w(2, 1, [0.1, 0.8, 0.1]),
            w(2, 1, [0.2, 0.7, 0.1]),
            w(3, 1, [0.1, 0.3, 0.6]),
            w(3, 1, [0.1, 0.6, 0.3]),
            w(3, 1, [0.1, 0.5, 0.4]),
            w(4, 2, [0.1, 0.2, 0.7]),
            w(4, 2, [0.3, 0.1, 0.6]),
            w(5, 2, [0.5, 0.1, 0.4]),
            w(5, 2, [0.3, 0.1, 0.6]),
            w(6, 2, [0.6, 0.3, 0.1]),
            w(6, 2, [0.5, 0.2, 0.3]),
        ];
        (l, ws)
    }

    #[test]
    fn hand_computed_example() {
        let (l, ws) = example();
        let e = evaluate(&l, &ws);
        assert_eq!(e.n_windows, 16);
        assert_eq!(e.n_tracks, 7);

        // Window confusion [truth][pred]:
        // rock windows: rock,rock | jazz,rock,jazz        -> [3, 2, 0]
        // jazz windows: jazz,jazz | pop,jazz,jazz         -> [0, 4, 1]
        // pop windows:  pop,pop | rock,pop | rock,rock    -> [3, 0, 3]
        assert_eq!(e.window_confusion, vec![vec![3, 2, 0], vec![0, 4, 1], vec![3, 0, 3]]);
        // (3 + 4 + 3) / 16
        assert!((e.window_accuracy - 10.0 / 16.0).abs() < TOL);

        // Track confusion: rock [1 rock, 1 jazz], jazz [2 jazz], pop [1 rock, 2 pop].
        assert_eq!(e.track_confusion, vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 2]]);
        // (1 + 2 + 2) / 7
        assert!((e.track_accuracy - 5.0 / 7.0).abs() < TOL);

        // rock: tp 1, predicted 2 (col 0), support 2 -> P 1/2, R 1/2, F1 1/2
        // jazz: tp 2, predicted 3, support 2 -> P 2/3, R 1, F1 = 2*(2/3)/(5/3) = 4/5
        // pop:  tp 2, predicted 2, support 3 -> P 1, R 2/3, F1 = 4/5
        let expect = [(0.5, 0.5, 0.5, 2), (2.0 / 3.0, 1.0, 0.8, 2), (1.0, 2.0 / 3.0, 0.8, 3)];
        for (m, (p, r, f, s)) in e.per_class.iter().zip(expect) {
            assert!((m.precision - p).abs() < TOL, "{m:?}");
            assert!((m.recall - r).abs() < TOL, "{m:?}");
            assert!((m.f1 - f).abs() < TOL, "{m:?}");
            assert_eq!(m.support, s);
        }
        assert_eq!(
            e.per_class.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(),
            ["rock", "jazz", "pop"]
        );
        // macro P = (1/2 + 2/3 + 1) / 3 = 13/18; macro R = (1/2 + 1 + 2/3) / 3 = 13/18;
        // macro F1 = (0.5 + 0.8 + 0.8) / 3 = 0.7
        assert!((e.macro_precision - 13.0 / 18.0).abs() < TOL);
        assert!((e.macro_recall - 13.0 / 18.0).abs() < TOL);
        assert!((e.macro_f1 - 0.7).abs() < TOL);

        // Cross-entropy: mean of -ln p[truth] over the 16 windows.
        let p_truth: [f32; 16] =
            [0.7, 0.6, 0.2, 0.6, 0.3, 0.8, 0.7, 0.3, 0.6, 0.5, 0.7, 0.6, 0.4, 0.6, 0.1, 0.3];
        let expect_loss = -p_truth.iter().map(|&p| f64::from(p).ln()).sum::<f64>() / 16.0;
        assert!((e.mean_loss.unwrap() - expect_loss).abs() < 1e-12);
        // by hand: (3 ln(1/.7) + 5 ln(1/.6) + 3 ln(1/.3) + ln(1/.2) + ln(1/.8) + ln(1/.5)
        //           + ln(1/.4) + ln(1/.1)) / 16 = 12.9807 / 16 ~= 0.8113
        assert!((e.mean_loss.unwrap() - 0.8113).abs() < 1e-3);
    }

    #[test]
    fn order_and_track_ids_do_not_matter() {
        let (l, ws) = example();
        let base = evaluate(&l, &ws);
        // Reverse the windows and remap track ids to sparse, unsorted values.
        let shuffled: Vec<WindowPrediction> = ws
            .iter()
            .rev()
            .map(|w| WindowPrediction { track: 1000 - w.track * 37, ..w.clone() })
            .collect();
        let e = evaluate(&l, &shuffled);
        assert_eq!(e.track_confusion, base.track_confusion);
        assert_eq!(e.window_confusion, base.window_confusion);
        assert_eq!(e.n_tracks, 7);
        assert!((e.mean_loss.unwrap() - base.mean_loss.unwrap()).abs() < 1e-12);
    }

    #[test]
    fn mean_aggregation_differs_from_majority_vote() {
        // Two windows mildly say jazz, one strongly says rock: the mean picks rock.
        let l = labels(&["rock", "jazz", "pop"]);
        let ws = vec![
            w(0, 0, [0.45, 0.55, 0.0]),
            w(0, 0, [0.45, 0.55, 0.0]),
            w(0, 0, [0.95, 0.05, 0.0]),
        ];
        let e = evaluate(&l, &ws);
        assert_eq!(e.track_confusion[0], vec![1, 0, 0]);
        assert_eq!(e.window_confusion[0], vec![1, 2, 0]);
    }

    #[test]
    fn empty_classes_give_zero_not_nan() {
        // "pop" has no support and is never predicted; "jazz" is predicted but has no support.
        let l = labels(&["rock", "jazz", "pop"]);
        let ws = vec![w(0, 0, [0.9, 0.1, 0.0]), w(1, 0, [0.2, 0.8, 0.0])];
        let e = evaluate(&l, &ws);
        let jazz = &e.per_class[1];
        assert_eq!((jazz.precision, jazz.recall, jazz.f1, jazz.support), (0.0, 0.0, 0.0, 0));
        let pop = &e.per_class[2];
        assert_eq!((pop.precision, pop.recall, pop.f1, pop.support), (0.0, 0.0, 0.0, 0));
        // rock: P 1, R 1/2, F1 2/3; macro over all three labels.
        assert!((e.macro_f1 - (2.0 / 3.0) / 3.0).abs() < TOL);
        assert!((e.macro_precision - 1.0 / 3.0).abs() < TOL);
    }

    #[test]
    fn loss_is_clamped_and_empty_input_is_finite() {
        let l = labels(&["a", "b", "c"]);
        let e = evaluate(&l, &[w(0, 0, [0.0, 1.0, 0.0])]);
        assert!((e.mean_loss.unwrap() - (-(1e-7f64).ln())).abs() < 1e-9);
        let e = evaluate(&l, &[]);
        assert_eq!((e.n_windows, e.n_tracks, e.mean_loss), (0, 0, None));
        assert_eq!((e.window_accuracy, e.track_accuracy, e.macro_f1), (0.0, 0.0, 0.0));
        serde_json::to_string(&e).unwrap();
    }

    #[test]
    fn argmax_ties_and_nan() {
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), 1);
        assert_eq!(argmax(&[f32::NAN, 0.1, 0.3]), 2);
        assert_eq!(argmax(&[0.5, f32::NAN, 0.3]), 0);
        assert_eq!(argmax::<f32>(&[]), 0);
    }

    #[test]
    #[should_panic(expected = "disagree on truth")]
    fn inconsistent_track_truth_panics() {
        let l = labels(&["a", "b", "c"]);
        evaluate(&l, &[w(0, 0, [1.0, 0.0, 0.0]), w(0, 1, [1.0, 0.0, 0.0])]);
    }

    #[test]
    #[should_panic(expected = "probabilities for 3 labels")]
    fn wrong_prob_length_panics() {
        let l = labels(&["a", "b", "c"]);
        evaluate(&l, &[WindowPrediction { track: 0, truth: 0, probs: vec![1.0, 0.0] }]);
    }

    fn fold(
        track_acc: f64,
        window_acc: f64,
        macro_f1: f64,
        confusion: Vec<Vec<usize>>,
    ) -> Evaluation {
        let l = labels(&["a", "b"]);
        let (per_class, macro_precision, macro_recall, _) = per_class_metrics(&l, &confusion);
        Evaluation {
            labels: l,
            window_accuracy: window_acc,
            track_accuracy: track_acc,
            window_confusion: confusion.clone(),
            track_confusion: confusion,
            per_class,
            macro_precision,
            macro_recall,
            macro_f1,
            n_windows: 10,
            n_tracks: 10,
            mean_loss: Some(0.5),
            tracks: Vec::new(),
        }
    }

    #[test]
    fn cv_mean_and_sample_std() {
        let s = summarize(vec![
            fold(0.8, 0.70, 0.60, vec![vec![4, 1], vec![1, 4]]),
            fold(0.6, 0.50, 0.60, vec![vec![3, 2], vec![2, 3]]),
            fold(0.7, 0.75, 0.60, vec![vec![5, 0], vec![3, 2]]),
        ]);
        // track: mean 0.7, deviations ±0.1, 0 -> sqrt(0.02 / 2) = 0.1
        assert!((s.track_accuracy.mean - 0.7).abs() < TOL);
        assert!((s.track_accuracy.std - 0.1).abs() < TOL);
        // window: mean 0.65, deviations .05, -.15, .10 -> sqrt(0.035 / 2)
        assert!((s.window_accuracy.mean - 0.65).abs() < TOL);
        assert!((s.window_accuracy.std - (0.035f64 / 2.0).sqrt()).abs() < TOL);
        // constant metric -> std 0
        assert!((s.macro_f1.mean - 0.6).abs() < TOL);
        assert!(s.macro_f1.std.abs() < TOL);
        assert_eq!(s.pooled_confusion, vec![vec![12, 3], vec![6, 9]]);
        // pooled: a tp 12, predicted 18, support 15
        assert!((s.pooled_per_class[0].precision - 12.0 / 18.0).abs() < TOL);
        assert!((s.pooled_per_class[0].recall - 12.0 / 15.0).abs() < TOL);
        assert_eq!(s.folds.len(), 3);
    }

    #[test]
    fn cv_single_and_no_fold() {
        let s = summarize(vec![fold(0.8, 0.7, 0.6, vec![vec![4, 1], vec![1, 4]])]);
        assert_eq!(s.track_accuracy, MeanStd { mean: 0.8, std: 0.0 });
        let s = summarize(vec![]);
        assert_eq!(s.track_accuracy, MeanStd { mean: 0.0, std: 0.0 });
        assert!(s.pooled_confusion.is_empty());
    }
}
