//! The Genrescope trainer as a library (data discovery, feature caching, splits,
//! augmentation, metrics, reports), used by the `trainer` binary and its tests.

#![warn(unreachable_pub)]

pub mod allocator;
pub mod augment;
pub mod cache;
pub mod commands;
pub mod cv;
pub mod dataset;
pub mod metrics;
pub mod panic_hook;
pub mod provenance;
pub mod report;
pub mod split;
pub mod table;
pub mod train;
