// Timing runs for the bench page: start an EnginePool on one backend, classify each input a
// few times (warm-up runs first, not counted) and summarise every stage as median and min.
// Two settings per input:
// - one worker, every patch in one call: the stage times are the engine's own
//   (`result.timings`, measured inside the wasm), `perPatch` is the network's time per 3 s
//   patch (inference / patches), `endToEnd` is measured here, from handing the File to the
//   pool to receiving the result;
// - `progressive`: the page's way (`pool.classifyTrack`), a pool of one worker per core (one
//   WebGPU worker) sharing the track: `firstAnswer` and `final` (every patch) from the drop.

import { requestedModel, requestedSimd } from './backend.js';
import { EnginePool } from './engine.js';

/** The stages reported per input, in ms: the engine's, plus `endToEnd` measured in the page. */
export const STAGES = ['read', 'decode', 'resample', 'features', 'inference', 'perPatch', 'melImage', 'total', 'endToEnd'];

/**
 * What the progressive runs report per input, in ms: the page's first answer and final answer
 * (every patch and every member), and `networkOnly`, the final answer of a second run that
 * leaves out the members reading the whole track and the Mel image (`spectrogramOnly`): the
 * same work as peers that run the network alone on every patch.
 */
export const PROGRESSIVE_STAGES = ['firstAnswer', 'final', 'networkOnly'];

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
 * Starts one engine worker for `backend` ('cpu' or 'webgpu'). WebGPU is asked for as
 * `?backend=webgpu` does (used whenever a device exists, even where the CPU is faster, so that
 * it can be timed). Resolves to `{pool, engine}` or `{pool: null, status: 'unavailable'|'failed', reason}`.
 */
export async function startBackend(backend, { maxWorkers = 1 } = {}) {
  // ?model=NAME times models/NAME/ instead of the default one.
  const modelUrl = new URL(`../models/${requestedModel()}/model.gscope`, import.meta.url);
  const pool = new EnginePool({ backend, maxWorkers, modelUrl, simd: requestedSimd() });
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
    relaxedSimd: info.relaxedSimd,
    startMs: round(startMs),
    workerInitMs: round(info.initMs),
    modelLoadMs: round(info.loadMs),
    workers: status.workers,
  };
  if (backend === 'webgpu') engine.gpuCheck = info.gpu;
  return { pool, engine };
}

async function timeOnce(pool, file) {
  const t0 = performance.now();
  const result = await pool.classifyFile(file, { patches: { kind: 'all' } });
  const endToEnd = performance.now() - t0;
  const derived = { endToEnd, perPatch: result.timings.inference / result.windows.length };
  const timings = {};
  for (const stage of STAGES) timings[stage] = round(stage in derived ? derived[stage] : Number(result.timings[stage]));
  return { timings, result };
}

/**
 * One progressive run (the page's way) and one of the network alone;
 * `{timings: {firstAnswer, final, networkOnly}, result, networkResult}`.
 */
async function timeProgressive(pool, file) {
  const result = await pool.classifyTrack(file);
  const networkResult = await pool.classifyTrack(file, { spectrogramOnly: true });
  return {
    timings: { firstAnswer: round(result.timings.firstAnswer), final: round(result.timings.wall), networkOnly: round(networkResult.timings.wall) },
    result,
    networkResult,
  };
}

/**
 * Progressive runs of every input on `pool` (warm-up first); `{[id]: {workers, patches,
 * complete, runs, stages: {firstAnswer, final}}}`.
 */
export async function timeProgressiveInputs(pool, inputs, { warmup = 1, reps = 5, onProgress = () => {} } = {}) {
  const out = {};
  for (const { id, file } of inputs) {
    const runs = [];
    let last = null;
    let lastNetwork = null;
    for (let i = 0; i < warmup + reps; i++) {
      onProgress({ input: `${id} (progressive)`, run: i + 1, of: warmup + reps, warmup: i < warmup });
      const { timings, result, networkResult } = await timeProgressive(pool, file);
      if (i >= warmup) runs.push(timings);
      last = result;
      lastNetwork = networkResult;
    }
    const stages = {};
    for (const stage of PROGRESSIVE_STAGES) stages[stage] = summarise(runs.map((r) => r[stage]));
    const t = last.timings;
    // The first answer's own stages (engine time in its worker; the rest is queueing and transfer).
    const firstAnswerStages = Object.fromEntries(['read', 'decode', 'resample', 'features', 'inference', 'total', 'queue', 'worker'].map((k) => [k, round(Number(t[k] ?? NaN))]));
    // The network-only run analyses the same patches; its members say what it left out.
    const networkOnly = { patches: lastNetwork.coverage.analysed, of: lastNetwork.coverage.total, members: (lastNetwork.members ?? []).map((m) => ({ name: m.name, skipped: m.skipped ?? null })) };
    // The last run's background shares: when each ended (ms from the drop) and its worker's stages.
    const lastShares = (t.shares ?? []).map((x) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v])));
    out[id] = { workers: pool.activeWorkers, patches: last.coverage.total, firstPatches: t.firstPatches, complete: last.coverage.complete, top: last.top[0], firstAnswerStages, lastShares, networkOnly, runs, stages };
  }
  return out;
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
  let timed;
  try {
    timed = await timeInputs(started.pool, inputs, options);
  } catch (err) {
    return { backend, status: 'failed', reason: err.message, engine: started.engine };
  } finally {
    closePool(started.pool);
  }
  const cores = globalThis.navigator?.hardwareConcurrency || 2;
  const pooled = await startBackend(backend, { maxWorkers: Math.min(cores, 4) });
  if (!pooled.pool) return { backend, status: 'ran', engine: started.engine, inputs: timed, progressive: { status: pooled.status, reason: pooled.reason } };
  try {
    const progressive = await timeProgressiveInputs(pooled.pool, inputs, options);
    return { backend, status: 'ran', engine: started.engine, inputs: timed, progressive: { status: 'ran', engine: pooled.engine, inputs: progressive } };
  } catch (err) {
    return { backend, status: 'ran', engine: started.engine, inputs: timed, progressive: { status: 'failed', reason: err.message } };
  } finally {
    closePool(pooled.pool);
  }
}
