//! Calibration: a temperature that makes a model's track probabilities mean what they say,
//! and the confidence below which its answer is `uncertain`. The trainer fits both on
//! out-of-fold predictions ([`Calibration::fit`]); the bundle stores them.
//!
//! Temperature scaling on track probabilities: `p'_i = p_i^(1/T) / sum_j p_j^(1/T)`, which is
//! a softmax of `log p / T`. `T > 1` softens an over-confident model, `T < 1` sharpens an
//! under-confident one; the ranking never changes.

use serde::{Deserialize, Serialize};

/// The smallest probability the log is taken of (keeps `log 0` finite).
const P_FLOOR: f64 = 1e-12;

/// The lowest temperature [`Calibration::fit`] considers (sharpening 20-fold).
pub const MIN_TEMPERATURE: f64 = 0.05;
/// The highest temperature it considers (flattening 20-fold).
pub const MAX_TEMPERATURE: f64 = 20.0;

/// A model's calibration, as stored in its bundle header.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The temperature (> 0; 1 leaves probabilities unchanged).
    pub temperature: f64,
    /// A result whose top calibrated probability is below this is `uncertain` (0..1).
    pub uncertain_below: f32,
}

/// One out-of-fold prediction: track probabilities and the index of the true label.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Probabilities in label order.
    pub probabilities: Vec<f32>,
    /// The true label's index.
    pub label: usize,
}

/// Accuracy of the answers kept when those below a confidence are withheld.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SelectivePoint {
    /// Answers with top probability >= this are kept.
    pub threshold: f32,
    /// Share of answers kept (0..1).
    pub coverage: f64,
    /// Accuracy of the kept answers (1 when none is kept).
    pub accuracy: f64,
}

impl Default for Calibration {
    /// No temperature, nothing uncertain.
    fn default() -> Self {
        Calibration { temperature: 1.0, uncertain_below: 0.0 }
    }
}

impl Calibration {
    /// Checks the numbers: a finite positive temperature and a threshold in 0..1.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(format!(
                "calibration temperature must be finite and > 0, got {}",
                self.temperature
            ));
        }
        if !(0.0..=1.0).contains(&self.uncertain_below) {
            return Err(format!(
                "calibration uncertain_below must be within 0..1, got {}",
                self.uncertain_below
            ));
        }
        Ok(())
    }

    /// `probabilities` with the temperature applied (see the module docs).
    pub fn apply(&self, probabilities: &[f32]) -> Vec<f32> {
        with_temperature(probabilities, self.temperature)
    }

    /// Fits the temperature that minimises the mean negative log-likelihood of `predictions`
    /// (golden-section search over `log T` in `[ln MIN_TEMPERATURE, ln MAX_TEMPERATURE]`), then the threshold
    /// (see [`uncertain_threshold`]) for answers that are right at least `target_accuracy` of
    /// the time. `None` when there are no predictions.
    pub fn fit(predictions: &[Prediction], target_accuracy: f64) -> Option<Self> {
        Self::fit_from(predictions, target_accuracy, MIN_TEMPERATURE)
    }

    /// [`fit`](Self::fit) with the temperature at least `lowest` (within
    /// [`MIN_TEMPERATURE`, `MAX_TEMPERATURE`]): 1 never sharpens the probabilities, for models
    /// whose held-out answers are too few to show how sure they may be.
    pub fn fit_from(predictions: &[Prediction], target_accuracy: f64, lowest: f64) -> Option<Self> {
        if predictions.is_empty() {
            return None;
        }
        let loss = |log_t: f64| negative_log_likelihood(predictions, log_t.exp());
        let lowest = lowest.clamp(MIN_TEMPERATURE, MAX_TEMPERATURE);
        let (mut a, mut b) = (lowest.ln(), MAX_TEMPERATURE.ln());
        let ratio = (5f64.sqrt() - 1.0) / 2.0;
        let mut c = b - ratio * (b - a);
        let mut d = a + ratio * (b - a);
        for _ in 0..80 {
            if loss(c) < loss(d) {
                b = d;
            } else {
                a = c;
            }
            c = b - ratio * (b - a);
            d = a + ratio * (b - a);
        }
        let temperature = ((a + b) / 2.0).exp();
        let calibrated = calibrated(predictions, temperature);
        Some(Calibration {
            temperature,
            uncertain_below: uncertain_threshold(&calibrated, target_accuracy),
        })
    }
}

