// The engine pool: Web Workers running the wasm engine, a job queue, backend choice and
// crash recovery. The page (and later the live mode and the bench page) only call
// `classifyFile` / `classifyPcm` and listen to 'status' events.
//
// Loading: the model bundle and the small CPU build are fetched and compiled once on the main
// thread and handed to each worker (a compiled WebAssembly.Module can be posted). The first
// CPU worker makes the page usable. Then, with `backend: 'auto'`, if `navigator.gpu` yields
// an adapter, the WebGPU-capable build is fetched and a GPU worker started; its engine runs a
// fixed input on WebGPU and on the CPU and keeps WebGPU only if they agree. If it does, jobs
// go to that one GPU worker, provided it is also faster than the CPU pool (timed by the same
// check; the choice is kept in localStorage per model, engine version and adapter, so a
// device where WebGPU lost does not download the GPU build again); otherwise (or without an
// adapter) a small pool of CPU workers shares the jobs, one per core up to `maxWorkers`.
// `backend: 'webgpu'` uses WebGPU whatever the timing says. The CPU build reads WAV, AIFF, CAF and AU;
// a CPU worker loads the decoder module for the compressed formats when a file needs it.

import { chooseCpuEngine, probeWebGpu } from './backend.js';

const WORKER_URL = new URL('../worker.js', import.meta.url);
/** The model bundle the page loads (its card is beside it). */
export const DEFAULT_MODEL = new URL('../models/default/model.gscope', import.meta.url);
const BUILDS = {
  cpu: {
    glue: new URL('../pkg/cpu/genrescope.js', import.meta.url),
    wasm: new URL('../pkg/cpu/genrescope_bg.wasm', import.meta.url),
    /** The same engine with relaxed-SIMD multiply-adds in its matrix products (same glue). */
    relaxedWasm: new URL('../pkg/cpu/genrescope_relaxed_bg.wasm', import.meta.url),
  },
  /**
   * The CPU engine with Burn: the small one above runs MusiCNN transfer and descriptor-table
   * networks (and fusions of them) without Burn; a model with another network (a CNN or CRNN)
   * makes its first worker fail with `needs_burn_engine`, and the pool loads this one instead.
   */
  cpuBurn: { glue: new URL('../pkg/cpu-burn/genrescope.js', import.meta.url), wasm: new URL('../pkg/cpu-burn/genrescope_bg.wasm', import.meta.url) },
  gpu: { glue: new URL('../pkg/gpu/genrescope.js', import.meta.url), wasm: new URL('../pkg/gpu/genrescope_bg.wasm', import.meta.url) },
};
/**
 * The decoders of the compressed formats (FLAC, MP3, Ogg Vorbis, AAC/ALAC, Matroska), which
 * the CPU build leaves out to keep the first download small: a CPU worker loads them the
 * first time a file needs them (the GPU build has them built in).
 */
export const DECODERS = {
  glue: new URL('../pkg/decoders/genrescope.js', import.meta.url),
  wasm: new URL('../pkg/decoders/genrescope_bg.wasm', import.meta.url),
};

/**
 * The clip descriptors that a model's descriptor-table member reads, which the CPU build
 * leaves out to keep the first download small: a CPU worker loads them before the first run
 * that includes such a member (never for a first answer; the GPU build has them built in).
 */
export const DESCRIPTORS = {
  glue: new URL('../pkg/descriptors/genrescope.js', import.meta.url),
  wasm: new URL('../pkg/descriptors/genrescope_bg.wasm', import.meta.url),
};

/** An error from the engine, with the engine's `code` (e.g. 'corrupt', 'unsupported_codec'). */
export class EngineError extends Error {
  constructor({ message, code = 'internal', crashed = false, memory = null, part = undefined }) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.crashed = crashed;
    /** The worker's wasm memory sizes after the job (see worker.js), when it reported them. */
    this.memory = memory;
    /** A share of a track in which only a member failed: its part, which still merges. */
    this.part = part;
  }
}

/**
 * Patches (3 s windows) of a track's first answer, evenly spread; the rest are analysed in the
 * background and refine it (`classifyTrack`). A display policy, not a model property: the
 * final answer covers every patch whatever this is.
 */
export const FIRST_ANSWER_PATCHES = 3;

/**
 * Background shares of a track's other patches per worker (`classifyTrack`): more shares than
 * workers let an idle worker take the next one, so the worker that also runs the whole-track
 * members (a descriptor table) and the one that gave the first answer finish together.
 */
