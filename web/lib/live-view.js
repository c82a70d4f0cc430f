// Live mode's panel: the Start/Stop button, what is happening (or why it cannot), what is heard
// now (the newest window's verdict: the smoothed genre with its confidence, "Unsure: rock or
// pop?", "Not music" or "Silence", the last three in a muted style), and a scrolling timeline
// of the recent windows.
//
// The section carries data attributes the tests read: data-state (idle, starting, running,
// error), data-error (the LiveError code), data-genre and data-confidence (smoothed over the
// music windows), data-now (the newest window's verdict kind: genre, uncertain, not_music,
// silent), data-verdict-text (its text), and the counts of the current run: data-windows
// (sent), data-classified (answered), data-genre-windows, data-uncertain, data-not-music,
// data-silent, data-skipped.

import { h, percent, seconds } from './format.js';
import { genreColour } from './palette.js';
import { clearedCanvas, legend } from './timeline.js';
import { HISTORY } from './live.js';

const SILENT_COLOUR = 'rgba(128,128,128,0.35)';
const NOT_MUSIC_COLOUR = 'rgba(128,128,128,0.6)';
const FAILED_COLOUR = 'rgba(180,35,24,0.5)';

/** "the music so far" -> "The music so far". */
const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);

/** Seconds as m:ss. */
const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

/** Draws the newest windows as stacked columns, newest at the right; room for HISTORY. */
function drawHistory(canvas, history) {
  const { ctx, width, height, dpr } = clearedCanvas(canvas, 600, 72);
  const column = width / HISTORY;
  const gap = Math.max(1, Math.round(dpr));
  history.forEach((w, i) => {
    const left = width - (history.length - i) * column;
    const x0 = Math.round(left);
    const x1 = Math.round(left + column) - gap;
    const kind = w.verdict?.kind;
    if (w.status !== 'done' || kind === 'silent' || kind === 'not_music') {
      ctx.fillStyle = w.status !== 'done' ? FAILED_COLOUR : kind === 'silent' ? SILENT_COLOUR : NOT_MUSIC_COLOUR;
      const hgt = w.status !== 'done' ? height : kind === 'silent' ? Math.max(2, height * 0.08) : Math.max(3, height * 0.3);
      ctx.fillRect(x0, height - hgt, x1 - x0, hgt);
      return;
    }
    // Music: the genre probabilities stacked; an unsure window paler.
    ctx.globalAlpha = kind === 'uncertain' ? 0.45 : 1;
    let y = height;
    w.probabilities.forEach((p, k) => {
      const hgt = p * height;
      ctx.fillStyle = genreColour(k);
      ctx.fillRect(x0, y - hgt, x1 - x0, hgt + 0.5);
      y -= hgt;
    });
    ctx.globalAlpha = 1;
  });
}

/** What a window's list item says. */
function windowText(w, labels) {
  const when = `${clock(w.start)}–${clock(w.end)}`;
  if (w.status === 'error') return `${when}: could not be classified (${w.error})`;
  if (w.verdict.kind !== 'genre') return `${when}: ${w.verdict.text}`;
  const best = w.probabilities.reduce((b, p, i, all) => (p > all[b] ? i : b), 0);
  return `${when}: ${labels[best]} ${percent(w.probabilities[best])}`;
}

/** The #live section's view of a LiveSession. */
export class LiveView {
  /** Renders into `root` (the #live section) and drives `session` (a LiveSession). */
  constructor(root, session) {
    this.root = root;
    this.session = session;
    this.button = root.querySelector('#live-toggle');
    this.message = h('p', { class: 'live-message', role: 'status', 'aria-live': 'polite' });
    this.genre = h('span', { class: 'live-genre' }, '–');
    this.fill = h('span', { class: 'bar-fill' });
    this.bar = h('span', { class: 'bar', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0, 'aria-label': 'Smoothed confidence' }, this.fill);
    this.confidence = h('span', { class: 'score-value' }, '');
    this.runnersUp = h('p', { class: 'muted small live-runners' });
    this.counts = h('p', { class: 'muted small live-counts' });
    this.canvas = h('canvas', { class: 'live-timeline', role: 'img', 'aria-label': 'Genre probabilities of the recent windows, newest at the right' });
    this.list = h('ol', { class: 'sr-only live-list' });
    this.legend = h('div', { class: 'live-legend' });
    this.axisStart = h('span', {}, '');
    const axis = h('div', { class: 'axis', 'aria-hidden': 'true' }, this.axisStart, h('span', {}, 'now'));
    this.now = h(
      'div',
      { class: 'live-now', hidden: true },
      h('div', { class: 'live-current' }, this.genre, this.bar, this.confidence),
      this.runnersUp,
      this.canvas,
      axis,
      this.legend,
      this.counts,
      this.list,
    );
    root.querySelector('.live-body').replaceChildren(this.message, this.now);
    this.button.addEventListener('click', () => (session.state === 'running' || session.state === 'starting' ? session.stop() : session.start()));
    session.addEventListener('state', () => this.renderState());
    session.addEventListener('window', () => this.renderWindows());
    session.addEventListener('skip', () => this.renderCounts());
    // The intro above says how much each result hears, once the model (and so its live
    // window and hop) has loaded.
    this.intro = root.querySelector('.live-timing');
    session.pool.addEventListener('status', () => this.renderTiming());
    this.renderTiming();
    this.renderState();
  }

  /** ": the last 3 s, every 1.5 s" in the intro, from the model's live window and hop. */
  renderTiming() {
    const { windowSeconds, hopSeconds } = this.session;
    if (!this.intro) return;
    this.intro.textContent = Number.isFinite(windowSeconds) && Number.isFinite(hopSeconds) ? `: the last ${seconds(windowSeconds)}, every ${seconds(hopSeconds)}` : '';
  }

