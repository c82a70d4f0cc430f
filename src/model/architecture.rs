//! The serialisable description of a network, stored in each model bundle.
//!
//! The network is built from this config at run time ([`GenreNet::new`](super::GenreNet::new)),
//! so a new bundle with a different shape needs no recompiled wasm.

use serde::{Deserialize, Serialize};

use super::musicnn::{
    MusicnnEmbedding, MSD_TAGS, MSD_TAG_NAMES, MUSICNN_MELS, PENULTIMATE_DIM, POOL_DIM,
};
use crate::trust::DetectorInput;

/// Upper bound on any layer width (conv filters, dense units, GRU hidden size).
///
/// Far above anything sensible for this task; it only stops a hostile or corrupt bundle header
/// from asking for absurd allocations before its weights are checked.
pub(crate) const MAX_WIDTH: usize = 8192;

/// Upper bound on the number of conv blocks (each halves both input axes).
pub(crate) const MAX_CONV_BLOCKS: usize = 12;

/// Upper bound on the number of hidden dense layers of the CNN head.
pub(crate) const MAX_DENSE_LAYERS: usize = 16;

/// Which network to build, with its layer sizes.
///
/// Serialised with an internal `kind` tag, e.g.
/// `{"kind":"cnn","filters":[32,64,128],"dense":[256,128],"dropout":0.5}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ArchitectureConfig {
    /// Conv blocks (3x3 conv, same padding -> batch norm -> ReLU -> 2x2 max pool), then global
    /// average pooling, then dense blocks (linear -> batch norm -> ReLU -> dropout), then a
    /// linear layer to the logits. The embedding is the output of the last dense block.
    Cnn {
        /// Output channels of each conv block, in order (one block per entry).
        filters: Vec<usize>,
        /// Units of each hidden dense block, in order; may be empty.
        dense: Vec<usize>,
        /// Dropout probability after each dense block (training only), in `[0, 1)`.
        dropout: f64,
    },
    /// The same conv front end, then the mean over the (pooled) frequency axis, then a GRU over
    /// the time frames; the final hidden state(s), concatenated when bidirectional, form the
    /// embedding, followed by dropout and a linear layer to the logits.
    Crnn {
        /// Output channels of each conv block, in order (one block per entry).
        filters: Vec<usize>,
        /// Hidden size of the GRU (per direction).
        gru_hidden: usize,
        /// Run a second GRU over the time-reversed sequence and concatenate both final states.
        bidirectional: bool,
        /// Dropout probability before the output layer (training only), in `[0, 1)`.
        dropout: f64,
    },
    /// Transfer learning: the pretrained MusiCNN backbone (musicnn's MSD model, 96 mel bands
    /// of the musicnn front end), then a genre head on one of its embeddings: dropout, the
    /// `hidden` dense blocks (linear -> batch norm -> ReLU -> dropout), a linear layer to the
    /// logits. The embedding is the head's last hidden layer (the backbone embedding when
    /// `hidden` is empty).
    Musicnn {
        /// The backbone output the head reads.
        embedding: MusicnnEmbedding,
        /// Units of each hidden dense block of the head; may be empty (a linear head).
        hidden: Vec<usize>,
        /// Dropout probability in the head (training only), in `[0, 1)`.
        dropout: f64,
        /// The bundle keeps the backbone's penultimate and tag layers, so every result also
        /// carries MusiCNN's 50 Million Song Dataset tag probabilities (absent: false).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        msd_tags: bool,
    },
}

impl Default for ArchitectureConfig {
    fn default() -> Self {
        Self::cnn_default()
    }
}