export const SHARES_PER_WORKER = 4;

/** Codes meaning "the Rust decoder cannot read this format"; another decoder may. */
export const UNSUPPORTED_FORMAT_CODES = new Set(['unrecognised_format', 'unsupported_codec', 'no_audio_track']);

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${new URL(url).pathname}: HTTP ${res.status}`);
  return res.arrayBuffer();
}

async function fetchOk(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${new URL(url).pathname}: HTTP ${res.status}`);
  return res;
}

function compileResponse(res) {
  if (WebAssembly.compileStreaming && res.headers.get('content-type')?.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(res);
  }
  return res.arrayBuffer().then((bytes) => WebAssembly.compile(bytes));
}

async function compileWasm(url) {
  return compileResponse(await fetchOk(url));
}

/** localStorage item holding the backend chosen per model, engine version and GPU adapter. */
const CHOICE_STORAGE = 'genrescope.backend-choice';

/** A short fingerprint of the model's bytes (FNV-1a, 32 bits, and the length). */
function fingerprint(bytes) {
  const view = new Uint8Array(bytes);
  let h = 0x811c9dc5;
  for (let i = 0; i < view.length; i++) h = Math.imul(h ^ view[i], 0x01000193);
  return `${(h >>> 0).toString(16)}-${view.length}`;
}

/** The stored choices (an empty object where storage is unavailable or unreadable). */
function storedChoices() {
  try {
    return JSON.parse(globalThis.localStorage?.getItem(CHOICE_STORAGE) ?? '{}') ?? {};
  } catch {
    return {};
  }
}

let workerCount = 0;

/**
 * A CPU worker whose wasm memory (engine and decoder module) has grown past this is replaced
 * after its job: wasm memory never shrinks, and a huge (or lying) file can leave a worker at
 * about 1 GB (docs/HOSTILE-INPUT.md), now on each of the workers a track is shared by.
 */
export const RECYCLE_WORKER_BYTES = 768 << 20;

/** A file that kills a worker this many times fails (a first crash may be chance, e.g. memory). */
const MAX_CRASHES_PER_JOB = 2;

/** One worker and its outstanding requests. */
class EngineWorker {
  constructor(flavour, backend, onCrash) {
    this.flavour = flavour;
    this.backend = backend;
    this.id = ++workerCount;
    this.pending = new Map();
    this.busy = false;
    this.retiring = false;
    this.dead = false;
    this.info = null;
    /** The worker's wasm memory after its last job, in bytes (as it reported it). */
    this.heldBytes = 0;
    this.onCrash = onCrash;
    this.worker = new Worker(WORKER_URL, { type: 'module', name: `genrescope-${flavour}-${this.id}` });
    this.ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => {
      event.preventDefault?.();
      this.fail({ message: `the engine worker failed: ${event.message || 'script error'}`, code: 'crashed', crashed: true });
    };
  }

  /**
   * Starts the engine: `module` compiled from the build whose JS glue is at `glue`; `modelUrl`
   * is where `bundle` came from (null for bytes from elsewhere), beside which its detached
   * members are.
   */
  init(module, bundle, glue = BUILDS[this.flavour].glue, modelUrl = null) {
    // Both flavours: the CPU build decodes compressed formats with it, and both read tags with it.
    const decoders = { glueUrl: DECODERS.glue.href, wasmUrl: DECODERS.wasm.href };
    const descriptors = { glueUrl: DESCRIPTORS.glue.href, wasmUrl: DESCRIPTORS.wasm.href };
    this.worker.postMessage({ type: 'init', glueUrl: glue.href, module, bundle: bundle.slice(0), backend: this.backend, decoders, descriptors, modelUrl });
    return this.ready;
  }

  receive(msg) {
    if (msg.type === 'ready') {
      this.info = msg.info;
      this.model = msg.info.model;
      this.readyResolve(msg);
    } else if (msg.type === 'init-error') {
      // A worker whose engine did not start serves nothing: its thread goes too.
      this.terminate();
      this.readyReject(new EngineError(msg.error));
    } else if (msg.type === 'error' && msg.error.crashed) {
      // The worker is gone: the pool decides whether its jobs are tried again.
      this.fail(msg.error);
    } else if (msg.type === 'result' || msg.type === 'error') {
      const job = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      this.busy = this.pending.size > 0;
      const memory = msg.result?.memory ?? msg.error?.memory;
      if (memory) this.heldBytes = (memory.engineBytes ?? 0) + (memory.decoderBytes ?? 0) + (memory.descriptorBytes ?? 0);
      if (msg.type === 'result') job?.resolve(msg.result);
      else job?.reject(new EngineError(msg.error));
      this.onIdle?.();
    }
  }

