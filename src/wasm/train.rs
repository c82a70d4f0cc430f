//! `trainOwnGenres`: the page's own-genre training (`crate::training::own_genres`), in the
//! training module (web/pkg/train/), which the page loads only when someone trains.

use wasm_bindgen::prelude::*;

use super::errors::{js_error, to_js};
use crate::training::own_genres::{train_own_genres, OwnOrigin, OwnSettings, OwnTrack};

/// Trains an own-genre model on the per-patch embeddings of labelled examples, as
/// `trainer train own` does, and returns `{bundle: Uint8Array, report}`.
///
/// - `base`: the bytes of the model the embeddings come from (its MusiCNN backbone, front
///   end, music detector and tags are kept).
/// - `examples`: `[{label, name, embedding: Float32Array}]` (each `embedding` the
///   `embedding` of `Engine.embedFile`; `name` only orders the examples).
/// - `settings`: `OwnSettings` in camelCase, every field optional (`{}`: the defaults).
/// - `origin`: `{command, created, data}` for the bundle's provenance.
/// - `onProgress`: called with `{done, total}` after each fit.
///
/// Throws a `GenrescopeError` with code `invalid_argument` (bad input, with the reason) or
/// `training` (training failed, with the reason).
#[wasm_bindgen(js_name = trainOwnGenres)]
pub fn train_own_genres_js(
    base: &[u8],
    examples: &js_sys::Array,
    settings: JsValue,
    origin: JsValue,
    on_progress: Option<js_sys::Function>,
) -> Result<JsValue, JsValue> {
    let invalid = |what: &str, e: &dyn std::fmt::Display| {
        js_error("invalid_argument", &format!("{what}: {e}"))
    };
    let settings: OwnSettings = if settings.is_undefined() || settings.is_null() {
        OwnSettings::default()
    } else {
        serde_wasm_bindgen::from_value(settings).map_err(|e| invalid("settings", &e))?
    };
    let origin: OwnOrigin = if origin.is_undefined() || origin.is_null() {
        OwnOrigin::default()
    } else {
        serde_wasm_bindgen::from_value(origin).map_err(|e| invalid("origin", &e))?
    };
    let tracks = examples
        .iter()
        .enumerate()
        .map(|(i, example)| own_track(&example).map_err(|e| invalid(&format!("example {i}"), &e)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut progress = |p| {
        if let (Some(f), Ok(value)) = (&on_progress, to_js(&p)) {
            // A throwing callback does not stop training.
            let _ = f.call1(&JsValue::NULL, &value);
        }
    };
    let model = train_own_genres(base, &tracks, &settings, &origin, &mut progress)
        .map_err(|e| js_error("training", &format!("{e:#}")))?;
    let report = to_js(&model.report)?;
    let out = js_sys::Object::new();
    js_sys::Reflect::set(
        &out,
        &"bundle".into(),
        &js_sys::Uint8Array::from(model.bundle.as_slice()),
    )?;
    js_sys::Reflect::set(&out, &"report".into(), &report)?;
    Ok(out.into())
}

/// One example from `{label, name, embedding: Float32Array}`.
fn own_track(example: &JsValue) -> Result<OwnTrack, String> {
    let field =
        |name: &str| js_sys::Reflect::get(example, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let label = field("label").as_string().ok_or("`label` must be a string")?;
    let name = field("name").as_string().unwrap_or_default();
    let embedding = field("embedding")
        .dyn_into::<js_sys::Float32Array>()
        .map_err(|_| "`embedding` must be a Float32Array")?
        .to_vec();
    Ok(OwnTrack { label, name, embedding })
}
