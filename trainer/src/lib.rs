//! The Genrescope trainer as a library (data discovery, feature caching, splits,
//! augmentation, metrics, reports), used by the `trainer` binary and its tests.

#![warn(unreachable_pub)]

pub mod allocator;
pub mod augment;
pub mod backbone_rows;
pub mod bundle_edit;
pub mod cache;
pub mod commands;
pub mod dataset;
pub mod detection;
pub mod logistic;
pub mod panic_hook;
pub mod provenance;
pub mod report;
pub mod synth;
pub mod table;
pub mod train;

// Shared with the page's own-genre training (the core crate's `training` feature), under the
// names the trainer always used.
pub use genrescope::training::{calibrate, cv, metrics, split};
