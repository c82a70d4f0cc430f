// The batch-tagging table: every file with its verdict (the engine's: a genre, "Unsure: rock or
// pop?", "Not music" or "Silence"), its confidence and the next genre, kept in sync with the
// records, with what each file's own tags say. Each row carries data-file / data-verdict /
// data-genre (the top label) / data-confidence (full precision) / data-agrees (yes, no, or
// empty: the file's tag names no genre, or the verdict is not a genre).

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

export class BatchTable {
  constructor(tbody, records) {
    this.tbody = tbody;
    this.records = records;
    this.rows = new Map();
    records.addEventListener('change', ({ detail }) => (detail ? this.render(detail) : this.reset()));
  }

  reset() {
    this.rows.clear();
    this.tbody.replaceChildren();
  }

  render(record) {
    const v = tableValues(record);
    const top = record.result?.top?.[0];
    const tr = h(
      'tr',
      { dataset: { id: record.id, file: record.file, state: record.state, verdict: v.verdict, genre: v.genre, confidence: top ? String(top.probability) : '', agrees: v.agrees === null ? '' : v.agrees ? 'yes' : 'no' } },
      h('td', { class: 'c-file', title: v.file }, v.file),
      h('td', { class: `c-file-genre${v.agrees === false ? ' disagree' : ''}` }, v.fileGenre),
      h('td', { class: `c-verdict${v.verdict && v.verdict !== 'genre' ? ' muted' : ''}` }, v.verdictText),
      h('td', { class: 'c-confidence num' }, v.confidence),
      h('td', { class: 'c-second' }, v.second),
      h('td', { class: 'c-backend' }, v.backend),
      h('td', { class: 'c-decoder' }, v.decoder),
      h('td', { class: `c-status${record.state === 'error' ? ' error-text' : ''}`, title: v.status }, v.status),
    );
    const old = this.rows.get(record.id);
    if (old) old.replaceWith(tr);
    else this.tbody.append(tr);
    this.rows.set(record.id, tr);
  }
}
