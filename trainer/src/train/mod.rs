//! Training a [`GenreNet`](genrescope::model::GenreNet) on a split of labelled tracks.
//!
//! - [`fit`]: the epoch loop (augmentation, Adam, plateau schedule, early stopping,
//!   best-by-validation weights).
//! - [`fold_store`]: finished cross-validation folds on disk, so an interrupted run resumes.
//! - [`normalise`]: per-band statistics from the training split.
//! - `rows`, `schedule`, `step`: training on cached rows, the learning-rate schedule and one
//!   optimiser step, from the core crate's `training` module (shared with the page).
//! - [`transfer`]: the genre head on a pretrained backbone's cached embeddings, and optional
//!   fine-tuning of the backbone's top.
//! - [`windows`]: standardised labelled windows, batches and prediction.

pub mod fit;
pub mod fold_store;
pub mod normalise;
pub mod transfer;
pub mod windows;

pub use fit::{fit, FitOutcome, TrainSettings};
pub use genrescope::training::{rows, schedule, step};
pub use schedule::ScheduleConfig;
