// The map of a batch: every classified file as a point, placed by the first two principal
// components of its sound vector (see similarity.js), coloured by its genre (grey when the
// verdict is not a genre). Hovering names the file; clicking opens its row. The canvas's
// data-points holds [{file, x, y}] (canvas pixels) for tests and assistive tools.

import { genreColour } from './palette.js';
import { map2d, soundVector } from './similarity.js';

const RADIUS = 5;

export class LibraryMap {
  /** `section` holds a canvas; `onOpen(record)` opens a file's row. */
  constructor(section, records, onOpen) {
    this.section = section;
    this.canvas = section.querySelector('canvas');
    this.note = section.querySelector('.map-note');
    this.records = records;
    this.onOpen = onOpen;
    this.points = [];
    this.pending = null;
    records.addEventListener('change', () => this.schedule());
    this.canvas.addEventListener('mousemove', (e) => {
      const hit = this.hit(e);
      this.canvas.title = hit ? `${hit.record.file}: ${hit.record.result.verdict.text}` : '';
      this.canvas.style.cursor = hit ? 'pointer' : 'default';
    });
    this.canvas.addEventListener('click', (e) => {
      const hit = this.hit(e);
      if (hit) this.onOpen(hit.record);
    });
  }

  /** Redraws at most twice a second while a batch runs. */
  schedule() {
    this.pending ??= setTimeout(() => {
      this.pending = null;
      this.render();
    }, 500);
  }

  hit(event) {
    const box = this.canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) * this.canvas.width) / box.width;
    const y = ((event.clientY - box.top) * this.canvas.height) / box.height;
    // The nearest point within reach, so of two overlapping points the one under the pointer wins.
    let best = null;
    let bestDistance = RADIUS + 2;
    for (const p of this.points) {
      const distance = Math.hypot(p.x - x, p.y - y);
      if (distance <= bestDistance) [best, bestDistance] = [p, distance];
    }
    return best;
  }

  render() {
    const done = this.records.list.filter((r) => r.result && soundVector(r.result));
    const length = done[0] ? soundVector(done[0].result).length : 0;
    const usable = done.filter((r) => soundVector(r.result).length === length);
    this.section.hidden = usable.length < 3;
    if (this.section.hidden) return;
    const coords = map2d(usable.map((r) => soundVector(r.result)));
    const { width, height } = this.canvas;
    const xs = coords.map((c) => c[0]);
    const ys = coords.map((c) => c[1]);
    const scale = (v, lo, hi, size) => (hi > lo ? RADIUS * 2 + ((v - lo) / (hi - lo)) * (size - RADIUS * 4) : size / 2);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    this.points = usable.map((record, i) => ({ record, x: scale(xs[i], x0, x1, width), y: height - scale(ys[i], y0, y1, height) }));
    const ctx = this.canvas.getContext('2d');
    ctx.clearRect(0, 0, width, height);
    for (const p of this.points) {
      const v = p.record.result.verdict;
      ctx.beginPath();
      ctx.arc(p.x, p.y, RADIUS, 0, 2 * Math.PI);
      ctx.fillStyle = v.kind === 'genre' ? genreColour(p.record.result.labels.indexOf(v.label)) : '#9aa0aa';
      ctx.fill();
    }
    this.canvas.dataset.points = JSON.stringify(this.points.map((p) => ({ file: p.record.path ?? p.record.file, x: Math.round(p.x), y: Math.round(p.y) })));
    this.canvas.setAttribute('aria-label', `Map of ${this.points.length} files by how they sound; similar files are close`);
    this.note.textContent = `${this.points.length} files, placed by their Million Song Dataset tags (similar files are close); colour: the genre, grey: unsure, not music or silence. Click a point to open its file.`;
  }
}