  /** Marks the worker dead and hands what it was doing to the pool (to retry or fail). */
  fail(error) {
    if (this.dead && this.pending.size === 0) return;
    this.dead = true;
    this.readyReject(new EngineError(error));
    const jobs = [...this.pending.values()];
    this.pending.clear();
    this.worker.terminate();
    if (this.onCrash) this.onCrash(this, error, jobs);
    else for (const job of jobs) job.reject(new EngineError(error));
  }

  run(job) {
    this.busy = true;
    this.pending.set(job.id, job);
    job.started = performance.now();
    job.onStart?.({ worker: this.id, flavour: this.flavour });
    this.worker.postMessage(job.msg, job.transfer ?? []);
  }

  terminate() {
    this.dead = true;
    this.worker.terminate();
  }
}

/**
 * The pool. Events: 'status' (detail: the status object below) whenever anything about the
 * engine changes.
 *
 * status = {phase: 'loading'|'ready'|'error', settled, requested, backend: 'cpu'|'webgpu'|null,
 *           workers, info (engine info of the active backend), model (its ModelInfo),
 *           adapter: {available, description, reason}, gpuReason, message}
 */
export class EnginePool extends EventTarget {
  /**
   * `modelUrl`: the bundle to load; or `modelBytes`: a function resolving to its bytes (a
   * model kept in the browser's storage, see store.js).
   */
  constructor({ backend = 'auto', simd = 'auto', modelUrl = DEFAULT_MODEL, modelBytes = null, maxWorkers, recycleBytes = RECYCLE_WORKER_BYTES } = {}) {
    super();
    this.modelBytes = modelBytes;
    /** A fingerprint of the loaded model's bytes (see `modelLoaded`), null until it is fetched. */
    this.modelKey = null;
    /** Resolves to `modelKey` once the model's bytes are here (null if they never come). */
    this.modelLoaded = new Promise((resolve) => (this.resolveModelLoaded = resolve));
    /** Job groups held back by `pause` (see `submit`'s `group`). */
    this.paused = new Set();
    this.simd = simd;
    this.recycleBytes = recycleBytes;
    this.requested = backend;
    this.modelUrl = modelUrl;
    const cores = globalThis.navigator?.hardwareConcurrency || 2;
    this.maxWorkers = Math.max(1, maxWorkers ?? Math.min(cores, 4));
    this.workers = [];
    this.queue = [];
    /** Jobs that only refine an answer already given: run when `queue` is empty. */
    this.background = [];
    this.nextTrack = 1;
    this.modules = {};
    this.nextId = 1;
    this.status = {
      phase: 'loading',
      settled: false,
      requested: backend,
      backend: null,
      workers: 0,
      info: null,
      model: null,
      adapter: null,
      gpuReason: '',
      /** Which CPU engine runs: `{relaxed, reason}` (reason: why not the relaxed-SIMD one). */
      cpuEngine: null,
      message: 'loading the engine and the model…',
    };
  }

  update(changes) {
    Object.assign(this.status, changes);
    const active = this.workers.filter((w) => w.info && !w.dead && !w.retiring);
    this.status.workers = active.length;
    this.dispatchEvent(new CustomEvent('status', { detail: { ...this.status } }));
  }

  /** Loads everything and settles on a backend. Resolves when the choice is final. */
  async start() {
    try {
      const adapterProbe = probeWebGpu();
      const model = this.modelBytes ? this.modelBytes() : fetchBytes(this.modelUrl);
      const [bundle, cpuModule] = await Promise.all([model, this.compileCpu()]);
      this.bundle = bundle;
      this.modelKey = fingerprint(bundle);
      this.resolveModelLoaded(this.modelKey);
      this.modules.cpu = cpuModule;
      const adapter = await adapterProbe;
      this.update({ adapter });

      if (this.requested === 'webgpu') {
        if (!(await this.tryGpu('webgpu'))) await this.startCpu(this.maxWorkers);
      } else {
        await this.startCpu(1);
        const remembered = this.requested === 'auto' && adapter.available ? this.rememberedChoice() : null;
        if (remembered?.backend === 'cpu') {
          this.update({ gpuReason: `${remembered.reason} (measured ${remembered.at.slice(0, 10)}; kept for this model, engine and GPU)` });
        }
        if (this.requested === 'auto' && adapter.available && remembered?.backend !== 'cpu' && (await this.tryGpu('auto'))) {
          // The GPU worker took over.
        } else {
          if (this.requested === 'auto' && !adapter.available) this.update({ gpuReason: adapter.reason });
          await this.startCpu(this.maxWorkers);
        }
      }
      this.update({ settled: true, message: '' });
    } catch (err) {
      console.error(err);
      this.failAll(err.message);
    }
    return this.status;
  }

