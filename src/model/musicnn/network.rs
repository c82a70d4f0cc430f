//! MusiCNN and the transfer network in Burn (see the parent module for the layout).

use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig, Conv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig1d,
    PaddingConfig2d,
};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor};

use super::super::blocks::{dense_stack, forward_dense_stack, DenseBlock};
use super::super::musicnn_cpu;
use super::*;

/// A conv over the spectrogram, ReLU, batch norm, then max over all frequencies:
/// `[batch, 1, mels, frames]` to `[batch, filters, frames]`.
#[derive(Module, Debug)]
pub struct FrequencyPooledConv {
    /// The convolution (time-padded so the frame count is kept).
    pub conv: Conv2d,
    /// Batch norm over the filters.
    pub bn: BatchNorm,
}

impl FrequencyPooledConv {
    /// A conv of `filters` kernels `height` bands by `width` frames, zero-padded in time as
    /// TensorFlow's `same` does (the extra frame, for even widths, goes after).
    pub(in crate::model) fn new(
        filters: usize,
        height: usize,
        width: usize,
        device: &Device,
    ) -> Self {
        let before = (width - 1) / 2;
        let after = width - 1 - before;
        FrequencyPooledConv {
            conv: Conv2dConfig::new([1, filters], [height, width])
                .with_padding(PaddingConfig2d::Explicit(0, before, 0, after))
                .init(device),
            bn: BatchNormConfig::new(filters).with_epsilon(BATCH_NORM_EPSILON).init(device),
        }
    }

    pub(in crate::model) fn forward(&self, x: Tensor<4>) -> Tensor<3> {
        let y = self.bn.forward(relu(self.conv.forward(x)));
        let [batch, filters, _, frames] = y.dims();
        y.max_dim(2).reshape([batch, filters, frames])
    }
}

/// A 1-D conv over time (all channels in), ReLU, batch norm: `[batch, c_in, frames]` to
/// `[batch, 64, frames]`.
#[derive(Module, Debug)]
pub struct MidEndConv {
    /// The convolution, 7 frames wide, padded by 3 on each side.
    pub conv: Conv1d,
    /// Batch norm over the filters.
    pub bn: BatchNorm,
}

impl MidEndConv {
    fn new(c_in: usize, device: &Device) -> Self {
        let pad = MID_END_WIDTH / 2;
        MidEndConv {
            conv: Conv1dConfig::new(c_in, MID_END_FILTERS, MID_END_WIDTH)
                .with_padding(PaddingConfig1d::Explicit(pad, pad))
                .init(device),
            bn: BatchNormConfig::new(MID_END_FILTERS).with_epsilon(BATCH_NORM_EPSILON).init(device),
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.bn.forward(relu(self.conv.forward(x)))
    }
}

/// What one pass of the backbone yields, each `[batch, …]`.
#[derive(Debug, Clone)]
pub struct MusicnnOutputs {
    /// Interleaved temporal max and mean of the pooled channels, before the back end's batch
    /// norm (`[max_0, mean_0, max_1, …]`, as musicnn's `max_pool` and `mean_pool`).
    pub pools: Tensor<2>,
    /// The pools after the back end's batch norm (the penultimate layer's input).
    pub pools_normalised: Tensor<2>,
    /// The penultimate layer after its batch norm (musicnn's `penultimate`).
    pub penultimate: Tensor<2>,
    /// Logits of the 50 MSD tags (apply a sigmoid for musicnn's taggram).
    pub tag_logits: Tensor<2>,
}

/// The pretrained MusiCNN network. The layers after the pools (penultimate, MSD tags) are
/// optional: a genre head on the pools does not need them, and leaving them out saves 312 k
/// parameters in a bundle.
#[derive(Module, Debug)]
pub struct Musicnn {
    /// Batch norm of the single input channel.
    pub input_bn: BatchNorm,
    /// The two timbral convs (38 and 67 bands by 7 frames).
    pub timbral: Vec<FrequencyPooledConv>,
    /// The three temporal convs (1 band by 128, 64 and 32 frames).
    pub temporal: Vec<FrequencyPooledConv>,
    /// The mid-end convs; the second and third add their input (residual).
    pub midend: Vec<MidEndConv>,
    /// Batch norm of the pooled vector.
    pub pool_bn: BatchNorm,
    /// The penultimate dense layer (ReLU); absent when only the pools are needed.
    pub penultimate: Option<Linear>,
    /// Batch norm after the penultimate layer; absent with `penultimate`.
    pub penultimate_bn: Option<BatchNorm>,
    /// The MSD tag layer; absent with `penultimate`.
    pub tags: Option<Linear>,
}

impl Musicnn {
    /// The whole network (penultimate and tag layers included) with freshly initialised
    /// weights (load the pretrained ones over them).
    pub fn new(device: &Device) -> Self {
        Self::with_top(true, device)
    }

