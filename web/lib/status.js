// The engine panel: which backend runs (and why), how many workers, which model is loaded;
// and what the loaded model allows in "Your own genres".
// #engine carries data-phase (loading, ready, error), data-backend (cpu, webgpu) and
// data-settled (yes once the backend choice is final); the tests wait on them.

import { h, ms, seconds } from './format.js';

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
  const simd = info.relaxedSimd ? 'WebAssembly with relaxed SIMD (fused multiply-add)' : info.simd ? 'WebAssembly with SIMD' : 'WebAssembly';
  const plain = s.cpuEngine?.burn
    ? ` (the engine built with Burn: the small one runs MusiCNN transfer and descriptor-table networks, and this model's network is another)`
    : !info.relaxedSimd && s.cpuEngine?.reason
      ? ` (not the relaxed-SIMD build: ${s.cpuEngine.reason})`
      : '';
  const why = s.requested === 'cpu' ? 'CPU requested in the address (?backend=cpu).' : s.gpuReason ? `WebGPU not used: ${s.gpuReason}.` : '';
  const pending = s.settled ? '' : ' Checking WebGPU…';
  return `${simd}${plain} on ${s.workers || 1} worker${s.workers === 1 ? '' : 's'}. ${why}${pending}`.replace(/\.\./g, '.');
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

/** Renders the model's info (a ModelInfo: labels, members, provenance) into `el`. */
export function renderModel(el, model, info, modelCardUrl) {
  if (!model) return;
  const p = model.provenance;
  const kind =
    model.kind === 'fusion'
      ? `Fusion of ${model.members.map((m) => `${m.description} (${Math.round(m.weight * 100)} %)`).join(' and ')}`
      : model.description;
  const tracks = Number.isFinite(p.tracks) ? ` (${p.tracks} tracks)` : '';
  const windows = model.members.map((m) => seconds(m.windowSeconds)).join(' and ');
  const e = p.evaluation;
  const spread = Number.isFinite(e?.accuracyStd) ? ` ± ${(e.accuracyStd * 100).toFixed(0)}` : '';
  // What besides a genre this model can answer (its ModelInfo's verdict fields).
  const answers = [
    model.uncertainBelow > 0 ? `“unsure” under ${(model.uncertainBelow * 100).toFixed(0)} % confidence` : null,
    model.musicDetector ? '“not music” (music detector)' : null,
    model.silence ? `“silence” when less than ${seconds(model.silence.minSignalSeconds)} is above ${model.silence.thresholdDbfs} dBFS` : null,
    model.tags?.length ? `${model.tags.length} Million Song Dataset tags` : null,
  ].filter(Boolean);
  el.replaceChildren(
    h('p', { class: 'model-line' }, h('strong', {}, `${model.labels.length} genres: `), model.labels.join(', ')),
    answers.length ? h('p', { class: 'muted small model-verdicts' }, `Besides a genre: ${answers.join(' · ')}.`) : null,
    h(
      'p',
      { class: 'muted small' },
      kind,
      ` · ${windows} windows`,
      p.dataset ? ` · trained on ${p.dataset}${tracks}` : '',
      e ? ` · accuracy ${(e.accuracy * 100).toFixed(0)} %${spread} (${e.method})` : '',
      p.created ? ` · ${p.created.slice(0, 10)}` : '',
      info ? ` · loaded in ${ms(info.loadMs)}` : '',
      modelCardUrl ? [' · ', h('a', { href: modelCardUrl }, 'model card')] : '',
    ),
  );
}

/**
 * The "Your own genres" section (`section`) as the loaded model allows: `data-available` and
 * its add controls by whether the model has a backbone to learn on (`embedder`), and, once
 * the model has loaded (not `loading`) without one, why, in #own-status. Returns whether it
 * said so. The page uses it until the section's own modules load, OwnView after.
 */
export function renderOwnAvailability(section, embedder, loading) {
  section.dataset.available = embedder ? 'yes' : 'no';
  for (const input of section.querySelector('#own-add').elements) input.disabled = !embedder;
  const unavailable = !embedder && !loading;
  if (unavailable) section.querySelector('#own-status').textContent = 'The loaded model has no MusiCNN backbone to learn on; load the default model to teach it your own genres.';
  return unavailable;
}
