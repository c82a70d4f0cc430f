//! Training a [`GenreNet`](genrescope::model::GenreNet) on a split of labelled tracks.
//!
//! - [`fit`]: the epoch loop (augmentation, Adam, plateau schedule, early stopping,
//!   best-by-validation weights).
//! - [`fold_store`]: finished cross-validation folds on disk, so an interrupted run resumes.
//! - [`normalise`]: per-band statistics from the training split.
//! - [`schedule`]: reduce-LR-on-plateau and early stopping.
//! - [`transfer`]: the genre head on a frozen pretrained backbone's embeddings.
//! - [`windows`]: standardised labelled windows, batches and prediction.

pub mod fit;
pub mod fold_store;
pub mod normalise;
pub mod schedule;
pub mod transfer;
pub mod windows;

pub use fit::{fit, FitOutcome, TrainSettings};
pub use schedule::ScheduleConfig;
