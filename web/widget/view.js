// What a <genre-scope> widget shows, inside its shadow root: the engine's verdict on the newest
// window (a genre: the smoothed genre with its confidence and the next most likely labels;
// "Unsure: rock or pop?", "Not music" or "Silence": the verdict's text in a muted, outlined
// style, with no genre colour), a compact timeline of the track and a status line. All styles live in the shadow root; `:host { all: initial }` keeps the host page's
// inherited styles (font, colour, spacing) out, and nothing is added to the page's own styles.

import { genreColour } from '../lib/palette.js';
import { clearedCanvas } from '../lib/timeline.js';

const STYLE = `
:host { all: initial; display: block; contain: content; font: 13px/1.35 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2433; }
:host([hidden]) { display: none; }
.panel { box-sizing: border-box; max-width: 100%; padding: 8px 10px; border: 1px solid #d6dae3; border-radius: 8px; background: #fff; }
.now { display: flex; align-items: center; gap: 8px; min-height: 20px; }
.dot { flex: none; width: 10px; height: 10px; border-radius: 50%; background: #c3c8d2; }
.genre { font-weight: 600; font-size: 15px; }
.others { color: #5a6478; font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.conf { margin-left: auto; color: #5a6478; font-variant-numeric: tabular-nums; white-space: nowrap; }
.labels { display: grid; gap: 3px; margin: 6px 0 0; padding: 0; list-style: none; }
.labels:empty { display: none; }
.labels li { display: grid; grid-template-columns: minmax(4em, 7em) 1fr 3.8em; align-items: center; gap: 6px; font-size: 12px; }
.labels .p { text-align: right; font-variant-numeric: tabular-nums; color: #5a6478; }
.bar { height: 6px; overflow: hidden; border-radius: 3px; background: #eef0f4; }
.fill { display: block; height: 100%; width: 0; }
.strip { display: block; width: 100%; height: 14px; margin-top: 6px; border-radius: 3px; background: #eef0f4; }
.msg { margin: 6px 0 0; font-size: 12px; color: #5a6478; }
.msg:empty { display: none; }
.msg[data-kind="error"] { color: #b42318; }
.msg[data-kind="warn"] { color: #8a5a00; }
.compact { padding: 4px 8px; }
.compact .genre { font-size: 13px; }
.panel:not([data-kind="genre"]) .dot { background: transparent !important; border: 1.5px solid #8a93a5; box-sizing: border-box; }
.panel[data-kind="uncertain"] .dot { border-style: dashed; border-color: #8a5a00; }
.panel[data-kind="not_music"] .genre, .panel[data-kind="silent"] .genre { font-weight: 400; color: #5a6478; }
.panel[data-kind="uncertain"] .genre { font-style: italic; }
.panel:not([data-kind="genre"]) .labels { opacity: 0.45; }
.panel:not([data-kind="genre"]) .fill { background: #8a93a5 !important; }
.compact .strip { height: 6px; margin-top: 4px; }
.compact .labels { display: none; }
.expanded .others { display: none; }
@media (prefers-color-scheme: dark) {
  :host { color: #e6e9ef; }
  .panel { background: #1b1f27; border-color: #3a4150; }
  .bar, .strip { background: #2a303c; }
  .conf, .others, .labels .p, .msg { color: #a9b1c1; }
  .msg[data-kind="error"] { color: #ff8a80; }
  .msg[data-kind="warn"] { color: #ffcc66; }
  .panel[data-kind="not_music"] .genre, .panel[data-kind="silent"] .genre { color: #a9b1c1; }
}
`;

/** Seconds shown when the media has no finite duration (a stream): the last minute. */
const STREAM_SECONDS = 60;

/** Creates an element with a class and text. */
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** 0.873 -> "87 %". */
const pct = (p) => `${Math.round(p * 100)} %`;

/** The widget's view; all DOM it touches is inside `shadow`. */
export class WidgetView {
  /** Renders an empty widget into `shadow` (a ShadowRoot). */
  constructor(shadow) {
    const style = el('style');
    style.textContent = STYLE;
    this.dot = el('span', 'dot');
    this.genre = el('span', 'genre', '–');
    this.others = el('span', 'others');
    this.conf = el('span', 'conf');
    this.labels = el('ol', 'labels');
    this.strip = el('canvas', 'strip');
    this.strip.setAttribute('role', 'img');
    this.strip.setAttribute('aria-label', 'Genre of each part of the track so far');
    this.msg = el('p', 'msg');
    this.msg.setAttribute('role', 'status');
    this.msg.setAttribute('aria-live', 'polite');
    const now = el('div', 'now');
    now.append(this.dot, this.genre, this.others, this.conf);
    this.panel = el('div', 'panel expanded');
    this.panel.setAttribute('part', 'panel');
    this.panel.append(now, this.labels, this.strip, this.msg);
    shadow.replaceChildren(style, this.panel);
    this.look = 'expanded';
    this.count = 3;
    this.last = null;
  }

