// Exports of the batch as M3U playlists per genre (paths in the picked folder), CSV (what the table shows, plus the verdict, the top Million Song
// Dataset tags, the music score and every label's probability at full precision) and JSON
// (everything, including the verdict, every tag, the signal level and the per-window
// timeline), downloaded locally from a Blob: nothing is uploaded.

import { tableValues } from './table.js';
import { TAGS_SHOWN, plainVerdict, topTags } from './verdict.js';

/** RFC 4180 quoting (also quotes leading/trailing spaces, which some readers trim). */
export function csvField(value) {
  const s = String(value ?? '');
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The CSV text: file, verdict (kind) and verdict_text, genre (the top label, whatever the
 * verdict), confidence (as shown), status, then full-precision numbers: the music detector's
 * probability (empty when the model has none), the top tags as `label:probability` joined by
 * `;` (as the CLI's CSV), each label's probability.
 */
export function toCsv(records, labels) {
  const header = ['file', 'file_genre', 'verdict', 'verdict_text', 'genre', 'confidence', 'status', 'backend', 'decoder', 'duration_seconds', 'top_probability', 'music_probability', 'tags', ...labels.map((l) => `p_${l}`), 'error'];
  const lines = [header.map(csvField).join(',')];
  for (const r of records) {
    const v = tableValues(r);
    const res = r.result;
    const probs = labels.map((l) => {
      const i = res?.labels.indexOf(l) ?? -1;
      return i >= 0 ? String(res.probabilities[i]) : '';
    });
    lines.push(
      [
        v.file,
        v.fileGenre,
        v.verdict,
        v.verdictText,
        v.genre,
        v.confidence,
        r.state,
        res?.backend ?? '',
        res?.source.decoder ?? '',
        res ? String(res.source.durationSeconds) : '',
        res ? String(res.top[0].probability) : '',
        res?.music ? String(res.music.probability) : '',
        topTags(res, TAGS_SHOWN).map((t) => `${t.label}:${t.probability}`).join(';'),
        ...probs,
        r.error?.message ?? '',
      ]
        .map(csvField)
        .join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}

/** The JSON document: one object per file, close to the native CLI's `classify --json`. */
export function toJson(records) {
  const entries = records.map((r) => {
    const res = r.result;
    if (!res) return { file: r.file, ok: false, state: r.state, error: r.error?.message ?? null, code: r.error?.code ?? null };
    return {
      file: r.file,
      ok: true,
      file_tags: r.fileTags ?? null,
      verdict: plainVerdict(res.verdict),
      genre: res.top[0].label,
      confidence: res.top[0].probability,
      top: res.top,
      tags: res.tags,
      music: res.music ?? null,
      signal: res.signal ?? null,
      probabilities: Object.fromEntries(res.labels.map((l, i) => [l, res.probabilities[i]])),
      duration_seconds: res.source.durationSeconds,
      backend: res.backend,
      source: res.source,
      timings_ms: res.timings,
      warnings: res.warnings,
      timeline: res.windows.map((w) => ({ start_seconds: w.start, end_seconds: w.end, padded: w.padded, probabilities: Object.fromEntries(res.labels.map((l, i) => [l, w.probabilities[i]])) })),
      ...(res.members?.length
        ? {
            members: res.members.map((m) => ({
              name: m.name,
              kind: m.kind,
              weight: m.weight,
              ...(m.skipped ? { skipped: m.skipped } : { probabilities: Object.fromEntries(res.labels.map((l, i) => [l, m.probabilities[i]])) }),
            })),
          }
        : {}),
    };
  });
  return JSON.stringify(entries, null, 2) + '\n';
}

/** The genres that files of the batch got as a confident verdict, sorted. */
export function playlistGenres(records) {
  return [...new Set(records.filter((r) => r.result?.verdict?.kind === 'genre').map((r) => r.result.verdict.label))].sort();
}

/**
 * An extended M3U playlist (UTF-8) of the files whose confident verdict is `genre`, by their
 * paths in the picked folder (relative, so the playlist works saved at the folder's top).
 */
export function toM3u(records, genre) {
  const lines = ['#EXTM3U', `#PLAYLIST:${genre}`];
  for (const r of records) {
    if (r.result?.verdict?.kind !== 'genre' || r.result.verdict.label !== genre) continue;
    lines.push(`#EXTINF:${Math.round(r.result.source.durationSeconds)},${r.fileTags?.title ?? r.file}`, r.path ?? r.file);
  }
  return lines.join('\n') + '\n';
}

/** Saves `data` (text, or bytes such as a model bundle) as a file through a temporary object URL. */
export function download(filename, data, type) {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
