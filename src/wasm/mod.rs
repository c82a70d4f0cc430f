//! The thin wasm-bindgen layer the web page talks to.
//!
//! Everything here only adapts the native API to JavaScript (typed arrays, plain objects,
//! promises, exceptions); the work itself lives in the shared modules, so the browser and the
//! native CLI compute the same thing.
//!
//! - [`Engine`] (`engine`): a loaded model bundle on the CPU (burn-flex) or WebGPU, classifying
//!   encoded files or PCM.
//! - `gpu` (GPU build only): the WebGPU device and the start-up agreement check.
//! - `output`: the result objects handed to JavaScript.
//! - `errors`: every failure becomes a JS `Error` with a `code` and a clear message.
//! - `clock`: `performance.now()` (`std::time::Instant` panics on wasm32-unknown-unknown).
//! - `limits`: the page's limits on input.
//! - `decoders` (decoder-module build only): `decodeFile`, the compressed-format decoders.
//! - `describe` (descriptor-module build only): `describeWindow`, the clip descriptors of
//!   table models, which the CPU engine leaves out.
//! - `train` (training-module build only): `trainOwnGenres`, own genres learnt in the page.
//!
//! The same source builds three times (see build.sh), each with only the features it adds:
//! `web/pkg/cpu/` with `engine` (small, loads first, no compressed-format decoders),
//! `web/pkg/gpu/` with `webgpu` (the engine, WebGPU and every decoder), and
//! `web/pkg/decoders/` with `decoders`: the compressed-format decoders alone, which the page
//! loads when a file needs them on the CPU build; `web/pkg/descriptors/` with
//! `descriptor-module`: the clip descriptors alone, which the page loads when a model's table
//! member first runs on the CPU build; and `web/pkg/train/` with `training`: the head
//! training the page loads when someone teaches it their own genres.

// Shared by the exports; a build with none of them (no features) needs none of them.
#[cfg(any(feature = "engine", feature = "decoders"))]
mod clock;
#[cfg(feature = "decoders")]
mod decoders;
#[cfg(feature = "descriptor-module")]
mod describe;
#[cfg(feature = "engine")]
mod engine;
#[cfg(any(
    feature = "engine",
    feature = "decoders",
    feature = "descriptor-module",
    feature = "training"
))]
mod errors;
#[cfg(feature = "webgpu")]
mod gpu;
#[cfg(any(feature = "engine", feature = "decoders"))]
mod limits;
#[cfg(feature = "engine")]
mod output;
#[cfg(feature = "training")]
mod train;

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

#[cfg(feature = "decoders")]
pub use decoders::decode_file;
#[cfg(all(feature = "decoders", feature = "tags"))]
pub use decoders::{check_tagged, read_tags, tag_with};
#[cfg(feature = "descriptor-module")]
pub use describe::describe_window;
#[cfg(feature = "engine")]
pub use engine::Engine;
#[cfg(feature = "training")]
pub use train::train_own_genres_js;

thread_local! {
    /// The message of the last panic, kept for [`last_panic`]: a panic aborts the call (the
    /// module traps), and the page wants to say why before it restarts the worker.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

/// Runs when the module is instantiated: installs a panic hook that logs the message to the
/// console and keeps it for [`last_panic`]. Panics are bugs (inputs are validated and every
/// error is returned), so this is for diagnostics only.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!("genrescope panicked: {info}"));
        // One line for the file's row: the message, without the source location.
        let message = crate::audio::panic_message(info.payload());
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(message));
    }));
}

/// The first line of the last panic's message in this module instance (e.g. `TimeBase
/// cannot have 0 numerator or denominator`), if any (`undefined` otherwise). After a panic
/// the instance must be discarded; the worker reads this first to say why on the file's row.
#[wasm_bindgen(js_name = lastPanic)]
pub fn last_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow().clone())
}

/// The crate version (`CARGO_PKG_VERSION`), e.g. `"0.1.0"`, so the page can show which build
/// it is running.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// `"gpu"` for the build with the WebGPU backend, `"cpu"` for the CPU-only build,
/// `"decoders"` for the decoder module, `"descriptors"` for the descriptor module, `"train"` for
/// the training module.
#[wasm_bindgen]
pub fn flavour() -> String {
    if cfg!(feature = "decoders") {
        "decoders"
    } else if cfg!(feature = "descriptor-module") && !cfg!(feature = "engine") {
        "descriptors"
    } else if cfg!(feature = "training") && !cfg!(feature = "engine") {
        "train"
    } else if cfg!(feature = "webgpu") {
        "gpu"
    } else {
        "cpu"
    }
    .to_string()
}

/// Reads a bundle's headers without loading its weights and returns its `ModelInfo` (kind,
/// labels, rates, windows, members, provenance) as a plain object. Throws a
/// `GenrescopeError` (code `"bundle"`) when the bytes are not a valid bundle.
#[cfg(feature = "engine")]
#[wasm_bindgen(js_name = bundleInfo)]
pub fn bundle_info(bytes: &[u8]) -> Result<JsValue, JsValue> {
    let info = crate::ModelInfo::from_bundle(bytes)
        .map_err(|e| errors::js_error("bundle", &e.to_string()))?;
    errors::to_js(&info)
}
