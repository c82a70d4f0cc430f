//! Training on cached fixed-length rows (backbone embeddings, front-end outputs, descriptor
//! vectors): the rows of a set of tracks, and one training stage over them with
//! best-by-validation weights.

use super::clock::Timer;

use crate::classify::softmax;
use anyhow::Context;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::metrics::{evaluate, EpochRecord, Evaluation, WindowPrediction};
use super::schedule::Schedule;
use super::step::{epoch_batches, epoch_line, epoch_record, optimiser_step, optimizer, PassStats};

/// The tensor's values on the host.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> anyhow::Result<Vec<f32>> {
    t.into_data().try_to_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// Fixed-length rows of the windows of some tracks (embeddings or front-end outputs), with
/// each row's label and track.
pub struct Rows {
    /// Values per row.
    pub dim: usize,
    /// The rows, one after the other.
    pub data: Vec<f32>,
    /// Each row's label index.
    pub labels: Vec<usize>,
    /// Each row's track (rows of one track are pooled into its track prediction).
    pub tracks: Vec<usize>,
}

impl Rows {
    /// The rows of the tracks `indices`, from `per_track` (each track's rows of `dim` values)
    /// and each track's label in `labels`.
    pub fn of<T: AsRef<[f32]>>(
        per_track: &[T],
        dim: usize,
        labels: &[usize],
        indices: &[usize],
    ) -> Self {
        let mut rows = Rows { dim, data: Vec::new(), labels: Vec::new(), tracks: Vec::new() };
        for &t in indices {
            let data = per_track[t].as_ref();
            rows.data.extend_from_slice(data);
            let n = data.len() / dim;
            rows.labels.extend(std::iter::repeat_n(labels[t], n));
            rows.tracks.extend(std::iter::repeat_n(t, n));
        }
        rows
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The rows `indices` as a `[n, dim]` tensor, with their labels.
    pub fn batch(&self, indices: &[usize], device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
        let mut x = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            x.extend_from_slice(&self.data[i * self.dim..(i + 1) * self.dim]);
        }
        let y: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        (
            Tensor::from_data(TensorData::new(x, [indices.len(), self.dim]), device),
            Tensor::from_data(TensorData::new(y, [indices.len()]), device),
        )
    }

    /// Evaluates `logits` (a model in inference mode) on every row, `chunk` rows at a time.
    pub fn evaluate(
        &self,
        logits: impl Fn(Tensor<2>) -> Tensor<2>,
        chunk: usize,
        labels: &[String],
        device: &Device,
    ) -> anyhow::Result<Evaluation> {
        let all: Vec<usize> = (0..self.len()).collect();
        let mut windows = Vec::with_capacity(self.len());
        for part in all.chunks(chunk) {
            let (x, _) = self.batch(part, device);
            let out = to_vec(logits(x))?;
            for (row, &i) in out.chunks_exact(labels.len()).zip(part) {
                windows.push(WindowPrediction {
                    track: self.tracks[i],
                    truth: self.labels[i],
                    probs: softmax(row),
                });
            }
        }
        Ok(evaluate(labels, &windows))
    }
}

/// The weights a training stage kept: its best epoch's.
pub struct Kept<M> {
    /// The weights, in inference mode.
    pub model: M,
    /// The epoch they come from.
    pub epoch: usize,
    /// Their validation loss (training loss without validation rows).
    pub loss: f64,
    /// Their evaluation on the validation rows.
    pub validation: Option<Evaluation>,
}

/// One training stage on cached rows.
pub struct Stage<'a> {
    /// Name in progress lines.
    pub name: &'a str,
    /// Training rows.
    pub train: &'a Rows,
    /// Validation rows (may be empty).
    pub val: &'a Rows,
    /// Rows per evaluation pass.
    pub eval_chunk: usize,
    /// Number of the stage's first epoch (a second stage continues the first's count).
    pub first_epoch: usize,
    /// Most epochs.
    pub epochs: usize,
    /// Rows per optimiser step.
    pub batch_size: usize,
    /// Seed of the batch order.
    pub seed: u64,
    /// Adam's L2 weight decay, if any.
    pub weight_decay: Option<f32>,
}

impl Stage<'_> {
    /// Trains `model` (on the autodiff device), computing logits from a batch of rows with
    /// `logits`, and keeps the epoch with the lowest validation loss (training loss without
    /// validation rows) that `schedule` counts as an improvement. None when no epoch did, which
    /// a schedule continuing an earlier stage allows.
    pub fn run<M: Module>(
        &self,
        mut model: M,
        logits: impl Fn(&M, Tensor<2>) -> Tensor<2>,
        mut schedule: Schedule,
        labels: &[String],
        device: &Device,
        history: &mut Vec<EpochRecord>,
    ) -> anyhow::Result<Option<Kept<M>>> {
        let train_device = device.clone().autodiff();
        let mut optim = optimizer(self.weight_decay);
        let loss_fn = CrossEntropyLossConfig::new().init(&train_device);
        let mut kept = None;
        let last = self.first_epoch + self.epochs;
        for epoch in self.first_epoch..last {
            let epoch_start = Timer::start();
            let lr = schedule.learning_rate();
            let mut pass = PassStats::default();
            for batch in epoch_batches(self.train.len(), self.batch_size, self.seed, epoch) {
                let (x, y) = self.train.batch(&batch, &train_device);
                let out = logits(&model, x);
                let truths = batch.iter().map(|&i| self.train.labels[i]);
                model =
                    optimiser_step(model, &mut optim, &loss_fn, (out, y, truths), lr, &mut pass)
                        .with_context(|| format!("{} epoch {epoch}", self.name))?;
            }
            let inference = model.valid();
            let validation = if self.val.is_empty() {
                None
            } else {
                Some(self.val.evaluate(
                    |x| logits(&inference, x),
                    self.eval_chunk,
                    labels,
                    device,
                )?)
            };
            let seconds = epoch_start.seconds();
            let record = epoch_record(epoch, &pass, validation.as_ref(), lr, seconds);
            let decision = schedule.step(record.val_loss);
            // Epochs of small models take milliseconds: print only the ones that matter.
            if seconds >= 1.0
                || epoch == self.first_epoch
                || decision.improved
                || decision.stop
                || epoch % 10 == 0
            {
                eprintln!("{}", epoch_line(self.name, last - 1, &record, decision.improved));
            }
            if decision.improved {
                kept = Some(Kept { model: inference, epoch, loss: record.val_loss, validation });
            }
            history.push(record);
            if decision.stop {
                break;
            }
        }
        Ok(kept)
    }
}
