// Live mode's logic (no DOM): an audio input through an AudioWorklet into a rolling window,
// classified every `hopSeconds` by the engine pool, with smoothed probabilities. The input is
// pluggable: the microphone (`microphoneInput`, the page's live mode; its view is
// lib/live-view.js) or a media element of a host page (widget/media-input.js, used by the
// <genre-scope> widget), so both share this one implementation.
//
// An input is an object {name, decoder, check(), context(), open(context), release(parts),
// watch?(parts, onLost), position?(), gain?()}: `check` says why it cannot run (a LiveError)
// or null; `context` gives the AudioContext to use (made synchronously, so a click still
// counts as a user gesture); `open` resolves to {source: AudioNode, stream?}; `release` undoes
// a run ({context, stream, node, source}, any may be missing) and never throws; `position`
// gives a position to stamp on each window (e.g. the media time); `gain` a factor applied to
// a window before it is classified (e.g. to undo the player's volume).
//
// Scheduling follows the audio clock: a window is due each time `hopSeconds` more samples have
// arrived (the first once a whole window has). When one is due while the previous window is
// still being classified, it is skipped, so a slow engine never builds up a queue. Every other
// window goes to the engine, whose result carries a verdict (src/trust/verdict.rs: 'genre',
// 'uncertain', 'not_music' or 'silent', decided from the model's own silence gate, music
// detector and uncertainty threshold): the verdict of the newest window says what is heard
// now, and only music windows ('genre', 'uncertain') move the smoothed genre probabilities.
// Nothing here judges the level or the probabilities itself. Stopping bumps a run counter:
// results of jobs that were in flight belong to an old run and are dropped.

import { plainVerdict } from './verdict.js';

const WORKLET_URL = new URL('./live-capture-worklet.js', import.meta.url);

/**
 * Weight of the newest window in the shown probabilities, an exponential moving average:
 * shown = SMOOTHING * newest + (1 - SMOOTHING) * shown. At 0.4 a window's weight halves in
 * about 1.4 windows (2 s), so the shown genre follows a real change within 2 to 3 windows
 * while one odd window moves it less than halfway.
 */
export const SMOOTHING = 0.4;
/** How many recent windows the session keeps for the timeline (a minute at a 1.5 s hop). */
export const HISTORY = 40;

/** A reason live mode cannot run or stopped, in plain words; `code` is for the tests. */
export class LiveError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'LiveError';
    this.code = code;
  }
}

/** Resolves once `pool` has loaded its model; rejects with a LiveError if it cannot. */
function modelLoaded(pool) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const { model, phase, message } = pool.status;
      if (model) resolve(model);
      else if (phase === 'error') reject(new LiveError('engine', `The genre model could not be loaded: ${message}`));
      else return false;
      pool.removeEventListener('status', check);
      return true;
    };
    if (!check()) pool.addEventListener('status', check);
  });
}

/** Why live mode cannot run here (a LiveError), or null when it can. Checks no permission. */
export function liveSupport(g = globalThis) {
  if (!g.isSecureContext) {
    return new LiveError('insecure', 'Live mode needs a secure page: browsers only offer the microphone to pages opened over https:// or from this computer (localhost), and this one was not.');
  }
  if (typeof g.navigator?.mediaDevices?.getUserMedia !== 'function') {
    return new LiveError('no_getusermedia', 'This browser does not let pages use a microphone (it has no getUserMedia), so live mode cannot run here. Dropping files still works.');
  }
  const Context = g.AudioContext ?? g.webkitAudioContext;
  if (typeof Context !== 'function' || typeof g.AudioWorkletNode !== 'function' || !('audioWorklet' in Context.prototype)) {
    return new LiveError('no_audioworklet', 'This browser lacks AudioWorklet, which live mode needs to read the microphone; current Chrome, Edge, Firefox and Safari have it. Dropping files still works.');
  }
  return null;
}

