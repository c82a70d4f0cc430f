//! L2-regularised logistic regression on standardised rows, fitted by Newton's method
//! (each step solved by conjugate gradients on Hessian-vector products, so a step costs
//! O(rows x columns) per iteration whatever the width), with per-row weights (e.g. balanced
//! classes).
//! Pure and deterministic; used by `trainer detect` for the music / not-music detector.

use anyhow::{bail, ensure};
use genrescope::trust::music_detector::sigmoid;

/// The smallest standard deviation a column is divided by (a constant column keeps it).
const MIN_STD: f32 = 1e-6;

/// Per-column mean and standard deviation of training rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardiser {
    /// Mean of each column.
    pub mean: Vec<f32>,
    /// Standard deviation of each column (population; at least [`MIN_STD`]).
    pub std: Vec<f32>,
}

impl Standardiser {
    /// The statistics of `rows` (all of one length, at least one).
    pub fn fit(rows: &[&[f32]]) -> anyhow::Result<Self> {
        let dim = check_rows(rows)?;
        let n = rows.len() as f64;
        let mut mean = vec![0.0f64; dim];
        for row in rows {
            for (m, &x) in mean.iter_mut().zip(*row) {
                *m += x as f64 / n;
            }
        }
        let mut var = vec![0.0f64; dim];
        for row in rows {
            for ((v, &x), m) in var.iter_mut().zip(*row).zip(&mean) {
                *v += (x as f64 - m).powi(2) / n;
            }
        }
        Ok(Standardiser {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std: var.iter().map(|v| (v.sqrt() as f32).max(MIN_STD)).collect(),
        })
    }

    /// `row` standardised.
    pub fn apply(&self, row: &[f32]) -> Vec<f64> {
        row.iter()
            .zip(&self.mean)
            .zip(&self.std)
            .map(|((&x, &m), &s)| ((x - m) / s) as f64)
            .collect()
    }
}

/// A fitted logistic model on standardised inputs: `p = sigmoid(w . z + b)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Logistic {
    /// The input standardisation.
    pub standardiser: Standardiser,
    /// One weight per standardised column.
    pub weights: Vec<f64>,
    /// The bias.
    pub bias: f64,
}

/// How [`Logistic::fit`] fits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// L2 penalty on the weights (not the bias), per unit of total row weight:
    /// the objective is `sum_i w_i loss_i / sum_i w_i + l2 / 2 * |w|^2`.
    pub l2: f64,
    /// Most Newton steps.
    pub max_steps: usize,
    /// Stop when the largest gradient component is below this.
    pub tolerance: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { l2: 1e-2, max_steps: 50, tolerance: 1e-8 }
    }
}

impl Logistic {
    /// Fits on `rows` with targets `positive` and per-row `weights` (> 0); standardises first.
    /// Fails, naming the problem, on empty or ragged input, lengths that disagree, weights
    /// that are not positive, or values that are not finite.
    pub fn fit(
        rows: &[&[f32]],
        positive: &[bool],
        weights: &[f64],
        options: FitOptions,
    ) -> anyhow::Result<Self> {
        let dim = check_rows(rows)?;
        ensure!(
            positive.len() == rows.len() && weights.len() == rows.len(),
            "{} rows but {} targets and {} weights",
            rows.len(),
            positive.len(),
            weights.len()
        );
        ensure!(weights.iter().all(|w| w.is_finite() && *w > 0.0), "row weights must be > 0");
        ensure!(options.l2 > 0.0, "the L2 penalty must be > 0, got {}", options.l2);
        let standardiser = Standardiser::fit(rows)?;
        let z: Vec<Vec<f64>> = rows.iter().map(|r| standardiser.apply(r)).collect();
        let total: f64 = weights.iter().sum();
        // Parameters: dim weights, then the bias (penalised only by a tiny ridge that keeps
        // the Hessian positive definite).
        let penalty = |i: usize| if i < dim { options.l2 } else { 1e-9 };
        let mut theta = vec![0.0f64; dim + 1];
        for _ in 0..options.max_steps {
            let mut gradient = vec![0.0f64; dim + 1];
            let mut curvature = Vec::with_capacity(z.len());
            for ((row, &y), &w) in z.iter().zip(positive).zip(weights) {
                let prob = sigmoid(affine(row, &theta));
                let residual = w * (prob - f64::from(u8::from(y))) / total;
                for (g, x) in gradient.iter_mut().zip(row) {
                    *g += residual * x;
                }
                gradient[dim] += residual;
                curvature.push(w * prob * (1.0 - prob) / total);
            }
            for (i, g) in gradient.iter_mut().enumerate() {
                *g += penalty(i) * theta[i];
            }
            if gradient.iter().all(|g| g.abs() < options.tolerance) {
                break;
            }
            // The Newton step solves H s = g, H = X' diag(curvature) X + penalty, by conjugate
            // gradients on Hessian-vector products (never forming H: O(rows x dim) each).
            let hessian_times = |v: &[f64]| {
                let mut out: Vec<f64> = v.iter().enumerate().map(|(i, x)| penalty(i) * x).collect();
                for (row, &c) in z.iter().zip(&curvature) {
                    let projected = c * affine(row, v);
                    for (o, x) in out.iter_mut().zip(row) {
                        *o += projected * x;
                    }
                    out[dim] += projected;
                }
                out
            };
            let step = conjugate_gradient(hessian_times, &gradient);
            for (t, s) in theta.iter_mut().zip(&step) {
                *t -= s;
            }
        }
        if !theta.iter().all(|t| t.is_finite()) {
            bail!("the logistic fit diverged");
        }
        let bias = theta.pop().unwrap_or(0.0);
        Ok(Logistic { standardiser, weights: theta, bias })
    }

