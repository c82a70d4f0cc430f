// One engine pool per model and backend for the whole page: however many widgets it holds,
// the model is fetched and the engine started once.

import { EnginePool } from '../lib/engine.js';

/** Workers per shared pool: a live window takes tens of milliseconds, so two keep up with several players. */
export const WIDGET_WORKERS = 2;

const pools = new Map();

/**
 * The page's pool for `modelUrl` (absolute URL string) and `backend` ('auto'|'cpu'|'webgpu'):
 * {pool, ready}, where `ready` is the pool's start() promise. Started on first request.
 */
export function sharedPool(modelUrl, backend = 'auto') {
  const key = `${modelUrl}|${backend}`;
  let entry = pools.get(key);
  if (!entry) {
    const pool = new EnginePool({ backend, modelUrl, maxWorkers: WIDGET_WORKERS });
    entry = { pool, ready: pool.start() };
    pools.set(key, entry);
  }
  return entry;
}

/** The pools started so far, keyed by "modelUrl|backend" (for diagnostics and tests). */
export function sharedPools() {
  return new Map(pools);
}