/** Turns a getUserMedia rejection into a LiveError that says what to do. */
export function micError(err) {
  switch (err?.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return new LiveError('denied', 'Microphone access was denied. To use live mode, allow the microphone for this site (the icon in the address bar, or the site settings) and press Start again.');
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return new LiveError('no_device', 'No microphone was found. Connect one (or switch it on in the system settings) and press Start again.');
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return new LiveError('device_busy', 'The microphone could not be started: another application may be using it, or the system blocked it. Close that application and press Start again.');
    default:
      return new LiveError('mic_failed', `The microphone could not be opened (${err?.name ?? 'error'}: ${err?.message || 'no details'}).`);
  }
}

/** Largest magnitude in `x` (0 means exact digital zeros, e.g. a muted or blocked source). */
export function peak(x) {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** Whether a verdict is about music (its probabilities then count towards the smoothed genre). */
export function isMusic(verdict) {
  return verdict?.kind === 'genre' || verdict?.kind === 'uncertain';
}

/** Index of the largest value. */
function argmax(v) {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** Stops every track and closes the context; never throws. */
function releaseAll({ stream, context, node, source } = {}) {
  for (const track of stream?.getTracks() ?? []) track.stop();
  if (node) node.port.onmessage = null;
  try {
    source?.disconnect();
    node?.disconnect();
  } catch {
    // already disconnected
  }
  if (context && context.state !== 'closed') context.close().catch(() => {});
}

/**
 * The microphone as a session input: a new AudioContext and microphone stream per run, both
 * released (tracks stopped, context closed) when the run ends.
 */
export function microphoneInput() {
  return {
    name: 'microphone',
    decoder: 'microphone',
    check: () => liveSupport(),
    context() {
      const Context = globalThis.AudioContext ?? globalThis.webkitAudioContext;
      return new Context();
    },
    async open(context) {
      let stream;
      try {
        // Music, not speech: no echo cancellation, noise suppression or gain riding.
        stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }, video: false });
      } catch (err) {
        throw micError(err);
      }
      return { stream, source: context.createMediaStreamSource(stream) };
    },
    release: releaseAll,
    watch({ stream }, onLost) {
      for (const track of stream.getAudioTracks()) {
        track.addEventListener('ended', () => onLost(new LiveError('device_lost', 'The microphone stopped: it was disconnected or switched off. Press Start to listen again.')));
      }
    },
    startError: (err) => new LiveError('mic_failed', `Live mode could not start: ${err?.message || err}`),
  };
}

/** The worklet module's load per AudioContext (a shared context loads it once). */
const workletLoads = new WeakMap();

function loadWorklet(context) {
  if (!workletLoads.has(context)) {
    const loaded = context.audioWorklet.addModule(WORKLET_URL).catch((err) => {
      workletLoads.delete(context);
      throw new LiveError('worklet_failed', `The audio capture module could not be loaded (${err?.message || err}).`);
    });
    workletLoads.set(context, loaded);
  }
  return workletLoads.get(context);
}

/**
 * One listening session on an input (the microphone unless `input` says otherwise) that can
 * be started and stopped any number of times; each start is a fresh run (empty rolling
 * window, no smoothing, no history).
 *
 * Events: 'state' (detail: {state: 'idle'|'starting'|'running'|'error', error}) and 'window'
 * (detail: {entry, current, counts}) after each window that was classified or failed.
 * `entry` = {index, start, end (seconds since Start), position (the input's, e.g. the media
 * time, or null), peak, status: 'done'|'error', verdict, probabilities, tags, music, error}
 * (`verdict`, `tags`, `music`: the engine's result for the window); `current` = the newest
 * window's `verdict` and `kind` (its verdict's kind), `tags` and `music`, plus the smoothed
 * genre view ({probabilities, genre, confidence, labels}, null until the first music window)
 * and `silent` (kind === 'silent'); null before the first classified window.
 * `counts` = {windows (sent), classified (answered), genre, uncertain, notMusic, silent,
 * skipped, failed}.
 */
