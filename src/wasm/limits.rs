//! The page's limits on input, shared by the engine and the decoder module.

use crate::audio::DecodeLimits;

/// Longest audio accepted in the page: the whole track, its features and the decoder's
/// buffers must fit in wasm32's memory next to each other.
pub(crate) const MAX_MINUTES: f64 = 20.0;

/// Most mono samples decoded at a file's own rate in the page: 20 minutes at 96 kHz (461 MB
/// as f32), so a long file at 192 kHz or more stops with a clear error instead of running
/// wasm32 out of memory.
pub(crate) const MAX_MONO_SAMPLES: usize = 20 * 60 * 96_000;

/// Largest file accepted in the page, in bytes.
pub(crate) const MAX_FILE_BYTES: usize = 400 << 20;

/// [`DecodeLimits`] with the page's file size and duration limits.
pub(crate) fn page_limits() -> DecodeLimits {
    DecodeLimits {
        max_input_bytes: MAX_FILE_BYTES,
        max_duration_seconds: MAX_MINUTES * 60.0,
        max_mono_samples: MAX_MONO_SAMPLES,
        ..DecodeLimits::default()
    }
}
