// One dropped file in the list: its progress, then its verdict (the engine's: a genre with its
// top-3 confidence bars; "Unsure: rock or pop?" with both candidates; "Not music"; "Silence",
// the last three in a neutral style without a genre bar); opening it says why, lists the genre
// probabilities (always available), the Million Song Dataset tags when the model has them, the
// per-window timeline, the Mel image, how it was decoded, which backend ran and how long each
// stage took.
//
// The row's <li> carries data attributes the tests read: data-state (queued, running, done,
// error), data-verdict (genre, uncertain, not_music, silent), data-verdict-text, data-genre
// (the top label, whatever the verdict), data-confidence and data-probabilities (JSON, full
// precision), data-tags (JSON: the shown tags, [{label, probability}], full precision),
// data-music (the music detector's probability, when the model has one), data-backend,
// data-decoder, data-error, and for a fused model data-members (JSON: each member's name,
// weight, top label and probabilities, or why it was left out).

import { bytes, coverageText, duration, h, ms, percent, seconds } from './format.js';
import { genreColour } from './palette.js';
import { drawMel } from './mel-canvas.js';
import { tagAgreement, tagSentence } from './file-tags.js';
import { drawTimeline, legend, timelineList } from './timeline.js';
import { TAGS_SHOWN, VERDICT_ICON, scoresOf, topTags, verdictReason } from './verdict.js';

const STAGES = [
  ['queue', 'waiting for a worker'],
  ['read', 'reading the file'],
  ['webaudio', 'decoding in the browser (WebAudio)'],
  ['decode', 'decoding'],
  ['resample', 'resampling'],
  ['features', 'log-Mel features'],
  ['inference', 'model'],
  ['melImage', 'Mel image'],
];

/** What a fusion member is, for people: its description and window length (from the bundle). */
function memberKind(m) {
  return `${m.description} (${seconds(m.windowSeconds)} windows)`;
}