impl ArchitectureConfig {
    /// What the network is, in a few words for people (e.g. on the page).
    pub fn description(&self) -> &'static str {
        match self {
            ArchitectureConfig::Cnn { .. } => "CNN",
            ArchitectureConfig::Crnn { .. } => "CRNN",
            ArchitectureConfig::Musicnn { .. } => "MusiCNN (Million Song Dataset) transfer",
        }
    }

    /// The default 3-block CNN: filters `[32, 64, 128]`, dense `[256, 128]`, dropout 0.5.
    pub fn cnn_default() -> Self {
        ArchitectureConfig::Cnn { filters: vec![32, 64, 128], dense: vec![256, 128], dropout: 0.5 }
    }

    /// The 5-block CNN variant: filters `[32, 64, 128, 256, 512]`, dense `[256, 128]`,
    /// dropout 0.5.
    pub fn cnn_5_block() -> Self {
        ArchitectureConfig::Cnn {
            filters: vec![32, 64, 128, 256, 512],
            dense: vec![256, 128],
            dropout: 0.5,
        }
    }

    /// The default CRNN: filters `[32, 64, 128]`, a bidirectional GRU of 128 units per
    /// direction, dropout 0.5.
    pub fn crnn_default() -> Self {
        ArchitectureConfig::Crnn {
            filters: vec![32, 64, 128],
            gru_hidden: 128,
            bidirectional: true,
            dropout: 0.5,
        }
    }

    /// The default transfer network: a linear head on MusiCNN's pooled features, dropout 0.5.
    pub fn musicnn_default() -> Self {
        ArchitectureConfig::Musicnn {
            embedding: MusicnnEmbedding::Pools,
            hidden: Vec::new(),
            dropout: 0.5,
            msd_tags: false,
        }
    }

    /// Short lowercase name of the variant (`"cnn"`, `"crnn"` or `"musicnn"`), as in the
    /// serialised tag.
    pub fn kind(&self) -> &'static str {
        match self {
            ArchitectureConfig::Cnn { .. } => "cnn",
            ArchitectureConfig::Crnn { .. } => "crnn",
            ArchitectureConfig::Musicnn { .. } => "musicnn",
        }
    }

    /// Output channels of the conv blocks trained from scratch (none for the transfer
    /// network, whose backbone is fixed).
    pub fn filters(&self) -> &[usize] {
        match self {
            ArchitectureConfig::Cnn { filters, .. } | ArchitectureConfig::Crnn { filters, .. } => {
                filters
            }
            ArchitectureConfig::Musicnn { .. } => &[],
        }
    }

    /// Dropout probability used during training.
    pub fn dropout(&self) -> f64 {
        match self {
            ArchitectureConfig::Cnn { dropout, .. }
            | ArchitectureConfig::Crnn { dropout, .. }
            | ArchitectureConfig::Musicnn { dropout, .. } => *dropout,
        }
    }

    /// Whether the network starts from a pretrained backbone (loaded separately by the
    /// trainer) rather than from random weights.
    pub fn is_transfer(&self) -> bool {
        matches!(self, ArchitectureConfig::Musicnn { .. })
    }

    /// Whether the network keeps the backbone's penultimate and tag layers.
    pub fn keeps_backbone_top(&self) -> bool {
        matches!(
            self,
            ArchitectureConfig::Musicnn { msd_tags: true, .. }
                | ArchitectureConfig::Musicnn {
                    embedding: MusicnnEmbedding::Penultimate | MusicnnEmbedding::Tags,
                    ..
                }
        )
    }

    /// Number of tag outputs each result carries ([`MSD_TAGS`] with `msd_tags`, else 0).
    pub fn tag_outputs(&self) -> usize {
        match self {
            ArchitectureConfig::Musicnn { msd_tags: true, .. } => MSD_TAGS,
            _ => 0,
        }
    }

    /// The names of the [`tag_outputs`](Self::tag_outputs), in output order.
    pub fn tag_names(&self) -> Vec<String> {
        match self.tag_outputs() {
            0 => Vec::new(),
            _ => MSD_TAG_NAMES.iter().map(|t| t.to_string()).collect(),
        }
    }

    /// Length of the backbone output a music detector reading `input` gets, or `None` when
    /// the network does not have it.
    pub fn detector_input_len(&self, input: DetectorInput) -> Option<usize> {
        if !self.is_transfer() {
            return None;
        }
        match input {
            DetectorInput::Pools => Some(POOL_DIM),
            DetectorInput::Penultimate => self.keeps_backbone_top().then_some(PENULTIMATE_DIM),
            DetectorInput::TagLogits => self.keeps_backbone_top().then_some(MSD_TAGS),
        }
    }

    /// Length of the vector [`GenreNet::embed`](super::GenreNet::embed) returns: the last dense
    /// width for the CNN (the last filter count when `dense` is empty), `gru_hidden` (times 2
    /// when bidirectional) for the CRNN. Zero only for configs [`validate`](Self::validate)
    /// rejects.
    pub fn embedding_dim(&self) -> usize {
        match self {
            ArchitectureConfig::Cnn { filters, dense, .. } => {
                dense.last().or(filters.last()).copied().unwrap_or(0)
            }
            ArchitectureConfig::Crnn { gru_hidden, bidirectional, .. } => {
                gru_hidden * if *bidirectional { 2 } else { 1 }
            }
            ArchitectureConfig::Musicnn { embedding, hidden, .. } => {
                hidden.last().copied().unwrap_or(embedding.dim())
            }
        }
    }

    /// Checks that a network can be built from this config for inputs of
    /// `[batch, 1, n_mels, n_frames]` and `n_labels` outputs, naming the first problem.
    ///
    /// Building with a config that fails here may panic inside Burn; nothing that passes does.
    pub fn validate(&self, n_mels: usize, n_frames: usize, n_labels: usize) -> Result<(), String> {
        let dropout = self.dropout();
        if !(dropout.is_finite() && (0.0..1.0).contains(&dropout)) {
            return Err(format!("dropout must be in [0, 1), got {dropout}"));
        }
        if n_labels == 0 {
            return Err("the model needs at least one output label".into());
        }
        match self {
            ArchitectureConfig::Cnn { filters, dense, .. } => {
                check_conv_stack(filters, n_mels, n_frames)?;
                check_dense("dense", dense)
            }
            ArchitectureConfig::Crnn { filters, gru_hidden, .. } => {
                check_conv_stack(filters, n_mels, n_frames)?;
                check_widths("gru_hidden", &[*gru_hidden])
            }
            ArchitectureConfig::Musicnn { hidden, .. } => {
                if n_mels != MUSICNN_MELS {
                    return Err(format!(
                        "the MusiCNN backbone needs {MUSICNN_MELS} mel bands (the musicnn front \
                         end); the input has {n_mels}"
                    ));
                }
                if n_frames == 0 {
                    return Err("the MusiCNN backbone needs at least one frame".into());
                }
                check_dense("hidden", hidden)
            }
        }
    }
}