  /**
   * Compiles the CPU engine: the relaxed-SIMD build where the browser has relaxed SIMD (and
   * `?simd=plain` did not ask otherwise), else the SIMD128 one. Records which, and why, in
   * `status.cpuEngine`.
   */
  async compileCpu() {
    const choice = chooseCpuEngine(this.simd);
    if (!choice.relaxed) return this.compileSimd128Cpu(choice.reason);
    try {
      const module = await compileWasm(BUILDS.cpu.relaxedWasm);
      this.update({ cpuEngine: choice });
      return module;
    } catch (err) {
      return this.compileSimd128Cpu(`the relaxed-SIMD build did not load (${err.message})`);
    }
  }

  /** Compiles the SIMD128 CPU engine, recording `reason` (why not the relaxed one). */
  async compileSimd128Cpu(reason) {
    const module = await compileWasm(BUILDS.cpu.wasm);
    this.update({ cpuEngine: { relaxed: false, reason } });
    return module;
  }

  /**
   * The WebGPU build's wasm as this pool fetched it (an unread Response), once, when WebGPU is
   * in use; null otherwise. For the offline cache: the page hands it to the service worker
   * instead of the worker downloading it again.
   */
  takeGpuWasm() {
    const res = this.gpuWasm ?? null;
    this.gpuWasm = null;
    return res;
  }

  /** The engine cannot run: says so, and fails every waiting and future job. */
  failAll(message) {
    this.resolveModelLoaded(null);
    this.failure = new EngineError({ message: `the engine is not available: ${message}`, code: 'engine_unavailable' });
    this.update({ phase: 'error', settled: true, message });
    for (const job of [...this.queue.splice(0), ...this.background.splice(0)]) job.reject(this.failure);
  }

  spawn(flavour, backend) {
    const w = new EngineWorker(flavour, backend, (worker, error, jobs) => this.crashed(worker, error, jobs));
    w.onIdle = () => {
      if (w.flavour === 'cpu' && w.heldBytes > this.recycleBytes && !w.retiring) this.recycle(w);
      // After the job's own continuations (a merge it asks for goes ahead of background work).
      setTimeout(() => this.pump(), 0);
    };
    this.workers.push(w);
    return w;
  }

  /** Where the bundle came from (its detached members are beside it), or null for bytes given. */
  bundleUrl() {
    return this.modelBytes ? null : new URL(this.modelUrl, globalThis.location?.href).href;
  }

  /** Grows the CPU pool to `count` ready workers. */
  async startCpu(count) {
    const cpu = this.workers.filter((w) => w.flavour === 'cpu' && !w.dead);
    const started = [];
    for (let i = cpu.length; i < count; i++) started.push(this.spawn('cpu', 'cpu'));
    const glue = this.cpuGlue ?? BUILDS.cpu.glue;
    const results = await Promise.allSettled(started.map((w) => w.init(this.modules.cpu, this.bundle, glue, this.bundleUrl()).then(() => w)));
    for (const r of results) {
      if (r.status === 'fulfilled') this.activate(r.value);
    }
    this.workers = this.workers.filter((w) => !w.dead);
    if (!this.workers.some((w) => w.info && !w.retiring)) {
      const failure = results.find((r) => r.status === 'rejected');
      const message = failure?.reason?.message ?? 'unknown error';
      if (failure?.reason?.code === 'needs_burn_engine' && !this.cpuGlue) {
        // The model's network needs Burn: the CPU engine built with it, for every CPU worker.
        this.modules.cpu = await compileWasm(BUILDS.cpuBurn.wasm);
        this.cpuGlue = BUILDS.cpuBurn.glue;
        this.update({ cpuEngine: { relaxed: false, burn: true, reason: message } });
        return this.startCpu(count);
      }
      if (this.status.cpuEngine?.relaxed) {
        // The relaxed-SIMD build compiled but does not start here: the SIMD128 one, once.
        this.modules.cpu = await this.compileSimd128Cpu(`the relaxed-SIMD build did not start (${message})`);
        return this.startCpu(count);
      }
      throw new Error(`the engine failed to start: ${message}`);
    }
  }

