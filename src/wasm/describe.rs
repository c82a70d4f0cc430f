//! The descriptor module (`descriptor-module` feature, `web/pkg/descriptors/`): the 57 clip
//! descriptors that table models read, without the model or the decoders. The CPU engine is
//! built without this code to keep the page's first download small; when a model's table
//! member first runs, the worker loads this module and hands `describeWindow` to
//! `Engine.setDescriber`, so the engine gets the same numbers `trainer` computes.
//!
//! ```js
//! const values = descriptors.describeWindow(samples, 22050); // Float64Array(57)
//! ```

use wasm_bindgen::prelude::*;

use super::errors::js_error;

/// The 57 descriptors (GTZAN feature-table columns, in `column_names` order) of one window of
/// mono PCM at 22050 Hz. Throws a `GenrescopeError` with code `descriptors` naming the
/// problem (another rate, fewer than 2048 samples, a non-finite sample).
#[wasm_bindgen(js_name = describeWindow)]
pub fn describe_window(samples: &[f32], sample_rate: u32) -> Result<Vec<f64>, JsValue> {
    crate::descriptors::describe(samples, sample_rate)
        .map_err(|e| js_error("descriptors", &e.to_string()))
}
