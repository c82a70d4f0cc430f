//! [`GenreNet`]: the network a bundle describes, built at run time from its
//! [`ArchitectureConfig`].

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::architecture::ArchitectureConfig;
use super::cnn::Cnn;
use super::crnn::Crnn;
use super::musicnn::{BackboneOutputs, MusicnnTransfer};

/// The layers of one of the supported architectures.
// One instance per model: boxing the large variant buys nothing, and Burn's derive wants
// the modules inline.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Network {
    /// See [`ArchitectureConfig::Cnn`].
    Cnn(Cnn),
    /// See [`ArchitectureConfig::Crnn`].
    Crnn(Crnn),
    /// See [`ArchitectureConfig::Musicnn`].
    Musicnn(MusicnnTransfer),
}

/// A genre classifier: standardised log-Mel windows `[batch, 1, n_mels, n_frames]` in,
/// one logit per label out.
///
/// Train/inference behaviour follows Burn 0.22's rule: dropout and batch-norm batch statistics
/// are used only when the input lives on an autodiff device *and* the layer's training flag is
/// on. On a plain device (`Device::flex()`, wgpu without `.autodiff()`), or after
/// [`Module::valid`], the model is in inference mode: dropout is the identity and batch norm
/// uses its running statistics, so outputs are deterministic and independent of the batch.
#[derive(Module, Debug)]
pub struct GenreNet {
    /// The layers.
    pub network: Network,
    /// The config the layers were built from.
    #[module(skip)]
    pub architecture: ArchitectureConfig,
    /// Mel bands of the input (its height).
    pub n_mels: usize,
    /// Frames of the input (its width).
    pub n_frames: usize,
    /// Number of outputs.
    pub n_labels: usize,
}

impl GenreNet {
    /// Builds the network `arch` describes for `[batch, 1, n_mels, n_frames]` inputs and
    /// `n_labels` outputs, with freshly initialised weights on `device`.
    ///
    /// Fails, naming the problem, when [`ArchitectureConfig::validate`] does. Weights are
    /// initialised lazily by Burn, so building is cheap until the first forward pass or a
    /// record load replaces them.
    pub fn new(
        arch: &ArchitectureConfig,
        n_mels: usize,
        n_frames: usize,
        n_labels: usize,
        device: &Device,
    ) -> Result<Self, String> {
        arch.validate(n_mels, n_frames, n_labels)?;
        let network = match arch {
            ArchitectureConfig::Cnn { filters, dense, dropout } => {
                Network::Cnn(Cnn::new(filters, dense, *dropout, n_labels, device))
            }
            ArchitectureConfig::Crnn { filters, gru_hidden, bidirectional, dropout } => {
                Network::Crnn(Crnn::new(
                    filters,
                    *gru_hidden,
                    *bidirectional,
                    *dropout,
                    n_labels,
                    device,
                ))
            }
            ArchitectureConfig::Musicnn { embedding, hidden, dropout, msd_tags } => {
                Network::Musicnn(MusicnnTransfer::new(
                    *embedding, hidden, *dropout, n_labels, *msd_tags, device,
                ))
            }
        };
        Ok(GenreNet { network, architecture: arch.clone(), n_mels, n_frames, n_labels })
    }