  activate(worker) {
    const usingGpu = this.status.backend === 'webgpu';
    if (usingGpu && worker.flavour === 'cpu') {
      worker.terminate();
      return;
    }
    this.update({
      phase: 'ready',
      backend: worker.info.backend,
      info: worker.info,
      model: worker.model,
    });
    this.pump();
  }

  /** Starts a GPU worker; true when it runs on WebGPU and has taken over. */
  async tryGpu(mode) {
    this.update({ message: 'loading the WebGPU engine…' });
    let worker;
    /** Gives up on WebGPU: the worker (if any) goes, the page says why. */
    const abandon = (reason) => {
      this.gpuWasm = null;
      worker?.terminate();
      this.workers = this.workers.filter((w) => w !== worker);
      this.update({ gpuReason: reason, message: '' });
      return false;
    };
    try {
      if (!this.modules.gpu) {
        const res = await fetchOk(BUILDS.gpu.wasm);
        // An unread copy for the offline cache (takeGpuWasm), so that the service worker
        // need not download the 15 MB again (a private window's small HTTP cache does not
        // keep them).
        this.gpuWasm = res.clone();
        this.modules.gpu = await compileResponse(res);
      }
      worker = this.spawn('gpu', mode);
      await worker.init(this.modules.gpu, this.bundle, BUILDS.gpu.glue, this.bundleUrl());
    } catch (err) {
      return abandon(err.message);
    }
    if (worker.info.backend !== 'webgpu') return abandon(worker.info.gpu?.reason ?? 'WebGPU was not used');
    const speed = this.compareSpeed(worker.info.gpu);
    if (mode === 'auto') this.remember(speed);
    if (mode === 'auto' && speed.backend === 'cpu') return abandon(speed.reason);
    for (const w of this.workers) {
      if (w !== worker) w.retiring = true;
    }
    this.update({ phase: 'ready', backend: 'webgpu', info: worker.info, model: worker.model, gpuReason: worker.info.gpu?.reason ?? (mode === 'auto' ? speed.reason : '') });
    this.retireIdle();
    this.pump();
    return true;
  }

  /**
   * The faster backend from the GPU worker's start-up timings (the network's ms per window on
   * WebGPU and on one CPU thread): WebGPU only if it beats the CPU pool, whose workers each take
   * a file or a share of one. `{backend, reason, cpuWindowMs, gpuWindowMs}`.
   */
  compareSpeed(gpu) {
    const cpuMs = gpu?.cpuWindowMs;
    const gpuMs = gpu?.gpuWindowMs;
    const workers = this.maxWorkers;
    const f = (x) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;
    if (!Number.isFinite(cpuMs) || !Number.isFinite(gpuMs)) return { backend: 'webgpu', reason: 'WebGPU agrees with the CPU (not timed)' };
    const cpuPool = cpuMs / workers;
    const pool = workers > 1 ? ` (${f(cpuPool)} per patch with ${workers} CPU workers)` : '';
    if (gpuMs < cpuPool) return { backend: 'webgpu', cpuWindowMs: cpuMs, gpuWindowMs: gpuMs, reason: `WebGPU agrees with the CPU and is faster here: ${f(gpuMs)} per 3 s patch against ${f(cpuMs)} on one CPU core${pool}` };
    return { backend: 'cpu', cpuWindowMs: cpuMs, gpuWindowMs: gpuMs, reason: `WebGPU agrees with the CPU but is slower here: ${f(gpuMs)} per 3 s patch against ${f(cpuMs)} on one CPU core${pool}; using the CPU` };
  }

  /** The key of this model, engine version and GPU adapter among the stored choices. */
  choiceKey() {
    const version = this.workers.find((w) => w.info)?.info.version ?? '?';
    const cpu = this.status.cpuEngine?.relaxed ? 'relaxed' : 'simd128';
    return `${fingerprint(this.bundle)}|${version}|${cpu}|${this.status.adapter?.description ?? ''}`;
  }

