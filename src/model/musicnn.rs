//! MusiCNN (Pons & Serra, musicnn 0.1.0, front end `7774timbraltemporal`): its sizes and
//! embeddings here, and (with Burn) the network and the transfer network that puts a small
//! genre head on its pretrained embedding (`network`).
//!
//! Layout: the input is `[batch, 1, 96 mel bands, frames]` (frequency is height, time is
//! width: the transpose of musicnn's `[batch, time, freq]`). Every block applies ReLU *before*
//! batch norm, as the original does. Parameter names match
//! `trainer/scripts/import_musicnn.py`, which converts the TensorFlow checkpoint.

#[cfg(feature = "burn")]
mod network;
#[cfg(feature = "burn")]
pub use network::*;

/// Mel bands the pretrained front end was built for (its kernel heights are fractions of it).
pub const MUSICNN_MELS: usize = 96;
/// Filters of each timbral conv (`int(1.6 * 128)`).
pub const TIMBRAL_FILTERS: usize = 204;
/// Heights (mel bands) of the two timbral kernels (`int(0.4 * 96)`, `int(0.7 * 96)`).
pub const TIMBRAL_HEIGHTS: [usize; 2] = [38, 67];
/// Width (frames) of the timbral kernels.
pub const TIMBRAL_WIDTH: usize = 7;
/// Filters of each temporal conv (`int(1.6 * 32)`).
pub const TEMPORAL_FILTERS: usize = 51;
/// Widths (frames) of the three temporal kernels.
pub const TEMPORAL_WIDTHS: [usize; 3] = [128, 64, 32];
/// Channels of the front end's output (`2 * 204 + 3 * 51`).
pub const FRONT_END_CHANNELS: usize = 2 * TIMBRAL_FILTERS + 3 * TEMPORAL_FILTERS;
/// Filters of each mid-end conv.
pub const MID_END_FILTERS: usize = 64;
/// Number of mid-end convs.
pub const MID_END_LAYERS: usize = 3;
/// Width (frames) of the mid-end kernels.
pub const MID_END_WIDTH: usize = 7;
/// Channels pooled by the back end: the front end's plus each mid-end layer's.
pub const POOLED_CHANNELS: usize = FRONT_END_CHANNELS + MID_END_LAYERS * MID_END_FILTERS;
/// Length of the pooled vector: max and mean of each pooled channel, interleaved.
pub const POOL_DIM: usize = 2 * POOLED_CHANNELS;
/// Units of the penultimate dense layer.
pub const PENULTIMATE_DIM: usize = 200;
/// Number of MSD tags the pretrained output layer predicts.
pub const MSD_TAGS: usize = 50;
/// The names of the [`MSD_TAGS`] tag outputs, in output order (musicnn's `MSD_musicnn`
/// labels; `backbone.json` beside the converted weights lists the same).
pub const MSD_TAG_NAMES: [&str; MSD_TAGS] = [
    "rock",
    "pop",
    "alternative",
    "indie",
    "electronic",
    "female vocalists",
    "dance",
    "00s",
    "alternative rock",
    "jazz",
    "beautiful",
    "metal",
    "chillout",
    "male vocalists",
    "classic rock",
    "soul",
    "indie rock",
    "Mellow",
    "electronica",
    "80s",
    "folk",
    "90s",
    "chill",
    "instrumental",
    "punk",
    "oldies",
    "blues",
    "hard rock",
    "ambient",
    "acoustic",
    "experimental",
    "female vocalist",
    "guitar",
    "Hip-Hop",
    "70s",
    "party",
    "country",
    "easy listening",
    "sexy",
    "catchy",
    "funk",
    "electro",
    "heavy metal",
    "Progressive rock",
    "60s",
    "rnb",
    "indie pop",
    "sad",
    "House",
    "happy",
];

/// Batch-norm epsilon of TensorFlow's `tf.compat.v1.layers.batch_normalization`.
pub const BATCH_NORM_EPSILON: f64 = 1e-3;

/// Which backbone output feeds the genre head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MusicnnEmbedding {
    /// The 200-unit penultimate layer (after its batch norm), [`PENULTIMATE_DIM`] values.
    Penultimate,
    /// The temporal max and mean of every front- and mid-end channel (after the back end's
    /// batch norm), [`POOL_DIM`] values.
    Pools,
    /// The [`MSD_TAGS`] tag probabilities (the sigmoid of the tag layer): a genre head on
    /// what the backbone says about the music in words.
    Tags,
}

impl MusicnnEmbedding {
    /// Length of the embedding.
    pub fn dim(self) -> usize {
        match self {
            MusicnnEmbedding::Penultimate => PENULTIMATE_DIM,
            MusicnnEmbedding::Pools => POOL_DIM,
            MusicnnEmbedding::Tags => MSD_TAGS,
        }
    }
}