    /// The network needed for `embedding`: without the penultimate and tag layers for
    /// [`MusicnnEmbedding::Pools`] unless `keep_tags`.
    pub fn for_embedding(embedding: MusicnnEmbedding, keep_tags: bool, device: &Device) -> Self {
        Self::with_top(keep_tags || embedding != MusicnnEmbedding::Pools, device)
    }

    /// This network without the layers `embedding` does not use (the top stays with
    /// `keep_tags`).
    pub fn trimmed_for(mut self, embedding: MusicnnEmbedding, keep_tags: bool) -> Self {
        if embedding == MusicnnEmbedding::Pools && !keep_tags {
            self.penultimate = None;
            self.penultimate_bn = None;
            self.tags = None;
        }
        self
    }

    fn with_top(top: bool, device: &Device) -> Self {
        let bn = |n: usize| BatchNormConfig::new(n).with_epsilon(BATCH_NORM_EPSILON).init(device);
        let timbral = TIMBRAL_HEIGHTS
            .iter()
            .map(|&h| FrequencyPooledConv::new(TIMBRAL_FILTERS, h, TIMBRAL_WIDTH, device))
            .collect();
        let temporal = TEMPORAL_WIDTHS
            .iter()
            .map(|&w| FrequencyPooledConv::new(TEMPORAL_FILTERS, 1, w, device))
            .collect();
        let midend = (0..MID_END_LAYERS)
            .map(|i| {
                MidEndConv::new(if i == 0 { FRONT_END_CHANNELS } else { MID_END_FILTERS }, device)
            })
            .collect();
        Musicnn {
            input_bn: bn(1),
            timbral,
            temporal,
            midend,
            pool_bn: bn(POOL_DIM),
            penultimate: top.then(|| LinearConfig::new(POOL_DIM, PENULTIMATE_DIM).init(device)),
            penultimate_bn: top.then(|| bn(PENULTIMATE_DIM)),
            tags: top.then(|| LinearConfig::new(PENULTIMATE_DIM, MSD_TAGS).init(device)),
        }
    }

    /// The pooled vector `[batch, POOL_DIM]` for inputs `[batch, 1, 96, frames]`.
    pub fn pools(&self, x: Tensor<4>) -> Tensor<2> {
        self.pools_from_front(self.front_end(x))
    }

    /// The front end's output `[batch, FRONT_END_CHANNELS, frames]` (timbral then temporal
    /// branches) for inputs `[batch, 1, 96, frames]`: nearly all of the network's work.
    ///
    /// On the plain flex (CPU) device this runs a fused inference path (`musicnn_cpu`) that
    /// gives the same values; on an autodiff or GPU device, Burn's layers.
    pub fn front_end(&self, x: Tensor<4>) -> Tensor<3> {
        if musicnn_cpu::applies(&x.device()) {
            if let Some(front) = musicnn_cpu::front_end(self, &x) {
                return front;
            }
        }
        self.front_end_layers(x)
    }

    /// [`front_end`](Self::front_end) through Burn's layers, on any device.
    pub(in crate::model) fn front_end_layers(&self, x: Tensor<4>) -> Tensor<3> {
        let x = self.input_bn.forward(x);
        let front: Vec<Tensor<3>> = self
            .timbral
            .iter()
            .chain(&self.temporal)
            .map(|branch| branch.forward(x.clone()))
            .collect();
        Tensor::cat(front, 1)
    }

