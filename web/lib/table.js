// The batch-tagging table: every file with its verdict (the engine's: a genre, "Unsure: rock or
// pop?", "Not music" or "Silence"), its confidence and the next genre, kept in sync with the
// records, with what each file's own tags say. Each row carries data-id / data-file /
// data-path / data-verdict / data-genre (the top label) / data-confidence (full precision) /
// data-agrees (yes, no, or empty: the file's tag names no genre, or the verdict is not a
// genre) / data-write (writing, written, error, or empty).
//
// Thousands of rows stay smooth: only the rows in view (and a margin) are in the document,
// between two spacer rows that keep the scroll height; the rows can be filtered by genre, by
// verdict and to the disagreements, and sorted by path or by confidence. Rows can be selected
// (for "write the selected"), and a file from a folder opened for writing has a Write button.

import { coverageText, h, percent } from './format.js';
import { tagAgreement } from './file-tags.js';
import { namesGenres } from './verdict.js';

const STATE_TEXT = { queued: 'queued', running: 'working…', refining: 'refining…', done: 'done', error: 'error', cancelled: 'cancelled' };

/**
 * The values shown in the table for one record (also used by the CSV export). Silence and not
 * music name no genre: no confidence, no runner-up (as the CLI's table); an unsure verdict
 * names its two candidates itself.
 */
export function tableValues(record) {
  const res = record.result;
  const top = res?.top ?? [];
  const verdict = res?.verdict ?? null;
  const genres = namesGenres(verdict);
  const agreement = tagAgreement(record.fileTags, res);
  return {
    file: record.file,
    fileGenre: agreement.said,
    agrees: agreement.agrees,
    verdict: verdict?.kind ?? '',
    verdictText: verdict?.text ?? '',
    genre: top[0]?.label ?? '',
    confidence: verdict && genres ? percent(verdict.confidence) : verdict ? '–' : '',
    second: verdict?.kind === 'genre' && top[1] ? `${top[1].label} (${percent(top[1].probability)})` : '',
    backend: res ? (res.backend === 'webgpu' ? 'WebGPU' : 'CPU') : '',
    decoder: res ? (res.source.decoder === 'genrescope' ? 'engine' : res.source.decoder) : '',
    status: record.state === 'error' ? `error: ${record.error?.message ?? ''}` : record.state === 'refining' ? `refining… ${coverageText(res)}` : STATE_TEXT[record.state],
  };
}

/** How rows are ordered: by path (the batch's order), or by confidence. */
const SORTS = {
  path: () => 0,
  'confidence-desc': (a, b) => confidenceOf(b) - confidenceOf(a),
  'confidence-asc': (a, b) => confidenceOf(a) - confidenceOf(b),
};

/** The verdict's confidence (a genre or unsure), -1 when it names none or is not there yet. */
export function confidenceOf(record) {
  const v = record.result?.verdict;
  return v && namesGenres(v) ? v.confidence : -1;
}

/** Whether a record passes the filter `{genre, verdict, disagreements}` ('' or false: any). */
export function passes(record, { genre = '', verdict = '', disagreements = false }) {
  const v = record.result?.verdict;
  if (genre && !(v?.kind === 'genre' && v.label === genre)) return false;
  if (verdict && v?.kind !== verdict) return false;
  if (disagreements && tagAgreement(record.fileTags, record.result).agrees !== false) return false;
  return true;
}

/** Rows rendered beyond the visible ones, above and below. */
const OVERSCAN = 20;

export class BatchTable {
  /**
   * `tbody` is the table's body inside a scrolling `.table-wrap`; `hooks.write(record)` writes
   * one file's genre (the Write button, shown where `hooks.writable(record)` is true).
   */
  constructor(tbody, records, hooks = {}) {
    this.tbody = tbody;
    this.scroller = tbody.closest('.table-wrap');
    this.records = records;
    this.hooks = hooks;
    this.filter = { genre: '', verdict: '', disagreements: false };
    this.sort = 'path';
    /** Ids of the selected records. */
    this.selected = new Set();
    this.rowHeight = 0;
    this.pending = false;
    records.addEventListener('change', ({ detail }) => {
      if (!detail) this.selected.clear();
      this.schedule();
    });
    this.scroller?.addEventListener('scroll', () => this.schedule(), { passive: true });
  }

