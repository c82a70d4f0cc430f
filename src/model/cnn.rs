//! The plain CNN: conv blocks, global average pooling, dense blocks, logits.

use burn::module::Module;
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::blocks::{
    conv_stack, dense_stack, forward_conv_stack, forward_dense_stack, ConvBlock, DenseBlock,
};

/// See [`ArchitectureConfig::Cnn`](super::ArchitectureConfig::Cnn).
#[derive(Module, Debug)]
pub struct Cnn {
    /// The conv front end.
    pub blocks: Vec<ConvBlock>,
    /// Global average pooling to 1 x 1.
    pub pool: AdaptiveAvgPool2d,
    /// The hidden dense blocks.
    pub dense: Vec<DenseBlock>,
    /// The output layer (embedding to logits).
    pub head: Linear,
}

impl Cnn {
    /// A CNN with freshly initialised weights. The config must have passed
    /// [`ArchitectureConfig::validate`](super::ArchitectureConfig::validate).
    pub fn new(
        filters: &[usize],
        dense: &[usize],
        dropout: f64,
        n_labels: usize,
        device: &Device,
    ) -> Self {
        let conv_out = filters.last().copied().unwrap_or(1);
        let embedding = dense.last().copied().unwrap_or(conv_out);
        Cnn {
            blocks: conv_stack(filters, device),
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            dense: dense_stack(conv_out, dense, dropout, device),
            head: LinearConfig::new(embedding, n_labels).init(device),
        }
    }

    /// `[batch, 1, n_mels, n_frames]` to the embedding `[batch, dense.last()]`.
    pub fn embed(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.pool.forward(forward_conv_stack(&self.blocks, x));
        let [batch, channels, _, _] = x.dims();
        forward_dense_stack(&self.dense, x.reshape([batch, channels]))
    }

    /// `[batch, 1, n_mels, n_frames]` to logits `[batch, n_labels]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.head.forward(self.embed(x))
    }
}
