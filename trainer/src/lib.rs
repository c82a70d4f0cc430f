//! The Genrescope trainer as a library (data discovery, feature caching, splits,
//! augmentation, metrics, reports), used by the `trainer` binary and its tests.

#![warn(unreachable_pub)]

pub mod allocator;
pub mod augment;
pub mod backbone_rows;
pub mod bundle_edit;
pub mod cache;
pub mod calibrate;
pub mod commands;
pub mod cv;
pub mod dataset;
pub mod detection;
pub mod logistic;
pub mod metrics;
pub mod panic_hook;
pub mod provenance;
pub mod report;
pub mod split;
pub mod synth;
pub mod table;
pub mod train;
