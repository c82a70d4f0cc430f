// The inference worker: one wasm engine (CPU or GPU build) with one loaded model, classifying
// one job at a time for the pool in lib/engine.js. Nothing here touches the network except
// loading the page's own files: the wasm modules given in `init` and a model's detached
// members (below).
//
// The CPU build reads the uncompressed formats itself; for FLAC, MP3, Ogg Vorbis, AAC/ALAC
// and Matroska it says it cannot (info.compressedFormats is false), and the worker then loads
// the decoder module (`decoders` in `init`: the same Rust decoders, built apart to keep the
// first download small) once, decodes the file with it and classifies the PCM.
//
// Likewise the CPU build has no code for the clip descriptors that a model's descriptor-table
// member reads (info.descriptorModule is true for such a model): before the first run that
// may include that member, the worker loads the descriptor module (`descriptors` in `init`)
// once and hands its `describeWindow` to the engine (`setDescriber`). The first answer of a
// track leaves that member out, so it never waits for the module.
//
// The same run first fetches the member itself when the bundle keeps it in a file beside it
// (a detached member: `weightsFile` in its info; `trainer convert --detach`), from beside
// `modelUrl`, and attaches it (`attachMember`). If that fails, the run leaves the member
// out, its result says why in a warning, and the next run tries again.
//
// Protocol (all messages are plain objects with a `type`):
//   in  {type: 'init', glueUrl, module: WebAssembly.Module, bundle: ArrayBuffer, backend,
//        decoders: {glueUrl, wasmUrl} | null, descriptors: {glueUrl, wasmUrl} | null,
//        modelUrl: string | null (where the bundle came from: its detached members are beside it)}
//   out {type: 'ready', info}                    or {type: 'init-error', error}
//   in  {type: 'file', id, file: File|Blob, name, options}
//   in  {type: 'pcm', id, samples: Float32Array, sampleRate, options}
//   in  {type: 'merge', id, parts, options}    (parts: the `part`s of one track's results)
//   in  {type: 'embed', id, file: File|Blob, name}       (every patch's backbone embedding,
//   in  {type: 'embed-pcm', id, samples, sampleRate}      for learning own genres)
//   in  {type: 'tags', id, file: File|Blob}     (the file's own tags, read by the decoder module)
//   in  {type: 'tag-write', id, file: Blob, genres}   (the file's bytes with `genres` as its
//        genre, checked: result {bytes: Uint8Array (transferred), before: FileTags})
//   in  {type: 'tag-check', id, original: Blob, written: Blob, genres}   (the check again, on
//        the file as read back after writing: result {ok: true}, else a tag_check_failed error)
//   out {type: 'result', id, result}  (result.mel.data's and result.embedding's buffers are
//                                      transferred)
//   out {type: 'error', id, error: {message, code, crashed}}
// Results and errors carry `memory: {engineBytes, decoderBytes, descriptorBytes}`: the size
// of the engine's, the decoder module's and the descriptor module's wasm memories after the job (wasm memory only grows, so this is
// the worker's peak so far; tests/browser/memory.mjs reports it).
// After a crash (a wasm trap: a bug or out of memory) the worker reports it with the panic
// message the module recorded (never the bare "unreachable" of the trap), also when the trap
// escapes the job's promise (an async wasm task), and closes; the pool starts a fresh one
// and tries the file once more, so a bad input never poisons later jobs.

let wasm = null;
/** The engine's and the decoder module's wasm exports (their `memory`). */
let engineExports = null;
let decoderExports = null;
let engine = null;
let limits = null;
let compressedFormats = true;
let decodersUrls = null;
/** The decoder module's glue, once loaded; `decodersLoading` is the pending load. */
let decoders = null;
let decodersLoading = null;
/** Whether the model's table members need the descriptor module, and where it is. */
let needsDescriptors = false;
let descriptorsUrls = null;
/** The descriptor module's glue and exports once loaded; `descriptorsLoading`: the pending load. */
let descriptors = null;
let descriptorExports = null;
let descriptorsLoading = null;
/** Shortest audio, in seconds, any of the model's table members reads (they skip less). */
let tableMinSeconds = Infinity;
/** Whether the model has a spectrogram network (else its table member answers first answers too). */
let hasNetwork = true;
/** The model's detached members not attached yet (`{name, file}`), and where the bundle came from. */
let detached = [];
let modelUrl = null;
/** The pending fetch and attachment of the detached members. */
let attaching = null;

