// A host page's <audio> or <video> element as an input of LiveSession (lib/live.js), and the
// page-wide AudioContext the widgets share.
//
// A media element can feed only one MediaElementAudioSourceNode, ever, and once it has one its
// sound reaches the speakers only through the audio graph. So the node is made once per
// element (kept in a WeakMap), always also connected to the context's destination (playback
// unchanged), and made only once the context runs: a suspended context would silence the
// player. A run only connects and disconnects the capture worklet.
//
// Chromium hands the node silence while the element is muted and scales it by its volume:
// `gain()` undoes the volume, and the widget says "muted" rather than classifying silence.

import { LiveError } from '../lib/live.js';

let shared = null;
const sources = new WeakMap();

/** The AudioContext all widgets of the page share (made on first use, or again once closed). */
export function sharedContext() {
  if (!shared || shared.state === 'closed') {
    const Context = globalThis.AudioContext ?? globalThis.webkitAudioContext;
    shared = new Context();
  }
  return shared;
}

/** Why a widget cannot listen in this browser (a LiveError), or null. */
export function mediaSupport(g = globalThis) {
  const Context = g.AudioContext ?? g.webkitAudioContext;
  if (typeof Context !== 'function' || typeof g.AudioWorkletNode !== 'function' || !('audioWorklet' in Context.prototype)) {
    return new LiveError('no_audioworklet', 'This browser lacks Web Audio AudioWorklet, which the genre widget needs to hear the player; current Chrome, Edge, Firefox and Safari have it.');
  }
  return null;
}

/**
 * Resumes `context` (after a 'play', when the page may have a user gesture) and resolves to
 * its state once it runs, or after `timeout` ms: 'suspended' means the browser's autoplay
 * policy holds it until the visitor interacts with the page.
 */
export async function resumeContext(context, timeout = 1000) {
  if (context.state === 'running') return 'running';
  await Promise.race([context.resume().catch(() => {}), new Promise((r) => setTimeout(r, timeout))]);
  return context.state;
}

/** True when `media` was made into a source node already (its sound now goes through Web Audio). */
export function hasSource(media) {
  return sources.has(media);
}

/** The element's one source node, made on first use and connected to the speakers. */
export function mediaSource(media, context) {
  let source = sources.get(media);
  if (!source) {
    source = context.createMediaElementSource(media);
    source.connect(context.destination);
    sources.set(media, source);
  }
  return source;
}

/**
 * Whether Web Audio will get silence from `media` because its track comes from another
 * origin without CORS: {crossOrigin, host}. A track fetched in CORS mode (the `crossorigin`
 * attribute) either loads with the server's permission or fails to load, so it is fine;
 * blob:, data: and same-origin tracks are fine. A redirect to another origin is not seen
 * here; the widget notices the exact-zero input instead.
 */
export function originCheck(media, pageUrl = globalThis.location?.href) {
  const src = media.currentSrc || media.src;
  if (!src || src.startsWith('blob:') || src.startsWith('data:')) return { crossOrigin: false, host: null };
  let url;
  try {
    url = new URL(src, pageUrl);
  } catch {
    return { crossOrigin: false, host: null };
  }
  const tainted = url.origin !== new URL(pageUrl).origin && media.crossOrigin === null;
  return { crossOrigin: tainted, host: url.host };
}

/** `media` as a LiveSession input (see lib/live.js): windows are stamped with the media time. */
export function mediaElementInput(media) {
  return {
    name: 'media element',
    decoder: 'media element',
    check: () => mediaSupport(),
    context: () => sharedContext(),
    async open(context) {
      return { source: mediaSource(media, context) };
    },
    /** Disconnects this run's capture node only: the source stays connected to the speakers. */
    release({ node, source } = {}) {
      if (node) node.port.onmessage = null;
      try {
        if (node) source?.disconnect(node);
      } catch {
        // not connected
      }
      try {
        node?.disconnect();
      } catch {
        // already disconnected
      }
    },
    position: () => media.currentTime,
    gain: () => (media.volume > 0 && media.volume < 1 ? 1 / media.volume : 1),
    startError: (err) => new LiveError('start_failed', `The widget could not start listening to the player: ${err?.message || err}`),
  };
}
