// The inference worker: one wasm engine (CPU or GPU build) with one loaded model, classifying
// one job at a time for the pool in lib/engine.js. Nothing here touches the network except
// importing the wasm glue module given in `init` (the page's own file).
//
// Protocol (all messages are plain objects with a `type`):
//   in  {type: 'init', glueUrl, module: WebAssembly.Module, bundle: ArrayBuffer, backend}
//   out {type: 'ready', info, header}            or {type: 'init-error', error}
//   in  {type: 'file', id, file: File|Blob, name, options}
//   in  {type: 'pcm', id, samples: Float32Array, sampleRate, options}
//   out {type: 'result', id, result}  (result.mel.data's buffer is transferred)
//   out {type: 'error', id, error: {message, code, crashed}}
// After a crash (a wasm trap: a bug or out of memory) the worker reports it and closes; the
// pool starts a fresh one, so a bad input never poisons later jobs.

let wasm = null;
let engine = null;
let limits = null;

const now = () => performance.now();

function describe(err) {
  const crashed = err instanceof WebAssembly.RuntimeError;
  let message = err?.message ?? String(err);
  if (crashed) {
    const panic = safe(() => wasm?.lastPanic());
    message = `the engine crashed (${panic || message})`;
  }
  return { message, code: err?.code ?? (crashed ? 'crashed' : 'internal'), crashed };
}

function safe(f) {
  try {
    return f();
  } catch {
    return undefined;
  }
}

async function init({ glueUrl, module, bundle, backend }) {
  const started = now();
  wasm = await import(glueUrl);
  await wasm.default({ module_or_path: module });
  const bytes = new Uint8Array(bundle);
  const header = wasm.bundleInfo(bytes);
  engine = await wasm.Engine.create(bytes, { backend });
  const info = engine.info();
  limits = info.limits;
  info.initMs = now() - started;
  return { info, header };
}

async function classify(msg) {
  const t0 = now();
  let result;
  if (msg.type === 'file') {
    // Refuse what the engine would refuse before reading it all into memory.
    const limit = limits.maxFileBytes;
    if (msg.file.size > limit) {
      throw Object.assign(new Error(`the file is ${msg.file.size} bytes; the limit is ${limit} bytes`), { code: 'too_large' });
    }
    const bytes = new Uint8Array(await msg.file.arrayBuffer());
    const readMs = now() - t0;
    result = await engine.classifyFile(bytes, msg.name ?? msg.file.name ?? null, msg.options ?? {});
    result.timings.read = readMs;
  } else {
    result = await engine.classifyPcm(msg.samples, msg.sampleRate, msg.options ?? {});
  }
  result.timings.worker = now() - t0;
  return result;
}

self.onmessage = async ({ data: msg }) => {
  if (msg.type === 'init') {
    try {
      self.postMessage({ type: 'ready', ...(await init(msg)) });
    } catch (err) {
      self.postMessage({ type: 'init-error', error: describe(err) });
      self.close();
    }
    return;
  }
  if (msg.type === 'file' || msg.type === 'pcm') {
    try {
      const result = await classify(msg);
      const transfer = result.mel?.data ? [result.mel.data.buffer] : [];
      self.postMessage({ type: 'result', id: msg.id, result }, transfer);
    } catch (err) {
      const error = describe(err);
      self.postMessage({ type: 'error', id: msg.id, error });
      if (error.crashed) self.close();
    }
  }
};