export class LiveSession extends EventTarget {
  /**
   * `pool`: a started or starting EnginePool (lib/engine.js); `input`: see the top of this
   * file. `windowSeconds` and `hopSeconds` default to the model's (its info's `liveSeconds`
   * and `liveHopSeconds`), known once the pool has loaded it.
   */
  constructor(pool, { input = microphoneInput(), windowSeconds = null, hopSeconds = null, smoothing = SMOOTHING } = {}) {
    super();
    this.pool = pool;
    this.input = input;
    this.windowOverride = windowSeconds;
    this.hopOverride = hopSeconds;
    this.smoothing = smoothing;
    this.state = 'idle';
    this.error = null;
    this.run = 0;
    /** The last run's stream and context, kept after Stop so one can see they were released. */
    this.lastStream = null;
    this.lastContext = null;
    this.reset();
  }

  /** Seconds of audio in each classified window (undefined until the model is loaded). */
  get windowSeconds() {
    return this.windowOverride ?? this.pool.status.model?.liveSeconds;
  }

  /** Seconds between two classifications (undefined until the model is loaded). */
  get hopSeconds() {
    return this.hopOverride ?? this.pool.status.model?.liveHopSeconds;
  }

  /** Clears the counters and history for a new run. */
  reset() {
    this.history = [];
    this.smoothed = null;
    this.labels = null;
    this.current = null;
    this.counts = { windows: 0, classified: 0, genre: 0, uncertain: 0, notMusic: 0, silent: 0, skipped: 0, failed: 0 };
    this.inFlight = false;
    this.received = 0;
  }