/// `probabilities` at temperature `t` (softmax of `log p / t`).
pub fn with_temperature(probabilities: &[f32], t: f64) -> Vec<f32> {
    if (t - 1.0).abs() < 1e-12 {
        return probabilities.to_vec();
    }
    let logs: Vec<f64> = probabilities.iter().map(|&p| (p as f64).max(P_FLOOR).ln() / t).collect();
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = logs.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| (e / sum) as f32).collect()
}

/// `predictions` with their probabilities at temperature `t`.
pub fn calibrated(predictions: &[Prediction], t: f64) -> Vec<Prediction> {
    predictions
        .iter()
        .map(|p| Prediction {
            probabilities: with_temperature(&p.probabilities, t),
            label: p.label,
        })
        .collect()
}

/// Mean negative log-likelihood of the true labels at temperature `t`.
pub fn negative_log_likelihood(predictions: &[Prediction], t: f64) -> f64 {
    let total: f64 = predictions
        .iter()
        .map(|p| {
            let q = with_temperature(&p.probabilities, t);
            -(q.get(p.label).copied().unwrap_or(0.0) as f64).max(P_FLOOR).ln()
        })
        .sum();
    total / predictions.len().max(1) as f64
}

/// The top probability and whether the top label is right.
fn top(p: &Prediction) -> (f32, bool) {
    let (index, &confidence) = p
        .probabilities
        .iter()
        .enumerate()
        .fold((0, &f32::NEG_INFINITY), |best, (i, v)| if v > best.1 { (i, v) } else { best });
    (confidence, index == p.label)
}

/// Expected calibration error over `bins` equal-width confidence bins: the mean over
/// predictions of |accuracy - mean confidence| of their bin.
pub fn expected_calibration_error(predictions: &[Prediction], bins: usize) -> f64 {
    reliability(predictions, bins)
        .iter()
        .map(|b| b.count as f64 * (b.accuracy - b.confidence).abs())
        .sum::<f64>()
        / predictions.len().max(1) as f64
}

/// One confidence bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReliabilityBin {
    /// Lower edge of the bin.
    pub lower: f64,
    /// Upper edge of the bin.
    pub upper: f64,
    /// Predictions whose top probability falls in it.
    pub count: usize,
    /// Their mean top probability (0 when empty).
    pub confidence: f64,
    /// The share of them that is right (0 when empty).
    pub accuracy: f64,
}

/// The reliability diagram: `bins` equal-width bins of top probability.
pub fn reliability(predictions: &[Prediction], bins: usize) -> Vec<ReliabilityBin> {
    let bins = bins.max(1);
    let mut out: Vec<ReliabilityBin> = (0..bins)
        .map(|i| ReliabilityBin {
            lower: i as f64 / bins as f64,
            upper: (i + 1) as f64 / bins as f64,
            count: 0,
            confidence: 0.0,
            accuracy: 0.0,
        })
        .collect();
    for p in predictions {
        let (confidence, right) = top(p);
        let i = ((confidence as f64 * bins as f64) as usize).min(bins - 1);
        out[i].count += 1;
        out[i].confidence += confidence as f64;
        out[i].accuracy += f64::from(u8::from(right));
    }
    for b in &mut out {
        if b.count > 0 {
            b.confidence /= b.count as f64;
            b.accuracy /= b.count as f64;
        }
    }
    out
}

