//! MusiCNN's mid end and temporal pools for one input: three 1-D convs over time (7 frames,
//! ReLU, batch norm; the second and third add their input), then the maximum and mean over
//! time of every front- and mid-end channel.
//!
//! A conv is seven products, one per kernel tap `dw`, summed in place: with the input laid
//! out channel-major and zero-padded in time, the matrix `(t, c) -> x[c][t + dw]` is the
//! padded input itself read with row stride 1 and column stride `frames + 6`, so there is no
//! im2col copy.

use super::affine::ChannelAffine;
use super::gemm::{matmul, matmul_add, View};

/// One mid-end conv's weights (see `MidEndConv`).
pub(crate) struct MidLayer {
    /// Input channels.
    c_in: usize,
    /// Output channels.
    c_out: usize,
    width: usize,
    /// Zero frames before the input (as many after).
    pad: usize,
    /// `[c_out][c_in][width]`, as Burn stores it.
    weights: Vec<f32>,
    bias: Vec<f32>,
    bn: ChannelAffine,
}

impl MidLayer {
    /// A stride-1 conv from `c_in` to `c_out` channels, `width` frames wide and zero-padded by
    /// `(width - 1) / 2` frames on each side; `weights` is `[c_out][c_in][width]` (Burn's
    /// layout), `bias` one value per output channel, `bn` the batch norm after the ReLU.
    pub(crate) fn new(
        weights: Vec<f32>,
        [c_out, c_in, width]: [usize; 3],
        bias: Vec<f32>,
        bn: ChannelAffine,
    ) -> Self {
        MidLayer { c_in, c_out, width, pad: (width - 1) / 2, weights, bias, bn }
    }

    #[cfg_attr(not(feature = "burn"), allow(dead_code))]
    /// Input channels.
    pub(crate) fn c_in(&self) -> usize {
        self.c_in
    }

    /// Output channels.
    pub(crate) fn c_out(&self) -> usize {
        self.c_out
    }

    /// `bn(relu(conv(x)))` into `out` (`[c_out][frames]`) for `x` (`[c_in][frames]`);
    /// `products` is scratch of `frames * c_out` values.
    fn forward(&self, x: &[f32], frames: usize, products: &mut [f32], out: &mut [f32]) {
        let stride = frames + self.width - 1;
        let mut padded = vec![0.0; self.c_in * stride];
        for (row, channel) in padded.chunks_exact_mut(stride).zip(x.chunks_exact(frames)) {
            row[self.pad..self.pad + frames].copy_from_slice(channel);
        }
        let k = self.c_in * self.width;
        for dw in 0..self.width {
            let lhs = View { data: &padded[dw..], rs: 1, cs: stride };
            let rhs = View { data: &self.weights[dw..], rs: self.width, cs: k };
            let product = if dw == 0 { matmul } else { matmul_add };
            product(products, frames, self.c_out, self.c_in, lhs, rhs);
        }
        for (o, row) in out.chunks_exact_mut(frames).enumerate() {
            let (scale, shift, bias) = (self.bn.scale[o], self.bn.shift[o], self.bias[o]);
            for (t, y) in row.iter_mut().enumerate() {
                *y = scale * (products[t * self.c_out + o] + bias).max(0.0) + shift;
            }
        }
    }
}

/// The pooled vector of one input (`[max_0, mean_0, max_1, …]` over the front end's channels,
/// then each mid-end layer's) from the front end's output `front` (`[channels][frames]`).
pub(crate) fn pools(layers: &[MidLayer], front: &[f32], frames: usize, pooled: &mut Vec<f32>) {
    pool_into(front, frames, pooled);
    let mut previous = front.to_vec();
    for (i, layer) in layers.iter().enumerate() {
        let mut products = vec![0.0; frames * layer.c_out];
        let mut y = vec![0.0; layer.c_out * frames];
        layer.forward(&previous, frames, &mut products, &mut y);
        if i > 0 {
            for (y, p) in y.iter_mut().zip(&previous) {
                *y += p;
            }
        }
        pool_into(&y, frames, pooled);
        previous = y;
    }
}

/// Appends the maximum and mean over time of each channel of `x` (`[channels][frames]`).
fn pool_into(x: &[f32], frames: usize, pooled: &mut Vec<f32>) {
    for channel in x.chunks_exact(frames) {
        let max = channel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mean = channel.iter().sum::<f32>() / frames as f32;
        pooled.extend([max, mean]);
    }
}