/** One row per label of `top` (the first highlighted): name, confidence bar, percentage. */
function scoreBars(top, labels, ariaPrefix = '', { neutral = false } = {}) {
  return top.map((s, rank) =>
    h(
      'span',
      { class: `score${rank === 0 && !neutral ? ' best' : ''}${neutral ? ' neutral' : ''}`, dataset: { label: s.label } },
      h('span', { class: 'score-label' }, s.label),
      h('span', { class: 'bar', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': (s.probability * 100).toFixed(1), 'aria-label': `${ariaPrefix}${s.label} confidence` }, h('span', { class: 'bar-fill', style: { width: `${(s.probability * 100).toFixed(2)}%`, background: neutral ? null : genreColour(labels.indexOf(s.label)) } })),
      h('span', { class: 'score-value' }, percent(s.probability)),
    ),
  );
}

/** The fused model's members, each with its weight and top genres, or why it was left out. */
function membersPanel(r) {
  const rows = r.members.map((m) =>
    h(
      'li',
      { class: 'member', dataset: { member: m.name } },
      h('p', { class: 'member-head' }, h('strong', {}, m.name), ` · ${memberKind(m)} · `, m.skipped ? 'left out' : `weight ${percent(m.weight)}`),
      m.skipped
        ? h('p', { class: 'muted small' }, `Left out of this result: ${m.skipped}.`)
        : h('div', { class: 'scores' }, scoreBars(m.top, r.labels, `${m.name}: `)),
    ),
  );
  const used = r.members.filter((m) => !m.skipped).length;
  const left = r.members.length - used;
  return h(
    'section',
    { class: 'panel members-panel' },
    h('h3', {}, 'Each model’s opinion'),
    h(
      'details',
      { class: 'members' },
      h('summary', {}, `The verdict is the weighted mean of ${used} model${used === 1 ? '' : 's'}${left ? ` (${left} left out for this input)` : ''}: show each one’s genres`),
      h('p', { class: 'muted small' }, 'The genre above is the weighted mean of these models’ probabilities (weights fitted on held-out tracks, renormalised over the models that ran).'),
      h('ul', { class: 'member-list' }, rows),
    ),
  );
}

/**
 * "More like this": the files of the batch that sound most like this one (see
 * similarity.js), each with its similarity and verdict, and a button that opens its row.
 */
function similarPanel(similar) {
  return h(
    'section',
    { class: 'panel similar-panel' },
    h('h3', {}, 'More like this'),
    h('p', { class: 'muted small' }, 'The files of this batch whose Million Song Dataset tags are closest to this one’s (cosine of the tags, standardised over the batch).'),
    h('ol', { class: 'similar' }, similar.map((s) => h('li', { dataset: { file: s.file, similarity: String(s.similarity) } }, h('button', { type: 'button', class: 'link', onclick: s.open }, s.file), h('span', { class: 'muted small' }, `${percent(Math.max(0, s.similarity))} alike · ${s.verdict}`)))),
  );
}

/** The verdict's icon and text (the headline of a row). */
function verdictLine(verdict) {
  return h('p', { class: 'verdict', dataset: { kind: verdict.kind } }, h('span', { class: 'verdict-icon', 'aria-hidden': 'true' }, VERDICT_ICON[verdict.kind] ?? ''), h('span', { class: 'verdict-text' }, verdict.text));
}

/**
 * What the summary shows: a confident genre with its top-3 bars; an unsure verdict with both
 * candidates (outlined, neutral, each with its probability); not music and silence as a muted
 * line saying so. No coloured genre bar unless the verdict is a genre.
 */
function headline(result) {
  const { verdict } = result;
  if (verdict.kind === 'genre') return [verdictLine(verdict), ...scoreBars(result.top, result.labels)];
  if (verdict.kind === 'uncertain') {
    const chips = scoresOf(result, verdict.candidates).map((c) => h('span', { class: 'candidate', dataset: { label: c.label } }, h('span', { class: 'candidate-label' }, c.label), ' ', h('span', { class: 'candidate-value' }, percent(c.probability))));
    return [verdictLine(verdict), h('p', { class: 'candidates' }, chips)];
  }
  const why = verdict.kind === 'silent' ? 'No music to classify: open for the level and the probabilities.' : 'Open for the music score and the probabilities.';
  return [verdictLine(verdict), h('p', { class: 'verdict-note muted small' }, why)];
}

/** The top Million Song Dataset tags with their probabilities (neutral bars). */
function tagsPanel(tags, verdict) {
  const moot = verdict.kind === 'silent' || verdict.kind === 'not_music';
  return h(
    'section',
    { class: 'panel tags-panel' },
    h('h3', {}, 'Million Song Dataset tags'),
    h('p', { class: 'muted small' }, `The ${tags.length} most likely of the model’s Million Song Dataset (MSD) tags; each is a separate yes/no probability, so they need not add up to 100 %.${moot ? ' Computed anyway: this input is not music, so they describe no music.' : ''}`),
    h(
      'ol',
      { class: 'tags' },
      tags.map((t) =>
        h(
          'li',
          { class: 'tag', dataset: { label: t.label, probability: String(t.probability) } },
          h('span', { class: 'tag-label' }, t.label),
          h('span', { class: 'bar', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': (t.probability * 100).toFixed(1), 'aria-label': `${t.label} tag probability` }, h('span', { class: 'bar-fill', style: { width: `${(t.probability * 100).toFixed(2)}%` } })),
          h('span', { class: 'tag-value' }, percent(t.probability)),
        ),
      ),
    ),
  );
}

/** Why the verdict is what it is, the music score, and (unless it is a genre, whose bars are in the summary) the genre probabilities. */
function verdictPanel(r, model) {
  const { verdict } = r;
  const ranked = r.labels.map((label, i) => ({ label, probability: r.probabilities[i] })).sort((a, b) => b.probability - a.probability);
  return h(
    'section',
    { class: 'panel verdict-panel' },
    h('h3', {}, 'Verdict'),
    h('p', { class: 'verdict-reason small' }, verdictReason(r, model)),
    r.music ? h('p', { class: 'music-score small', dataset: { probability: String(r.music.probability) } }, `Music detector: ${percent(r.music.probability)} music (threshold ${percent(r.music.threshold)}).`) : null,
    verdict.kind === 'genre' ? null : h('div', { class: 'scores all-scores', 'aria-label': 'Genre probabilities' }, scoreBars(ranked.slice(0, 5), r.labels, '', { neutral: true })),
  );
}

/** "19 windows of 3 s, every 1.5 s; ..." from the windows themselves (and how many are still to come). */
function windowsNote(windows, coverage) {
  const n = windows.length;
  if (coverage && !coverage.complete && coverage.total > n) {
    return `${n} of the track’s ${coverage.total} windows analysed so far (evenly spread); each column shows one window’s genre probabilities.`;
  }
  const length = windows[0].padded ? null : windows[0].end - windows[0].start;
  const hop = n > 1 ? windows[1].start - windows[0].start : null;
  const shape = length ? ` of ${seconds(length)}${hop ? `, every ${seconds(hop)}` : ''}` : '';
  return `${n} window${n === 1 ? '' : 's'}${shape}; each column shows one window's genre probabilities.`;
}

export class FileRow {
  constructor(file) {
    this.file = file;
    this.result = null;
    this.rendered = false;
    this.status = h('span', { class: 'file-status', 'aria-live': 'polite' }, 'queued');
    this.progress = h('progress', { class: 'file-progress', max: 1, 'aria-label': `Progress of ${file.name}` });
    this.scores = h('div', { class: 'scores' });
    this.detail = h('div', { class: 'file-detail' }, h('p', { class: 'muted' }, 'Results appear here when the file has been classified.'));
    this.details = h(
      'details',
      { ontoggle: () => this.details.open && this.renderDetail() },
      h(
        'summary',
        {},
        h('span', { class: 'file-head' }, h('span', { class: 'file-name', title: file.name }, file.name), h('span', { class: 'file-meta' }, bytes(file.size ?? 0)), h('span', { class: 'file-line' }, this.progress, this.status)),
        this.scores,
      ),
      this.detail,
    );
    this.el = h('li', { class: 'file', dataset: { state: 'queued', file: file.name } }, this.details);
  }

  setState(state, text) {
    this.el.dataset.state = state;
    if (text !== undefined) this.status.textContent = text;
    if (state === 'running') this.progress.removeAttribute('value');
    if (state === 'queued') this.progress.value = 0;
  }

  /**
   * Shows a result; `model` (the ModelInfo, optional) lets the details name the model's
   * thresholds. With `refining`, it is a first answer or a refinement: the row says how much of
   * the track it covers and keeps its progress bar until the final result.
   */
  showResult(result, model = null, { refining = false } = {}) {
    this.result = result;
    this.model = model;
    const { labels, probabilities, top, verdict } = result;
    const coverage = result.coverage ?? { analysed: 0, total: 0, complete: true };
    this.progress.value = refining && coverage.total ? coverage.analysed / coverage.total : 1;
    this.progress.hidden = !refining;
    Object.assign(this.el.dataset, {
      state: refining ? 'refining' : 'done',
      patches: `${coverage.analysed}/${coverage.total}`,
      complete: String(Boolean(coverage.complete)),
      verdict: verdict.kind,
      verdictText: verdict.text,
      genre: top[0].label,
      confidence: String(top[0].probability),
      tags: JSON.stringify(topTags(result, TAGS_SHOWN)),
      music: result.music ? String(result.music.probability) : '',
      probabilities: JSON.stringify(Object.fromEntries(labels.map((l, i) => [l, probabilities[i]]))),
      backend: result.backend,
      decoder: result.source.decoder,
    });
    if (result.members?.length) {
      this.el.dataset.members = JSON.stringify(
        result.members.map((m) => ({ name: m.name, weight: m.weight, skipped: m.skipped ?? null, genre: m.top[0]?.label ?? null, probabilities: m.probabilities })),
      );
    }
    const where = `${duration(result.source.durationSeconds)} · ${result.backend === 'webgpu' ? 'WebGPU' : 'CPU'}`;
    const t = result.timings;
    if (refining) {
      this.status.textContent = `${where} · first answer in ${ms(t.firstAnswer ?? t.total)} · refining: ${coverageText(result)}…`;
    } else if (t.firstAnswer !== undefined) {
      const whole = coverage.complete ? `whole track (${coverage.total} patches)` : coverageText(result);
      this.status.textContent = `${where} · first answer ${ms(t.firstAnswer)} · ${whole} ${ms(t.wall)}`;
    } else {
      this.status.textContent = `${where} · ${ms(t.total + (t.webaudio ?? 0))}`;
    }
    this.scores.replaceChildren(...headline(result));
    this.redrawDetail();
  }

  /** Draws the open details again (e.g. once "More like this" can be listed). */
  redrawDetail() {
    this.rendered = false;
    if (this.details.open) this.renderDetail();
  }

  /** Opens the row's details and brings it into view. */
  open() {
    this.details.open = true;
    this.el.scrollIntoView({ block: 'nearest' });
  }

  /** Marks the result as one stored by an earlier run (`at`: when), not computed now. */
  markStored(at) {
    this.el.dataset.stored = 'yes';
    this.status.textContent = `${this.status.textContent} · from an earlier run (${at.slice(0, 10)})`;
  }

  /**
   * Shows what the file's own tags say against the verdict (see file-tags.js); sets
   * data-file-genre (the tag's genres) and data-agrees (yes, no, or empty).
   */
  showFileTags(fileTags, result) {
    const agreement = tagAgreement(fileTags, result);
    Object.assign(this.el.dataset, { fileGenre: agreement.said, agrees: agreement.agrees === null ? '' : agreement.agrees ? 'yes' : 'no' });
    this.fileTag?.remove();
    const msd = fileTags?.msdTags?.length ? `Its MSD_TAGS field says “${fileTags.msdTags.join('; ')}”.` : '';
    const text = [tagSentence(agreement, result), msd].filter(Boolean).join(' ');
    if (!text) return;
    this.fileTag = h('p', { class: `file-tag small${agreement.agrees === false ? ' disagree' : ''}` }, text);
    this.scores.after(this.fileTag);
  }

  showError(error, decoder) {
    this.progress.hidden = true;
    Object.assign(this.el.dataset, { state: 'error', error: error.message, decoder: decoder ?? '' });
    for (const k of ['verdict', 'verdictText', 'tags', 'music']) delete this.el.dataset[k];
    this.status.textContent = 'could not be classified';
    this.scores.replaceChildren(h('span', { class: 'error-text', role: 'alert' }, error.message));
    this.detail.replaceChildren(...[h('p', { class: 'error-text' }, error.message), error.code ? h('p', { class: 'muted' }, `Error code: ${error.code}`) : null].filter(Boolean));
    this.rendered = true;
  }

  renderDetail() {
    if (this.rendered || !this.result) return;
    this.rendered = true;
    const r = this.result;
    const timelineCanvas = h('canvas', { class: 'timeline', role: 'img', 'aria-label': `Genre probabilities over time for ${this.file.name}` });
    const melCanvas = h('canvas', { class: 'mel', role: 'img', 'aria-label': `Log-Mel spectrogram of ${this.file.name}` });
    const end = r.source.durationSeconds;
    const axis = h('div', { class: 'axis', 'aria-hidden': 'true' }, h('span', {}, '0:00'), h('span', {}, duration(end / 2)), h('span', {}, duration(end)));
    const t = r.timings;
    // A table-model member's descriptors are computed in the features stage too.
    const stageName = (k, name) => (k === 'features' && r.members?.some((m) => m.kind === 'table' && !m.skipped) ? 'features (log-Mel and descriptors)' : name);
    const timingRows = STAGES.filter(([k]) => Number.isFinite(t[k]) && (t[k] > 0 || k === 'decode')).map(([k, name]) => h('tr', { dataset: { stage: k } }, h('th', { scope: 'row' }, stageName(k, name)), h('td', {}, ms(t[k]))));
    const src = r.source;
    const decodedBy = src.decoder === 'genrescope' ? 'Genrescope (Rust, in the engine)' : src.decoder === 'webaudio' ? 'the browser (WebAudio)' : src.decoder;
    const format = [src.container, src.codec].filter(Boolean).join(' / ');
    const tags = topTags(r, TAGS_SHOWN);
    const similar = this.similar?.() ?? [];
    // replaceChildren would show a null as the text "null": absent panels are filtered out.
    const panels = [
      similar.length ? similarPanel(similar) : null,
      verdictPanel(r, this.model),
      tags.length ? tagsPanel(tags, r.verdict) : null,
      h('section', { class: 'panel' }, h('h3', {}, 'Genre over time'), h('p', { class: 'muted small' }, windowsNote(r.windows, r.coverage)), timelineCanvas, axis.cloneNode(true), legend(r.windows, r.labels), timelineList(r.windows, r.labels)),
      r.members?.length ? membersPanel(r) : null,
      h('section', { class: 'panel' }, h('h3', {}, 'Log-Mel spectrogram'), h('p', { class: 'muted small' }, r.mel ? `${r.mel.bands} Mel bands, low frequencies at the bottom; what the model sees (before standardisation).` : 'Not kept with results stored by an earlier run.'), melCanvas, axis),
      h(
        'section',
        { class: 'panel facts' },
        h('h3', {}, 'How it ran'),
        h(
          'dl',
          {},
          h('dt', {}, 'Backend'),
          h('dd', { class: 'backend-used' }, r.backend === 'webgpu' ? 'WebGPU' : 'CPU (WebAssembly, SIMD)'),
          h('dt', {}, 'Decoded by'),
          h('dd', { class: 'decoder-used' }, decodedBy),
          format ? [h('dt', {}, 'Format'), h('dd', {}, format)] : null,
          h('dt', {}, 'Source'),
          h('dd', {}, `${src.sampleRate} Hz, ${src.channels} channel${src.channels === 1 ? '' : 's'}, ${duration(src.durationSeconds)}`),
        ),
        h('table', { class: 'timings' }, h('caption', {}, t.firstAnswer === undefined ? 'Time per stage' : 'Time per stage (of the first answer)'), h('tbody', {}, timingRows, h('tr', { class: 'total' }, h('th', { scope: 'row' }, 'total work'), h('td', {}, ms(t.total + (t.read ?? 0) + (t.webaudio ?? 0)))), t.firstAnswer === undefined ? null : [h('tr', { dataset: { stage: 'firstAnswer' } }, h('th', { scope: 'row' }, `first answer (${t.firstPatches} patches), from the drop`), h('td', {}, ms(t.firstAnswer))), h('tr', { dataset: { stage: 'wall' } }, h('th', { scope: 'row' }, `${coverageText(r)}, every worker, from the drop`), h('td', {}, ms(t.wall)))])),
        r.warnings.length ? h('ul', { class: 'warnings' }, r.warnings.map((w) => h('li', {}, w))) : null,
      ),
    ];
    this.detail.replaceChildren(...panels.filter(Boolean));
    // Draw once laid out, so the canvas knows its CSS size.
    requestAnimationFrame(() => {
      drawTimeline(timelineCanvas, r.windows, r.labels, end);
      if (r.mel) drawMel(melCanvas, r.mel);
    });
  }
}
