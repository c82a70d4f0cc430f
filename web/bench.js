// The bench page: times the engine's stages (decode, resample, log-Mel features, inference,
// Mel image, end to end) on each available backend for a clip and a long file, and shows
// the median and min per stage plus the whole report as JSON.
//
// The form's fields can be preset from the URL: ?backends=cpu,webgpu&warmup=1&reps=5
// &clipSeconds=30&longSeconds=300&synth=0. `window.genrescopeBench.report` holds the last
// report; #report's data-state is 'idle', 'running', 'done' or 'error' (the headless runner,
// tests/browser/bench.mjs, waits on it).

import { probeWebGpu } from './lib/backend.js';
import { PROGRESSIVE_STAGES, STAGES, benchBackend } from './lib/bench-run.js';
import { prepareInputs } from './lib/bench-inputs.js';

const $ = (sel) => document.querySelector(sel);
const form = $('#bench-form');
const report = $('#report');
const progress = $('#progress');
const CAVEAT = 'Timings on SwiftShader (a software WebGPU adapter) say nothing about GPUs.';

const state = { report: null, adapter: null };
globalThis.genrescopeBench = state;

/** Presets the form from the URL's query. */
function presetFromUrl() {
  const q = new URLSearchParams(location.search);
  for (const [param, id] of [['warmup', 'warmup'], ['reps', 'reps'], ['clipSeconds', 'clip-seconds'], ['longSeconds', 'long-seconds']]) {
    if (q.has(param)) $(`#${id}`).value = q.get(param);
  }
  if (q.has('synth')) $('#synth').checked = q.get('synth') !== '0';
  if (q.has('backends')) {
    const wanted = q.get('backends').split(',');
    $('#use-cpu').checked = wanted.includes('cpu');
    $('#use-webgpu').checked = wanted.includes('webgpu');
  }
  $('#clip-seconds-text').textContent = $('#clip-seconds').value;
}

function wholeNumber(id, min, max) {
  const el = $(`#${id}`);
  const n = Number(el.value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${el.closest('label').firstChild.textContent.trim()} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

function setProgress(text, stateName) {
  progress.textContent = text;
  if (stateName) report.dataset.state = stateName;
}

const ms = (v) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 0) : '–');

const STAGE_NAMES = { melImage: 'Mel image', perPatch: 'per patch', total: 'engine total', endToEnd: 'end to end', firstAnswer: 'first answer', final: 'final (every patch)', networkOnly: 'network alone, every patch' };

/** Adds a header row of column headings to `table`. */
function headRow(table, names) {
  const hr = table.createTHead().insertRow();
  for (const name of names) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = name;
    hr.append(th);
  }
}

/** A table of the progressive runs (the page's way: every worker on one track). */
function progressiveTable(b) {
  const p = b.progressive;
  const wrap = Object.assign(document.createElement('div'), { className: 'table-wrap' });
  const table = Object.assign(document.createElement('table'), { className: 'bench-table progressive' });
  table.createCaption().textContent = `${b.backend === 'webgpu' ? 'WebGPU' : 'CPU'}, whole track as the page runs it${p?.engine ? ` (${p.engine.workers} worker${p.engine.workers === 1 ? '' : 's'})` : ''}`;
  wrap.append(table);
  if (!p || p.status !== 'ran') {
    const td = table.createTBody().insertRow().insertCell();
    td.className = 'note';
    td.textContent = `${p?.status ?? 'not run'}: ${p?.reason ?? ''}`;
    return wrap;
  }
  headRow(table, ['Input', 'patches', ...PROGRESSIVE_STAGES.map((s) => STAGE_NAMES[s] ?? s)]);
  const body = table.createTBody();
  for (const [id, input] of Object.entries(p.inputs)) {
    const tr = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = id;
    tr.append(th);
    tr.insertCell().textContent = `${input.firstPatches} then ${input.patches}`;
    for (const stage of PROGRESSIVE_STAGES) {
      const td = tr.insertCell();
      td.className = 'num';
      td.textContent = `${ms(input.stages[stage].median)} / ${ms(input.stages[stage].min)}`;
    }
  }
  return wrap;
}