  /** Sets the filter and the sort (any of their fields) and re-renders. */
  set({ filter, sort } = {}) {
    if (filter) this.filter = { ...this.filter, ...filter };
    if (sort && SORTS[sort]) this.sort = sort;
    this.schedule();
  }

  /** The records shown, filtered and sorted. */
  shown() {
    const list = this.records.list.filter((r) => passes(r, this.filter));
    return this.sort === 'path' ? list : list.sort((a, b) => SORTS[this.sort](a, b) || a.id - b.id);
  }

  /** Selects (or not) every shown record. */
  selectShown(on) {
    for (const r of this.shown()) {
      if (on) this.selected.add(r.id);
      else this.selected.delete(r.id);
    }
    this.schedule();
  }

  /** The selected records, in the batch's order. */
  selection() {
    return this.records.list.filter((r) => this.selected.has(r.id));
  }

  /** Renders once after the current task's changes. */
  schedule() {
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      this.render();
    });
  }

  render() {
    const list = this.shown();
    const height = this.rowHeight || 36;
    // The wrapper grows with its rows up to its maximum height: plan for a window's worth.
    const view = Math.max(this.scroller?.clientHeight ?? 0, globalThis.innerHeight || 600);
    const top = this.scroller ? Math.max(0, this.scroller.scrollTop - (this.tbody.offsetTop || 0)) : 0;
    const first = Math.max(0, Math.floor(top / height) - OVERSCAN);
    const last = Math.min(list.length, Math.ceil((top + view) / height) + OVERSCAN);
    const spacer = (rows) => h('tr', { class: 'spacer', 'aria-hidden': 'true', style: { height: `${rows * height}px` } });
    const rows = list.slice(first, last).map((r) => this.row(r));
    this.tbody.replaceChildren(...(first ? [spacer(first)] : []), ...rows, ...(last < list.length ? [spacer(list.length - last)] : []));
    if (!this.rowHeight && rows.length) this.rowHeight = rows[0].offsetHeight || 0;
    this.tbody.closest('table')?.setAttribute('data-shown', String(list.length));
  }

  row(record) {
    const v = tableValues(record);
    const top = record.result?.top?.[0];
    const write = record.write ?? null;
    const writable = this.hooks.writable?.(record) ?? false;
    const select = h('input', { type: 'checkbox', 'aria-label': `Select ${v.file}`, checked: this.selected.has(record.id) });
    select.addEventListener('change', () => (select.checked ? this.selected.add(record.id) : this.selected.delete(record.id)));
    const writeCell = write?.state === 'writing'
      ? 'writing…'
      : write?.state === 'written'
        ? `written: ${write.genres.join('; ') || 'no genre'}`
        : write?.state === 'undone' && !writable
          ? `undone: ${write.genres.join('; ') || 'no genre'}`
          : write?.state === 'error'
          ? `not written: ${write.message}`
          : writable
            ? h('button', { type: 'button', class: 'small', onclick: () => this.hooks.write(record) }, 'Write')
            : '';
    return h(
      'tr',
      { dataset: { id: record.id, file: record.file, path: record.path ?? record.file, state: record.state, verdict: v.verdict, genre: v.genre, confidence: top ? String(top.probability) : '', agrees: v.agrees === null ? '' : v.agrees ? 'yes' : 'no', write: write?.state ?? '' } },
      h('td', { class: 'c-select' }, select),
      h('td', { class: 'c-file', title: record.path ?? v.file }, v.file),
      h('td', { class: `c-file-genre${v.agrees === false ? ' disagree' : ''}` }, v.fileGenre),
      h('td', { class: `c-verdict${v.verdict && v.verdict !== 'genre' ? ' muted' : ''}` }, v.verdictText),
      h('td', { class: 'c-confidence num' }, v.confidence),
      h('td', { class: 'c-second' }, v.second),
      h('td', { class: 'c-backend' }, v.backend),
      h('td', { class: 'c-decoder' }, v.decoder),
      h('td', { class: `c-status${record.state === 'error' ? ' error-text' : ''}`, title: v.status }, v.status),
      h('td', { class: `c-write${write?.state === 'error' ? ' error-text' : ''}`, title: write?.message ?? '' }, writeCell),
    );
  }
}
