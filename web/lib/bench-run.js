// Timing runs for the bench page: start an EnginePool on one backend, classify each input a
// few times (warm-up runs first, not counted) and summarise every stage as median and min.
// The stage times are the engine's own (`result.timings`, measured inside the wasm);
// `endToEnd` is measured here, from handing the File to the pool to receiving the result.

import { requestedModel } from './backend.js';
import { EnginePool } from './engine.js';

/** The stages reported per input, in ms: the engine's, plus `endToEnd` measured in the page. */
export const STAGES = ['read', 'decode', 'resample', 'features', 'inference', 'melImage', 'total', 'endToEnd'];

// A missing stage stays NaN (null in JSON), so a check for finite numbers catches it.
const round = (ms) => Math.round(ms * 1000) / 1000;

/** `{median, min, max}` of a non-empty list of numbers. */
export function summarise(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median: round(median), min: round(sorted[0]), max: round(sorted[sorted.length - 1]) };
}

/** Stops a pool's workers (EnginePool has no close(); its workers are plain Web Workers). */
function closePool(pool) {
  for (const worker of pool.workers) worker.terminate();
  pool.workers = [];
}

/**
 * Starts one engine worker for `backend` ('cpu' or 'webgpu'). WebGPU is started the way the
 * app does it ('auto': used only when an adapter exists and the start-up check agrees with
 * the CPU). Resolves to `{pool, engine}` or `{pool: null, status: 'unavailable'|'failed', reason}`.
 */
export async function startBackend(backend) {
  // ?model=NAME times models/NAME/ instead of the default one.
  const modelUrl = new URL(`../models/${requestedModel()}/model.gscope`, import.meta.url);
  const pool = new EnginePool({ backend: backend === 'webgpu' ? 'auto' : 'cpu', maxWorkers: 1, modelUrl });
  const t0 = performance.now();
  const status = await pool.start();
  const startMs = performance.now() - t0;
  if (status.phase !== 'ready') {
    closePool(pool);
    return { pool: null, status: 'failed', reason: status.message || 'the engine did not start' };
  }
  if (status.backend !== backend) {
    closePool(pool);
    const reason = status.gpuReason || status.adapter?.reason || `the engine settled on ${status.backend}`;
    return { pool: null, status: 'unavailable', reason };
  }
  const info = status.info;
  const engine = {
    build: info.build,
    simd: info.simd,
    startMs: round(startMs),
    workerInitMs: round(info.initMs),
    modelLoadMs: round(info.loadMs),
  };
  if (backend === 'webgpu') engine.gpuCheck = info.gpu;
  return { pool, engine };
}

async function timeOnce(pool, file) {
  const t0 = performance.now();
  const result = await pool.classifyFile(file);
  const endToEnd = performance.now() - t0;
  const timings = {};
  for (const stage of STAGES) timings[stage] = round(stage === 'endToEnd' ? endToEnd : Number(result.timings[stage]));
  return { timings, result };
}

/**
 * Classifies every input `warmup + reps` times on a started pool. `inputs`: [{id, file,
 * ...description}]. `onProgress({input, run, of, warmup})` is called before each run.
 * Resolves to `{[id]: {...description, bytes, source, windows, top, backendUsed, warnings,
 * warmupRuns, runs, stages: {[stage]: {median, min, max}}}}`.
 */
export async function timeInputs(pool, inputs, { warmup = 1, reps = 5, onProgress = () => {} } = {}) {
  const out = {};
  for (const { id, file, ...description } of inputs) {
    const warmupRuns = [];
    const runs = [];
    let last = null;
    for (let i = 0; i < warmup + reps; i++) {
      onProgress({ input: id, run: i + 1, of: warmup + reps, warmup: i < warmup });
      const { timings, result } = await timeOnce(pool, file);
      (i < warmup ? warmupRuns : runs).push(timings);
      last = result;
    }
    const stages = {};
    for (const stage of STAGES) stages[stage] = summarise(runs.map((r) => r[stage]));
    const s = last.source;
    out[id] = {
      ...description,
      name: file.name,
      bytes: file.size,
      source: { decoder: s.decoder, container: s.container, codec: s.codec, sampleRate: s.sampleRate, channels: s.channels, durationSeconds: s.durationSeconds },
      windows: last.windows.length,
      top: last.top[0],
      backendUsed: last.backend,
      warnings: last.warnings,
      warmupRuns,
      runs,
      stages,
    };
  }
  return out;
}

/**
 * Benchmarks one backend on `inputs`; resolves to `{backend, status: 'ran', engine, inputs}`
 * or `{backend, status: 'unavailable'|'failed', reason}`. The pool is stopped afterwards.
 */
export async function benchBackend(backend, inputs, options = {}) {
  const started = await startBackend(backend);
  if (!started.pool) return { backend, status: started.status, reason: started.reason };
  try {
    const timed = await timeInputs(started.pool, inputs, options);
    return { backend, status: 'ran', engine: started.engine, inputs: timed };
  } catch (err) {
    return { backend, status: 'failed', reason: err.message, engine: started.engine };
  } finally {
    closePool(started.pool);
  }
}
