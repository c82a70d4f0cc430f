//! One frequency-pooled conv of the front end (`FrequencyPooledConv`: a conv over the
//! one-channel spectrogram, ReLU, batch norm, max over frequency) for one input.
//!
//! Two layouts of the same product, both ending in [`Extremes`]:
//! - kernels taller than one band (timbral, 38 or 67 bands by 7 frames): the input is laid out
//!   time-major (bands contiguous), so the im2col row of output `(t, f)` is `width` contiguous
//!   runs of `height` values; rows are built a chunk of frames at a time and multiplied by the
//!   `[height * width, filters]` weights;
//! - one-band kernels (temporal, 1 by 128, 64 or 32 frames): the input stays band-major (frames
//!   contiguous), and the im2col matrix of band `f` is the padded band itself read with row
//!   and column stride 1, so there is no copy at all: one product per band.

use super::super::musicnn::FrequencyPooledConv;
use super::affine::{ChannelAffine, Extremes};
use super::gemm::{matmul, View};
use super::values;

/// Frames per im2col chunk of the tall kernels (bounds the scratch memory: 8 x 59 rows of
/// 266 values for the 38-band kernel).
const CHUNK_FRAMES: usize = 8;

/// A [`FrequencyPooledConv`]'s weights, arranged for [`matmul`].
pub(super) struct PooledConv {
    /// Output channels.
    pub(super) filters: usize,
    height: usize,
    width: usize,
    /// Zero frames before the input (the rest of `width - 1` goes after).
    before: usize,
    /// `[filters][height * width]`, the inner index `dw * height + dh`.
    weights: Vec<f32>,
    bias: Vec<f32>,
    bn: ChannelAffine,
}

impl PooledConv {
    /// The weights of `module`, or `None` when its conv is not a plain stride-1,
    /// one-input-channel conv padded only in time (the module path then runs instead).
    pub(super) fn of(module: &FrequencyPooledConv) -> Option<Self> {
        let conv = &module.conv;
        let [filters, channels, height, width] = conv.weight.dims();
        let ((top, bottom), (before, after)) = match conv.padding {
            burn::nn::PaddingConfig2d::Explicit(top, left, bottom, right) => {
                ((top, bottom), (left, right))
            }
            _ => return None,
        };
        let plain = channels == 1
            && conv.stride == [1, 1]
            && conv.dilation == [1, 1]
            && conv.groups == 1
            && top == 0
            && bottom == 0
            && before + after + 1 == width;
        if !plain {
            return None;
        }
        let raw = values(conv.weight.val());
        let k = height * width;
        let mut weights = vec![0.0; filters * k];
        for c in 0..filters {
            for dh in 0..height {
                for dw in 0..width {
                    weights[c * k + dw * height + dh] = raw[c * k + dh * width + dw];
                }
            }
        }
        let bias = conv.bias.as_ref().map_or_else(|| vec![0.0; filters], |b| values(b.val()));
        Some(PooledConv {
            filters,
            height,
            width,
            before,
            weights,
            bias,
            bn: ChannelAffine::of(&module.bn),
        })
    }

    /// Whether an input of `mels` bands is tall enough for the kernel.
    pub(super) fn fits(&self, mels: usize) -> bool {
        mels >= self.height
    }

    /// `out` (`[filters][frames]`) for one normalised input `x` (`[mels][frames]`).
    pub(super) fn forward(&self, x: &[f32], mels: usize, frames: usize, out: &mut [f32]) {
        if self.height == 1 {
            self.forward_per_band(x, mels, frames, out);
        } else {
            self.forward_im2col(x, mels, frames, out);
        }
    }

    /// The weights as the right-hand side `[height * width, filters]`.
    fn rhs(&self) -> View<'_> {
        View { data: &self.weights, rs: 1, cs: self.height * self.width }
    }

    fn forward_im2col(&self, x: &[f32], mels: usize, frames: usize, out: &mut [f32]) {
        let (height, width, filters) = (self.height, self.width, self.filters);
        let k = height * width;
        let bands = mels - height + 1;
        // Time-major and zero-padded in time: padded[(t + before) * mels + f] = x[f][t].
        let mut padded = vec![0.0; (frames + width - 1) * mels];
        for f in 0..mels {
            for t in 0..frames {
                padded[(t + self.before) * mels + f] = x[f * frames + t];
            }
        }
        let mut columns = vec![0.0; CHUNK_FRAMES * bands * k];
        let mut products = vec![0.0; CHUNK_FRAMES * bands * filters];
        let mut extremes = Extremes::new(CHUNK_FRAMES * filters);
        for start in (0..frames).step_by(CHUNK_FRAMES) {
            let n_frames = CHUNK_FRAMES.min(frames - start);
            let rows = n_frames * bands;
            for (row, column) in columns.chunks_exact_mut(k).take(rows).enumerate() {
                let (t, f) = (start + row / bands, row % bands);
                for (dw, run) in column.chunks_exact_mut(height).enumerate() {
                    let from = (t + dw) * mels + f;
                    run.copy_from_slice(&padded[from..from + height]);
                }
            }
            let lhs = View { data: &columns, rs: k, cs: 1 };
            matmul(&mut products, rows, filters, k, lhs, self.rhs());
            extremes.clear();
            for (i, frame) in products[..rows * filters].chunks_exact(bands * filters).enumerate() {
                for band in frame.chunks_exact(filters) {
                    extremes.update(i * filters, band);
                }
            }
            extremes.finish(n_frames, filters, &self.bias, &self.bn, &mut out[start..], frames);
        }
    }

    fn forward_per_band(&self, x: &[f32], mels: usize, frames: usize, out: &mut [f32]) {
        let (width, filters) = (self.width, self.filters);
        let padded_len = frames + width - 1;
        let mut padded = vec![0.0; padded_len];
        let mut products = vec![0.0; frames * filters];
        let mut extremes = Extremes::new(frames * filters);
        for f in 0..mels {
            padded[self.before..self.before + frames]
                .copy_from_slice(&x[f * frames..(f + 1) * frames]);
            let lhs = View { data: &padded, rs: 1, cs: 1 };
            matmul(&mut products, frames, filters, width, lhs, self.rhs());
            extremes.update(0, &products);
        }
        extremes.finish(frames, filters, &self.bias, &self.bn, out, frames);
    }
}
