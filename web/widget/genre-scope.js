// <genre-scope for="player-id">: a live genre read-out for an <audio> or <video> element of
// the host page. One script tag and one element:
//
//   <script type="module" src="/genrescope/widget/genre-scope.js"></script>
//   <genre-scope for="player"></genre-scope>
//
// It listens to the player through a MediaElementAudioSourceNode (the player still plays to
// the speakers), classifies the model's live window (its info's liveSeconds, every
// liveHopSeconds) with the live mode's LiveSession (lib/live.js) and the engine pool
// (lib/engine.js), smoothed like live mode, and shows the engine's verdict on the newest window
// (the smoothed genre and its confidence, or "Unsure: rock or pop?", "Not music", "Silence" in
// a muted style) and a timeline of the track. Widgets of one page share one audio context and, per model and
// backend, one engine pool (one model download).
//
// Attributes: for (id of the player), model (bundle URL, relative to the page; default the
// shipped model next to this module), backend (auto|cpu|webgpu), labels (how many labels to
// show), look (compact|expanded). Events (bubbling, composed CustomEvents): 'result' after
// each classified window (with the window's `verdict`, `tags` and `music` score), 'genrechange'
// when the smoothed genre changes, 'error' when the widget cannot listen (detail.code,
// detail.message). Data attributes for styling and tests: data-state
// (idle|loading|ready|listening|paused|blocked|error), data-verdict (the newest window's verdict
// kind: genre|uncertain|not_music|silent), data-verdict-text, data-genre, data-confidence,
// data-error.
//
// Resets: pausing, buffering and ending stop classifying; seeking restarts the rolling window
// and the smoothing (the track's timeline stays); a new track (src change: 'emptied',
// 'loadstart') clears everything.

import { DEFAULT_MODEL as ENGINE_DEFAULT_MODEL } from '../lib/engine.js';
import { seconds } from '../lib/format.js';
import { LiveSession } from '../lib/live.js';
import { mediaElementInput, mediaSupport, originCheck, resumeContext, sharedContext } from './media-input.js';
import { sharedPool } from './shared-pool.js';
import { WidgetView } from './view.js';

/** The model a widget loads unless its `model` attribute names another. */
export const DEFAULT_MODEL = ENGINE_DEFAULT_MODEL.href;
/** Exact-zero windows in a row (while playing, unmuted) after which the widget says it hears nothing. */
export const ZERO_WINDOWS = 3;
const BACKENDS = ['auto', 'cpu', 'webgpu'];
const MEDIA_EVENTS = ['play', 'playing', 'pause', 'ended', 'waiting', 'seeking', 'seeked', 'emptied', 'loadstart', 'volumechange', 'error', 'timeupdate', 'durationchange'];

/** The genre widget element. */
export class GenreScope extends HTMLElement {
  static observedAttributes = ['for', 'model', 'backend', 'labels', 'look'];