    /// The pooled vector `[batch, POOL_DIM]` from the [`front_end`](Self::front_end)'s output:
    /// the mid end, then temporal max and mean.
    ///
    /// On the plain flex (CPU) device this runs a fused inference path (`musicnn_cpu`) that
    /// gives the same values; on an autodiff or GPU device, Burn's layers.
    pub fn pools_from_front(&self, front: Tensor<3>) -> Tensor<2> {
        if musicnn_cpu::applies(&front.device()) {
            if let Some(pools) = musicnn_cpu::pools(self, &front) {
                return pools;
            }
        }
        self.pools_from_front_layers(front)
    }

    /// [`pools_from_front`](Self::pools_from_front) through Burn's layers, on any device.
    pub(in crate::model) fn pools_from_front_layers(&self, front: Tensor<3>) -> Tensor<2> {
        let mut layers = vec![front.clone()];
        let mut previous = front;
        for (i, conv) in self.midend.iter().enumerate() {
            let y = conv.forward(previous.clone());
            previous = if i == 0 { y } else { y + previous };
            layers.push(previous.clone());
        }
        let features = Tensor::cat(layers, 1);
        let [batch, channels, _] = features.dims();
        let max = features.clone().max_dim(2);
        let mean = features.mean_dim(2);
        Tensor::cat(vec![max, mean], 2).reshape([batch, 2 * channels])
    }

    /// The penultimate layer `[batch, 200]` from the normalised pools.
    ///
    /// # Panics
    /// When the network was built without its penultimate layer
    /// ([`for_embedding`](Self::for_embedding) with `Pools`).
    fn penultimate_from(&self, normalised: Tensor<2>) -> Tensor<2> {
        let (Some(dense), Some(bn)) = (&self.penultimate, &self.penultimate_bn) else {
            panic!("this MusiCNN network was built without its penultimate layer");
        };
        bn.forward(relu(dense.forward(normalised)))
    }

    /// The penultimate layer and the tag logits from the normalised pools, when the network
    /// has its top.
    pub fn top_from(&self, normalised: Tensor<2>) -> Option<(Tensor<2>, Tensor<2>)> {
        let tags = self.tags.as_ref()?;
        self.penultimate.as_ref()?;
        let penultimate = self.penultimate_from(normalised);
        let tag_logits = tags.forward(penultimate.clone());
        Some((penultimate, tag_logits))
    }

    /// Every output of one pass, for inputs `[batch, 1, 96, frames]`.
    ///
    /// # Panics
    /// When the network was built without its penultimate and tag layers.
    pub fn outputs(&self, x: Tensor<4>) -> MusicnnOutputs {
        let pools = self.pools(x);
        let pools_normalised = self.pool_bn.forward(pools.clone());
        let penultimate = self.penultimate_from(pools_normalised.clone());
        let tags =
            self.tags.as_ref().expect("this MusiCNN network was built without its tag layer");
        let tag_logits = tags.forward(penultimate.clone());
        MusicnnOutputs { pools, pools_normalised, penultimate, tag_logits }
    }

    /// The embedding `kind` names, `[batch, kind.dim()]`.
    pub fn embed(&self, x: Tensor<4>, kind: MusicnnEmbedding) -> Tensor<2> {
        self.embed_from_front(self.front_end(x), kind)
    }

