// Small formatting helpers shared by the page's modules.

/** 0.8734 -> "87.3 %" (one decimal; the table, the rows and the CSV check use this). */
export function percent(p) {
  return `${(p * 100).toFixed(1)} %`;
}

/** Seconds for a sentence, to a tenth (2.992 -> "3 s", 1.496 -> "1.5 s"). */
export function seconds(value) {
  return Number.isFinite(value) ? `${Number(value.toFixed(1))} s` : 'a few seconds';
}

/** Milliseconds, e.g. "842 ms" or "2.4 s". */
export function ms(value) {
  if (!Number.isFinite(value)) return '–';
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
}

/** Seconds as m:ss (or h:mm:ss). */
export function duration(seconds) {
  if (!Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** "3 of 100 patches" from a result's coverage (empty without one). */
export function coverageText(result) {
  const c = result?.coverage;
  return c?.total ? `${c.analysed} of ${c.total} patches` : '';
}

/** Bytes, e.g. "1.3 MB". */
export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Creates an element with attributes and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}
