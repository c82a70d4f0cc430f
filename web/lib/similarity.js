// "More like this" and the map of a batch, from what each result already carries: its
// Million Song Dataset tag probabilities (the model's description of the sound in 50 words;
// a model without tags uses its genre probabilities). Vectors are standardised over the batch
// (each tag's mean and spread across the files), so what every file shares does not make
// them all alike; files are compared by cosine. Pure functions, no DOM.

/** The vector of a result: tag probabilities in tag-name order, else genre probabilities. */
export function soundVector(result) {
  if (result?.tags?.length) {
    return [...result.tags].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0)).map((t) => t.probability);
  }
  return result?.probabilities ? [...result.probabilities] : null;
}

/** Each vector standardised per dimension over all of them (dimensions that never vary drop out). */
export function standardise(vectors) {
  const n = vectors.length;
  const d = vectors[0]?.length ?? 0;
  const mean = new Float64Array(d);
  const sd = new Float64Array(d);
  for (const v of vectors) for (let j = 0; j < d; j++) mean[j] += v[j] / n;
  for (const v of vectors) for (let j = 0; j < d; j++) sd[j] += (v[j] - mean[j]) ** 2 / n;
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]);
  return vectors.map((v) => Float64Array.from(v, (x, j) => (sd[j] > 1e-12 ? (x - mean[j]) / sd[j] : 0)));
}

/** Cosine similarity of two vectors (0 when either is all zeros). */
export function cosine(a, b) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let j = 0; j < a.length; j++) {
    dot += a[j] * b[j];
    na += a[j] * a[j];
    nb += b[j] * b[j];
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * The `k` items most like item `index` among `items` ([{id, vector}], vectors of one length),
 * most similar first: [{id, similarity}]. Empty with fewer than 3 items (nothing to
 * standardise against).
 */
export function neighbours(items, index, k = 5) {
  if (items.length < 3) return [];
  const z = standardise(items.map((i) => i.vector));
  return items
    .map((item, i) => ({ id: item.id, similarity: cosine(z[index], z[i]), i }))
    .filter((x) => x.i !== index)
    .sort((a, b) => b.similarity - a.similarity)
    .slice(0, k)
    .map(({ id, similarity }) => ({ id, similarity }));
}

/** The first principal component of rows `z` (centred), by power iteration; deflated rows out. */
function component(z, iterations = 100) {
  const d = z[0].length;
  let w = Float64Array.from({ length: d }, (_, j) => 1 / Math.sqrt(d) + (j % 2 ? 1e-3 : 0));
  for (let it = 0; it < iterations; it++) {
    const next = new Float64Array(d);
    for (const row of z) {
      let s = 0;
      for (let j = 0; j < d; j++) s += row[j] * w[j];
      for (let j = 0; j < d; j++) next[j] += s * row[j];
    }
    const norm = Math.hypot(...next);
    if (!(norm > 0)) break;
    w = next.map((x) => x / norm);
  }
  const scores = z.map((row) => row.reduce((s, x, j) => s + x * w[j], 0));
  const rest = z.map((row, i) => row.map((x, j) => x - scores[i] * w[j]));
  return { scores, rest };
}

/** 2-D coordinates of `vectors` (standardised, first two principal components): [[x, y]]. */
export function map2d(vectors) {
  if (vectors.length < 3) return vectors.map(() => [0, 0]);
  const z = standardise(vectors);
  const first = component(z);
  const second = component(first.rest);
  return first.scores.map((x, i) => [x, second.scores[i]]);
}