    /// The probability of the positive class for one raw (unstandardised) row.
    pub fn probability(&self, row: &[f32]) -> f64 {
        let z = self.standardiser.apply(row);
        sigmoid(z.iter().zip(&self.weights).map(|(x, w)| x * w).sum::<f64>() + self.bias)
    }
}

/// The common length of `rows`; fails on no rows, ragged rows or non-finite values.
fn check_rows(rows: &[&[f32]]) -> anyhow::Result<usize> {
    let Some(first) = rows.first() else { bail!("no rows to fit on") };
    let dim = first.len();
    ensure!(dim > 0, "rows have no values");
    for (i, row) in rows.iter().enumerate() {
        ensure!(row.len() == dim, "row {i} has {} values, row 0 has {dim}", row.len());
        ensure!(row.iter().all(|x| x.is_finite()), "row {i} holds a value that is not finite");
    }
    Ok(dim)
}

/// `row . theta[..dim] + theta[dim]` (the last parameter is the bias).
fn affine(row: &[f64], theta: &[f64]) -> f64 {
    row.iter().zip(theta).map(|(x, t)| x * t).sum::<f64>() + theta[row.len()]
}

/// Solves `H x = b` for a symmetric positive-definite `H` given as its product with a vector,
/// by conjugate gradients (at most `2 len(b)` iterations, to a relative residual of 1e-10).
fn conjugate_gradient(times: impl Fn(&[f64]) -> Vec<f64>, b: &[f64]) -> Vec<f64> {
    let dot = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(a, b)| a * b).sum::<f64>();
    let mut x = vec![0.0; b.len()];
    let mut r = b.to_vec();
    let mut d = r.clone();
    let mut rr = dot(&r, &r);
    let stop = 1e-20 * rr;
    for _ in 0..2 * b.len() {
        if rr <= stop || rr == 0.0 {
            break;
        }
        let hd = times(&d);
        let curvature = dot(&d, &hd);
        if curvature.is_nan() || curvature <= 0.0 {
            break;
        }
        let alpha = rr / curvature;
        for ((xi, ri), (di, hi)) in x.iter_mut().zip(r.iter_mut()).zip(d.iter().zip(&hd)) {
            *xi += alpha * di;
            *ri -= alpha * hi;
        }
        let next = dot(&r, &r);
        let beta = next / rr;
        rr = next;
        for (di, ri) in d.iter_mut().zip(&r) {
            *di = ri + beta * *di;
        }
    }
    x
}

