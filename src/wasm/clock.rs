//! Milliseconds from `performance.now()` of whatever global runs the module (window or
//! worker). `std::time::Instant` panics on wasm32-unknown-unknown, so it is never used here.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    type Performance;

    #[wasm_bindgen(thread_local_v2, js_name = performance)]
    static PERFORMANCE: Option<Performance>;

    #[wasm_bindgen(method)]
    fn now(this: &Performance) -> f64;
}

/// High-resolution time in milliseconds (`Date.now()` where `performance` is missing).
pub(crate) fn now_ms() -> f64 {
    PERFORMANCE.with(|p| p.as_ref().map(|p| p.now())).unwrap_or_else(js_sys::Date::now)
}

/// Measures consecutive stages: each [`lap`](Self::lap) returns the milliseconds since the
/// previous one.
// The decoder module times only its one stage.
#[cfg_attr(not(feature = "engine"), allow(dead_code))]
pub(crate) struct Stopwatch {
    start: f64,
    last: f64,
}

#[cfg_attr(not(feature = "engine"), allow(dead_code))]
impl Stopwatch {
    pub(crate) fn start() -> Self {
        let now = now_ms();
        Stopwatch { start: now, last: now }
    }

    pub(crate) fn lap(&mut self) -> f64 {
        let now = now_ms();
        let ms = now - self.last;
        self.last = now;
        ms
    }

    /// Counts `ms` spent before the stopwatch started (e.g. decoding elsewhere) in
    /// [`total`](Self::total), without changing the next lap.
    pub(crate) fn count_earlier(&mut self, ms: f64) {
        self.start -= ms;
    }

    pub(crate) fn total(&self) -> f64 {
        now_ms() - self.start
    }
}
