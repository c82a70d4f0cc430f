// The per-window genre timeline: for each analysis window, its genre probabilities stacked
// in a column (colour per genre), placed at the window's time in the track. Also a text
// version for screen readers and a legend.

import { genreColour } from './palette.js';
import { h, percent } from './format.js';

/** Column boundaries in seconds: midway between neighbouring window centres. */
function columnEdges(windows, duration) {
  const centres = windows.map((w) => (w.start + Math.max(w.end, w.start)) / 2);
  const edges = [0];
  for (let i = 1; i < centres.length; i++) edges.push((centres[i - 1] + centres[i]) / 2);
  edges.push(Math.max(duration, edges[edges.length - 1] + 1e-3));
  return edges;
}

/**
 * Sizes `canvas` to its CSS size in device pixels (`fallbackWidth` x `fallbackHeight` CSS
 * pixels while it is not laid out) and clears it; returns its 2D context, width, height and
 * the device pixel ratio.
 */
export function clearedCanvas(canvas, fallbackWidth, fallbackHeight) {
  const dpr = globalThis.devicePixelRatio || 1;
  const width = Math.max(1, Math.round((canvas.clientWidth || fallbackWidth) * dpr));
  const height = Math.max(1, Math.round((canvas.clientHeight || fallbackHeight) * dpr));
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height, dpr };
}

/** Draws the stacked timeline of `windows` into `canvas` (CSS size decides the resolution). */
export function drawTimeline(canvas, windows, labels, duration) {
  const { ctx, width, height, dpr } = clearedCanvas(canvas, 600, 96);
  if (!windows.length) return;
  const end = Math.max(duration || 0, windows[windows.length - 1].end);
  const edges = columnEdges(windows, end);
  const x = (t) => (t / end) * width;
  windows.forEach((w, i) => {
    const x0 = Math.round(x(edges[i]));
    const x1 = Math.max(x0 + 1, Math.round(x(edges[i + 1])));
    let y = height;
    w.probabilities.forEach((p, k) => {
      const hgt = p * height;
      ctx.fillStyle = genreColour(k);
      ctx.fillRect(x0, y - hgt, x1 - x0, hgt + 0.5);
      y -= hgt;
    });
    if (i > 0) {
      ctx.fillStyle = 'rgba(255,255,255,0.6)';
      ctx.fillRect(x0, 0, Math.max(1, dpr), height);
    }
  });
}

/** The top genre of each window as a list, for screen readers and tests. */
export function timelineList(windows, labels) {
  return h(
    'ol',
    { class: 'sr-only timeline-list' },
    windows.map((w) => {
      const best = w.probabilities.reduce((b, p, i) => (p > w.probabilities[b] ? i : b), 0);
      return h('li', { dataset: { genre: labels[best] } }, `${w.start.toFixed(1)}–${w.end.toFixed(1)} s: ${labels[best]} ${percent(w.probabilities[best])}`);
    }),
  );
}

/** A legend of the labels that reach `min` probability in some window. */
export function legend(windows, labels, min = 0.05) {
  const shown = labels
    .map((label, i) => ({ label, i, peak: Math.max(...windows.map((w) => w.probabilities[i])) }))
    .filter((x) => x.peak >= min);
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Genre colours' },
    shown.map(({ label, i }) => h('li', {}, h('span', { class: 'swatch', style: { background: genreColour(i) } }), label)),
  );
}
