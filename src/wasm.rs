//! The thin wasm-bindgen layer the web page talks to.
//!
//! Everything here only adapts the native API to JavaScript (strings, typed arrays, promises);
//! the actual work lives in the shared modules so the browser and the native CLI compute the
//! same thing. Values that cross the boundary as structured data are JSON strings, so the page
//! can `JSON.parse` them without extra glue types.

use wasm_bindgen::prelude::*;

/// The crate version (`CARGO_PKG_VERSION`), e.g. `"0.1.0"`, so the page can show which build
/// it is running.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The reference front-end configuration ([`crate::FeatureConfig::gtzan_default`]) as JSON.
///
/// Model bundles carry their own feature config; this default is what the page shows before a
/// bundle is loaded, and it is serialised exactly as it would be stored in a bundle header.
#[wasm_bindgen(js_name = defaultFeatureConfig)]
pub fn default_feature_config() -> String {
    // Serialising a plain struct of numbers and enums cannot fail.
    serde_json::to_string(&crate::FeatureConfig::gtzan_default())
        .expect("FeatureConfig serialises to JSON")
}