/// Checks the conv blocks of the from-scratch networks against the input size.
fn check_conv_stack(filters: &[usize], n_mels: usize, n_frames: usize) -> Result<(), String> {
    if filters.is_empty() {
        return Err("filters must list at least one conv block".into());
    }
    if filters.len() > MAX_CONV_BLOCKS {
        return Err(format!(
            "filters lists {} conv blocks; at most {MAX_CONV_BLOCKS} are supported",
            filters.len()
        ));
    }
    check_widths("filters", filters)?;
    // Every block halves both axes (2x2 max pool, floor); at least one cell must survive.
    let blocks = filters.len();
    let (mels_left, frames_left) = (n_mels >> blocks, n_frames >> blocks);
    if mels_left == 0 || frames_left == 0 {
        return Err(format!(
            "{blocks} conv blocks halve the input {blocks} times, which needs at least {} mel \
             bands and {} frames; the input is {n_mels} x {n_frames}",
            1usize << blocks,
            1usize << blocks
        ));
    }
    Ok(())
}

/// Checks a list of dense layer widths named `name`.
fn check_dense(name: &str, widths: &[usize]) -> Result<(), String> {
    if widths.len() > MAX_DENSE_LAYERS {
        return Err(format!(
            "{name} lists {} layers; at most {MAX_DENSE_LAYERS} are supported",
            widths.len()
        ));
    }
    check_widths(name, widths)
}

fn check_widths(name: &str, widths: &[usize]) -> Result<(), String> {
    match widths.iter().find(|&&w| w == 0 || w > MAX_WIDTH) {
        Some(w) => Err(format!("{name} entries must be in 1..={MAX_WIDTH}, got {w}")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_json_is_tagged_and_round_trips() {
        for arch in [
            ArchitectureConfig::cnn_default(),
            ArchitectureConfig::cnn_5_block(),
            ArchitectureConfig::crnn_default(),
        ] {
            let json = serde_json::to_string(&arch).unwrap();
            assert!(json.contains(&format!("\"kind\":\"{}\"", arch.kind())), "{json}");
            let back: ArchitectureConfig = serde_json::from_str(&json).unwrap();
            assert_eq!(back, arch);
            back.validate(128, 130, 10).unwrap();
        }
    }

    #[test]
    fn architecture_embedding_dims() {
        assert_eq!(ArchitectureConfig::cnn_default().embedding_dim(), 128);
        assert_eq!(ArchitectureConfig::crnn_default().embedding_dim(), 256);
        let no_dense =
            ArchitectureConfig::Cnn { filters: vec![8, 16], dense: vec![], dropout: 0.0 };
        assert_eq!(no_dense.embedding_dim(), 16);
    }

    #[test]
    fn architecture_validate_names_the_problem() {
        let arch = ArchitectureConfig::cnn_default();
        assert!(arch.validate(128, 130, 0).unwrap_err().contains("label"));
        assert!(arch.validate(4, 130, 10).unwrap_err().contains("mel bands"));
        let bad = ArchitectureConfig::Cnn { filters: vec![], dense: vec![], dropout: 0.5 };
        assert!(bad.validate(128, 130, 10).unwrap_err().contains("filters"));
        let bad = ArchitectureConfig::Cnn { filters: vec![8, 0], dense: vec![], dropout: 0.5 };
        assert!(bad.validate(128, 130, 10).unwrap_err().contains("filters"));
        let bad = ArchitectureConfig::Cnn { filters: vec![8], dense: vec![1 << 40], dropout: 0.5 };
        assert!(bad.validate(128, 130, 10).unwrap_err().contains("dense"));
        let bad = ArchitectureConfig::Cnn { filters: vec![8], dense: vec![], dropout: 1.0 };
        assert!(bad.validate(128, 130, 10).unwrap_err().contains("dropout"));
        let bad = ArchitectureConfig::Crnn {
            filters: vec![8],
            gru_hidden: 0,
            bidirectional: true,
            dropout: f64::NAN,
        };
        assert!(bad.validate(128, 130, 10).is_err());
    }
}
