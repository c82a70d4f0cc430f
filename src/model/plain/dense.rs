//! Dense layers and inference batch norm on rows of f32 values (`[batch][features]`).

use super::super::musicnn_cpu::affine::ChannelAffine;
use super::super::musicnn_cpu::gemm::{matmul, View};
use super::params::{Expected, Params};
use crate::bundle::BundleError;

/// Epsilon of Burn's `BatchNormConfig` default (the dense blocks' batch norms).
pub(crate) const DEFAULT_EPSILON: f32 = 1e-5;

/// A fully connected layer `y = x W + b`, `W` stored `[d_in][d_out]` as Burn's `Linear`.
pub(crate) struct Dense {
    d_in: usize,
    d_out: usize,
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Dense {
    /// The layer at `path`, from `d_in` to `d_out` units.
    pub(crate) fn take(
        params: &mut Params,
        path: &str,
        d_in: usize,
        d_out: usize,
    ) -> Result<Self, BundleError> {
        let weight = params.take(&format!("{path}.weight"))?;
        let bias = params.take(&format!("{path}.bias"))?;
        Ok(Dense { d_in, d_out, weight, bias })
    }

    /// `rows` (`[batch][d_in]`) through the layer: `[batch][d_out]`.
    pub(crate) fn forward(&self, rows: &[f32]) -> Vec<f32> {
        let batch = rows.len() / self.d_in.max(1);
        let mut out = vec![0.0; batch * self.d_out];
        if batch > 0 && self.d_out > 0 && self.d_in > 0 {
            let lhs = View { data: rows, rs: self.d_in, cs: 1 };
            let rhs = View { data: &self.weight, rs: self.d_out, cs: 1 };
            matmul(&mut out, batch, self.d_out, self.d_in, lhs, rhs);
        }
        for row in out.chunks_exact_mut(self.d_out.max(1)) {
            for (y, b) in row.iter_mut().zip(&self.bias) {
                *y += b;
            }
        }
        out
    }
}

/// Applies inference batch norm `bn` to every row of `rows` (one channel per column).
pub(crate) fn normalise(rows: &mut [f32], bn: &ChannelAffine) {
    let n = bn.scale.len().max(1);
    for row in rows.chunks_exact_mut(n) {
        for ((v, s), t) in row.iter_mut().zip(&bn.scale).zip(&bn.shift) {
            *v = s * *v + t;
        }
    }
}

/// ReLU in place.
pub(crate) fn relu(values: &mut [f32]) {
    for v in values {
        *v = v.max(0.0);
    }
}

/// A dense block at inference (Burn's `DenseBlock`: linear, batch norm, ReLU; dropout is the
/// identity).
pub(crate) struct DenseBlock {
    linear: Dense,
    norm: ChannelAffine,
}

impl DenseBlock {
    /// Declares the blocks from `d_in` through each of `widths` at `path.0`, `path.1`, ...
    pub(crate) fn expect_stack(expected: &mut Expected, path: &str, d_in: usize, widths: &[usize]) {
        let inputs = std::iter::once(d_in).chain(widths.iter().copied());
        for (i, (a, b)) in inputs.zip(widths.iter().copied()).enumerate() {
            expected.linear(&format!("{path}.{i}.linear"), a, b);
            expected.batch_norm(&format!("{path}.{i}.norm"), b);
        }
    }

    /// The blocks [`expect_stack`](Self::expect_stack) declared.
    pub(crate) fn take_stack(
        params: &mut Params,
        path: &str,
        d_in: usize,
        widths: &[usize],
    ) -> Result<Vec<Self>, BundleError> {
        let inputs = std::iter::once(d_in).chain(widths.iter().copied());
        inputs
            .zip(widths.iter().copied())
            .enumerate()
            .map(|(i, (a, b))| {
                Ok(DenseBlock {
                    linear: Dense::take(params, &format!("{path}.{i}.linear"), a, b)?,
                    norm: params.batch_norm(&format!("{path}.{i}.norm"), DEFAULT_EPSILON)?,
                })
            })
            .collect()
    }

    /// `rows` through the block.
    pub(crate) fn forward(&self, rows: &[f32]) -> Vec<f32> {
        let mut y = self.linear.forward(rows);
        normalise(&mut y, &self.norm);
        relu(&mut y);
        y
    }
}

/// `rows` through `blocks` in order (a copy of `rows` for none).
pub(crate) fn forward_stack(blocks: &[DenseBlock], rows: &[f32]) -> Vec<f32> {
    let mut x = rows.to_vec();
    for block in blocks {
        x = block.forward(&x);
    }
    x
}
