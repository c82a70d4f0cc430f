//! The MusiCNN transfer network ([`ArchitectureConfig::Musicnn`]) without Burn: the front end
//! and mid end through `musicnn_cpu`'s kernels, then the pools' batch norm, the backbone's top
//! (penultimate and tag layers) when it has one, and the genre head.

use super::super::musicnn::{
    MusicnnEmbedding, BATCH_NORM_EPSILON, FRONT_END_CHANNELS, MID_END_FILTERS, MID_END_LAYERS,
    MID_END_WIDTH, MSD_TAGS, PENULTIMATE_DIM, POOL_DIM, TEMPORAL_FILTERS, TEMPORAL_WIDTHS,
    TIMBRAL_FILTERS, TIMBRAL_HEIGHTS, TIMBRAL_WIDTH,
};
use super::super::musicnn_cpu::affine::ChannelAffine;
use super::super::musicnn_cpu::mid_end::MidLayer;
use super::super::musicnn_cpu::pooled_conv::PooledConv;
use super::super::musicnn_cpu::{FrontEnd, MidEnd};
use super::super::ArchitectureConfig;
use super::dense::{forward_stack, normalise, relu, Dense, DenseBlock};
use super::params::{Expected, Params};
use crate::bundle::{BundleError, StoredParam};
use crate::trust::music_detector::sigmoid;

/// Where the transfer network's parameters live in a bundle's record.
const ROOT: &str = "network.Musicnn";

/// MusiCNN's epsilon, as the batch norms take it.
const EPSILON: f32 = BATCH_NORM_EPSILON as f32;

/// The backbone's penultimate and tag layers.
struct Top {
    penultimate: Dense,
    penultimate_bn: ChannelAffine,
    tags: Dense,
}

/// One batch's penultimate layer and tag logits (the backbone's top), row-major.
type TopRows = (Vec<f32>, Vec<f32>);

/// A MusiCNN transfer network's weights, for inference on the CPU.
pub struct PlainTransfer {
    front: FrontEnd,
    mid: MidEnd,
    pool_bn: ChannelAffine,
    top: Option<Top>,
    hidden: Vec<DenseBlock>,
    out: Dense,
    embedding: MusicnnEmbedding,
}

/// What one batch gives, row-major `[batch][n]` each (see `BackboneOutputs`).
pub struct PlainOutputs {
    /// Genre logits.
    pub logits: Vec<f32>,
    /// The normalised temporal max and mean pools.
    pub pools: Vec<f32>,
    /// The penultimate layer, when the network has its top.
    pub penultimate: Option<Vec<f32>>,
    /// The tag logits, when the network has its top.
    pub tag_logits: Option<Vec<f32>>,
}

/// The temporal kernels' shapes `(height, width)` after the timbral ones, with their filters.
fn branches() -> impl Iterator<Item = (usize, usize, usize)> {
    let timbral = TIMBRAL_HEIGHTS.iter().map(|&h| (TIMBRAL_FILTERS, h, TIMBRAL_WIDTH));
    timbral.chain(TEMPORAL_WIDTHS.iter().map(|&w| (TEMPORAL_FILTERS, 1, w)))
}

/// The front end's branches as stored: each one's record path and its kernel shape
/// `[filters, height, width]`.
fn branch_paths() -> impl Iterator<Item = (String, [usize; 3])> {
    let groups =
        ["timbral"; 2].into_iter().enumerate().chain(["temporal"; 3].into_iter().enumerate());
    groups.zip(branches()).map(|((i, group), (filters, height, width))| {
        (format!("{ROOT}.backbone.{group}.{i}"), [filters, height, width])
    })
}

/// The mid-end layers as stored: each one's record path and its kernel shape
/// `[c_out, c_in, width]`.
fn mid_paths() -> impl Iterator<Item = (String, [usize; 3])> {
    (0..MID_END_LAYERS).map(|i| {
        let c_in = if i == 0 { FRONT_END_CHANNELS } else { MID_END_FILTERS };
        (format!("{ROOT}.backbone.midend.{i}"), [MID_END_FILTERS, c_in, MID_END_WIDTH])
    })
}

impl PlainTransfer {
    /// Every parameter path and shape of the network `arch` describes with `n_labels` outputs
    /// (the same as the Burn [`GenreNet`](super::super::GenreNet)'s record), or `None` for an
    /// architecture other than MusiCNN transfer.
    pub(crate) fn expected(arch: &ArchitectureConfig, n_labels: usize) -> Option<Expected> {
        let ArchitectureConfig::Musicnn { embedding, hidden, .. } = arch else {
            return None;
        };
        let mut e = Expected::default();
        let backbone = format!("{ROOT}.backbone");
        e.batch_norm(&format!("{backbone}.input_bn"), 1);
        for (path, [filters, height, width]) in branch_paths() {
            e.add(format!("{path}.conv.weight"), vec![filters, 1, height, width]);
            e.add(format!("{path}.conv.bias"), vec![filters]);
            e.batch_norm(&format!("{path}.bn"), filters);
        }
        for (path, shape) in mid_paths() {
            e.add(format!("{path}.conv.weight"), shape.to_vec());
            e.add(format!("{path}.conv.bias"), vec![shape[0]]);
            e.batch_norm(&format!("{path}.bn"), shape[0]);
        }
        e.batch_norm(&format!("{backbone}.pool_bn"), POOL_DIM);
        if arch.keeps_backbone_top() {
            e.linear(&format!("{backbone}.penultimate"), POOL_DIM, PENULTIMATE_DIM);
            e.batch_norm(&format!("{backbone}.penultimate_bn"), PENULTIMATE_DIM);
            e.linear(&format!("{backbone}.tags"), PENULTIMATE_DIM, MSD_TAGS);
        }
        DenseBlock::expect_stack(&mut e, &format!("{ROOT}.head.hidden"), embedding.dim(), hidden);
        let last = hidden.last().copied().unwrap_or(embedding.dim());
        e.linear(&format!("{ROOT}.head.out"), last, n_labels);
        Some(e)
    }

