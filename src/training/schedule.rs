//! Reduce-LR-on-plateau and early stopping, driven by the validation loss (pure logic).

use serde::{Deserialize, Serialize};

/// Settings of the learning-rate schedule and of early stopping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleConfig {
    /// Starting learning rate.
    pub learning_rate: f64,
    /// Epochs without a validation-loss improvement before the rate is multiplied by `factor`.
    pub plateau_patience: usize,
    /// Multiplier applied on a plateau.
    pub factor: f64,
    /// The rate never goes below this.
    pub min_learning_rate: f64,
    /// Epochs without improvement after which training stops.
    pub early_stop_patience: usize,
    /// Smallest decrease of the validation loss that counts as an improvement.
    pub min_delta: f64,
    /// When set, the rate is multiplied by `factor` every this many epochs instead of on
    /// plateaus (a step schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_every: Option<usize>,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            learning_rate: 1e-3,
            plateau_patience: 3,
            factor: 0.5,
            min_learning_rate: 1e-6,
            early_stop_patience: 10,
            min_delta: 1e-4,
            step_every: None,
        }
    }
}

/// What to do after an epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// This epoch has the best validation loss so far: keep its weights.
    pub improved: bool,
    /// The learning rate for the next epoch.
    pub learning_rate: f64,
    /// Stop training.
    pub stop: bool,
}

/// Tracks the best validation loss and decides on rate cuts and stopping.
#[derive(Debug, Clone)]
pub struct Schedule {
    config: ScheduleConfig,
    learning_rate: f64,
    best: f64,
    since_best: usize,
    since_cut: usize,
    epochs: usize,
}

impl Schedule {
    /// A fresh schedule at the configured starting rate.
    pub fn new(config: ScheduleConfig) -> Self {
        Schedule {
            learning_rate: config.learning_rate,
            config,
            best: f64::INFINITY,
            since_best: 0,
            since_cut: 0,
            epochs: 0,
        }
    }

    /// This schedule, counting `best` as the best validation loss already reached (a second
    /// training stage that must beat the first to replace its weights).
    pub fn continuing_from(mut self, best: f64) -> Self {
        self.best = best;
        self
    }

    /// The current learning rate.
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// Records one epoch's validation loss. A NaN loss never counts as an improvement.
    pub fn step(&mut self, val_loss: f64) -> Decision {
        let improved = val_loss < self.best - self.config.min_delta;
        self.epochs += 1;
        if improved {
            self.best = val_loss;
            self.since_best = 0;
            self.since_cut = 0;
        } else {
            self.since_best += 1;
            self.since_cut += 1;
        }
        let cut = match self.config.step_every {
            Some(n) => n > 0 && self.epochs.is_multiple_of(n),
            None => !improved && self.since_cut >= self.config.plateau_patience,
        };
        if cut {
            self.learning_rate =
                (self.learning_rate * self.config.factor).max(self.config.min_learning_rate);
            self.since_cut = 0;
        }
        Decision {
            improved,
            learning_rate: self.learning_rate,
            stop: self.since_best >= self.config.early_stop_patience,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plateau_halves_the_rate_and_patience_stops() {
        let mut s = Schedule::new(ScheduleConfig { early_stop_patience: 7, ..Default::default() });
        assert!(s.step(1.0).improved);
        assert!(s.step(0.9).improved);
        let d: Vec<Decision> = [0.95, 0.91, 0.92].iter().map(|&l| s.step(l)).collect();
        assert_eq!(d[1].learning_rate, 1e-3);
        assert_eq!(d[2].learning_rate, 5e-4, "third epoch without improvement cuts the rate");
        assert!(!d[2].stop);
        assert!(s.step(0.5).improved, "a new best resets the counters");
        let rest: Vec<Decision> = (0..7).map(|_| s.step(0.6)).collect();
        assert_eq!(rest[2].learning_rate, 2.5e-4);
        assert_eq!(rest[5].learning_rate, 1.25e-4);
        assert!(!rest[5].stop && rest[6].stop);
    }

    #[test]
    fn a_step_schedule_halves_the_rate_every_n_epochs_whatever_the_loss() {
        let mut s = Schedule::new(ScheduleConfig {
            step_every: Some(2),
            early_stop_patience: 100,
            ..Default::default()
        });
        let rates: Vec<f64> =
            [1.0, 0.9, 0.8, 0.9, 0.9].iter().map(|&l| s.step(l).learning_rate).collect();
        assert_eq!(rates, [1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4]);
    }

    #[test]
    fn a_continued_schedule_must_beat_the_earlier_best() {
        let mut s = Schedule::new(ScheduleConfig { learning_rate: 1e-4, ..Default::default() })
            .continuing_from(0.5);
        assert_eq!(s.learning_rate(), 1e-4);
        assert!(!s.step(0.6).improved, "worse than the first stage's best");
        assert!(s.step(0.4).improved);
    }

    #[test]
    fn nan_is_never_an_improvement() {
        let mut s = Schedule::new(ScheduleConfig::default());
        assert!(!s.step(f64::NAN).improved);
        assert!(s.step(3.0).improved);
    }
}