  /** The stored choice for this model, engine and adapter, or null. */
  rememberedChoice() {
    const choice = storedChoices()[this.choiceKey()];
    return choice?.backend && choice.at ? choice : null;
  }

  /** Stores a choice (where the browser lets the page store anything). */
  remember(choice) {
    try {
      const all = storedChoices();
      all[this.choiceKey()] = { ...choice, at: new Date().toISOString() };
      globalThis.localStorage?.setItem(CHOICE_STORAGE, JSON.stringify(all));
    } catch {
      // Private mode or storage disabled: measure again next time.
    }
  }

  /** Replaces a CPU worker that holds too much memory (see RECYCLE_WORKER_BYTES). */
  recycle(worker) {
    const keep = this.workers.filter((w) => w.flavour === 'cpu' && !w.dead && !w.retiring).length;
    worker.retiring = true;
    this.retireIdle();
    console.info(`engine worker ${worker.id} holds ${Math.round(worker.heldBytes / 1e6)} MB of wasm memory; starting a fresh one`);
    this.startCpu(keep).catch((err) => this.failAll(err.message));
  }

  retireIdle() {
    for (const w of this.workers) {
      if (w.retiring && !w.busy) w.terminate();
    }
    this.workers = this.workers.filter((w) => !w.dead);
  }

  /**
   * A worker died (a wasm trap) while running `jobs`: a job that has now killed a worker twice,
   * or whose PCM went to the dead worker, fails with the recorded cause; the others go back to
   * the head of the queue for a fresh worker. The rest of the batch carries on.
   */
  crashed(worker, error, jobs = []) {
    this.workers = this.workers.filter((w) => w !== worker);
    for (const job of jobs.reverse()) {
      job.crashes = (job.crashes ?? 0) + 1;
      if (job.crashes >= MAX_CRASHES_PER_JOB || job.transfer?.length) job.reject(new EngineError(error));
      else this.queue.unshift(job);
    }
    if (!worker.info || worker.retiring) {
      this.update({});
      return this.pump();
    }
    console.warn(`engine worker ${worker.id} crashed: ${error.message}; starting a new one`);
    // A crashed GPU worker is replaced by the CPU pool (the device may be lost).
    if (worker.flavour === 'gpu') {
      this.update({ backend: 'cpu', gpuReason: `the WebGPU engine crashed (${error.message}); using the CPU` });
    }
    this.startCpu(worker.flavour === 'gpu' ? this.maxWorkers : this.workers.filter((w) => w.flavour === 'cpu').length + 1)
      .catch((err) => this.failAll(err.message));
  }

  /** Hands queued jobs to idle workers: first answers before background refinement. */
  pump() {
    this.retireIdle();
    for (const w of this.workers) {
      if (!w.info || w.dead || w.retiring || w.busy) continue;
      const job = this.nextJob();
      if (!job) break;
      w.run(job);
    }
  }

  /** The next job to run: first answers before background work, paused groups left waiting. */
  nextJob() {
    for (const list of [this.queue, this.background]) {
      const i = list.findIndex((job) => !this.paused.has(job.group));
      if (i >= 0) return list.splice(i, 1)[0];
    }
    return null;
  }

  /** Holds back the jobs of `group` that have not started (those running finish). */
  pause(group) {
    this.paused.add(group);
  }

  /** Lets the jobs of `group` run again. */
  resume(group) {
    this.paused.delete(group);
    this.pump();
  }

  /** Workers that can take jobs now. */
  get activeWorkers() {
    return this.workers.filter((w) => w.info && !w.dead && !w.retiring).length;
  }