/// Selective accuracy against coverage: one point per distinct top probability (kept when
/// at least it), from keeping everything to keeping only the most confident answer.
pub fn selective_curve(predictions: &[Prediction]) -> Vec<SelectivePoint> {
    let mut tops: Vec<(f32, bool)> = predictions.iter().map(top).collect();
    tops.sort_by(|a, b| b.0.total_cmp(&a.0));
    let n = tops.len();
    let mut points = Vec::new();
    let mut right = 0usize;
    for (k, &(confidence, is_right)) in tops.iter().enumerate() {
        right += usize::from(is_right);
        let last_of_value = k + 1 == n || tops[k + 1].0 < confidence;
        if last_of_value {
            points.push(SelectivePoint {
                threshold: confidence,
                coverage: (k + 1) as f64 / n as f64,
                accuracy: right as f64 / (k + 1) as f64,
            });
        }
    }
    points.reverse();
    points
}

/// The lowest threshold at which the kept answers are right at least `target_accuracy` of
/// the time (0 when all of them already are; above every confidence when no threshold
/// reaches it).
pub fn uncertain_threshold(predictions: &[Prediction], target_accuracy: f64) -> f32 {
    selective_curve(predictions).iter().find(|p| p.accuracy >= target_accuracy).map_or(1.0, |p| {
        if p.coverage >= 1.0 {
            0.0
        } else {
            p.threshold
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(probabilities: &[f32], label: usize) -> Prediction {
        Prediction { probabilities: probabilities.to_vec(), label }
    }

    #[test]
    fn temperature_keeps_the_ranking_and_sums_to_one() {
        let p = [0.7, 0.2, 0.1];
        for t in [0.5, 1.0, 3.0] {
            let q = with_temperature(&p, t);
            assert!((q.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            assert!(q[0] > q[1] && q[1] > q[2]);
        }
        assert!(with_temperature(&p, 3.0)[0] < 0.7);
        assert!(with_temperature(&p, 0.5)[0] > 0.7);
        assert!(with_temperature(&[1.0, 0.0], 2.0).iter().all(|x| x.is_finite()));
    }

    #[test]
    fn an_over_confident_model_gets_a_temperature_above_one() {
        // Always 99 % sure, right 6 times in 10.
        let predictions: Vec<Prediction> =
            (0..10).map(|i| prediction(&[0.99, 0.005, 0.005], if i < 6 { 0 } else { 1 })).collect();
        let fitted = Calibration::fit(&predictions, 0.9).unwrap();
        assert!(fitted.temperature > 1.5, "{fitted:?}");
        let before = expected_calibration_error(&predictions, 10);
        let after = expected_calibration_error(&calibrated(&predictions, fitted.temperature), 10);
        assert!(after < before, "{before} -> {after}");
        assert!(Calibration::fit(&[], 0.9).is_none());
    }

    #[test]
    fn the_threshold_withholds_the_unsure_wrong_answers() {
        let predictions = vec![
            prediction(&[0.9, 0.1], 0),
            prediction(&[0.8, 0.2], 0),
            prediction(&[0.6, 0.4], 1),
            prediction(&[0.55, 0.45], 1),
        ];
        assert_eq!(uncertain_threshold(&predictions, 0.99), 0.8);
        assert_eq!(uncertain_threshold(&predictions, 0.5), 0.0);
        let curve = selective_curve(&predictions);
        assert_eq!(curve.len(), 4);
        assert_eq!(curve[0].coverage, 1.0);
        assert_eq!(curve[0].accuracy, 0.5);
        assert_eq!(curve[3].accuracy, 1.0);
        let bins = reliability(&predictions, 10);
        assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), 4);
    }

    #[test]
    fn validation_names_the_field() {
        assert!(Calibration::default().validate().is_ok());
        let bad = Calibration { temperature: 0.0, ..Calibration::default() };
        assert!(bad.validate().unwrap_err().contains("temperature"));
        let bad = Calibration { uncertain_below: 1.5, ..Calibration::default() };
        assert!(bad.validate().unwrap_err().contains("uncertain_below"));
    }
}