/** Codes meaning "this decoder cannot read the file" (as in lib/engine.js). */
const UNSUPPORTED = new Set(['unrecognised_format', 'unsupported_codec', 'no_audio_track']);

const now = () => performance.now();

/** The id of the job being classified (one at a time), for a crash outside its promise. */
let currentJob = null;

function describe(err) {
  const crashed = err instanceof WebAssembly.RuntimeError;
  let message = err?.message ?? String(err);
  if (crashed) {
    const panic = safe(() => wasm?.lastPanic()) || safe(() => decoders?.lastPanic()) || safe(() => descriptors?.lastPanic());
    // A trap without a recorded panic is "unreachable" (an abort) or a memory fault.
    const cause = panic || (/unreachable/.test(message) ? 'out of memory or an internal error' : message);
    message = `the engine stopped on this file: ${cause}`;
  }
  // A share of a track where only a member failed carries its `part` (see Engine.mergeParts).
  return { message, code: err?.code ?? (crashed ? 'crashed' : 'internal'), crashed, memory: memory(), part: err?.part };
}

/** The wasm memories' sizes in bytes (0 for a module not loaded). */
function memory() {
  const bytes = (exports) => safe(() => exports?.memory.buffer.byteLength) ?? 0;
  return { engineBytes: bytes(engineExports), decoderBytes: bytes(decoderExports), descriptorBytes: bytes(descriptorExports) };
}

/** A trap that escaped the job's promise: report it as the current job's error, then close. */
function crashedOutside(err) {
  if (!(err instanceof WebAssembly.RuntimeError)) return false;
  self.postMessage({ type: 'error', id: currentJob, error: describe(err) });
  self.close();
  return true;
}

self.addEventListener('error', (event) => {
  if (crashedOutside(event.error)) event.preventDefault();
});
self.addEventListener('unhandledrejection', (event) => {
  if (crashedOutside(event.reason)) event.preventDefault();
});

function safe(f) {
  try {
    return f();
  } catch {
    return undefined;
  }
}

async function init({ glueUrl, module, bundle, backend, decoders: decodersAt = null, descriptors: descriptorsAt = null, modelUrl: bundleUrl = null }) {
  const started = now();
  wasm = await import(glueUrl);
  engineExports = await wasm.default({ module_or_path: module });
  engine = await wasm.Engine.create(new Uint8Array(bundle), { backend });
  // `info.model` is the model's ModelInfo: the same record `bundleInfo` returns.
  const info = engine.info();
  limits = info.limits;
  compressedFormats = info.compressedFormats !== false;
  decodersUrls = decodersAt;
  needsDescriptors = info.descriptorModule === true;
  descriptorsUrls = descriptorsAt;
  const tables = (info.model.members ?? []).filter((m) => m.kind === 'table');
  tableMinSeconds = Math.min(Infinity, ...tables.map((m) => m.minSeconds));
  hasNetwork = (info.model.members ?? []).some((m) => m.kind === 'spectrogram');
  detached = (info.model.members ?? []).filter((m) => m.weightsFile).map((m) => ({ name: m.name, file: m.weightsFile }));
  modelUrl = bundleUrl;
  info.initMs = now() - started;
  return { info };
}

/** Refuses what the engine would refuse before reading it all into memory. */
function checkSize(file) {
  const limit = limits.maxFileBytes;
  if (file.size > limit) {
    throw Object.assign(new Error(`the file is ${file.size} bytes; the limit is ${limit} bytes`), { code: 'too_large' });
  }
}

/** What a file's own tags say (`{tags: FileTags}`), read by the decoder module. */
async function readTags(msg) {
  const t0 = now();
  checkSize(msg.file);
  const bytes = new Uint8Array(await msg.file.arrayBuffer());
  const glue = await loadDecoders();
  return { tags: glue.readTags(bytes), timings: { worker: now() - t0 }, memory: memory() };
}

