//! Training on the device (feature `training`): the pieces the native trainer and the page's
//! own-genre training share, so both train a head the same way.
//!
//! - [`calibrate`]: temperature and `uncertain` threshold fitted on out-of-fold predictions.
//! - [`clock`]: elapsed time on every target.
//! - [`cv`]: stratified cross-validation by track and its summary.
//! - [`head`]: a transfer network's genre head trained on cached embeddings.
//! - [`metrics`]: evaluations, confusion matrices, epoch records.
//! - [`own_genres`]: a user's own categories on the frozen MusiCNN backbone, start to bundle.
//! - [`rows`]: fixed-length rows of cached values and one training stage over them.
//! - [`schedule`]: reduce-LR-on-plateau and early stopping.
//! - [`split`]: train / validation / test splits and k folds by track.
//! - [`step`]: one optimiser step and an epoch's bookkeeping.

pub mod calibrate;
pub mod clock;
pub mod cv;
pub mod head;
pub mod metrics;
pub mod own_genres;
pub mod rows;
pub mod schedule;
pub mod split;
pub mod step;