  /**
   * Queues a job. `background` jobs run when no other job waits; `group` names the jobs
   * `pause`, `resume` and `cancelJobs` act on together (e.g. a batch of files).
   */
  submit(msg, transfer, { onStart, background = false, group = null } = {}) {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const id = this.nextId++;
      const queued = performance.now();
      const job = {
        id,
        msg: { ...msg, id },
        group,
        transfer,
        onStart,
        resolve: (result) => {
          result.timings = { ...result.timings, queue: job.started - queued };
          resolve(result);
        },
        reject,
      };
      (background ? this.background : this.queue).push(job);
      this.pump();
    });
  }

  /** Drops the background jobs of track `key` that no worker has started. */
  cancelTrack(key) {
    this.cancelJobs((job) => job.msg.options?.trackKey === key);
  }

  /** Drops the jobs `which` picks that have not started (rejected as 'cancelled'). */
  cancelJobs(which) {
    for (const job of [...this.queue, ...this.background].filter(which)) job.reject(new EngineError({ message: 'cancelled', code: 'cancelled' }));
    this.queue = this.queue.filter((job) => !which(job));
    this.background = this.background.filter((job) => !which(job));
  }

  /**
   * Classifies a whole track progressively, every worker sharing it: a first answer from
   * FIRST_ANSWER_PATCHES evenly spread patches (the spectrogram members only; a fusion's table
   * member is marked "not analysed yet"), then the other patches in SHARES_PER_WORKER shares
   * per worker, in the background (an idle worker takes the next share, so the workers finish
   * together), the shares that have arrived merged in (by the engine, in patch order).
   * `onUpdate(result)` gets the first answer and each refinement; the promise resolves to the
   * final result, which equals one run over every patch (`trainer classify`). Every result
   * carries `coverage: {analysed, total, complete}` and `timings.firstAnswer` /
   * `timings.wall` (ms from the call). A share that fails leaves the result incomplete, with
   * a warning saying so. `options.spectrogramOnly` leaves out the members that read the whole
   * track (a fusion's descriptor table stays "not analysed yet") and the Mel image: the
   * network's own work on every patch, which the bench compares with peers that run the
   * network alone.
   */
  async classifyTrack(file, options = {}, { onStart, onUpdate, group = null } = {}) {
    const started = performance.now();
    const trackKey = `track-${this.nextTrack++}`;
    const shares = Math.max(1, this.activeWorkers || 1) * SHARES_PER_WORKER;
    const name = file.name ?? null;
    const job = (patches, extra, hooks) => this.submit({ type: 'file', file, name, options: { ...options, ...extra, patches, trackKey } }, [], { ...hooks, group });
    // The first answer reads only the audio around its patches (`preview`).
    const first = job({ kind: 'spread', count: FIRST_ANSWER_PATCHES }, { wholeTrackMembers: false, preview: true }, { onStart });
    // The members that read the whole track (a descriptor table) and the Mel image go with
    // the last share, which has the fewest patches (round-robin), and it is queued first: an
    // idle worker starts it at once, while the first answer's worker takes patch-only shares
    // after it.
    const last = shares - 1;
    const rest = Array.from({ length: shares }, (_, i) => {
      const part = (last + i) % shares;
      const wholeTrack = part === last && !options.spectrogramOnly;
      return job({ kind: 'rest', after: FIRST_ANSWER_PATCHES, part, parts: shares }, { wholeTrackMembers: wholeTrack, mel: wholeTrack && options.mel !== false }, { background: true });
    });
    for (const r of rest) r.catch(() => {});
    let base;
    try {
      base = await first;
    } catch (err) {
      this.cancelTrack(trackKey);
      throw err;
    }
    base.timings.firstAnswer = performance.now() - started;
    base.timings.firstPatches = base.coverage.analysed;
    base.timings.wall = base.timings.firstAnswer;
    if (base.coverage?.complete) {
      // The first answer covered everything (a short track, or a model without patches).
      this.cancelTrack(trackKey);
      return base;
    }
    let latest = base;
    onUpdate?.(base);
    // Round-robin, share `part` holds no patch when part >= the patches left: drop those that
    // have not started (the whole-track share still runs its members).
    const left = base.coverage.total - base.coverage.analysed;
    const idle = (job) => job.msg.options?.trackKey === trackKey && !job.msg.options.wholeTrackMembers && job.msg.options.patches.part >= left;
    this.cancelJobs(idle);
    const parts = [base.part];
    const failures = [];
    let mel = base.mel;
    // Shares merge in the order they finish (all those finished by then in one merge); the
    // engine orders the patches.
    const open = new Map(rest.map((p, i) => [i, p.then((r) => ({ i, r }), (err) => ({ i, err }))]));
    // When each share ended (ms from the call) and its worker's stages, for the bench.
    const shareTimings = [];
    const take = ({ i, r, err }) => {
      open.delete(i);
      if (err?.code === 'cancelled') return;
      const t = r?.timings ?? {};
      shareTimings.push({ wholeTrack: (last + i) % shares === last, patches: r?.part?.members?.find((m) => m.windows)?.windows?.length ?? null, endedMs: performance.now() - started, ...Object.fromEntries(['queue', 'read', 'decode', 'resample', 'features', 'inference', 'melImage', 'total', 'worker'].filter((k) => t[k] !== undefined).map((k) => [k, t[k]])) });
      // A share in which only a member failed still merges: the result names the member.
      if (err?.part) parts.push(err.part);
      else if (err) failures.push(err.message);
      else parts.push(r.part);
      mel ??= r?.mel;
    };
    const none = Symbol('none');
    while (open.size) {
      take(await Promise.race(open.values()));
      // Shares that finished meanwhile (already settled: they win the race against `none`).
      for (let more; open.size && (more = await Promise.race([...open.values(), Promise.resolve(none)])) !== none; ) take(more);
      latest = this.dress(await this.merge(parts, options), { ...base, mel }, started, failures);
      if (open.size) onUpdate?.(latest);
    }
    latest.timings.shares = shareTimings;
    return latest;
  }

  /** Merges parts of one track on a worker (see Engine.mergeParts). */
  merge(parts, options = {}) {
    return this.submit({ type: 'merge', parts, options }, []);
  }

  /** A merged result with the first answer's source and warnings (and its own), the Mel image, and the wall time. */
  dress(merged, base, started, failures) {
    const warnings = [...base.warnings, ...merged.warnings];
    if (failures.length) warnings.push(`part of the track could not be analysed (${failures[0]}); the result covers ${merged.coverage.analysed} of ${merged.coverage.total} patches`);
    return {
      ...merged,
      source: base.source,
      mel: base.mel,
      warnings,
      timings: { ...base.timings, wall: performance.now() - started },
    };
  }

  /**
   * Every patch's backbone embedding of a File or Blob (see Engine.embedFile), for learning
   * own genres: `{embedding: Float32Array, dim, patches, embedder, durationSeconds, timings}`.
   * Queued behind first answers, like refinement; `group` as `submit`'s.
   */
  embedFile(file, { group = null } = {}) {
    return this.submit({ type: 'embed', file, name: file.name ?? null }, [], { background: true, group });
  }

  /** embedFile for mono PCM (e.g. decoded by WebAudio). The buffer is transferred. */
  embedPcm(samples, sampleRate, { group = null } = {}) {
    return this.submit({ type: 'embed-pcm', samples, sampleRate }, [samples.buffer], { background: true, group });
  }

  /**
   * What a File or Blob's own tags say (`{tags: {format, tagTypes, genres, title, artist,
   * album, msdTags}}`), read by the decoder module in a worker, behind first answers. Rejects with code
   * `no_tags` for a file whose tags cannot be read.
   */
  readTags(file) {
    return this.submit({ type: 'tags', file }, [], { background: true });
  }

  /**
   * The bytes of `blob` with `genres` as its genre and, unless `msdTags` is null, those
   * Million Song Dataset tags in its MSD_TAGS field (`{bytes: Uint8Array, before: FileTags}`),
   * written and checked by the decoder module in a worker as `trainer tags write` does: what
   * was written reads back and the audio stream is unchanged. Rejects with `no_tags`,
   * `tags_unwritable` or `tag_check_failed`. Runs before waiting analyses (someone asked).
   */
  tagBytes(blob, genres, msdTags = null) {
    return this.submit({ type: 'tag-write', file: blob, genres, msdTags }, []);
  }

  /**
   * Checks a written file as read back (`written`) against the `original` bytes: exactly
   * `genres` in its tag (and `msdTags`, unless null; else the original's MSD_TAGS field), the
   * original's audio stream. Rejects with `tag_check_failed`.
   */
  checkTagged(original, written, genres, msdTags = null) {
    return this.submit({ type: 'tag-check', original, written, genres, msdTags }, []);
  }

  /** Classifies a File or Blob (decoded in the worker by the Rust decoder). */
  classifyFile(file, options = {}, hooks = {}) {
    return this.submit({ type: 'file', file, name: file.name ?? null, options }, [], hooks);
  }

  /** Classifies mono PCM; `options.decoder` names who decoded it. The buffer is transferred. */
  classifyPcm(samples, sampleRate, options = {}, hooks = {}) {
    return this.submit({ type: 'pcm', samples, sampleRate, options }, [samples.buffer], hooks);
  }

  /**
   * The rate to decode audio at for this model (once ready): its front end's, or for a
   * fusion the highest of its members' (each member resamples from there, so none loses
   * the band it reads). From the model's info; undefined before the engine is ready.
   */
  get sampleRate() {
    return this.status.model?.sampleRate;
  }
}
