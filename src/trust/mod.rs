//! What makes an answer trustworthy: the [`Verdict`] on every result and what it is
//! decided from.
//!
//! - [`signal`]: is there any signal at all ([`SilenceGate`], [`SignalLevel`]), and the
//!   rule that keeps extreme float samples from making the front end overflow
//!   ([`conform_range`]).
//! - [`calibration`]: a temperature per model and the `uncertain` threshold
//!   ([`Calibration`]), fitted by the trainer on out-of-fold predictions.
//! - [`music_detector`]: music or not ([`MusicDetector`]), a logistic model on the
//!   backbone's per-patch outputs, stored in the bundle.
//! - [`verdict`]: the decision from all three ([`Verdict`]).

pub mod calibration;
pub mod music_detector;
pub mod signal;
pub mod verdict;

pub use calibration::Calibration;
pub use music_detector::{DetectorInput, MusicDetector, MusicScore};
pub use signal::{conform_range, SignalLevel, SilenceGate};
pub use verdict::{Verdict, VerdictKind};
