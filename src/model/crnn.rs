//! The convolutional-recurrent network: conv blocks, frequency pooling, GRU over time, logits.

use burn::module::Module;
use burn::nn::{BiGru, BiGruConfig, Dropout, DropoutConfig, Gru, GruConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::blocks::{conv_stack, forward_conv_stack, ConvBlock};

/// The recurrent layer of a [`Crnn`]: one GRU, or one per direction.
// One instance per model: boxing the large variant buys nothing, and Burn's derive wants
// the modules inline.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Recurrent {
    /// A forward GRU and one over the time-reversed sequence (Burn's `BiGru`).
    Bidirectional(BiGru),
    /// A single forward GRU.
    Forward(Gru),
}

impl Recurrent {
    /// `[batch, time, features]` to the final hidden state(s), `[batch, hidden]` or
    /// `[batch, 2 * hidden]` (forward state first, then the reverse one).
    pub fn final_state(&self, x: Tensor<3>) -> Tensor<2> {
        let [batch, time, _] = x.dims();
        match self {
            Recurrent::Bidirectional(gru) => {
                let hidden = gru.d_hidden;
                // state: [2, batch, hidden] (forward, reverse).
                let (_, state) = gru.forward(x, None);
                state.swap_dims(0, 1).reshape([batch, 2 * hidden])
            }
            Recurrent::Forward(gru) => {
                let hidden = gru.d_hidden;
                let out = gru.forward(x, None);
                out.narrow(1, time - 1, 1).reshape([batch, hidden])
            }
        }
    }
}

/// See [`ArchitectureConfig::Crnn`](super::ArchitectureConfig::Crnn).
#[derive(Module, Debug)]
pub struct Crnn {
    /// The conv front end.
    pub blocks: Vec<ConvBlock>,
    /// The GRU(s) over the pooled time frames.
    pub gru: Recurrent,
    /// Dropout on the embedding (training only).
    pub dropout: Dropout,
    /// The output layer (embedding to logits).
    pub head: Linear,
}

impl Crnn {
    /// A CRNN with freshly initialised weights. The config must have passed
    /// [`ArchitectureConfig::validate`](super::ArchitectureConfig::validate).
    pub fn new(
        filters: &[usize],
        gru_hidden: usize,
        bidirectional: bool,
        dropout: f64,
        n_labels: usize,
        device: &Device,
    ) -> Self {
        let conv_out = filters.last().copied().unwrap_or(1);
        let (gru, embedding) = if bidirectional {
            (
                Recurrent::Bidirectional(BiGruConfig::new(conv_out, gru_hidden, true).init(device)),
                2 * gru_hidden,
            )
        } else {
            (
                Recurrent::Forward(GruConfig::new(conv_out, gru_hidden, true).init(device)),
                gru_hidden,
            )
        };
        Crnn {
            blocks: conv_stack(filters, device),
            gru,
            dropout: DropoutConfig::new(dropout).init(),
            head: LinearConfig::new(embedding, n_labels).init(device),
        }
    }

    /// `[batch, 1, n_mels, n_frames]` to the embedding (final GRU state(s)).
    pub fn embed(&self, x: Tensor<4>) -> Tensor<2> {
        let x = forward_conv_stack(&self.blocks, x);
        let [batch, channels, _, time] = x.dims();
        // Mean over the pooled frequency axis, then time-major features: [batch, time, channels].
        let x: Tensor<3> = x.mean_dim(2).reshape([batch, channels, time]);
        self.gru.final_state(x.swap_dims(1, 2))
    }

    /// `[batch, 1, n_mels, n_frames]` to logits `[batch, n_labels]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.head.forward(self.dropout.forward(self.embed(x)))
    }
}
