//! One optimiser step and one epoch's bookkeeping, shared by every training loop: Adam, the
//! shuffled batches of an epoch, running loss and accuracy, the epoch's record and log line.

use anyhow::bail;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLoss;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Int, Tensor};
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::metrics::{argmax, EpochRecord, Evaluation};

/// A seed for one (run, epoch, track) triple.
pub fn mix(seed: u64, epoch: u64, track: u64) -> u64 {
    let mut x = seed
        ^ epoch.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ track.wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^ (x >> 33)
}

/// Adam (Burn's defaults) with optional L2 weight decay.
pub fn optimizer(weight_decay: Option<f32>) -> ModuleOptimizer {
    AdamConfig::new().with_weight_decay(weight_decay.map(WeightDecayConfig::new)).init()
}

/// One epoch's batches of window indices, shuffled (the same per seed and epoch). A last
/// batch of one window would make batch norm's variance zero, so it is dropped.
pub fn epoch_batches(
    n_windows: usize,
    batch_size: usize,
    seed: u64,
    epoch: usize,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n_windows).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(seed, epoch as u64, u64::MAX)));
    order.chunks(batch_size.max(1)).filter(|b| b.len() >= 2).map(<[usize]>::to_vec).collect()
}

/// Loss and accuracy summed over the batches of a [`train_pass`] so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PassStats {
    /// Sum over windows of the cross-entropy loss.
    pub loss_sum: f64,
    /// Windows whose highest logit was the true label.
    pub correct: usize,
    /// Windows seen.
    pub seen: usize,
}

impl PassStats {
    /// Mean loss per window.
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.seen.max(1) as f64
    }

    /// Fraction of windows classified right.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.seen.max(1) as f64
    }

    /// Adds one batch: its mean loss, its logits (`n_labels` per window, row-major) and the
    /// true label of each window.
    pub fn add_batch(
        &mut self,
        mean_loss: f32,
        logits: &[f32],
        n_labels: usize,
        truths: impl ExactSizeIterator<Item = usize>,
    ) {
        let n = truths.len();
        for (row, truth) in logits.chunks_exact(n_labels).zip(truths) {
            self.correct += (argmax(row) == truth) as usize;
        }
        self.loss_sum += mean_loss as f64 * n as f64;
        self.seen += n;
    }
}

/// One optimiser step of any module on one batch: cross-entropy of `logits` (computed by
/// `model` on an autodiff device) against the labels `y` (`truths` on the host), backward,
/// an Adam step at `lr`; the batch's loss and hits are added to `stats`. Fails when the loss
/// stops being finite.
pub fn optimiser_step<M: Module>(
    model: M,
    optim: &mut ModuleOptimizer,
    loss_fn: &CrossEntropyLoss,
    (logits, y, truths): (Tensor<2>, Tensor<1, Int>, impl ExactSizeIterator<Item = usize>),
    lr: f64,
    stats: &mut PassStats,
) -> anyhow::Result<M> {
    let n_labels = logits.dims()[1];
    let loss = loss_fn.forward(logits.clone(), y);
    let loss_value: f32 = loss.clone().into_scalar();
    if !loss_value.is_finite() {
        bail!("training diverged (loss {loss_value}); try a lower --lr");
    }
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let model = optim.step(lr, model, grads);
    let logits = logits.into_data().try_to_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    stats.add_batch(loss_value, &logits, n_labels, truths);
    Ok(model)
}

/// The record of one epoch from its training totals and validation evaluation (without
/// validation tracks, the training figures stand in for the validation ones).
pub fn epoch_record(
    epoch: usize,
    pass: &PassStats,
    validation: Option<&Evaluation>,
    learning_rate: f64,
    seconds: f64,
) -> EpochRecord {
    let (train_loss, train_accuracy) = (pass.mean_loss(), pass.accuracy());
    let (val_loss, val_accuracy) = match validation {
        Some(e) => (e.mean_loss.unwrap_or(f64::NAN), e.track_accuracy),
        None => (train_loss, train_accuracy),
    };
    EpochRecord {
        epoch,
        train_loss,
        train_accuracy,
        val_loss,
        val_accuracy,
        learning_rate,
        seconds,
    }
}

/// The progress line of one epoch (`*` marks a validation improvement).
pub fn epoch_line(name: &str, epochs: usize, r: &EpochRecord, improved: bool) -> String {
    format!(
        "{name} epoch {:>3}/{epochs}: train loss {:.4} acc {:.1}% | val loss {:.4} track acc {:.1}% | lr {:.1e} | {:.1} s{}",
        r.epoch,
        r.train_loss,
        100.0 * r.train_accuracy,
        r.val_loss,
        100.0 * r.val_accuracy,
        r.learning_rate,
        r.seconds,
        if improved { " *" } else { "" }
    )
}
