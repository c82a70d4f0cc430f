// What a file's own tags say against what it sounds like: "Your tag says Rock; it sounds like
// jazz". Genre names are compared loosely (case, spaces and punctuation ignored, so "Hip-Hop"
// is "hiphop"); only a confident genre verdict can agree or disagree.

/** A genre name reduced for comparison: lower case, letters and digits only. */
export function genreKey(name) {
  return (name ?? '').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/**
 * `{said, agrees}` for a file's tags (`{genres}`, or null when unread) and its result:
 * `said` is the tag's genres joined ('' without any); `agrees` is true or false when the tag
 * has a genre and the verdict is a genre, else null.
 */
export function tagAgreement(fileTags, result) {
  const genres = fileTags?.genres ?? [];
  const said = genres.join('; ');
  const label = result?.verdict?.kind === 'genre' ? result.verdict.label : null;
  if (!genres.length || !label) return { said, agrees: null };
  return { said, agrees: genres.some((g) => genreKey(g) === genreKey(label)) };
}

/** The sentence a file's row shows (empty when the file's tags name no genre). */
export function tagSentence({ said, agrees }, result) {
  if (!said) return '';
  const sounds = result?.verdict?.kind === 'genre' ? `it sounds like ${result.verdict.label}` : result?.verdict?.text ? `the verdict: ${result.verdict.text}` : '';
  return `Your tag says “${said}”${sounds ? `; ${sounds}` : ''}${agrees === false ? ' (they disagree)' : ''}.`;
}
