//! Labelled, standardised model inputs and batched prediction on them.

use burn::tensor::{Device, Int, Tensor, TensorData};
use genrescope::bundle::Normalisation;
use genrescope::classify::softmax;
use genrescope::model::GenreNet;
use genrescope::segment::WindowFeatures;

/// Many windows of one shape, each with its label and the track it comes from.
#[derive(Debug, Clone, Default)]
pub struct WindowSet {
    /// Mel bands per window.
    pub n_mels: usize,
    /// Frames per window.
    pub n_frames: usize,
    /// Band-major window data, `len() * n_mels * n_frames` values.
    pub data: Vec<f32>,
    /// Label of each window.
    pub labels: Vec<usize>,
    /// Track index of each window.
    pub tracks: Vec<usize>,
}

impl WindowSet {
    /// An empty set for windows of `n_mels` x `n_frames`.
    pub fn new(n_mels: usize, n_frames: usize) -> Self {
        WindowSet { n_mels, n_frames, ..Default::default() }
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is no window.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values in one window.
    pub fn window_size(&self) -> usize {
        self.n_mels * self.n_frames
    }

    /// Adds every window of one track, standardised with `norm`.
    pub fn push_track(
        &mut self,
        feats: &WindowFeatures,
        label: usize,
        track: usize,
        norm: &Normalisation,
    ) {
        let (start, size, n_frames) = (self.data.len(), self.window_size(), self.n_frames);
        self.data.extend_from_slice(&feats.data);
        for window in self.data[start..].chunks_exact_mut(size) {
            norm.standardise(window, n_frames);
        }
        self.labels.extend(std::iter::repeat_n(label, feats.len()));
        self.tracks.extend(std::iter::repeat_n(track, feats.len()));
    }

    /// The windows at `indices` as an input tensor `[n, 1, n_mels, n_frames]` and their labels.
    pub fn batch(&self, indices: &[usize], device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
        let size = self.window_size();
        let mut x = Vec::with_capacity(indices.len() * size);
        for &i in indices {
            x.extend_from_slice(&self.data[i * size..(i + 1) * size]);
        }
        let y: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        (
            Tensor::from_data(
                TensorData::new(x, [indices.len(), 1, self.n_mels, self.n_frames]),
                device,
            ),
            Tensor::from_data(TensorData::new(y, [indices.len()]), device),
        )
    }
}

/// Softmax probabilities of every window of `set`, computed `batch` windows at a time with
/// `model` in inference mode on `device`.
pub fn predict(
    model: &GenreNet,
    set: &WindowSet,
    device: &Device,
    batch: usize,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let all: Vec<usize> = (0..set.len()).collect();
    let mut probs = Vec::with_capacity(set.len());
    for chunk in all.chunks(batch.max(1)) {
        let (x, _) = set.batch(chunk, device);
        let logits = model
            .forward(x)
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        probs.extend(logits.chunks_exact(model.n_labels).map(softmax));
    }
    Ok(probs)
}
