//! The layer groups both networks are made of.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// 3x3 convolution (same padding) -> batch norm -> ReLU -> 2x2 max pool.
///
/// Maps `[batch, c_in, h, w]` to `[batch, c_out, h / 2, w / 2]` (floor).
#[derive(Module, Debug)]
pub struct ConvBlock {
    /// The 3x3 convolution.
    pub conv: Conv2d,
    /// Batch norm over the output channels.
    pub norm: BatchNorm,
    /// The 2x2, stride 2 max pool.
    pub pool: MaxPool2d,
}

impl ConvBlock {
    /// A block from `c_in` to `c_out` channels with freshly initialised weights.
    pub fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        ConvBlock {
            conv: Conv2dConfig::new([c_in, c_out], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            norm: BatchNormConfig::new(c_out).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
        }
    }

    /// Applies the block to `[batch, c_in, h, w]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.pool.forward(relu(self.norm.forward(self.conv.forward(x))))
    }
}

/// Linear -> batch norm -> ReLU -> dropout, on `[batch, features]`.
#[derive(Module, Debug)]
pub struct DenseBlock {
    /// The fully connected layer.
    pub linear: Linear,
    /// Batch norm over the units.
    pub norm: BatchNorm,
    /// Dropout, active only in training (autodiff device and training flag on).
    pub dropout: Dropout,
}

impl DenseBlock {
    /// A block from `d_in` to `d_out` units; `dropout` must be in `[0, 1)`.
    pub fn new(d_in: usize, d_out: usize, dropout: f64, device: &Device) -> Self {
        DenseBlock {
            linear: LinearConfig::new(d_in, d_out).init(device),
            norm: BatchNormConfig::new(d_out).init(device),
            dropout: DropoutConfig::new(dropout).init(),
        }
    }

    /// Applies the block to `[batch, d_in]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.dropout.forward(relu(self.norm.forward(self.linear.forward(x))))
    }
}

/// Dense blocks from `d_in` inputs through each of `widths`, chained (none for empty
/// `widths`).
pub(crate) fn dense_stack(
    d_in: usize,
    widths: &[usize],
    dropout: f64,
    device: &Device,
) -> Vec<DenseBlock> {
    let inputs = std::iter::once(d_in).chain(widths.iter().copied());
    inputs
        .zip(widths.iter().copied())
        .map(|(a, b)| DenseBlock::new(a, b, dropout, device))
        .collect()
}

/// Runs `blocks` in order.
pub(crate) fn forward_dense_stack(blocks: &[DenseBlock], mut x: Tensor<2>) -> Tensor<2> {
    for block in blocks {
        x = block.forward(x);
    }
    x
}

/// The conv blocks, chained: `[batch, 1, n_mels, n_frames]` to
/// `[batch, filters.last(), n_mels >> k, n_frames >> k]` for `k` blocks.
pub(crate) fn conv_stack(filters: &[usize], device: &Device) -> Vec<ConvBlock> {
    let inputs = std::iter::once(1).chain(filters.iter().copied());
    inputs
        .zip(filters.iter().copied())
        .map(|(c_in, c_out)| ConvBlock::new(c_in, c_out, device))
        .collect()
}

/// Runs `blocks` in order.
pub(crate) fn forward_conv_stack(blocks: &[ConvBlock], mut x: Tensor<4>) -> Tensor<4> {
    for block in blocks {
        x = block.forward(x);
    }
    x
}
