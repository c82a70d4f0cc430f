//! The Genrescope trainer as a library (data discovery, feature caching, splits,
//! augmentation, metrics, reports), used by the `trainer` binary and its tests.

pub mod allocator;
pub mod dataset;
pub mod cache;
pub mod split;
pub mod augment;
pub mod metrics;
pub mod report;
pub mod commands;
pub mod table;
pub mod train;
