// The training worker: loads the training module (web/pkg/train/, fetched the first time
// someone trains) and runs trainOwnGenres off the page's thread.
//
// Protocol:
//   in  {type: 'train', id, glueUrl, wasmUrl, base: ArrayBuffer, examples: [{label, name,
//        embedding: Float32Array}], settings, origin}
//   out {type: 'progress', id, done, total}
//   out {type: 'result', id, bundle: ArrayBuffer, report}   (the bundle is transferred)
//   out {type: 'error', id, error: {message, code}}

let glue = null;

async function load(glueUrl, wasmUrl) {
  if (!glue) {
    const module = await import(glueUrl);
    await module.default({ module_or_path: wasmUrl });
    glue = module;
  }
  return glue;
}

self.onmessage = async ({ data: msg }) => {
  if (msg.type !== 'train') return;
  try {
    const { trainOwnGenres } = await load(msg.glueUrl, msg.wasmUrl);
    const started = performance.now();
    const progress = (p) => self.postMessage({ type: 'progress', id: msg.id, ...p });
    const { bundle, report } = trainOwnGenres(new Uint8Array(msg.base), msg.examples, msg.settings ?? {}, msg.origin ?? {}, progress);
    report.trainMs = performance.now() - started;
    self.postMessage({ type: 'result', id: msg.id, bundle: bundle.buffer, report }, [bundle.buffer]);
  } catch (err) {
    const crashed = err instanceof WebAssembly.RuntimeError;
    const panic = crashed ? (() => { try { return glue?.lastPanic(); } catch { return null; } })() : null;
    const message = crashed ? `training stopped: ${panic || 'out of memory or an internal error'}` : err?.message ?? String(err);
    self.postMessage({ type: 'error', id: msg.id, error: { message, code: err?.code ?? (crashed ? 'crashed' : 'internal') } });
    // A trapped module cannot be used again.
    if (crashed) self.close();
  }
};
