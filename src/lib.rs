//! Genrescope: music-genre classification that runs entirely on the user's machine.
//!
//! The same code decodes, resamples, segments and turns audio into log-Mel features in the
//! native trainer and in the browser (through the thin [`wasm`] layer), driven by the
//! [`FeatureConfig`] stored in each model bundle.

#![warn(unreachable_pub)]

pub mod audio;
pub mod bundle;
pub mod classify;
pub mod descriptors;
pub mod device;
pub mod feature_config;
pub mod mel;
pub mod mel_image;
pub mod model;
pub mod segment;
#[cfg(feature = "tags")]
pub mod tags;
#[cfg(feature = "training")]
pub mod training;
pub mod trust;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use classify::ModelInfo;
pub use feature_config::FeatureConfig;
