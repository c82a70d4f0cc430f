//! The genre classifier network, built at run time from an [`ArchitectureConfig`].
//!
//! - `architecture`: the serialisable config stored in each bundle, and its validation.
//! - `blocks`: the conv and dense layer groups.
//! - `cnn`, `crnn`: the two architectures trained from scratch.
//! - [`musicnn`]: the pretrained MusiCNN backbone and the transfer network on it.
//! - `musicnn_cpu`: MusiCNN's front end, mid end and pools for inference on the CPU (flex)
//!   device, without Burn's layers (fused, fewer passes over memory).
//! - [`table`]: networks on a vector of track descriptors (the feature-table model).
//! - `net`: [`GenreNet`], which wraps either behind `forward` (logits) and `embed`.

mod architecture;
mod blocks;
mod cnn;
mod crnn;
pub mod musicnn;
mod musicnn_cpu;
mod net;
pub mod table;

pub use architecture::ArchitectureConfig;
pub use net::{GenreNet, Network};