    /// The embedding `kind` names from the [`front_end`](Self::front_end)'s output.
    pub fn embed_from_front(&self, front: Tensor<3>, kind: MusicnnEmbedding) -> Tensor<2> {
        let normalised = self.pool_bn.forward(self.pools_from_front(front));
        match kind {
            MusicnnEmbedding::Penultimate => self.penultimate_from(normalised),
            MusicnnEmbedding::Pools => normalised,
            MusicnnEmbedding::Tags => {
                let (_, tag_logits) =
                    self.top_from(normalised).expect("a network built for Tags has its top");
                sigmoid(tag_logits)
            }
        }
    }
}

impl Musicnn {
    /// This network prepared to fine-tune its top on the front end's cached output: the front
    /// end is frozen (no gradients, batch norm on its running statistics), and every later
    /// batch norm keeps its pretrained running statistics while its scale and shift train, so
    /// small batches of one collection do not overwrite statistics learnt on a million songs.
    /// The mid-end convs and the dense layers train. Flags are not stored in bundles: a
    /// bundle written from the result loads as any other.
    pub fn with_trainable_top(mut self) -> Self {
        self.input_bn = self.input_bn.freeze();
        self.timbral = self.timbral.freeze();
        self.temporal = self.temporal.freeze();
        let fixed_statistics = |mut bn: BatchNorm| {
            bn.training = bn.training.with_value(false);
            bn
        };
        self.midend = self
            .midend
            .into_iter()
            .map(|mut conv| {
                conv.bn = fixed_statistics(conv.bn);
                conv
            })
            .collect();
        self.pool_bn = fixed_statistics(self.pool_bn);
        self.penultimate_bn = self.penultimate_bn.map(fixed_statistics);
        self
    }
}

/// The genre head on a backbone embedding: optional hidden dense blocks, then logits.
#[derive(Module, Debug)]
pub struct TransferHead {
    /// Dropout on the embedding (training only).
    pub input_dropout: Dropout,
    /// Hidden dense blocks (linear, batch norm, ReLU, dropout).
    pub hidden: Vec<DenseBlock>,
    /// The output layer.
    pub out: Linear,
}

impl TransferHead {
    /// A head from `d_in` embedding values through `hidden` units to `n_labels` logits.
    pub fn new(
        d_in: usize,
        hidden: &[usize],
        dropout: f64,
        n_labels: usize,
        device: &Device,
    ) -> Self {
        let last = hidden.last().copied().unwrap_or(d_in);
        TransferHead {
            input_dropout: DropoutConfig::new(dropout).init(),
            hidden: dense_stack(d_in, hidden, dropout, device),
            out: LinearConfig::new(last, n_labels).init(device),
        }
    }

    /// The head's last hidden layer (the embedding itself when there is none).
    pub fn hidden_features(&self, embedding: Tensor<2>) -> Tensor<2> {
        forward_dense_stack(&self.hidden, self.input_dropout.forward(embedding))
    }

    /// Logits `[batch, n_labels]` from embeddings `[batch, d_in]`.
    pub fn forward(&self, embedding: Tensor<2>) -> Tensor<2> {
        self.out.forward(self.hidden_features(embedding))
    }
}

/// See [`ArchitectureConfig::Musicnn`](super::ArchitectureConfig::Musicnn): the pretrained
/// backbone and a genre head on its embedding.
#[derive(Module, Debug)]
pub struct MusicnnTransfer {
    /// The MusiCNN backbone.
    pub backbone: Musicnn,
    /// The genre head.
    pub head: TransferHead,
    /// Which backbone output the head reads.
    #[module(skip)]
    pub embedding: MusicnnEmbedding,
}

impl MusicnnTransfer {
    /// A transfer network with fresh weights (keeping the backbone's tag layer with
    /// `keep_tags`).
    pub fn new(
        embedding: MusicnnEmbedding,
        hidden: &[usize],
        dropout: f64,
        n_labels: usize,
        keep_tags: bool,
        device: &Device,
    ) -> Self {
        MusicnnTransfer {
            backbone: Musicnn::for_embedding(embedding, keep_tags, device),
            head: TransferHead::new(embedding.dim(), hidden, dropout, n_labels, device),
            embedding,
        }
    }

    /// Logits `[batch, n_labels]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.head.forward(self.backbone.embed(x, self.embedding))
    }

    /// Logits `[batch, n_labels]` from the backbone front end's output (see
    /// [`Musicnn::front_end`]).
    pub fn forward_from_front(&self, front: Tensor<3>) -> Tensor<2> {
        self.head.forward(self.backbone.embed_from_front(front, self.embedding))
    }

    /// The head's last hidden layer (or the backbone embedding when the head has none).
    pub fn embed(&self, x: Tensor<4>) -> Tensor<2> {
        self.head.hidden_features(self.backbone.embed(x, self.embedding))
    }

