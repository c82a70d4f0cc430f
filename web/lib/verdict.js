// The verdict the engine puts on every result ({kind: 'genre'|'uncertain'|'not_music'|'silent',
// label, candidates, confidence, text}, decided in the Rust core, src/trust/verdict.rs), as the
// page shows it. Nothing here decides a verdict or knows a threshold: the kinds' wording, icons
// and the explanations built from the result and the model's ModelInfo only.

import { percent } from './format.js';

/** How many Million Song Dataset tags a row and the exports list. */
export const TAGS_SHOWN = 8;

/** A small glyph per verdict kind (shown beside the text, hidden from screen readers). */
export const VERDICT_ICON = { genre: '♪', uncertain: '?', not_music: '✕', silent: '∅' };

/**
 * The verdict with every field present (`label` null unless a genre; the engine's objects may
 * leave an absent label undefined, which JSON would drop): {kind, label, candidates, confidence, text}.
 */
export function plainVerdict(v) {
  return v ? { kind: v.kind, label: v.label ?? null, candidates: v.candidates ?? [], confidence: v.confidence, text: v.text } : null;
}

/** Whether a verdict names genres (a genre, or the two candidates of an unsure one). */
export function namesGenres(verdict) {
  return verdict?.kind === 'genre' || verdict?.kind === 'uncertain';
}

/** `{label, probability}` of each of `names` (labels of the model) in `result`. */
export function scoresOf(result, names) {
  return names.map((label) => ({ label, probability: result.probabilities[result.labels.indexOf(label)] }));
}

/** The `n` most likely tags of a result (`[]` when its model has none). */
export function topTags(result, n = TAGS_SHOWN) {
  return (result?.tags ?? []).slice(0, n);
}

/** `1.5` -> `1.5 s`, `-60` -> `-60 dBFS`: numbers of the model and the signal for sentences. */
const dbfs = (v) => `${Number(v.toFixed(1))} dBFS`;
const secs = (v) => `${Number(v.toFixed(2))} s`;

/**
 * Why the verdict is what it is, in a sentence, from the result (its verdict, music score and
 * signal level) and the model's ModelInfo (`model`, may be null: the sentence is then shorter).
 */
export function verdictReason(result, model = null) {
  const { verdict, music, signal } = result;
  switch (verdict.kind) {
    case 'silent': {
      const gate = model?.silence;
      const level = signal ? ` (${secs(signal.activeSeconds)} of ${secs(signal.seconds)} above the gate; overall level ${dbfs(signal.rmsDbfs)})` : '';
      const rule = gate ? `less than ${secs(gate.minSignalSeconds)} of it is louder than ${dbfs(gate.thresholdDbfs)}` : 'it holds too little signal';
      return `Silence: ${rule}${level}, so there is nothing to classify. The genre probabilities below are what the model computes anyway; they describe no music.`;
    }
    case 'not_music':
      return `Not music: the music detector gives ${music ? `${percent(music.probability)}, under its threshold of ${percent(music.threshold)}` : 'too low a score'}. The genre probabilities below describe no music.`;
    case 'uncertain': {
      const below = model?.uncertainBelow ? `, under this model’s threshold of ${percent(model.uncertainBelow)}` : '';
      return `Unsure: the most likely genre has only ${percent(verdict.confidence)}${below}, so the two most likely are named.`;
    }
    default:
      return `${verdict.label}, with ${percent(verdict.confidence)}${music ? `; the music detector gives ${percent(music.probability)} (threshold ${percent(music.threshold)})` : ''}.`;
  }
}
