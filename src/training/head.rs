//! The genre head of a transfer network trained on cached backbone embeddings: the head and
//! loss of `trainer train transfer`, and of the page's own-genre training.

use anyhow::{bail, Context};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::metrics::EpochRecord;
use super::rows::{Kept, Rows, Stage};
use super::schedule::{Schedule, ScheduleConfig};
use crate::model::musicnn::TransferHead;

/// How a head is trained (everything but the data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadSettings {
    /// Units of each hidden dense block; empty for a linear head.
    pub hidden: Vec<usize>,
    /// Dropout on the embedding and after each hidden block (training only).
    pub dropout: f64,
    /// Most epochs.
    pub epochs: usize,
    /// Rows per optimiser step.
    pub batch_size: usize,
    /// Adam's L2 weight decay, if any.
    pub weight_decay: Option<f32>,
    /// Learning rate, plateaus and early stopping.
    pub schedule: ScheduleConfig,
    /// Seed of the initial weights, the dropout masks and the batch order.
    pub seed: u64,
}

/// Trains a fresh head on `train` (rows of backbone embeddings) with Adam and cross-entropy,
/// keeping the epoch with the lowest loss on `val` (on `train` when `val` is empty). `device`
/// is a plain device; its autodiff form is used for training.
pub fn train_head(
    name: &str,
    labels: &[String],
    train: &Rows,
    val: &Rows,
    settings: &HeadSettings,
    device: &Device,
    history: &mut Vec<EpochRecord>,
) -> anyhow::Result<Kept<TransferHead>> {
    if train.is_empty() {
        bail!("{name}: no training windows");
    }
    device.seed(settings.seed);
    let train_device = device.clone().autodiff();
    let head = TransferHead::new(
        train.dim,
        &settings.hidden,
        settings.dropout,
        labels.len(),
        &train_device,
    );
    let stage = Stage {
        name,
        train,
        val,
        eval_chunk: 256,
        first_epoch: 1,
        epochs: settings.epochs,
        batch_size: settings.batch_size,
        seed: settings.seed,
        weight_decay: settings.weight_decay,
    };
    let schedule = Schedule::new(settings.schedule.clone());
    stage
        .run(head, |head, x| head.forward(x), schedule, labels, device, history)?
        .with_context(|| format!("{name}: no epoch reached a finite loss (--epochs 0?)"))
}
