// Live mode's panel: the Start/Stop button, what is happening (or why it cannot), the current
// genre with its smoothed confidence, and a scrolling timeline of the recent windows.
//
// The section carries data attributes the tests read: data-state (idle, starting, running,
// error), data-error (the LiveError code), data-genre and data-confidence (smoothed),
// data-now ('genre' or 'silence': what the newest window was), and data-windows,
// data-classified, data-silent, data-skipped (counts of the current run).

import { h, percent, seconds } from './format.js';
import { genreColour } from './palette.js';
import { clearedCanvas, legend } from './timeline.js';
import { HISTORY } from './live.js';

const SILENT_COLOUR = 'rgba(128,128,128,0.35)';
const FAILED_COLOUR = 'rgba(180,35,24,0.5)';

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
    if (w.status !== 'done') {
      ctx.fillStyle = w.status === 'silent' ? SILENT_COLOUR : FAILED_COLOUR;
      const hgt = w.status === 'silent' ? Math.max(2, height * 0.08) : height;
      ctx.fillRect(x0, height - hgt, x1 - x0, hgt);
      return;
    }
    let y = height;
    w.probabilities.forEach((p, k) => {
      const hgt = p * height;
      ctx.fillStyle = genreColour(k);
      ctx.fillRect(x0, y - hgt, x1 - x0, hgt + 0.5);
      y -= hgt;
    });
  });
}

/** What a window's list item says. */
function windowText(w, labels) {
  const when = `${clock(w.start)}–${clock(w.end)}`;
  if (w.status === 'silent') return `${when}: silence`;
  if (w.status === 'error') return `${when}: could not be classified (${w.error})`;
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
    for (const k of ['genre', 'confidence', 'now']) delete this.root.dataset[k];
    this.genre.textContent = '–';
    this.confidence.textContent = '';
    this.fill.style.width = '0';
    this.runnersUp.textContent = '';
    this.list.replaceChildren();
    this.legend.replaceChildren();
    this.now.hidden = true;
  }

  /** Shows the newest result: the smoothed genre (or silence), the timeline, the list. */
  renderWindows() {
    const { current, history } = this.session;
    if (this.session.state === 'running') this.message.textContent = 'Listening.';
    if (current?.genre) {
      const best = current.labels.indexOf(current.genre);
      this.root.dataset.genre = current.genre;
      this.root.dataset.confidence = String(current.confidence);
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
    }
    // Silence shows as such, not as a genre; the smoothed genre is kept for when sound returns.
    const silent = Boolean(current?.silent);
    this.root.dataset.now = silent ? 'silence' : current?.genre ? 'genre' : '';
    this.root.classList.toggle('silent', silent);
    if (silent) {
      this.genre.textContent = 'silence';
      this.confidence.textContent = '';
      this.fill.style.width = '0';
      this.bar.setAttribute('aria-valuenow', '0');
      this.runnersUp.textContent = current.genre ? `Nothing to classify; before the silence: ${current.genre}.` : 'Nothing to classify yet.';
    }
    const done = history.filter((w) => w.status === 'done');
    if (current?.labels && done.length) this.legend.replaceChildren(legend(done, current.labels));
    this.list.replaceChildren(...history.slice(-8).map((w) => h('li', { dataset: { status: w.status } }, windowText(w, current?.labels ?? []))));
    drawHistory(this.canvas, history);
    this.renderCounts();
  }

  /** Shows how many windows were classified, silent, failed or skipped. */
  renderCounts() {
    const c = this.session.counts;
    Object.assign(this.root.dataset, { windows: c.windows, classified: c.classified, silent: c.silent, skipped: c.skipped });
    const parts = [`${c.classified} window${c.classified === 1 ? '' : 's'} classified`];
    if (c.silent) parts.push(`${c.silent} silent`);
    if (c.failed) parts.push(`${c.failed} failed`);
    if (c.skipped) parts.push(`${c.skipped} skipped while the engine was busy`);
    this.counts.textContent = c.windows || c.skipped ? `${parts.join(', ')}.` : '';
  }
}
