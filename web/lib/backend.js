// Which compute backend to use: the `?backend=cpu|webgpu` override and the WebGPU probe.

import './relaxed-simd.js';

/** The backend asked for in the URL: 'auto' (default), 'cpu' or 'webgpu'. */
export function requestedBackend(search = globalThis.location?.search ?? '') {
  const value = new URLSearchParams(search).get('backend');
  return value === 'cpu' || value === 'webgpu' ? value : 'auto';
}

/**
 * The CPU engine asked for in the URL: `?simd=plain` keeps the wasm SIMD128 build even where
 * the browser has relaxed SIMD, `?simd=relaxed` asks for the relaxed-SIMD build; 'auto'
 * (default) picks by `relaxedSimdAvailable()`.
 */
export function requestedSimd(search = globalThis.location?.search ?? '') {
  const value = new URLSearchParams(search).get('simd');
  return value === 'plain' || value === 'relaxed' ? value : 'auto';
}

/** Whether this browser's WebAssembly has relaxed SIMD (never throws; see relaxed-simd.js). */
export function relaxedSimdAvailable() {
  return globalThis.genrescopeRelaxedSimd();
}

/**
 * Which CPU engine to load for `requested` ('auto', 'plain' or 'relaxed'): `{relaxed,
 * reason}`. The relaxed one is never chosen where the browser cannot compile it.
 */
export function chooseCpuEngine(requested = 'auto', available = relaxedSimdAvailable()) {
  if (requested === 'plain') return { relaxed: false, reason: 'wasm SIMD128 build requested in the address (?simd=plain)' };
  if (!available) return { relaxed: false, reason: 'this browser has no relaxed SIMD' };
  return { relaxed: true, reason: '' };
}

/**
 * The model asked for in the URL: `?model=NAME` names a folder of this site's `models/`
 * (`default` when absent or not a plain name: no other site's file is ever loaded).
 */
export function requestedModel(search = globalThis.location?.search ?? '') {
  const value = new URLSearchParams(search).get('model');
  return value && /^[a-z0-9][a-z0-9_-]{0,63}$/.test(value) ? value : 'default';
}

/** The adopted model asked for in the URL (`?own=ID`), or null (here: the page loads own-genres.js later). */
export function requestedOwnModel(search = globalThis.location?.search ?? '') {
  const value = new URLSearchParams(search).get('own');
  return value && /^[a-z0-9-]{1,64}$/.test(value) ? value : null;
}

/**
 * Asks the browser for a WebGPU adapter. Resolves to `{available, description, reason}`;
 * never rejects. Only a real adapter counts: `navigator.gpu` exists in many browsers that
 * then return no adapter (no GPU, blocklisted driver, or WebGPU disabled).
 */
export async function probeWebGpu() {
  if (!globalThis.navigator?.gpu) {
    return { available: false, description: '', reason: 'this browser has no WebGPU' };
  }
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return { available: false, description: '', reason: 'no WebGPU adapter found' };
    const info = adapter.info ?? {};
    const description = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
    return { available: true, description, reason: '' };
  } catch (err) {
    return { available: false, description: '', reason: `WebGPU adapter request failed: ${err.message}` };
  }
}