  /** Shows the session's state: button, message, data attributes. */
  renderState() {
    const { state, error } = this.session;
    const d = this.root.dataset;
    d.state = state;
    d.error = error?.code ?? '';
    this.button.textContent = state === 'running' || state === 'starting' ? 'Stop' : 'Start listening';
    this.button.setAttribute('aria-pressed', String(state === 'running' || state === 'starting'));
    this.message.classList.toggle('error-text', state === 'error');
    if (state === 'starting') {
      this.message.textContent = 'Asking for the microphone…';
      this.clear();
    } else if (state === 'running') {
      const { windowSeconds, hopSeconds } = this.session;
      this.message.textContent = `Listening. The first result comes after ${seconds(windowSeconds)}, then one every ${seconds(hopSeconds)}.`;
      this.axisStart.textContent = `${Math.round(HISTORY * hopSeconds)} s ago`;
      this.now.hidden = false;
    } else if (state === 'error') {
      this.message.textContent = error.message;
    } else {
      this.message.textContent = this.session.counts.windows ? 'Stopped. The microphone is off.' : '';
    }
    this.renderCounts();
  }

  /** Empties the result area for a new run. */
  clear() {
    for (const k of ['genre', 'confidence', 'now', 'verdictText']) delete this.root.dataset[k];
    this.root.classList.remove('silent', 'not-music', 'uncertain');
    this.genre.textContent = '–';
    this.confidence.textContent = '';
    this.fill.style.width = '0';
    this.runnersUp.textContent = '';
    this.list.replaceChildren();
    this.legend.replaceChildren();
    this.now.hidden = true;
  }

  /** Shows the newest result: the smoothed genre, or what the newest window's verdict says instead; the timeline, the list. */
  renderWindows() {
    const { current, history } = this.session;
    if (this.session.state === 'running') this.message.textContent = 'Listening.';
    const d = this.root.dataset;
    if (current?.genre) {
      d.genre = current.genre;
      d.confidence = String(current.confidence);
    }
    const kind = current?.kind ?? '';
    d.now = kind;
    d.verdictText = current?.verdict?.text ?? '';
    this.root.classList.toggle('silent', kind === 'silent');
    this.root.classList.toggle('not-music', kind === 'not_music');
    this.root.classList.toggle('uncertain', kind === 'uncertain');
    if (kind === 'genre' && current.genre) {
      // A music window: the smoothed genre and its confidence.
      const best = current.labels.indexOf(current.genre);
      this.genre.textContent = current.genre;
      this.fill.style.width = `${(current.confidence * 100).toFixed(2)}%`;
      this.fill.style.background = genreColour(best);
      this.bar.setAttribute('aria-valuenow', (current.confidence * 100).toFixed(1));
      this.confidence.textContent = percent(current.confidence);
      const others = current.probabilities
        .map((p, i) => ({ p, label: current.labels[i] }))
        .filter((x) => x.label !== current.genre)
        .sort((a, b) => b.p - a.p)
        .slice(0, 2);
      this.runnersUp.textContent = `then ${others.map((x) => `${x.label} ${percent(x.p)}`).join(', ')}`;
    } else if (current) {
      // Unsure, not music or silence: the verdict's text, no genre bar; the smoothed genre is
      // kept for when music returns.
      this.genre.textContent = current.verdict.text;
      this.confidence.textContent = '';
      this.fill.style.width = '0';
      this.bar.setAttribute('aria-valuenow', '0');
      const before = current.genre ? `the music so far: ${current.genre} ${percent(current.confidence)}` : '';
      const music = current.music ? `Music detector ${percent(current.music.probability)} (threshold ${percent(current.music.threshold)})` : '';
      this.runnersUp.textContent =
        kind === 'silent'
          ? before ? `Nothing to classify; ${before}.` : 'Nothing to classify yet.'
          : kind === 'not_music'
            ? capitalise(`${[music, before].filter(Boolean).join('; ') || 'no music heard'}.`)
            : `No genre is likely enough in this window${before ? `; ${before}` : ''}.`;
    }
    const music = history.filter((w) => w.status === 'done' && (w.verdict.kind === 'genre' || w.verdict.kind === 'uncertain'));
    if (current?.labels && music.length) this.legend.replaceChildren(legend(music, current.labels));
    this.list.replaceChildren(...history.slice(-8).map((w) => h('li', { dataset: { status: w.status, verdict: w.verdict?.kind ?? '' } }, windowText(w, this.session.labels ?? []))));
    drawHistory(this.canvas, history);
    this.renderCounts();
  }

  /** Shows how many windows were classified, silent, failed or skipped. */
  renderCounts() {
    const c = this.session.counts;
    Object.assign(this.root.dataset, { windows: c.windows, classified: c.classified, genreWindows: c.genre, uncertain: c.uncertain, notMusic: c.notMusic, silent: c.silent, skipped: c.skipped });
    const parts = [`${c.classified} window${c.classified === 1 ? '' : 's'} classified`];
    if (c.classified) parts.push(`${c.genre} with a genre`);
    if (c.uncertain) parts.push(`${c.uncertain} unsure`);
    if (c.notMusic) parts.push(`${c.notMusic} not music`);
    if (c.silent) parts.push(`${c.silent} silent`);
    if (c.failed) parts.push(`${c.failed} failed`);
    if (c.skipped) parts.push(`${c.skipped} skipped while the engine was busy`);
    this.counts.textContent = c.windows || c.skipped ? `${parts.join(', ')}.` : '';
  }
}
