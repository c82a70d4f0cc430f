//! Wasm single-thread timing of the MusiCNN transfer network: a wasm-bindgen export that runs
//! it on `batch` patches of `[1, 96, 187]` through the Burn-free network the page's CPU
//! engine runs (`PlainTransfer::forward_all`, loaded from a bundle of the network) and
//! through Burn (`GenreNet::forward_all`, the CPU engine built with Burn). Weights are
//! freshly initialised; speed does not depend on their values.
//!
//! Built and timed by `run.mjs` beside it (wasm32, `+simd128`, the `wasm-release` profile, the
//! CPU engine's features with Burn, a target dir of its own):
//!
//! ```sh
//! node tests/benches/wasm_patch/run.mjs
//! ```

#[cfg(target_arch = "wasm32")]
mod bench {
    use burn::tensor::{Device, Tensor, TensorData};
    use genrescope::bundle::{
        Normalisation, Provenance, SpectrogramBundle, SpectrogramHeader, WeightStorage,
    };
    use genrescope::model::musicnn::{MusicnnEmbedding, MSD_TAG_NAMES};
    use genrescope::model::plain::PlainTransfer;
    use genrescope::model::{ArchitectureConfig, GenreNet, Network};
    use genrescope::FeatureConfig;
    use wasm_bindgen::prelude::*;

    const MELS: usize = 96;
    const FRAMES: usize = 187;

    /// A MusiCNN transfer network with its tag layer, as the shipped MusiCNN bundles have.
    #[wasm_bindgen]
    pub struct PatchBench {
        model: GenreNet,
        plain: PlainTransfer,
        device: Device,
    }

    #[wasm_bindgen]
    impl PatchBench {
        /// A network with fresh weights on the CPU (burn-flex) device.
        #[wasm_bindgen(constructor)]
        #[allow(clippy::new_without_default)]
        pub fn new() -> PatchBench {
            let device = Device::flex();
            let arch = ArchitectureConfig::Musicnn {
                embedding: MusicnnEmbedding::Pools,
                hidden: Vec::new(),
                dropout: 0.5,
                msd_tags: true,
            };
            let model = GenreNet::new(&arch, MELS, FRAMES, 10, &device).expect("valid config");
            // The same network as the page's CPU engine loads it: through an f32 bundle.
            let feature_config = FeatureConfig::musicnn();
            let header = SpectrogramHeader {
                labels: (0..10).map(|i| format!("genre {i}")).collect(),
                normalisation: Normalisation::identity(feature_config.n_mels),
                feature_config,
                architecture: arch,
                weight_storage: WeightStorage::F32,
                weight_levels: Default::default(),
                provenance: Provenance::default(),
                calibration: None,
                music_detector: None,
                tags: MSD_TAG_NAMES.iter().map(|t| t.to_string()).collect(),
            };
            let bundle = SpectrogramBundle::to_bytes(&header, &model).expect("a bundle");
            let (_, plain) = SpectrogramBundle::plain_from_bytes(&bundle)
                .expect("the bundle loads")
                .expect("a MusiCNN transfer network runs without Burn");
            PatchBench { model, plain, device }
        }

        /// One Burn-free `forward_all` on `batch` patches (the page's CPU engine); returns a
        /// sum of the outputs.
        pub fn plain(&self, batch: usize) -> f32 {
            let out = self.plain.forward_all(&self.values(batch), MELS, FRAMES);
            let sum = |v: &[f32]| v.iter().sum::<f32>();
            sum(&out.logits) + sum(&out.pools) + out.tag_logits.as_deref().map_or(0.0, sum)
        }

        /// One `forward_all` on `batch` patches; returns a sum of the outputs (so the work is
        /// kept and the result can be compared between builds).
        pub fn run(&self, batch: usize) -> f32 {
            let (logits, outputs) = self.model.forward_all(self.input(batch));
            let outputs = outputs.expect("a MusiCNN network has backbone outputs");
            let sum = |t: Tensor<2>| t.into_data().iter::<f32>().sum::<f32>();
            sum(logits) + sum(outputs.pools) + outputs.tag_logits.map_or(0.0, sum)
        }

        /// The backbone's front end alone (`Musicnn::front_end`) on `batch` patches; returns
        /// the sum of its output.
        pub fn front(&self, batch: usize) -> f32 {
            let Network::Musicnn(net) = &self.model.network else {
                unreachable!("built as a MusiCNN transfer network")
            };
            let front = net.backbone.front_end(self.input(batch));
            front.into_data().iter::<f32>().sum::<f32>()
        }
    }

    impl PatchBench {
        /// `batch` deterministic patches `[batch, 1, 96, 187]`.
        fn input(&self, batch: usize) -> Tensor<4> {
            let values = self.values(batch);
            Tensor::from_data(TensorData::new(values, [batch, 1, MELS, FRAMES]), &self.device)
        }

        /// The values of [`input`](Self::input), row-major.
        fn values(&self, batch: usize) -> Vec<f32> {
            (0..batch * MELS * FRAMES).map(|i| ((i as f32) * 0.0137).sin()).collect()
        }
    }
}
