//! The genre classifier network, built at run time from an [`ArchitectureConfig`]. The Burn
//! networks (`blocks`, `cnn`, `crnn`, `net`, MusiCNN's layers) come with the `burn` feature.
//!
//! - `architecture`: the serialisable config stored in each bundle, and its validation.
//! - `blocks`: the conv and dense layer groups.
//! - `cnn`, `crnn`: the two architectures trained from scratch.
//! - [`musicnn`]: the pretrained MusiCNN backbone and the transfer network on it.
//! - `musicnn_cpu`: MusiCNN's front end, mid end and pools for inference on the CPU, without
//!   Burn (fused, fewer passes over memory).
//! - [`plain`]: the Burn-free networks the classifier runs on the CPU.
//! - [`table`]: networks on a vector of track descriptors (the feature-table model).
//! - `net`: [`GenreNet`], which wraps either behind `forward` (logits) and `embed`.

mod architecture;
#[cfg(feature = "burn")]
mod blocks;
#[cfg(feature = "burn")]
mod cnn;
#[cfg(feature = "burn")]
mod crnn;
pub mod musicnn;
mod musicnn_cpu;
#[cfg(feature = "burn")]
mod net;
pub mod plain;
pub mod table;

pub use architecture::ArchitectureConfig;
#[cfg(feature = "burn")]
pub use net::{GenreNet, Network};
