//! A model's calibration fitted on its out-of-fold track predictions (the temperature and the
//! `uncertain` threshold of [`crate::trust::Calibration`]), with what the report shows
//! of it: reliability before and after, expected calibration error, and selective accuracy
//! against coverage.

use crate::trust::calibration::{
    calibrated, expected_calibration_error, reliability, selective_curve, Prediction,
    ReliabilityBin, SelectivePoint, MIN_TEMPERATURE,
};
use crate::trust::Calibration;
use anyhow::bail;
use serde::{Deserialize, Serialize};

use super::metrics::{CvSummary, TrackOutcome};

/// Confidence bins of the reliability diagram and of the expected calibration error.
pub const ECE_BINS: usize = 15;

/// `--target-accuracy`'s default: answers below the threshold it gives are right less than
/// this often.
pub const DEFAULT_TARGET_ACCURACY: f64 = 0.9;

/// One bin of a reliability diagram (see [`ReliabilityBin`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    /// Lower edge of the confidence bin.
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Tracks whose top probability falls in it.
    pub count: usize,
    /// Their mean top probability.
    pub confidence: f64,
    /// The share of them that is right.
    pub accuracy: f64,
}

impl From<ReliabilityBin> for Bin {
    fn from(b: ReliabilityBin) -> Self {
        Bin {
            lower: b.lower,
            upper: b.upper,
            count: b.count,
            confidence: b.confidence,
            accuracy: b.accuracy,
        }
    }
}

/// One point of the selective-accuracy curve (see [`SelectivePoint`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Selective {
    /// Answers whose top calibrated probability is at least this are kept.
    pub threshold: f32,
    /// Share of answers kept.
    pub coverage: f64,
    /// Accuracy of the kept answers.
    pub accuracy: f64,
}

impl From<SelectivePoint> for Selective {
    fn from(p: SelectivePoint) -> Self {
        Selective { threshold: p.threshold, coverage: p.coverage, accuracy: p.accuracy }
    }
}

/// A fitted calibration and the figures that show what it does (the report's section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// What the bundle stores.
    pub calibration: Calibration,
    /// The accuracy the `uncertain` threshold aims at.
    pub target_accuracy: f64,
    /// Out-of-fold predictions it was fitted on.
    pub tracks: usize,
    /// Their accuracy (calibration never changes it).
    pub accuracy: f64,
    /// Expected calibration error ([`ECE_BINS`] bins) before the temperature.
    pub ece_before: f64,
    /// And after it.
    pub ece_after: f64,
    /// The reliability diagram before the temperature.
    pub reliability_before: Vec<Bin>,
    /// And after it.
    pub reliability_after: Vec<Bin>,
    /// Selective accuracy against coverage of the calibrated predictions.
    pub selective: Vec<Selective>,
    /// Share of answers kept (not `uncertain`) at the chosen threshold.
    pub coverage_at_threshold: f64,
    /// Their accuracy.
    pub accuracy_at_threshold: f64,
}

impl CalibrationReport {
    /// One line for the terminal: temperature, ECE before and after, and what the threshold
    /// keeps.
    pub fn summary(&self) -> String {
        format!(
            "calibration on {} out-of-fold tracks: temperature {:.3}, ECE ({ECE_BINS} bins) {:.3} -> {:.3}; uncertain below {:.3}: {:.1}% answered, {:.1}% of them right (target {:.0}%)",
            self.tracks,
            self.calibration.temperature,
            self.ece_before,
            self.ece_after,
            self.calibration.uncertain_below,
            100.0 * self.coverage_at_threshold,
            100.0 * self.accuracy_at_threshold,
            100.0 * self.target_accuracy
        )
    }

    /// The headline figures as the bundle's provenance metrics keep them.
    pub fn metrics(&self) -> serde_json::Value {
        serde_json::json!({
            "temperature": self.calibration.temperature,
            "uncertain_below": self.calibration.uncertain_below,
            "target_accuracy": self.target_accuracy,
            "tracks": self.tracks,
            "ece_bins": ECE_BINS,
            "ece_before": self.ece_before,
            "ece_after": self.ece_after,
            "coverage_at_threshold": self.coverage_at_threshold,
            "accuracy_at_threshold": self.accuracy_at_threshold,
        })
    }
}

/// Checks `--target-accuracy`: a number in (0, 1].
pub fn check_target(target: f64) -> anyhow::Result<()> {
    if !(target > 0.0 && target <= 1.0) {
        bail!("--target-accuracy must be within (0, 1], got {target}");
    }
    Ok(())
}

/// The predictions of `tracks` (their mean probabilities and true labels).
pub fn predictions(tracks: &[TrackOutcome]) -> Vec<Prediction> {
    tracks
        .iter()
        .map(|t| Prediction { probabilities: t.probabilities.clone(), label: t.truth })
        .collect()
}

/// Every fold's held-out track predictions of a cross-validation (each track once).
pub fn out_of_fold(cv: &CvSummary) -> Vec<Prediction> {
    cv.folds.iter().flat_map(|f| predictions(&f.tracks)).collect()
}

