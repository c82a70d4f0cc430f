//! Per-patch backbone outputs of a transfer bundle's own network (its penultimate layer, tag
//! logits or pools), through the engine's front end: range rule, resampling, the bundle's
//! log-Mel patches (every patch), its normalisation, then the network's single pass.

use anyhow::{bail, Context};
use burn::tensor::{Device, Tensor, TensorData};
use genrescope::audio::resample;
use genrescope::bundle::{SpectrogramBundle, SpectrogramHeader};
use genrescope::feature_config::Windowing;
use genrescope::mel::MelExtractor;
use genrescope::model::GenreNet;
use genrescope::segment::window_features;
use genrescope::trust::{conform_range, DetectorInput};

/// Patches sent through the network at once.
const BATCH: usize = 16;

/// A spectrogram bundle's network, ready to give one backbone output per patch.
pub struct BackboneRows {
    header: SpectrogramHeader,
    net: GenreNet,
    extractor: MelExtractor,
    input: DetectorInput,
    device: Device,
}

impl BackboneRows {
    /// Loads the bundle `bytes` on `device` to read `input` from every patch (with
    /// `every_patch`; else from the patches the bundle's front end keeps, as the engine
    /// does); fails, naming what to do, when its network has no such output (a transfer
    /// model trained without `--msd-tags` has no penultimate layer or tag logits; other
    /// networks have none).
    pub fn new(
        bytes: &[u8],
        input: DetectorInput,
        every_patch: bool,
        device: &Device,
    ) -> anyhow::Result<Self> {
        let (mut header, net) = SpectrogramBundle::from_bytes(bytes, device)
            .context("the model must be a spectrogram bundle")?;
        if header.architecture.detector_input_len(input).is_none() {
            bail!(
                "the bundle's network ({}) has no {input:?} output: the detector needs a MusiCNN \
                 transfer bundle that keeps its top (`trainer train transfer --msd-tags`)",
                header.architecture.description()
            );
        }
        if let (true, Windowing::SpectrogramPatches { max_patches, .. }) =
            (every_patch, &mut header.feature_config.windowing)
        {
            *max_patches = None;
        }
        let extractor = MelExtractor::new(&header.feature_config).map_err(anyhow::Error::msg)?;
        Ok(BackboneRows { header, net, extractor, input, device: device.clone() })
    }

    /// The rate [`rows`](Self::rows) resamples to.
    pub fn sample_rate(&self) -> u32 {
        self.header.feature_config.sample_rate
    }

    /// One row of the chosen output per patch of mono `samples` at `rate` (a signal shorter
    /// than one patch gives one padded patch).
    pub fn rows(&self, samples: &[f32], rate: u32) -> anyhow::Result<Vec<Vec<f32>>> {
        let mut conformed = samples.to_vec();
        conform_range(&mut conformed);
        let samples = resample(&conformed, rate, self.sample_rate())?;
        let features = window_features(&self.header.feature_config, &self.extractor, &samples);
        if features.is_empty() {
            bail!("no patch to read");
        }
        let (n_mels, n_frames) = (features.n_mels, features.n_frames);
        let size = n_mels * n_frames;
        let mut rows = Vec::with_capacity(features.len());
        for start in (0..features.len()).step_by(BATCH) {
            let end = (start + BATCH).min(features.len());
            let mut input = features.data[start * size..end * size].to_vec();
            for window in input.chunks_exact_mut(size) {
                self.header.normalisation.standardise(window, n_frames);
            }
            let x = Tensor::<4>::from_data(
                TensorData::new(input, [end - start, 1, n_mels, n_frames]),
                &self.device,
            );
            let (_, outputs) = self.net.forward_all(x);
            let outputs = outputs.context("the network has no backbone outputs")?;
            let chosen = match self.input {
                DetectorInput::Penultimate => outputs.penultimate,
                DetectorInput::TagLogits => outputs.tag_logits,
                DetectorInput::Pools => Some(outputs.pools),
            }
            .context("the network does not give the detector's input")?;
            let dim = chosen.dims()[1];
            let values = chosen
                .into_data()
                .try_to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("reading the backbone outputs: {e:?}"))?;
            rows.extend(values.chunks_exact(dim).map(<[f32]>::to_vec));
        }
        Ok(rows)
    }
}