/** The checked bytes of `msg.file` with `msg.genres` as its genre (and `msg.msdTags` in its MSD_TAGS field unless null), and its tags before. */
async function tagWrite(msg) {
  const t0 = now();
  checkSize(msg.file);
  const bytes = new Uint8Array(await msg.file.arrayBuffer());
  const glue = await loadDecoders();
  const before = glue.readTags(bytes);
  const written = glue.tagWith(bytes, msg.genres, msg.msdTags ?? null);
  return { bytes: written, before, timings: { worker: now() - t0 }, memory: memory() };
}

/** The check of a write, on the file as read back. */
async function tagCheck(msg) {
  const t0 = now();
  checkSize(msg.written);
  const [original, written] = await Promise.all([msg.original, msg.written].map(async (b) => new Uint8Array(await b.arrayBuffer())));
  const glue = await loadDecoders();
  glue.checkTagged(original, written, msg.genres, msg.msdTags ?? null);
  return { ok: true, timings: { worker: now() - t0 }, memory: memory() };
}

/** The job of each message type that is one. */
const JOBS = { file: classify, pcm: classify, merge: classify, embed: embed, 'embed-pcm': embed, tags: readTags, 'tag-write': tagWrite, 'tag-check': tagCheck };

/** Every patch's backbone embedding of a file (or PCM), decoded as `classify` decodes it. */
async function embed(msg) {
  const t0 = now();
  let result;
  if (msg.type === 'embed-pcm') {
    result = engine.embedPcm(msg.samples, msg.sampleRate);
  } else {
    checkSize(msg.file);
    const bytes = new Uint8Array(await msg.file.arrayBuffer());
    const name = msg.name ?? msg.file.name ?? null;
    try {
      result = engine.embedFile(bytes, name);
    } catch (err) {
      if (compressedFormats || !decodersUrls || !UNSUPPORTED.has(err?.code)) throw err;
      const d = await decodeWithModule(bytes, name, err);
      result = engine.embedPcm(d.samples, d.sampleRate);
      result.timings.decode = d.decodeMs;
    }
  }
  result.timings.worker = now() - t0;
  result.memory = memory();
  return result;
}

async function classify(msg) {
  const t0 = now();
  let result;
  let unattached = [];
  if (msg.type !== 'merge') {
    await describerFor(msg);
    unattached = await membersFor(msg);
  }
  if (msg.type === 'merge') {
    result = engine.mergeParts(msg.parts, msg.options ?? {});
  } else if (msg.type === 'file' && msg.options?.trackKey && engine.keepsTrack(msg.options.trackKey)) {
    // Another part of the track this engine decoded last: no need to read the file again.
    result = await engine.classifyFile(new Uint8Array(0), msg.name ?? null, msg.options);
  } else if (msg.type === 'file') {
    checkSize(msg.file);
    const bytes = new Uint8Array(await msg.file.arrayBuffer());
    const readMs = now() - t0;
    const name = msg.name ?? msg.file.name ?? null;
    try {
      result = await engine.classifyFile(bytes, name, msg.options ?? {});
    } catch (err) {
      if (compressedFormats || !decodersUrls || !UNSUPPORTED.has(err?.code)) throw err;
      result = await classifyWithDecoders(bytes, name, msg.options ?? {}, err);
    }
    result.timings.read = readMs;
  } else {
    result = await engine.classifyPcm(msg.samples, msg.sampleRate, msg.options ?? {});
  }
  for (const { name, file, reason } of unattached) {
    (result.warnings ??= []).push(`the ${name} member, stored in ${file}, did not load (${reason}); this answer leaves it out`);
  }
  result.timings.worker = now() - t0;
  result.memory = memory();
  return result;
}

/** Whether a run may include the whole-track (table) members: not a first answer of a model with a network, nor PCM shorter than they read. */
function runsWholeTrackMembers(msg) {
  if (hasNetwork && msg.options?.wholeTrackMembers === false) return false;
  return !(msg.type === 'pcm' && msg.samples.length / msg.sampleRate < tableMinSeconds);
}

/**
 * Attaches the model's detached members before a run that may include them: fetches each
 * one's file from beside the bundle once. Resolves to those that could not be attached, with
 * why (they are tried again by the next run).
 */
async function membersFor(msg) {
  if (!detached.length || !runsWholeTrackMembers(msg)) return [];
  attaching ??= attachDetached().finally(() => {
    attaching = null;
  });
  return attaching;
}

