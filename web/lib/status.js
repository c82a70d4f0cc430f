// The engine panel: which backend runs (and why), how many workers, which model is loaded.
// #engine carries data-phase (loading, ready, error), data-backend (cpu, webgpu) and
// data-settled (yes once the backend choice is final); the tests wait on them.

import { h, ms } from './format.js';

function backendText(s) {
  if (s.phase === 'error') return 'Engine failed to load';
  if (!s.backend) return 'Loading…';
  if (s.backend === 'webgpu') return 'WebGPU';
  return s.workers > 1 ? `CPU · ${s.workers} workers` : 'CPU';
}

function backendNote(s) {
  const info = s.info;
  if (s.phase === 'error') return s.message;
  if (!info) return s.message;
  if (s.backend === 'webgpu') {
    const diff = info.gpu?.maxDiff;
    const adapter = s.adapter?.description ? ` on ${s.adapter.description}` : '';
    const allowed = Number((info.gpu?.tolerance ?? 1e-3).toPrecision(2));
    return `Running on the GPU${adapter}. Start-up check against the CPU: largest difference ${diff?.toExponential(1) ?? '?'} (allowed ${allowed}).`;
  }
  const simd = info.simd ? 'WebAssembly with SIMD' : 'WebAssembly';
  const why = s.requested === 'cpu' ? 'CPU requested in the address (?backend=cpu).' : s.gpuReason ? `WebGPU not used: ${s.gpuReason}.` : '';
  const pending = s.settled ? '' : ' Checking WebGPU…';
  return `${simd} on ${s.workers || 1} worker${s.workers === 1 ? '' : 's'}. ${why}${pending}`.replace(/\.\./g, '.');
}

/** Renders the status into `el` (the #engine panel). */
export function renderStatus(el, s) {
  el.dataset.phase = s.phase;
  el.dataset.backend = s.backend ?? '';
  el.dataset.settled = s.settled && s.phase !== 'loading' ? 'yes' : 'no';
  el.querySelector('.engine-backend').textContent = backendText(s);
  el.querySelector('.engine-note').textContent = backendNote(s);
  el.classList.toggle('error', s.phase === 'error');
}

/** Renders the model's header (labels, provenance) into `el`. */
export function renderModel(el, header, info, modelCardUrl) {
  if (!header) return;
  const p = header.provenance ?? {};
  const arch = header.architecture ?? {};
  const test = p.metrics?.test;
  // Cross-validated accuracy when the bundle has it (a 10-track hold-out says little).
  const cv = p.metrics?.cross_validation;
  const accuracy = cv?.track_accuracy?.mean ?? test?.track_accuracy ?? p.metrics?.test_accuracy ?? p.metrics?.accuracy;
  const tested = Number.isFinite(cv?.track_accuracy?.mean)
    ? ` in ${cv.folds}-fold cross-validation`
    : Number.isFinite(test?.tracks) ? ` on ${test.tracks} held-out tracks` : '';
  const describeArch = (a) => (a?.kind === 'musicnn' ? 'MusiCNN (Million Song Dataset) transfer' : a?.kind === 'mlp' || a?.kind === 'cnn1d' ? `descriptor-table ${a.kind.toUpperCase()}` : (a?.kind ?? 'cnn').toUpperCase());
  const kind =
    header.kind === 'fusion'
      ? `Fusion of ${header.members.map((m) => `${describeArch(m.header?.architecture)} (${Math.round(m.weight * 100)} %)`).join(' and ')}`
      : describeArch(arch);
  // The data description may end with the label list, which is shown above already.
  const data = (p.data || 'unknown data').replace(/\s*\([^)]*\)\s*$/, '');
  el.replaceChildren(
    h('p', { class: 'model-line' }, h('strong', {}, `${header.labels.length} genres: `), header.labels.join(', ')),
    h(
      'p',
      { class: 'muted small' },
      `${kind} · trained on ${data}`,
      Number.isFinite(accuracy) ? ` · accuracy ${(accuracy * 100).toFixed(0)} %${tested}` : '',
      p.created ? ` · ${p.created.slice(0, 10)}` : '',
      info ? ` · loaded in ${ms(info.loadMs)}` : '',
      modelCardUrl ? [' · ', h('a', { href: modelCardUrl }, 'model card')] : '',
    ),
  );
}