    /// Logits and the backbone's outputs from one pass.
    pub fn forward_all(&self, x: Tensor<4>) -> (Tensor<2>, BackboneOutputs) {
        let pools = self.backbone.pool_bn.forward(self.backbone.pools(x));
        let top = self.backbone.top_from(pools.clone());
        let embedding = match (self.embedding, &top) {
            (MusicnnEmbedding::Penultimate, Some((penultimate, _))) => penultimate.clone(),
            (MusicnnEmbedding::Tags, Some((_, tag_logits))) => sigmoid(tag_logits.clone()),
            _ => pools.clone(),
        };
        let logits = self.head.forward(embedding);
        let (penultimate, tag_logits) = top.unzip();
        (logits, BackboneOutputs { pools, penultimate, tag_logits })
    }
}

/// The backbone's outputs of one pass, `[batch, n]` each, for the tags and the music
/// detector.
pub struct BackboneOutputs {
    /// The normalised temporal max and mean pools.
    pub pools: Tensor<2>,
    /// The penultimate layer, when the network has its top.
    pub penultimate: Option<Tensor<2>>,
    /// The tag logits, when the network has its top.
    pub tag_logits: Option<Tensor<2>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArchitectureConfig, GenreNet};
    use burn::module::Module;
    use burn::tensor::TensorData;

    fn input(batch: usize, frames: usize, device: &Device) -> Tensor<4> {
        let values: Vec<f32> =
            (0..batch * 96 * frames).map(|i| ((i as f32) * 0.0137).sin().abs() * 3.0).collect();
        Tensor::from_data(TensorData::new(values, [batch, 1, 96, frames]), device)
    }

    /// Learned values plus batch-norm running statistics of the whole pretrained network, as
    /// the issue and musicnn count them.
    const BACKBONE_PARAMS: usize = 792_079;
    /// Penultimate dense (1506 x 200 + 200), its batch norm (4 x 200), tags (200 x 50 + 50).
    const TOP_PARAMS: usize = 1506 * 200 + 200 + 4 * 200 + 200 * 50 + 50;

    #[test]
    fn backbone_has_musicnn_parameter_count() {
        let device = Device::flex();
        assert_eq!(Musicnn::new(&device).num_params(), BACKBONE_PARAMS);
        assert_eq!(
            Musicnn::for_embedding(MusicnnEmbedding::Pools, false, &device).num_params(),
            BACKBONE_PARAMS - TOP_PARAMS
        );
        assert_eq!(
            Musicnn::new(&device).trimmed_for(MusicnnEmbedding::Pools, false).num_params(),
            BACKBONE_PARAMS - TOP_PARAMS
        );
    }

    #[test]
    fn transfer_networks_give_logits_and_embeddings_of_their_config() {
        let device = Device::flex();
        for (embedding, hidden, dim) in [
            (MusicnnEmbedding::Penultimate, vec![], 200),
            (MusicnnEmbedding::Pools, vec![], 1506),
            (MusicnnEmbedding::Pools, vec![32], 32),
        ] {
            let arch =
                ArchitectureConfig::Musicnn { embedding, hidden, dropout: 0.5, msd_tags: false };
            let model = GenreNet::new(&arch, 96, 187, 10, &device).unwrap();
            assert_eq!(model.embedding_dim(), dim);
            // Any frame count works: the back end pools over time.
            for (batch, frames) in [(1, 187), (2, 60)] {
                let x = input(batch, frames, &device);
                let (logits, embedded) = (model.forward(x.clone()), model.embed(x));
                assert_eq!(logits.dims(), [batch, 10]);
                assert_eq!(embedded.dims(), [batch, dim]);
                assert!(logits
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap()
                    .iter()
                    .all(|v| v.is_finite()));
            }
        }
    }

    #[test]
    fn pools_interleave_max_and_mean_per_channel() {
        let device = Device::flex();
        let backbone = Musicnn::new(&device);
        let pools = backbone.pools(input(1, 187, &device)).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(pools.len(), POOL_DIM);
        // Max over time is never below the mean over time.
        for c in 0..POOLED_CHANNELS {
            assert!(
                pools[2 * c] >= pools[2 * c + 1] - 1e-5,
                "channel {c}: max {} < mean {}",
                pools[2 * c],
                pools[2 * c + 1]
            );
        }
    }

    #[test]
    fn splitting_at_the_front_end_gives_the_same_embedding() {
        let device = Device::flex();
        let backbone = Musicnn::new(&device);
        let x = input(2, 187, &device);
        let front = backbone.front_end(x.clone());
        assert_eq!(front.dims(), [2, FRONT_END_CHANNELS, 187]);
        for kind in [MusicnnEmbedding::Pools, MusicnnEmbedding::Penultimate] {
            let whole = backbone.embed(x.clone(), kind).into_data();
            let split = backbone.embed_from_front(front.clone(), kind).into_data();
            whole.assert_approx_eq::<f32>(&split, burn::tensor::Tolerance::absolute(1e-6));
        }
    }

    /// Every value of a module, in visiting order (to compare weights before and after).
    fn values<M: Module>(module: &M) -> Vec<f32> {
        struct Collect(Vec<f32>);
        impl burn::module::ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                self.0.extend(param.val().into_data().iter::<f32>());
            }
        }
        let mut collect = Collect(Vec::new());
        module.visit(&mut collect);
        collect.0
    }

    #[test]
    fn fine_tuning_the_top_trains_the_mid_end_and_keeps_batch_norm_statistics() {
        use burn::optim::{AdamConfig, GradientsParams};
        let device = Device::flex();
        let before = MusicnnTransfer::new(MusicnnEmbedding::Pools, &[], 0.0, 3, false, &device);
        let mut model = MusicnnTransfer {
            backbone: before.backbone.clone().with_trainable_top(),
            head: before.head.clone(),
            embedding: before.embedding,
        }
        .train();
        let train_device = device.clone().autodiff();
        let front = model.backbone.front_end(input(4, 40, &train_device)).detach();
        let mut optim = AdamConfig::new().init();
        for _ in 0..2 {
            let loss = model.forward_from_front(front.clone()).powf_scalar(2.0).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-2, model, grads);
        }
        let after = model.valid();
        let changed = |a: Vec<f32>, b: Vec<f32>| a.iter().zip(&b).any(|(x, y)| x != y);
        assert!(
            changed(values(&before.backbone.midend), values(&after.backbone.midend)),
            "mid-end convs train"
        );
        assert!(changed(values(&before.head), values(&after.head)), "the head trains");
        let stats = |bn: &BatchNorm| {
            let mut v: Vec<f32> = bn.running_mean.value().into_data().iter::<f32>().collect();
            v.extend(bn.running_var.value().into_data().iter::<f32>());
            v
        };
        assert_eq!(
            stats(&before.backbone.pool_bn),
            stats(&after.backbone.pool_bn),
            "running statistics are kept"
        );
        assert_eq!(stats(&before.backbone.midend[0].bn), stats(&after.backbone.midend[0].bn));
        assert!(
            changed(
                before.backbone.pool_bn.gamma.val().into_data().iter::<f32>().collect(),
                after.backbone.pool_bn.gamma.val().into_data().iter::<f32>().collect()
            ),
            "batch-norm scales train"
        );
        assert_eq!(
            values(&before.backbone.timbral),
            values(&after.backbone.timbral),
            "the front end stays frozen"
        );
    }

    #[test]
    fn transfer_config_needs_the_musicnn_front_end() {
        let arch = ArchitectureConfig::musicnn_default();
        let err = GenreNet::new(&arch, 128, 130, 10, &Device::flex()).unwrap_err();
        assert!(err.contains("96 mel bands"), "{err}");
        let bad = ArchitectureConfig::Musicnn {
            embedding: MusicnnEmbedding::Pools,
            hidden: vec![0],
            dropout: 0.5,
            msd_tags: false,
        };
        assert!(bad.validate(96, 187, 10).unwrap_err().contains("hidden"));
        let json = serde_json::to_string(&ArchitectureConfig::musicnn_default()).unwrap();
        assert_eq!(json, r#"{"kind":"musicnn","embedding":"pools","hidden":[],"dropout":0.5}"#);
    }
}