    /// Logits `[batch, n_labels]` for inputs `[batch, 1, n_mels, n_frames]` (apply softmax for
    /// probabilities).
    ///
    /// The input must have one channel; other frame counts (at least `2^blocks`) also work.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match &self.network {
            Network::Cnn(net) => net.forward(x),
            Network::Crnn(net) => net.forward(x),
            Network::Musicnn(net) => net.forward(x),
        }
    }

    /// Logits and, for a transfer network, the backbone's outputs (tags, penultimate layer,
    /// pools) from one pass.
    pub fn forward_all(&self, x: Tensor<4>) -> (Tensor<2>, Option<BackboneOutputs>) {
        match &self.network {
            Network::Musicnn(net) => {
                let (logits, outputs) = net.forward_all(x);
                (logits, Some(outputs))
            }
            _ => (self.forward(x), None),
        }
    }

    /// The penultimate-layer embedding `[batch, embedding_dim()]` (the 128-unit dense layer of
    /// the default CNN; the concatenated final GRU states of the CRNN), for similarity search.
    pub fn embed(&self, x: Tensor<4>) -> Tensor<2> {
        match &self.network {
            Network::Cnn(net) => net.embed(x),
            Network::Crnn(net) => net.embed(x),
            Network::Musicnn(net) => net.embed(x),
        }
    }

    /// A transfer network's backbone embedding `[batch, dim]` (the output its head reads: the
    /// input of own-genre training); `None` for networks without a pretrained backbone.
    pub fn backbone_embedding(&self, x: Tensor<4>) -> Option<Tensor<2>> {
        match &self.network {
            Network::Musicnn(net) => Some(net.backbone.embed(x, net.embedding)),
            _ => None,
        }
    }

    /// Length of the [`embed`](Self::embed) vector.
    pub fn embedding_dim(&self) -> usize {
        self.architecture.embedding_dim()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    const N_MELS: usize = 128;
    const N_FRAMES: usize = 130;

    /// A deterministic, non-trivial input batch.
    pub(crate) fn fixed_input(
        batch: usize,
        n_mels: usize,
        n_frames: usize,
        device: &Device,
    ) -> Tensor<4> {
        let n = batch * n_mels * n_frames;
        let values: Vec<f32> = (0..n)
            .map(|i| ((i as f32) * 0.0137).sin() + 0.3 * ((i % 7) as f32 - 3.0) / 3.0)
            .collect();
        Tensor::from_data(TensorData::new(values, [batch, 1, n_mels, n_frames]), device)
    }

    fn to_vec(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    fn small_crnn(bidirectional: bool) -> ArchitectureConfig {
        ArchitectureConfig::Crnn {
            filters: vec![8, 16, 32],
            gru_hidden: 24,
            bidirectional,
            dropout: 0.5,
        }
    }

    #[test]
    fn model_output_and_embedding_shapes() {
        let device = Device::flex();
        let cases = [
            (ArchitectureConfig::cnn_default(), 128),
            (ArchitectureConfig::cnn_5_block(), 128),
            (ArchitectureConfig::crnn_default(), 256),
            (small_crnn(false), 24),
        ];
        for (arch, embedding) in cases {
            let model = GenreNet::new(&arch, N_MELS, N_FRAMES, 10, &device).unwrap();
            assert_eq!(model.embedding_dim(), embedding);
            for batch in [1, 3] {
                let x = fixed_input(batch, N_MELS, N_FRAMES, &device);
                let (logits, embedded) = (model.forward(x.clone()), model.embed(x));
                assert_eq!(logits.dims(), [batch, 10], "{arch:?}");
                assert_eq!(embedded.dims(), [batch, embedding], "{arch:?}");
            }
        }
    }

    #[test]
    fn model_inference_is_deterministic_and_batch_independent() {
        // dropout = 0.5 in both: if dropout were active, two passes would differ; if batch norm
        // used batch statistics, a window's logits would depend on its batch mates.
        let device = Device::flex();
        for arch in [ArchitectureConfig::cnn_default(), small_crnn(true)] {
            let model = GenreNet::new(&arch, N_MELS, N_FRAMES, 10, &device).unwrap();
            let x = fixed_input(3, N_MELS, N_FRAMES, &device);
            let a = to_vec(model.forward(x.clone()));
            assert_eq!(a, to_vec(model.forward(x.clone())), "{arch:?}");
            // The embedding is deterministic too (no dropout before it at inference).
            let embedded = to_vec(model.embed(x.clone()));
            assert_eq!(embedded, to_vec(model.embed(x.clone())), "{arch:?}");
            assert!(a.iter().all(|v| v.is_finite()));
            let first = to_vec(model.forward(x.narrow(0, 0, 1)));
            for (one, batched) in first.iter().zip(&a[..10]) {
                assert!((one - batched).abs() < 1e-5, "{one} vs {batched} ({arch:?})");
            }
            // valid() on a plain device changes nothing.
            let valid = to_vec(model.valid().forward(fixed_input(3, N_MELS, N_FRAMES, &device)));
            assert_eq!(a, valid);
        }
    }

    #[test]
    fn model_rejects_invalid_architecture() {
        let device = Device::flex();
        let arch = ArchitectureConfig::cnn_5_block();
        let err = GenreNet::new(&arch, 16, N_FRAMES, 10, &device).unwrap_err();
        assert!(err.contains("mel bands"), "{err}");
    }

    #[test]
    fn model_num_params_of_default_cnn() {
        let model = GenreNet::new(
            &ArchitectureConfig::cnn_default(),
            N_MELS,
            N_FRAMES,
            10,
            &Device::flex(),
        )
        .unwrap();
        // conv: (9*1*32+32) + (9*32*64+64) + (9*64*128+128); batch norm: gamma, beta and (Burn
        // counts them too) running mean and variance per channel/unit;
        // dense: 128*256+256, 256*128+128; head 128*10+10.
        let conv = (9 * 32 + 32) + (9 * 32 * 64 + 64) + (9 * 64 * 128 + 128);
        let bn = 4 * (32 + 64 + 128 + 256 + 128);
        let dense = (128 * 256 + 256) + (256 * 128 + 128) + (128 * 10 + 10);
        assert_eq!(model.num_params(), conv + bn + dense);
    }
}
