//! L2-regularised logistic regression on standardised rows, fitted by Newton's method
//! (iteratively reweighted least squares), with per-row weights (e.g. balanced classes).
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
        // Parameters: dim weights, then the bias.
        let p = dim + 1;
        let mut theta = vec![0.0f64; p];
        for _ in 0..options.max_steps {
            let mut gradient = vec![0.0f64; p];
            let mut hessian = vec![0.0f64; p * p];
            for ((row, &y), &w) in z.iter().zip(positive).zip(weights) {
                let score = row.iter().zip(&theta).map(|(x, t)| x * t).sum::<f64>() + theta[dim];
                let prob = sigmoid(score);
                let residual = w * (prob - f64::from(u8::from(y))) / total;
                let curvature = w * prob * (1.0 - prob) / total;
                for i in 0..p {
                    let xi = if i < dim { row[i] } else { 1.0 };
                    gradient[i] += residual * xi;
                    let hrow = &mut hessian[i * p..(i + 1) * p];
                    for (j, h) in hrow.iter_mut().enumerate().take(i + 1) {
                        let xj = if j < dim { row[j] } else { 1.0 };
                        *h += curvature * xi * xj;
                    }
                }
            }
            for i in 0..p {
                for j in 0..i {
                    hessian[j * p + i] = hessian[i * p + j];
                }
                if i < dim {
                    gradient[i] += options.l2 * theta[i];
                    hessian[i * p + i] += options.l2;
                } else {
                    hessian[i * p + i] += 1e-9;
                }
            }
            if gradient.iter().all(|g| g.abs() < options.tolerance) {
                break;
            }
            let step = solve_spd(&mut hessian, &gradient, p)?;
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

/// Solves `a x = b` for a symmetric positive-definite `a` (`n` x `n`, row-major; overwritten
/// by its Cholesky factor).
fn solve_spd(a: &mut [f64], b: &[f64], n: usize) -> anyhow::Result<Vec<f64>> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        ensure!(d > 0.0 && d.is_finite(), "the logistic fit's Hessian is not positive definite");
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| a[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / a[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / a[i * n + i];
    }
    Ok(x)
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
