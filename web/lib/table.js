// The batch-tagging table: every file with its genre and confidence, kept in sync with the
// records. Each row carries data-file / data-genre / data-confidence (full precision).

import { h, percent } from './format.js';

const STATE_TEXT = { queued: 'queued', running: 'working…', done: 'done', error: 'error' };

/** The values shown in the table for one record (also used by the CSV export). */
export function tableValues(record) {
  const top = record.result?.top ?? [];
  return {
    file: record.file,
    genre: top[0]?.label ?? '',
    confidence: top[0] ? percent(top[0].probability) : '',
    second: top[1] ? `${top[1].label} (${percent(top[1].probability)})` : '',
    backend: record.result ? (record.result.backend === 'webgpu' ? 'WebGPU' : 'CPU') : '',
    decoder: record.result ? (record.result.source.decoder === 'genrescope' ? 'engine' : record.result.source.decoder) : '',
    status: record.state === 'error' ? `error: ${record.error?.message ?? ''}` : STATE_TEXT[record.state],
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
      { dataset: { id: record.id, file: record.file, state: record.state, genre: v.genre, confidence: top ? String(top.probability) : '' } },
      h('td', { class: 'c-file', title: v.file }, v.file),
      h('td', { class: 'c-genre' }, v.genre),
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