/** One table per backend, one row per input: median / min per stage. */
function renderTables(result) {
  const box = $('#results');
  box.replaceChildren();
  for (const b of result.backends) {
    const wrap = Object.assign(document.createElement('div'), { className: 'table-wrap' });
    const table = Object.assign(document.createElement('table'), { className: 'bench-table' });
    const engine = b.engine ? ` (${b.engine.build} build${b.engine.simd ? ', SIMD' : ''}; engine start-up ${ms(b.engine.startMs)} ms)` : '';
    table.createCaption().textContent = `${b.backend === 'webgpu' ? 'WebGPU' : 'CPU'}${engine}`;
    wrap.append(table);
    box.append(wrap);
    if (b.status !== 'ran') {
      const td = table.createTBody().insertRow().insertCell();
      td.className = 'note';
      td.textContent = `${b.status}: ${b.reason}`;
      continue;
    }
    headRow(table, ['Input', ...STAGES.map((s) => STAGE_NAMES[s] ?? s)]);
    const body = table.createTBody();
    for (const [id, input] of Object.entries(b.inputs)) {
      const tr = body.insertRow();
      const s = input.source;
      const th = document.createElement('th');
      th.scope = 'row';
      th.append(`${id}: ${input.name}`, Object.assign(document.createElement('span'), {
        className: 'small muted',
        textContent: `${s.durationSeconds.toFixed(1)} s, ${s.sampleRate} Hz, ${s.channels} ch → ${input.top.label}`,
      }));
      tr.append(th);
      for (const stage of STAGES) {
        const td = tr.insertCell();
        td.className = 'num';
        td.textContent = `${ms(input.stages[stage].median)} / ${ms(input.stages[stage].min)}`;
      }
    }
    box.append(progressiveTable(b));
  }
}

/** Runs the benchmark with the form's settings; resolves to the report. */
async function run() {
  const backends = ['cpu', 'webgpu'].filter((b) => $(`#use-${b}`).checked);
  if (!backends.length) throw new Error('choose at least one backend');
  const warmup = wholeNumber('warmup', 0, 20);
  const reps = wholeNumber('reps', 1, 50);
  const clipSeconds = wholeNumber('clip-seconds', 1, 600);
  const longSeconds = wholeNumber('long-seconds', 1, 1200);
  setProgress('preparing the inputs…', 'running');
  const inputs = await prepareInputs({
    clip: $('#clip-input').files[0] ?? null,
    long: $('#long-input').files[0] ?? null,
    clipSeconds,
    longSeconds,
    synth: $('#synth').checked,
  });
  const results = [];
  for (const backend of backends) {
    setProgress(`${backend}: starting the engine…`);
    console.info(`bench: ${backend}: starting the engine`);
    const onProgress = ({ input, run, of, warmup: w }) => {
      const text = `${backend}: ${input}, run ${run} of ${of}${w ? ' (warm-up)' : ''}`;
      setProgress(`${text}…`);
      console.info(`bench: ${text}`);
    };
    results.push(await benchBackend(backend, inputs, { warmup, reps, onProgress }));
  }
  const notes = [];
  if (results.some((r) => r.backend === 'webgpu' && r.status === 'ran')) notes.push(CAVEAT);
  return {
    generator: 'genrescope bench page',
    date: new Date().toISOString(),
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency ?? null,
    adapter: state.adapter,
    settings: { warmup, reps, clipSeconds, longSeconds, stagesUnit: 'ms', stages: STAGES, progressiveStages: PROGRESSIVE_STAGES },
    backends: results,
    notes,
  };
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = $('#run');
  button.disabled = true;
  $('#download').disabled = true;
  try {
    const result = await run();
    state.report = result;
    renderTables(result);
    $('#json').textContent = JSON.stringify(result, null, 2);
    $('#download').disabled = false;
    const failed = result.backends.filter((b) => b.status === 'failed');
    setProgress(failed.length ? `done; ${failed.map((b) => `${b.backend} failed: ${b.reason}`).join('; ')}` : 'done.', 'done');
  } catch (err) {
    console.error(err);
    setProgress(`The benchmark could not run: ${err.message}`, 'error');
  } finally {
    button.disabled = false;
  }
});

$('#download').addEventListener('click', () => {
  if (!state.report) return;
  const url = URL.createObjectURL(new Blob([JSON.stringify(state.report, null, 2)], { type: 'application/json' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: 'genrescope-bench.json' });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
});

$('#clip-seconds').addEventListener('input', () => {
  $('#clip-seconds-text').textContent = $('#clip-seconds').value;
});

presetFromUrl();
const explicitBackends = new URLSearchParams(location.search).has('backends');
probeWebGpu().then((adapter) => {
  state.adapter = adapter;
  const box = $('#use-webgpu');
  $('#adapter').textContent = adapter.available ? `(adapter: ${adapter.description || 'unnamed'}; ${CAVEAT})` : `(${adapter.reason})`;
  // Without an adapter WebGPU stays selectable: the report then says why it did not run.
  if (!explicitBackends) box.checked = adapter.available;
  report.dataset.adapter = adapter.available ? 'yes' : 'no';
});
