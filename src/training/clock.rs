//! Elapsed wall-clock time on every target: `std::time::Instant` panics on
//! wasm32-unknown-unknown, where the JavaScript clock stands in.

/// Measures seconds since it was started.
#[derive(Debug, Clone, Copy)]
pub struct Timer {
    start: f64,
}

impl Timer {
    /// A timer started now.
    pub fn start() -> Self {
        Timer { start: now_seconds() }
    }

    /// Seconds since [`start`](Self::start).
    pub fn seconds(&self) -> f64 {
        (now_seconds() - self.start).max(0.0)
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn now_seconds() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64()
}

#[cfg(target_arch = "wasm32")]
fn now_seconds() -> f64 {
    js_sys::Date::now() / 1000.0
}