/// Weights that give each class the same total: `n / (2 n_class)` per row.
pub fn balanced_weights(positive: &[bool]) -> Vec<f64> {
    let n = positive.len() as f64;
    let n_pos = positive.iter().filter(|&&p| p).count().max(1) as f64;
    let n_neg = positive.iter().filter(|&&p| !p).count().max(1) as f64;
    positive.iter().map(|&p| if p { n / (2.0 * n_pos) } else { n / (2.0 * n_neg) }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newton_recovers_a_separating_direction_and_balances_classes() {
        // Class depends on column 0 only (column 1 is noise, column 2 constant); 3 negatives
        // for each positive.
        let mut state = 7u64;
        let mut noise = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) as f32) / ((1u64 << 31) as f32) - 0.5
        };
        let mut rows = Vec::new();
        let mut positive = Vec::new();
        for i in 0..200 {
            let y = i % 4 == 0;
            rows.push(vec![if y { 1.0 } else { -1.0 } + noise(), noise(), 5.0]);
            positive.push(y);
        }
        let views: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let weights = balanced_weights(&positive);
        assert!((weights.iter().sum::<f64>() - 200.0).abs() < 1e-9);
        let model = Logistic::fit(&views, &positive, &weights, FitOptions::default()).unwrap();
        assert!(model.weights[0] > 1.0, "{model:?}");
        assert!(model.weights[0] > 5.0 * model.weights[1].abs(), "{model:?}");
        assert_eq!(model.weights[2], 0.0, "a constant column gets no weight");
        assert!(model.probability(&[1.0, 0.0, 5.0]) > 0.9);
        assert!(model.probability(&[-1.0, 0.0, 5.0]) < 0.1);
        // Balanced: the boundary sits near the midpoint between the class means.
        let mid = model.probability(&[0.0, 0.0, 5.0]);
        assert!((0.2..0.8).contains(&mid), "{mid}");
        // A stronger penalty shrinks the weights.
        let strong = FitOptions { l2: 1.0, ..FitOptions::default() };
        let shrunk = Logistic::fit(&views, &positive, &weights, strong).unwrap();
        assert!(shrunk.weights[0] < model.weights[0]);
    }

    #[test]
    fn the_fit_is_the_optimum_also_with_more_columns_than_rows() {
        // 12 rows of 30 columns: the penalised objective has one minimum, where its gradient
        // (recomputed here from the fitted parameters) vanishes.
        let rows: Vec<Vec<f32>> = (0..12)
            .map(|i| (0..30).map(|j| (((i * 31 + j * 17) % 13) as f32 - 6.0) / 3.0).collect())
            .collect();
        let positive: Vec<bool> = (0..12).map(|i| i % 3 == 0).collect();
        let views: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let weights = balanced_weights(&positive);
        let options = FitOptions { l2: 0.1, ..FitOptions::default() };
        let model = Logistic::fit(&views, &positive, &weights, options).unwrap();
        let total: f64 = weights.iter().sum();
        let mut gradient = vec![0.0f64; 31];
        for ((row, &y), &w) in views.iter().zip(&positive).zip(&weights) {
            let residual = w * (model.probability(row) - f64::from(u8::from(y))) / total;
            for (g, x) in gradient.iter_mut().zip(model.standardiser.apply(row)) {
                *g += residual * x;
            }
            gradient[30] += residual;
        }
        for (g, w) in gradient.iter_mut().zip(&model.weights) {
            *g += options.l2 * w;
        }
        assert!(gradient.iter().all(|g| g.abs() < 1e-6), "{gradient:?}");
    }

    #[test]
    fn bad_input_is_named() {
        let a = [1.0f32, 2.0];
        let b = [1.0f32];
        let options = FitOptions::default();
        assert!(Logistic::fit(&[], &[], &[], options).unwrap_err().to_string().contains("no rows"));
        let ragged = Logistic::fit(&[&a, &b], &[true, false], &[1.0, 1.0], options).unwrap_err();
        assert!(ragged.to_string().contains("row 1 has 1 values"), "{ragged}");
        let nan = [f32::NAN, 0.0];
        let err = Logistic::fit(&[&a, &nan], &[true, false], &[1.0, 1.0], options).unwrap_err();
        assert!(err.to_string().contains("not finite"), "{err}");
        let err = Logistic::fit(&[&a, &a], &[true], &[1.0, 1.0], options).unwrap_err();
        assert!(err.to_string().contains("targets"), "{err}");
    }
}
