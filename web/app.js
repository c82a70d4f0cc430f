// Placeholder page: initialise the wasm engine, show its version, whether WebGPU is
// available, and the default front-end configuration. Plain ES module, no bundler, no CDN:
// everything is loaded from this site.

const $ = (id) => document.getElementById(id);

/** Shows the engine version and default feature config from the wasm module. */
async function showEngine() {
  const versionEl = $('version');
  const configEl = $('config');
  try {
    // Imported dynamically so a missing build shows a message instead of a blank page.
    const wasm = await import('./pkg/genrescope.js');
    await wasm.default();
    versionEl.textContent = wasm.version();
    const json = wasm.defaultFeatureConfig();
    configEl.dataset.json = json;
    configEl.textContent = JSON.stringify(JSON.parse(json), null, 2);
  } catch (err) {
    versionEl.textContent = 'failed to load the engine (run ./build.sh build)';
    versionEl.classList.add('error');
    configEl.textContent = String(err);
    console.error(err);
  }
}

/**
 * Probes WebGPU. Sets `data-adapter` on #gpu to "yes" or "no" (tests read it) and shows a
 * short description.
 */
async function showGpu() {
  const el = $('gpu');
  const set = (adapter, text) => {
    el.dataset.adapter = adapter;
    el.textContent = text;
  };
  if (!('gpu' in navigator)) {
    set('no', 'not available (this browser has no WebGPU); the CPU engine will be used');
    return;
  }
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) {
      set('no', 'none found; the CPU engine will be used');
      return;
    }
    const info = adapter.info ?? {};
    const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
    set('yes', `available${name ? ` (${name})` : ''}`);
  } catch (err) {
    set('no', `request failed (${err.message}); the CPU engine will be used`);
  }
}

await Promise.all([showEngine(), showGpu()]);