/// Fits the calibration on `predictions` for answers right `target_accuracy` of the time,
/// with its figures; `None` without predictions.
pub fn fit(predictions: &[Prediction], target_accuracy: f64) -> Option<CalibrationReport> {
    fit_from(predictions, target_accuracy, MIN_TEMPERATURE)
}

/// [`fit`] with the temperature at least `lowest` (see [`Calibration::fit_from`]).
pub fn fit_from(
    predictions: &[Prediction],
    target_accuracy: f64,
    lowest: f64,
) -> Option<CalibrationReport> {
    let calibration = Calibration::fit_from(predictions, target_accuracy, lowest)?;
    let after = calibrated(predictions, calibration.temperature);
    let selective: Vec<Selective> = selective_curve(&after).into_iter().map(Into::into).collect();
    let kept = kept_at(&after, calibration.uncertain_below);
    let right = after.iter().filter(|p| is_right(p)).count();
    Some(CalibrationReport {
        calibration,
        target_accuracy,
        tracks: predictions.len(),
        accuracy: right as f64 / predictions.len() as f64,
        ece_before: expected_calibration_error(predictions, ECE_BINS),
        ece_after: expected_calibration_error(&after, ECE_BINS),
        reliability_before: bins(predictions),
        reliability_after: bins(&after),
        selective,
        coverage_at_threshold: kept.0,
        accuracy_at_threshold: kept.1,
    })
}

fn bins(predictions: &[Prediction]) -> Vec<Bin> {
    reliability(predictions, ECE_BINS).into_iter().map(Into::into).collect()
}

/// The top probability of a prediction.
fn confidence(p: &Prediction) -> f32 {
    p.probabilities.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// Whether the prediction's top label (first of equal maxima) is the true one.
fn is_right(p: &Prediction) -> bool {
    super::metrics::argmax(&p.probabilities) == p.label
}

/// Coverage and accuracy of the answers whose top probability is at least `threshold`
/// (accuracy 1 when none is kept, as in the selective curve).
fn kept_at(predictions: &[Prediction], threshold: f32) -> (f64, f64) {
    let kept: Vec<&Prediction> =
        predictions.iter().filter(|p| confidence(p) >= threshold).collect();
    let right = kept.iter().filter(|p| is_right(p)).count();
    let coverage = kept.len() as f64 / predictions.len().max(1) as f64;
    let accuracy = if kept.is_empty() { 1.0 } else { right as f64 / kept.len() as f64 };
    (coverage, accuracy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::metrics::{evaluate, summarize, WindowPrediction};

    /// An over-confident model: 95 % sure every time, right on 7 tracks of 10.
    fn over_confident_cv() -> CvSummary {
        let labels = vec!["a".to_string(), "b".to_string()];
        let fold = |offset: usize| {
            let windows: Vec<WindowPrediction> = (0..5)
                .map(|i| {
                    let t = offset + i;
                    let truth = t % 2;
                    let predicted = if t % 10 < 7 { truth } else { 1 - truth };
                    let mut probs = vec![0.05f32; 2];
                    probs[predicted] = 0.95;
                    WindowPrediction { track: t, truth, probs }
                })
                .collect();
            evaluate(&labels, &windows)
        };
        summarize(vec![fold(0), fold(5)])
    }

    #[test]
    fn out_of_fold_predictions_of_an_over_confident_model_are_softened() {
        let cv = over_confident_cv();
        let oof = out_of_fold(&cv);
        assert_eq!(oof.len(), 10);
        let report = fit(&oof, 0.9).unwrap();
        assert!(report.calibration.temperature > 1.0, "{:?}", report.calibration);
        assert!(report.ece_after < report.ece_before, "{report:?}");
        assert!((report.accuracy - 0.7).abs() < 1e-12);
        assert_eq!(report.reliability_before.len(), ECE_BINS);
        assert_eq!(report.reliability_before.iter().map(|b| b.count).sum::<usize>(), 10);
        // Every answer has the same confidence: 70 % can never reach 90 %, so all are
        // withheld (the threshold is above every confidence).
        assert_eq!(report.coverage_at_threshold, 0.0);
        assert!(fit(&[], 0.9).is_none());
    }

    #[test]
    fn coverage_at_the_threshold_matches_the_curve() {
        let p = |probabilities: &[f32], label| Prediction {
            probabilities: probabilities.to_vec(),
            label,
        };
        let predictions =
            vec![p(&[0.9, 0.1], 0), p(&[0.8, 0.2], 0), p(&[0.6, 0.4], 1), p(&[0.55, 0.45], 1)];
        let report = fit(&predictions, 0.99).unwrap();
        let point = report
            .selective
            .iter()
            .find(|s| s.threshold == report.calibration.uncertain_below)
            .expect("the threshold is a point of the curve");
        assert_eq!(point.coverage, report.coverage_at_threshold);
        assert_eq!(point.accuracy, report.accuracy_at_threshold);
        assert_eq!(report.accuracy_at_threshold, 1.0);
        assert!(check_target(0.0).is_err() && check_target(1.2).is_err());
        assert!(check_target(0.9).is_ok());
    }
}