  /**
   * Makes a widget for `media` (an <audio> or <video> element) without needing an id:
   * options {model, backend, labels, look, container}; inserted after the player, or
   * appended to `container`. Returns the element (`.detach()`, `.current`, events).
   */
  static attach(media, { model, backend, labels, look, container } = {}) {
    const widget = document.createElement('genre-scope');
    for (const [name, value] of Object.entries({ model, backend, labels, look })) {
      if (value !== undefined && value !== null) widget.setAttribute(name, String(value));
    }
    widget.media = media;
    if (container) container.append(widget);
    else media.after(widget);
    return widget;
  }

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this.view = new WidgetView(this.shadowRoot);
    this.explicitMedia = null;
    this.attached = null; // {media, session, pool, abort} while attached
    this.latest = null;
    this.track = [];
    this.state = 'idle';
  }

  /** The player this widget listens to (null when detached). Setting it attaches to that element. */
  get media() {
    return this.attached?.media ?? null;
  }

  set media(media) {
    this.explicitMedia = media;
    if (this.isConnected) this.reattach();
  }

  /**
   * The result now shown, or null: {verdict, tags, music} of the newest window (the engine's)
   * and {genre, confidence, probabilities: {label: p}, top} smoothed over the track's music
   * windows (null and [] until the first one).
   */
  get current() {
    return this.latest;
  }

  connectedCallback() {
    this.applyLook();
    this.reattach();
  }

  disconnectedCallback() {
    this.detach();
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (!this.isConnected || oldValue === newValue) return;
    if (name === 'labels' || name === 'look') this.applyLook();
    else this.reattach();
  }

  /** How many labels to show (the `labels` attribute; 3 expanded, 1 compact by default). */
  get labelCount() {
    const n = Number.parseInt(this.getAttribute('labels') ?? '', 10);
    if (Number.isInteger(n) && n >= 1) return n;
    return this.getAttribute('look') === 'compact' ? 1 : 3;
  }

  applyLook() {
    this.view.setLook(this.getAttribute('look'), this.labelCount);
    this.redraw();
  }

  /** Stops listening and lets go of the player (its sound is unchanged). The element stays. */
  detach() {
    const a = this.attached;
    if (!a) return;
    this.attached = null;
    a.abort.abort();
    a.session.stop();
    this.setState('idle');
  }

  /** Detaches, then attaches to the player that `media` or the `for` attribute names. */
  reattach() {
    this.detach();
    this.resetTrack();
    const media = this.explicitMedia ?? this.findPlayer();
    if (!media) return;
    if (!(media instanceof HTMLMediaElement)) {
      return this.fail('not_media', `<genre-scope> can only listen to an <audio> or <video> element, and #${this.getAttribute('for')} is a <${media.localName}>.`);
    }
    const backend = (this.getAttribute('backend') || 'auto').toLowerCase();
    if (!BACKENDS.includes(backend)) {
      return this.fail('bad_backend', `backend="${backend}" is not one of ${BACKENDS.join(', ')}.`);
    }
    let modelUrl;
    try {
      modelUrl = this.hasAttribute('model') ? new URL(this.getAttribute('model'), document.baseURI).href : DEFAULT_MODEL;
    } catch {
      return this.fail('bad_model', `model="${this.getAttribute('model')}" is not a valid URL.`);
    }
    const { pool } = sharedPool(modelUrl, backend);
    const session = new LiveSession(pool, { input: mediaElementInput(media) });
    const abort = new AbortController();
    const signal = abort.signal;
    this.attached = { media, session, pool, abort };
    for (const type of MEDIA_EVENTS) media.addEventListener(type, (e) => this.onMedia(e.type), { signal });
    pool.addEventListener('status', () => this.onEngine(), { signal });
    session.addEventListener('window', (e) => this.onWindow(e.detail), { signal });
    session.addEventListener('state', ({ detail }) => {
      if (detail.state === 'error') this.fail(detail.error.code, detail.error.message);
    }, { signal });
    this.setState(pool.status.phase === 'ready' ? 'ready' : 'loading');
    this.onEngine();
    if (!media.paused && !media.ended) this.listen();
  }

  /** The element the `for` attribute names, in this element's document or shadow tree. */
  findPlayer() {
    const id = this.getAttribute('for');
    if (!id) return this.fail('no_player', '<genre-scope> needs a player: give it for="id-of-your-audio-element", or call GenreScope.attach(player).');
    const found = this.getRootNode().getElementById?.(id) ?? document.getElementById(id);
    if (found) return found;
    if (document.readyState === 'loading') {
      // The player may come later in the page.
      document.addEventListener('DOMContentLoaded', () => this.isConnected && !this.attached && this.reattach(), { once: true });
      return null;
    }
    return this.fail('no_player', `<genre-scope for="${id}">: there is no element with id "${id}" on this page.`);
  }

  /** The engine pool's status changed. */
  onEngine() {
    const a = this.attached;
    if (!a) return;
    const { phase, message } = a.pool.status;
    if (phase === 'error') return this.fail('engine', `The genre model could not be loaded: ${message}`);
    if (this.state === 'loading' && phase === 'ready') this.setState('ready');
    if (this.state === 'loading') this.view.message('Loading the genre model…');
    else if (this.state === 'ready') this.view.message(`Press play: the genre shows ${seconds(a.pool.status.model?.liveSeconds)} after the music starts.`);
  }

  /** A media event of the player. */
  onMedia(type) {
    const media = this.attached?.media;
    if (!media) return;
    switch (type) {
      case 'play':
      case 'playing':
      case 'seeked':
        if (!media.paused && !media.seeking) this.listen();
        break;
      case 'pause':
        return this.halt('paused', 'Paused.');
      case 'ended':
        return this.halt('paused', 'The track has ended.');
      case 'waiting':
        return this.halt('paused', 'Waiting for the player (buffering)…');
      case 'seeking':
        // A new position: a fresh rolling window and smoothing; the track's timeline stays.
        return this.halt(this.state, this.view.msg.textContent);
      case 'emptied':
      case 'loadstart':
        this.halt(this.attached.pool.status.phase === 'ready' ? 'ready' : 'loading', '');
        this.resetTrack();
        return this.onEngine();
      case 'volumechange':
        if (this.state === 'listening') this.showListening();
        break;
      case 'error':
        return this.fail('media_error', `The player could not load this track${media.error?.message ? ` (${media.error.message})` : ''}.`);
      default:
        this.redraw();
    }
  }

  /** Starts classifying what the player plays, unless something stands in the way. */
  async listen() {
    const a = this.attached;
    if (!a || a.session.state === 'running' || a.session.state === 'starting' || this.resuming) return;
    const origin = originCheck(a.media);
    if (origin.crossOrigin) {
      // Web Audio would get silence, and the player would go silent too: leave it alone.
      return this.fail('cross_origin', `This track comes from another site (${origin.host}) that has not allowed other pages to read its audio (CORS), so the widget cannot hear it. To fix: serve it with an Access-Control-Allow-Origin header and add crossorigin="anonymous" to the player.`);
    }
    const problem = mediaSupport();
    if (problem) return this.fail(problem.code, problem.message);
    this.resuming = true;
    let state;
    try {
      state = await resumeContext(sharedContext());
    } finally {
      this.resuming = false;
    }
    if (this.attached !== a || a.media.paused || a.media.seeking) return;
    if (state !== 'running') {
      this.setState('blocked');
      const message = 'The browser has not allowed this page to process sound yet (autoplay policy). Click anywhere on the page to start the genre read-out.';
      this.view.message(message, 'warn');
      this.emit('error', { code: 'autoplay_blocked', message });
      for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, () => this.listen(), { once: true, signal: a.abort.signal });
      return;
    }
    this.zeros = 0;
    this.setState('listening');
    this.showListening();
    a.session.start();
  }

  /** The status line while listening: muted or not. */
  showListening() {
    const media = this.attached.media;
    if (media.muted || media.volume === 0) {
      this.view.showState('muted');
      this.view.message('The player is muted, and browsers pass muted sound on as silence: unmute it to see the genre.', 'warn');
    } else if (!this.latest) {
      const { windowSeconds, hopSeconds } = this.attached.session;
      this.view.message(`Listening… the first result comes after ${seconds(windowSeconds)}, then one every ${seconds(hopSeconds)}.`);
    } else {
      this.view.showCurrent(this.latestView);
      this.view.message('');
    }
  }

  /** Stops classifying (the rolling window and smoothing start over next time). */
  halt(state, message) {
    const a = this.attached;
    if (!a) return;
    a.session.stop();
    this.setState(state);
    this.view.message(message);
    this.redraw();
  }

  /** Forgets the track: timeline, current genre. */
  resetTrack() {
    this.track = [];
    this.latest = null;
    this.latestView = null;
    this.genreBefore = null;
    this.zeros = 0;
    for (const k of ['genre', 'confidence', 'error', 'verdict', 'verdictText']) delete this.dataset[k];
    this.view.clear();
  }

  /** A window of the session: classified (whatever its verdict) or failed. */
  onWindow({ entry, current }) {
    const a = this.attached;
    if (!a) return;
    // Muted players give silence: nothing is said about it but "muted".
    if (a.media.muted || a.media.volume === 0) return this.showListening();
    this.zeros = entry.peak === 0 ? this.zeros + 1 : 0;
    if (this.zeros === ZERO_WINDOWS) {
      const message = 'Only digital silence reaches the widget. If you hear the player, its track probably comes from another site (perhaps through a redirect) that does not allow pages to read its audio (CORS).';
      this.view.message(message, 'warn');
      this.emit('error', { code: 'no_signal', message });
    }
    if (entry.status === 'error') {
      this.view.message(`A window could not be classified: ${entry.error}`, 'warn');
      return;
    }
    this.track.push({ position: entry.position, probabilities: entry.probabilities, kind: entry.verdict.kind });
    const labels = current.labels;
    const top = current.probabilities
      ? current.probabilities
          .map((p, i) => ({ label: labels[i], probability: p }))
          .sort((x, y) => y.probability - x.probability)
          .slice(0, this.labelCount)
      : [];
    this.latest = {
      verdict: entry.verdict,
      tags: entry.tags,
      music: entry.music,
      genre: current.genre,
      confidence: current.confidence,
      probabilities: current.probabilities ? Object.fromEntries(labels.map((l, i) => [l, current.probabilities[i]])) : null,
      top,
    };
    this.latestView = current;
    this.dataset.verdict = entry.verdict.kind;
    this.dataset.verdictText = entry.verdict.text;
    if (current.genre) {
      this.dataset.genre = current.genre;
      this.dataset.confidence = String(current.confidence);
    }
    this.view.showCurrent(current);
    if (this.zeros < ZERO_WINDOWS) this.view.message('');
    this.redraw();
    const windowLabels = this.attached.session.labels ?? labels ?? [];
    const detail = {
      ...this.latest,
      window: { probabilities: Object.fromEntries(windowLabels.map((l, i) => [l, entry.probabilities[i]])), position: entry.position, index: entry.index },
      backend: a.pool.status.backend,
    };
    this.emit('result', detail);
    if (current.genre && current.genre !== this.genreBefore) {
      const previous = this.genreBefore ?? null;
      this.genreBefore = current.genre;
      this.emit('genrechange', { ...detail, previous });
    }
  }

  /** Redraws the timeline at the player's position. */
  redraw() {
    const media = this.attached?.media;
    this.view.drawTimeline(this.track, media?.duration ?? NaN, media?.currentTime ?? NaN, this.attached?.session.hopSeconds ?? NaN);
  }

  /** Shows an error and announces it (once per track and cause); the widget stays attached (a new track may work). */
  fail(code, message) {
    if (this.attached) this.attached.session.stop();
    if (this.state === 'error' && this.dataset.error === code) return null;
    this.setState('error');
    this.dataset.error = code;
    this.view.message(message, 'error');
    this.emit('error', { code, message });
    return null;
  }

  setState(state) {
    this.state = state;
    this.dataset.state = state;
    if (state !== 'error') delete this.dataset.error;
  }

  /** Dispatches a bubbling, composed CustomEvent from the element. */
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

if (!customElements.get('genre-scope')) customElements.define('genre-scope', GenreScope);
// For hosts with classic scripts: window.GenreScope.attach(player).
globalThis.GenreScope ??= GenreScope;