/** Fetches and attaches every detached member not attached yet; returns the failures. */
async function attachDetached() {
  const failed = [];
  for (const member of [...detached]) {
    try {
      if (!modelUrl) throw new Error('the model was not loaded from a URL, so its files cannot be fetched');
      const url = new URL(member.file, modelUrl);
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status} for ${url.pathname}`);
      engine.attachMember(member.name, new Uint8Array(await response.arrayBuffer()));
      detached = detached.filter((m) => m !== member);
    } catch (err) {
      failed.push({ ...member, reason: err?.message ?? String(err) });
    }
  }
  return failed;
}

/**
 * Makes sure the engine can compute the descriptors of the model's table members before a
 * run that may include them (not a first answer of a model with a network, which leaves them
 * out, nor PCM shorter than they read): loads the
 * descriptor module once and hands it to the engine. If it cannot load, the run goes ahead
 * and the engine's error (code `descriptor_module`) says why.
 */
async function describerFor(msg) {
  if (!needsDescriptors || descriptors || !runsWholeTrackMembers(msg)) return;
  try {
    await loadDescriptors();
  } catch (err) {
    engine.setDescriber(() => {
      throw new Error(`the descriptor module did not load: ${err?.message ?? err}`);
    });
  }
}

/** Loads the descriptor module once and gives its `describeWindow` to the engine. */
function loadDescriptors() {
  descriptorsLoading ??= (async () => {
    const glue = await import(descriptorsUrls.glueUrl);
    descriptorExports = await glue.default({ module_or_path: descriptorsUrls.wasmUrl });
    descriptors = glue;
    engine.setDescriber((samples, rate) => {
      try {
        return glue.describeWindow(samples, rate);
      } catch (err) {
        if (!(err instanceof WebAssembly.RuntimeError)) throw err;
        // A trap leaves the instance unusable: load a fresh one for the next run.
        const panic = safe(() => glue.lastPanic());
        descriptors = null;
        descriptorsLoading = null;
        throw new Error(`the descriptor module stopped: ${panic || err.message}`);
      }
    });
    return glue;
  })().catch((err) => {
    descriptorsLoading = null;
    throw err;
  });
  return descriptorsLoading;
}

/** Loads the decoder module once (a failed load is retried by the next file). */
function loadDecoders() {
  decodersLoading ??= (async () => {
    const glue = await import(decodersUrls.glueUrl);
    decoderExports = await glue.default({ module_or_path: decodersUrls.wasmUrl });
    decoders = glue;
    return glue;
  })().catch((err) => {
    decodersLoading = null;
    throw err;
  });
  return decodersLoading;
}

/**
 * Decodes a file the engine build cannot read with the decoder module: the same decoder as
 * the full build, so the same samples. If the module cannot be loaded, the engine's own error
 * is thrown, with the reason added (the page may then try WebAudio); if the module cannot
 * read the file either, its error is thrown.
 */
async function decodeWithModule(bytes, name, engineError) {
  let glue;
  try {
    glue = await loadDecoders();
  } catch (err) {
    engineError.message += ` (the decoder module for compressed formats did not load: ${err?.message ?? err})`;
    throw engineError;
  }
  return glue.decodeFile(bytes, name);
}

/** Classifies what the decoder module decodes (see `decodeWithModule`). */
async function classifyWithDecoders(bytes, name, options, engineError) {
  const d = await decodeWithModule(bytes, name, engineError);
  return engine.classifyPcm(d.samples, d.sampleRate, {
    ...options,
    decoder: 'genrescope',
    container: d.container,
    codec: d.codec,
    channels: d.channels,
    truncated: d.truncated,
    skippedPackets: d.skippedPackets,
    decodeMs: d.decodeMs,
  });
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
  if (Object.hasOwn(JOBS, msg.type)) {
    currentJob = msg.id;
    try {
      const result = await JOBS[msg.type](msg);
      const transfer = [result.mel?.data?.buffer, result.embedding?.buffer, result.bytes?.buffer].filter(Boolean);
      self.postMessage({ type: 'result', id: msg.id, result }, transfer);
    } catch (err) {
      const error = describe(err);
      self.postMessage({ type: 'error', id: msg.id, error });
      if (error.crashed) self.close();
    }
  }
};
