//! The WebGPU path (GPU build only): the device, and the start-up check that WebGPU computes
//! what the CPU computes.
//!
//! A WGSL shader that fails validation in the browser is only logged (cubecl issue 1641), so
//! WebGPU can be silently wrong. Before using it, a fixed input runs on both devices; WebGPU
//! is used only if every probability agrees within the tolerance (unless forced). The check
//! also times the network on each device (`cpuWindowMs`, `gpuWindowMs`), so that the page
//! can keep the CPU where WebGPU, though correct, is slower.

use std::cell::RefCell;

use burn::tensor::wgpu::WgpuBackend;
use burn::tensor::Device;
use wasm_bindgen::prelude::*;

use super::clock::{now_ms, Stopwatch};
use super::engine::GpuStatus;
use super::errors::js_error;
use crate::classify::{max_abs_diff, Classification, Ensemble, RunContext};

thread_local! {
    /// The WebGPU device: Burn initialises a runtime once per module instance, so a second
    /// engine (e.g. another model) reuses it.
    static DEVICE: RefCell<Option<Device>> = const { RefCell::new(None) };
}

/// The browser's WebGPU device (never `Device::default()`, which is not meant for wasm).
async fn device() -> Result<Device, String> {
    if let Some(device) = DEVICE.with(|d| d.borrow().clone()) {
        return Ok(device);
    }
    let device = Device::wgpu_options()
        .graphics_api(WgpuBackend::WebGpu)
        .init_async()
        .await
        .map_err(|e| e.to_string())?;
    DEVICE.with(|d| *d.borrow_mut() = Some(device.clone()));
    Ok(device)
}

/// A fixed 4.5 s test signal (two analysis windows of the default front end): a chirp, two
/// harmonics and deterministic noise, so every layer sees varied input.
fn probe_signal(sample_rate: u32) -> Vec<f32> {
    let sr = sample_rate as f64;
    let n = (sr * 4.5) as usize;
    let mut state: u32 = 0x1234_5678;
    (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            let chirp = (2.0 * std::f64::consts::PI * (110.0 * t + 200.0 * t * t)).sin();
            let tone =
                (2.0 * std::f64::consts::PI * 440.0 * t).sin() * (1.0 + (3.0 * t).sin()) * 0.25;
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (state >> 8) as f64 / (1u32 << 24) as f64 - 0.5;
            (0.4 * chirp + tone + 0.1 * noise) as f32
        })
        .collect()
}

/// Largest absolute difference between two classifications' window and track probabilities
/// (infinite when their shapes differ or a value is not finite).
fn max_difference(a: &Classification, b: &Classification) -> f32 {
    if a.windows.len() != b.windows.len() {
        return f32::INFINITY;
    }
    a.windows
        .iter()
        .zip(&b.windows)
        .map(|(x, y)| max_abs_diff(&x.probabilities, &y.probabilities))
        .fold(max_abs_diff(&a.probabilities, &b.probabilities), f32::max)
}

/// Gets the WebGPU device, loads the model on it and runs the check. Returns the model on
/// WebGPU when it is to be used, and fills `status`. With `forced`, failing to get a
/// device is an error and a failed check only sets `status.reason`.
pub(crate) async fn load(
    bundle: &[u8],
    cpu: &Ensemble,
    forced: bool,
    status: &mut GpuStatus,
) -> Result<Option<Ensemble>, JsValue> {
    status.attempted = true;
    let clock = Stopwatch::start();
    let result = check(bundle, cpu, status).await;
    status.setup_ms = clock.total();
    match result {
        Ok(gpu) => {
            let agrees = status.max_diff.is_some_and(|d| d <= status.tolerance);
            if agrees || forced {
                if !agrees {
                    status.reason = Some(format!(
                        "WebGPU is forced although its results differ from the CPU's by {:e} (tolerance {:e})",
                        status.max_diff.unwrap_or(f32::INFINITY),
                        status.tolerance
                    ));
                }
                status.used = true;
                Ok(Some(gpu))
            } else {
                status.reason = Some(format!(
                    "WebGPU results differ from the CPU's by {:e} (tolerance {:e}); using the CPU",
                    status.max_diff.unwrap_or(f32::INFINITY),
                    status.tolerance
                ));
                Ok(None)
            }
        }
        Err(message) if forced => Err(js_error(
            "webgpu_unavailable",
            &format!("WebGPU was requested but cannot be used: {message}"),
        )),
        Err(message) => {
            status.reason = Some(format!("WebGPU cannot be used: {message}"));
            Ok(None)
        }
    }
}

/// Runs the probe on both devices and compares them, then (both warmed up by that) times
/// one more run of each: the network's milliseconds per window on each, for the page's
/// choice of the faster backend.
async fn check(bundle: &[u8], cpu: &Ensemble, status: &mut GpuStatus) -> Result<Ensemble, String> {
    let device = device().await?;
    let gpu = Ensemble::from_bundle(bundle, &device).map_err(|e| e.to_string())?;
    let rate = cpu.info().sample_rate;
    let prepared = cpu.prepare(&probe_signal(rate), rate).map_err(|e| e.to_string())?;
    let on_cpu = cpu.run(&prepared, &mut RunContext::default()).map_err(|e| e.to_string())?;
    let on_gpu =
        gpu.run_async(&prepared, &mut RunContext::default()).await.map_err(|e| e.to_string())?;
    status.max_diff = Some(max_difference(&on_cpu, &on_gpu));
    let windows = on_cpu.windows.len().max(1) as f64;
    let mut ctx = RunContext::timed(&now_ms);
    cpu.run(&prepared, &mut ctx).map_err(|e| e.to_string())?;
    status.cpu_window_ms = Some(ctx.inference_ms / windows);
    let mut ctx = RunContext::timed(&now_ms);
    gpu.run_async(&prepared, &mut ctx).await.map_err(|e| e.to_string())?;
    status.gpu_window_ms = Some(ctx.inference_ms / windows);
    Ok(gpu)
}
