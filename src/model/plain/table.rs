//! The descriptor-table networks ([`TableArchitecture`]) without Burn: the MLP's dense blocks,
//! and the 1-D CNN's two convs over the vector (same padding, ReLU, max-pool by 2), its dense
//! ReLU layer and output.

use super::super::table::TableArchitecture;
use super::dense::{forward_stack, relu, Dense, DenseBlock};
use super::params::{Expected, Params};
use crate::bundle::{BundleError, StoredParam};

/// A descriptor-table network's weights, for inference on the CPU.
pub struct PlainTableNet(Layers);

/// The layers of each architecture.
enum Layers {
    /// See [`TableArchitecture::Mlp`].
    Mlp {
        /// The hidden blocks.
        hidden: Vec<DenseBlock>,
        /// The output layer.
        out: Dense,
    },
    /// See [`TableArchitecture::Cnn1d`].
    Cnn1d {
        /// The two conv blocks.
        convs: Vec<VectorConv>,
        /// The dense layer after flattening (ReLU).
        dense: Dense,
        /// The output layer.
        out: Dense,
    },
}

/// A 1-D conv over a vector, stride 1, zero-padded as Burn's `Same` (the odd extra after),
/// then ReLU and a max-pool of width and stride 2 (the last value dropped for odd lengths).
struct VectorConv {
    c_in: usize,
    c_out: usize,
    kernel: usize,
    /// `[c_out][c_in][kernel]`.
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl VectorConv {
    /// `[c_out][n / 2]` from one input `[c_in][n]`.
    fn forward(&self, x: &[f32], n: usize) -> Vec<f32> {
        let before = (self.kernel - 1) / 2;
        let mut conv = vec![0.0; self.c_out * n];
        for o in 0..self.c_out {
            for t in 0..n {
                let mut sum = self.bias[o];
                for c in 0..self.c_in {
                    let w = &self.weight[(o * self.c_in + c) * self.kernel..][..self.kernel];
                    for (j, wj) in w.iter().enumerate() {
                        // Input index t + j - before, zero outside the vector.
                        if let Some(i) = (t + j).checked_sub(before).filter(|&i| i < n) {
                            sum += wj * x[c * n + i];
                        }
                    }
                }
                conv[o * n + t] = sum.max(0.0);
            }
        }
        let half = n / 2;
        let mut out = vec![0.0; self.c_out * half];
        for o in 0..self.c_out {
            for t in 0..half {
                out[o * half + t] = conv[o * n + 2 * t].max(conv[o * n + 2 * t + 1]);
            }
        }
        out
    }
}

/// The 1-D CNN's convs' input and output channels.
fn conv_channels(filters: &[usize; 2]) -> [(usize, usize); 2] {
    [(1, filters[0]), (filters[0], filters[1])]
}

/// The 1-D CNN's values after its two convs and pools, flattened (the dense layer's input).
fn flat_len(filters: &[usize; 2], n_inputs: usize) -> usize {
    filters[1] * (n_inputs / 4)
}

impl PlainTableNet {
    /// Every parameter path and shape of the network `arch` describes for `n_inputs`
    /// descriptors and `n_labels` outputs (the same as the Burn
    /// [`TableNet`](super::super::table::TableNet)'s record).
    pub(crate) fn expected(arch: &TableArchitecture, n_inputs: usize, n_labels: usize) -> Expected {
        let mut e = Expected::default();
        match arch {
            TableArchitecture::Mlp { hidden, .. } => {
                DenseBlock::expect_stack(&mut e, "Mlp.hidden", n_inputs, hidden);
                let last = hidden.last().copied().unwrap_or(n_inputs);
                e.linear("Mlp.out", last, n_labels);
            }
            TableArchitecture::Cnn1d { filters, kernel, dense, .. } => {
                for (i, (c_in, c_out)) in conv_channels(filters).into_iter().enumerate() {
                    e.add(format!("Cnn1d.convs.{i}.conv.weight"), vec![c_out, c_in, *kernel]);
                    e.add(format!("Cnn1d.convs.{i}.conv.bias"), vec![c_out]);
                }
                e.linear("Cnn1d.dense", flat_len(filters, n_inputs), *dense);
                e.linear("Cnn1d.out", *dense, n_labels);
            }
        }
        e
    }

    /// The network from its checked parameters (see [`expected`](Self::expected)).
    pub(crate) fn from_params(
        arch: &TableArchitecture,
        n_inputs: usize,
        n_labels: usize,
        params: Vec<StoredParam>,
    ) -> Result<Self, BundleError> {
        let mut p = Params::new(params);
        Ok(match arch {
            TableArchitecture::Mlp { hidden, .. } => {
                let last = hidden.last().copied().unwrap_or(n_inputs);
                PlainTableNet(Layers::Mlp {
                    hidden: DenseBlock::take_stack(&mut p, "Mlp.hidden", n_inputs, hidden)?,
                    out: Dense::take(&mut p, "Mlp.out", last, n_labels)?,
                })
            }
            TableArchitecture::Cnn1d { filters, kernel, dense, .. } => {
                let mut convs = Vec::new();
                for (i, (c_in, c_out)) in conv_channels(filters).into_iter().enumerate() {
                    convs.push(VectorConv {
                        c_in,
                        c_out,
                        kernel: *kernel,
                        weight: p.take(&format!("Cnn1d.convs.{i}.conv.weight"))?,
                        bias: p.take(&format!("Cnn1d.convs.{i}.conv.bias"))?,
                    });
                }
                PlainTableNet(Layers::Cnn1d {
                    convs,
                    dense: Dense::take(&mut p, "Cnn1d.dense", flat_len(filters, n_inputs), *dense)?,
                    out: Dense::take(&mut p, "Cnn1d.out", *dense, n_labels)?,
                })
            }
        })
    }

    /// Logits `[batch][n_labels]` from standardised descriptor vectors `[batch][n_inputs]`.
    pub fn forward(&self, rows: &[f32], n_inputs: usize) -> Vec<f32> {
        match &self.0 {
            Layers::Mlp { hidden, out } => out.forward(&forward_stack(hidden, rows)),
            Layers::Cnn1d { convs, dense, out } => {
                let mut flat = Vec::new();
                for row in rows.chunks_exact(n_inputs.max(1)) {
                    let mut x = row.to_vec();
                    let mut n = n_inputs;
                    for conv in convs {
                        x = conv.forward(&x, n);
                        n /= 2;
                    }
                    flat.extend(x);
                }
                let mut hidden = dense.forward(&flat);
                relu(&mut hidden);
                out.forward(&hidden)
            }
        }
    }
}