    /// The network from its checked parameters (see [`expected`](Self::expected)).
    pub(crate) fn from_params(
        arch: &ArchitectureConfig,
        n_labels: usize,
        params: Vec<StoredParam>,
    ) -> Result<Self, BundleError> {
        let ArchitectureConfig::Musicnn { embedding, hidden, .. } = arch else {
            return Err(BundleError::InvalidArchitecture(
                "the plain network computes only MusiCNN transfer networks".into(),
            ));
        };
        let mut p = Params::new(params);
        let backbone = format!("{ROOT}.backbone");
        let input_bn = p.batch_norm(&format!("{backbone}.input_bn"), EPSILON)?;
        let mut convs = Vec::new();
        for (path, shape) in branch_paths() {
            let raw = p.take(&format!("{path}.conv.weight"))?;
            let bias = p.take(&format!("{path}.conv.bias"))?;
            let bn = p.batch_norm(&format!("{path}.bn"), EPSILON)?;
            let before = (shape[2] - 1) / 2;
            convs.push(PooledConv::new(&raw, shape, before, bias, bn));
        }
        let mut layers = Vec::new();
        for (path, shape) in mid_paths() {
            let weights = p.take(&format!("{path}.conv.weight"))?;
            let bias = p.take(&format!("{path}.conv.bias"))?;
            let bn = p.batch_norm(&format!("{path}.bn"), EPSILON)?;
            layers.push(MidLayer::new(weights, shape, bias, bn));
        }
        let pool_bn = p.batch_norm(&format!("{backbone}.pool_bn"), EPSILON)?;
        let top = if arch.keeps_backbone_top() {
            Some(Top {
                penultimate: Dense::take(
                    &mut p,
                    &format!("{backbone}.penultimate"),
                    POOL_DIM,
                    PENULTIMATE_DIM,
                )?,
                penultimate_bn: p.batch_norm(&format!("{backbone}.penultimate_bn"), EPSILON)?,
                tags: Dense::take(&mut p, &format!("{backbone}.tags"), PENULTIMATE_DIM, MSD_TAGS)?,
            })
        } else {
            None
        };
        let hidden_blocks = DenseBlock::take_stack(
            &mut p,
            &format!("{ROOT}.head.hidden"),
            embedding.dim(),
            hidden,
        )?;
        let last = hidden.last().copied().unwrap_or(embedding.dim());
        let out = Dense::take(&mut p, &format!("{ROOT}.head.out"), last, n_labels)?;
        let (scale, shift) = (input_bn.scale[0], input_bn.shift[0]);
        Ok(PlainTransfer {
            front: FrontEnd { scale, shift, convs },
            mid: MidEnd { layers },
            pool_bn,
            top,
            hidden: hidden_blocks,
            out,
            embedding: *embedding,
        })
    }

    /// Genre logits and the backbone's outputs for standardised inputs `[batch][mels][frames]`
    /// (`frames > 0`); the values of `GenreNet::forward_all`.
    pub fn forward_all(&self, inputs: &[f32], mels: usize, frames: usize) -> PlainOutputs {
        let (pools, top) = self.backbone(inputs, mels, frames);
        let embedding = self.embedding_of(&pools, top.as_ref());
        let logits = self.out.forward(&forward_stack(&self.hidden, &embedding));
        let (penultimate, tag_logits) = top.unzip();
        PlainOutputs { logits, pools, penultimate, tag_logits }
    }

    /// The backbone embedding the head reads, `[batch][dim]`, for standardised inputs.
    pub fn backbone_embedding(&self, inputs: &[f32], mels: usize, frames: usize) -> Vec<f32> {
        let (pools, top) = self.backbone(inputs, mels, frames);
        self.embedding_of(&pools, top.as_ref())
    }

    /// The normalised pools and, with the top, the penultimate layer and the tag logits.
    fn backbone(&self, inputs: &[f32], mels: usize, frames: usize) -> (Vec<f32>, Option<TopRows>) {
        let pools = self.pools(inputs, mels, frames);
        let top = self.top.as_ref().map(|top| {
            let mut penultimate = top.penultimate.forward(&pools);
            relu(&mut penultimate);
            normalise(&mut penultimate, &top.penultimate_bn);
            let tag_logits = top.tags.forward(&penultimate);
            (penultimate, tag_logits)
        });
        (pools, top)
    }

    /// The backbone output the head reads (see [`MusicnnEmbedding`]).
    fn embedding_of(&self, pools: &[f32], top: Option<&TopRows>) -> Vec<f32> {
        match (self.embedding, top) {
            (MusicnnEmbedding::Penultimate, Some((penultimate, _))) => penultimate.clone(),
            (MusicnnEmbedding::Tags, Some((_, tag_logits))) => {
                tag_logits.iter().map(|&z| sigmoid(z as f64) as f32).collect()
            }
            _ => pools.to_vec(),
        }
    }

    /// The normalised pools `[batch][POOL_DIM]`.
    fn pools(&self, inputs: &[f32], mels: usize, frames: usize) -> Vec<f32> {
        let front = self.front.forward(inputs, mels, frames);
        let mut pools = self.mid.pools(&front, self.front.channels(), frames);
        normalise(&mut pools, &self.pool_bn);
        pools
    }
}