  /** Sets the state and announces it. */
  setState(state, error = null) {
    this.state = state;
    this.error = error;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, error } }));
  }

  /** Opens the input (e.g. asks for the microphone) and starts listening. Failures end in state 'error' (never throws). */
  async start() {
    if (this.state === 'starting' || this.state === 'running') return;
    const problem = this.input.check();
    if (problem) return this.setState('error', problem);
    const run = ++this.run;
    this.reset();
    this.setState('starting');
    let context = null;
    let opened = null;
    try {
      // Made before the permission prompt, while the click still counts as a user gesture.
      context = this.input.context();
      this.lastContext = context;
      this.lastStream = null;
      const workletLoaded = loadWorklet(context);
      workletLoaded.catch(() => {}); // reported below, after the permission question
      opened = await this.input.open(context);
      this.lastStream = opened.stream ?? null;
      await workletLoaded;
      await modelLoaded(this.pool); // the window and hop are the model's
      if (run !== this.run) return this.input.release({ context, ...opened }); // stopped while starting
      this.listen(run, context, opened);
    } catch (err) {
      this.input.release({ context, ...opened });
      if (run !== this.run) return;
      this.setState('error', err instanceof LiveError ? err : this.input.startError(err));
    }
  }

  /** Wires input -> worklet and starts the clock. */
  listen(run, context, { source, stream = null }) {
    const node = new AudioWorkletNode(context, 'genrescope-capture', { numberOfInputs: 1, numberOfOutputs: 1, channelCountMode: 'max' });
    source.connect(node);
    // Connected so the graph pulls it; the worklet writes silence, nothing is heard.
    node.connect(context.destination);
    this.rate = context.sampleRate;
    this.windowSamples = Math.round(this.windowSeconds * this.rate);
    this.hopSamples = Math.round(this.hopSeconds * this.rate);
    this.ring = new Float32Array(this.windowSamples);
    this.nextDue = this.windowSamples;
    this.active = { run, context, stream, node, source };
    node.port.onmessage = ({ data }) => this.receive(run, data);
    this.input.watch?.(this.active, (error) => {
      if (run !== this.run) return;
      this.halt();
      this.setState('error', error);
    });
    context.resume().catch(() => {});
    this.setState('running');
  }

  /** Stops listening: releases the input (the microphone: also closes its context), drops pending results. */
  stop() {
    if (this.state === 'idle') return;
    this.halt();
    this.setState('idle');
  }

  /** Ends the current run: its blocks and results are ignored from now on; releases everything. */
  halt() {
    this.run++;
    if (this.active) this.input.release(this.active);
    else this.input.release({ stream: this.lastStream, context: this.lastContext }); // stopped while starting
    this.active = null;
    this.inFlight = false;
  }

  /** One block from the worklet: into the ring; classify when a window is due. */
  receive(run, block) {
    if (run !== this.run) return;
    const ring = this.ring;
    const n = ring.length;
    // Only the newest `n` samples of a block can matter.
    const from = Math.max(0, block.length - n);
    let at = (this.received + from) % n;
    for (let i = from; i < block.length; i++) {
      ring[at] = block[i];
      at = at + 1 === n ? 0 : at + 1;
    }
    this.received += block.length;
    if (this.received >= this.nextDue) {
      this.nextDue = Math.max(this.nextDue + this.hopSamples, this.received + 1);
      this.due(run);
    }
  }

  /** The newest window, oldest sample first. */
  snapshot() {
    const n = this.ring.length;
    const start = this.received % n;
    const out = new Float32Array(n);
    out.set(this.ring.subarray(start), 0);
    out.set(this.ring.subarray(0, start), n - start);
    return out;
  }

  /** A window is due: a busy engine skips it, otherwise the engine classifies it and its verdict says what it is. */
  due(run) {
    const samples = this.snapshot();
    const gain = this.input.gain?.() ?? 1;
    if (gain !== 1) for (let i = 0; i < samples.length; i++) samples[i] *= gain;
    const end = this.received / this.rate;
    const position = this.input.position?.() ?? null;
    if (this.inFlight) {
      this.counts.skipped++;
      return this.dispatchEvent(new CustomEvent('skip', { detail: { end, counts: { ...this.counts } } }));
    }
    const entry = { index: this.counts.windows, start: end - this.windowSeconds, end, position, peak: peak(samples), status: 'pending', verdict: null, probabilities: null, tags: [], music: null, error: null };
    this.counts.windows++;
    this.inFlight = true;
    this.pool.classifyPcm(samples, this.rate, { decoder: this.input.decoder, mel: false, topK: 3 }).then(
      (result) => {
        if (run !== this.run) return;
        this.inFlight = false;
        this.counts.classified++;
        const verdict = plainVerdict(result.verdict);
        const key = { genre: 'genre', uncertain: 'uncertain', not_music: 'notMusic', silent: 'silent' }[verdict.kind];
        if (key) this.counts[key]++;
        this.labels = result.labels;
        const p = result.probabilities;
        if (isMusic(verdict)) {
          const a = this.smoothing;
          this.smoothed = this.smoothed ? this.smoothed.map((s, i) => a * p[i] + (1 - a) * s) : Array.from(p);
        }
        this.record(Object.assign(entry, { status: 'done', verdict, probabilities: Array.from(p), tags: result.tags ?? [], music: result.music ?? null }));
      },
      (err) => {
        if (run !== this.run) return;
        this.inFlight = false;
        this.counts.failed++;
        if (err?.code === 'engine_unavailable') {
          this.halt();
          return this.setState('error', new LiveError('engine', `${this.input.name === 'microphone' ? 'Live mode' : 'Listening'} stopped: ${err.message}.`));
        }
        this.record(Object.assign(entry, { status: 'error', error: err?.message ?? String(err) }));
      },
    );
  }

  /** Adds a finished window to the history and announces it; a failed window leaves the shown verdict as it was. */
  record(entry) {
    this.history.push(entry);
    if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY);
    const newest = entry.status === 'done' ? entry : this.current;
    if (newest?.verdict) {
      const best = this.smoothed ? argmax(this.smoothed) : -1;
      this.current = {
        verdict: newest.verdict,
        kind: newest.verdict.kind,
        silent: newest.verdict.kind === 'silent',
        tags: newest.tags ?? [],
        music: newest.music ?? null,
        probabilities: this.smoothed,
        labels: this.smoothed ? this.labels : null,
        genre: this.smoothed ? this.labels[best] : null,
        confidence: this.smoothed ? this.smoothed[best] : null,
      };
    }
    this.dispatchEvent(new CustomEvent('window', { detail: { entry, current: this.current, counts: { ...this.counts } } }));
  }
}