  /** 'compact' (one line and a thin timeline) or 'expanded' (label bars too). */
  setLook(look, count) {
    this.look = look === 'compact' ? 'compact' : 'expanded';
    this.count = count;
    this.panel.className = `panel ${this.look}`;
    if (this.last) this.showCurrent(this.last);
  }

  /** The status line; `kind`: 'info', 'warn' or 'error'; '' hides it. */
  message(text, kind = 'info') {
    this.msg.textContent = text;
    this.msg.dataset.kind = kind;
  }

  /**
   * Shows a result of the live session: `current` = {kind, verdict (the newest window's), genre,
   * confidence, probabilities, labels (smoothed over the music windows; null before the first)}.
   * A genre shows the smoothed genre; any other verdict its text, muted, with the smoothed
   * labels (if any) dimmed below.
   */
  showCurrent(current) {
    this.last = current;
    const kind = current.kind ?? 'genre';
    this.panel.dataset.kind = kind;
    const ranked = current.probabilities ? current.probabilities.map((p, i) => ({ p, i, label: current.labels[i] })).sort((a, b) => b.p - a.p) : [];
    const shown = ranked.slice(0, Math.max(1, this.count));
    if (kind === 'genre' && ranked.length) {
      const best = ranked[0];
      this.genre.textContent = best.label;
      this.dot.style.background = genreColour(best.i);
      this.conf.textContent = pct(best.p);
      this.others.textContent = shown.slice(1).map((x) => `${x.label} ${pct(x.p)}`).join(' · ');
    } else {
      this.genre.textContent = current.verdict?.text ?? '–';
      this.dot.style.background = '';
      this.conf.textContent = '';
      this.others.textContent = kind === 'uncertain' ? '' : current.genre ? `so far: ${current.genre}` : '';
    }
    this.labels.replaceChildren(
      ...(this.count > 1 || this.look === 'expanded' ? shown : []).map((x) => {
        const fill = el('span', 'fill');
        fill.style.width = `${(x.p * 100).toFixed(1)}%`;
        fill.style.background = genreColour(x.i);
        const bar = el('span', 'bar');
        bar.append(fill);
        const li = el('li');
        li.append(el('span', 'label', x.label), bar, el('span', 'p', pct(x.p)));
        return li;
      }),
    );
  }

  /** Shows a state instead of a genre (e.g. 'silence', 'muted'), keeping the bars dimmed. */
  showState(text) {
    this.panel.dataset.kind = 'state';
    this.genre.textContent = text;
    this.dot.style.background = '';
    this.conf.textContent = '';
    this.others.textContent = '';
  }

  /** Forgets the shown result (a new track). */
  clear() {
    this.last = null;
    delete this.panel.dataset.kind;
    this.genre.textContent = '–';
    this.dot.style.background = '';
    this.conf.textContent = '';
    this.others.textContent = '';
    this.labels.replaceChildren();
    this.drawTimeline([], NaN, NaN);
  }

  /**
   * Draws the track's windows, [{position (media seconds at the window's end), probabilities,
   * kind (the verdict's)}], each as the `hop` (seconds between windows: the model's live hop)
   * before its end in its top genre's colour (brighter = more confident; unsure paler), silence
   * and not-music in grey, with a playhead; a stream (no finite
   * duration) shows its last minute, newest at the right.
   */
  drawTimeline(windows, duration, playhead, hop) {
    const canvas = this.strip;
    const { ctx, width, height, dpr } = clearedCanvas(canvas, 300, 14);
    const finite = Number.isFinite(duration) && duration > 0;
    const x = finite
      ? (t) => (Math.max(0, Math.min(duration, t)) / duration) * width
      : (t) => width - ((windows.at(-1)?.position ?? 0) - t) * (width / STREAM_SECONDS);
    for (const w of windows) {
      const x0 = x(w.position - hop);
      const x1 = x(w.position);
      if (x1 <= 0) continue;
      const left = Math.round(x0);
      if (w.kind === 'silent' || w.kind === 'not_music') {
        ctx.globalAlpha = 1;
        ctx.fillStyle = w.kind === 'silent' ? 'rgba(128,128,128,0.25)' : 'rgba(128,128,128,0.55)';
        ctx.fillRect(left, 0, Math.max(1, Math.round(x1) - left), height);
        continue;
      }
      let best = 0;
      w.probabilities.forEach((p, i) => {
        if (p > w.probabilities[best]) best = i;
      });
      ctx.globalAlpha = (0.35 + 0.65 * w.probabilities[best]) * (w.kind === 'uncertain' ? 0.5 : 1);
      ctx.fillStyle = genreColour(best);
      ctx.fillRect(left, 0, Math.max(1, Math.round(x1) - left), height);
    }
    ctx.globalAlpha = 1;
    if (finite && Number.isFinite(playhead)) {
      ctx.fillStyle = 'rgba(29,36,51,0.8)';
      ctx.fillRect(Math.round(x(playhead)) - Math.round(dpr), 0, Math.max(1, Math.round(2 * dpr)), height);
    }
  }
}
