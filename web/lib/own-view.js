// The "Your own genres" section: categories and their examples (drop files on a category,
// choose files, or pick a folder of sub-folders), the analysis progress with Cancel, Train,
// the cross-validated estimate with its confusion matrix, Adopt, and the adopted models
// (use, rename, export as .gscope, delete).
//
// Test hooks: each category is an `li.own-category[data-name]` holding an
// `input[type=file]`; #own-train; #own-report[data-accuracy][data-correct][data-tracks];
// each adopted model an `li.own-model[data-id]` with buttons [data-action=use|export|
// rename|delete].

import { bytes, h, ms, percent } from './format.js';
import { MIN_EXAMPLES, SUGGESTED_EXAMPLES } from './own-genres.js';
import { renderOwnAvailability } from './status.js';

const STATE_TEXT = {
  queued: 'waiting',
  hashing: 'reading',
  embedding: 'analysing',
  ready: 'ready',
  stored: 'looking in storage',
  missing: 'not stored',
  error: 'failed',
  cancelled: 'cancelled',
};

export class OwnView {
  constructor(root, own, { activeModel = null } = {}) {
    this.root = root;
    this.own = own;
    this.activeModel = activeModel;
    const $ = (sel) => root.querySelector(sel);
    this.el = {
      form: $('#own-add'),
      name: $('#own-category-name'),
      folder: $('#own-folder'),
      categories: $('#own-categories'),
      status: $('#own-status'),
      train: $('#own-train'),
      trainNote: $('#own-train-note'),
      report: $('#own-report'),
      models: $('#own-models'),
      note: $('#own-note'),
    };
    this.el.form.addEventListener('submit', (event) => {
      event.preventDefault();
      try {
        this.own.addCategory(this.el.name.value);
        this.el.name.value = '';
        this.say('');
      } catch (err) {
        this.say(err.message);
      }
    });
    this.el.folder.addEventListener('change', async () => {
      const files = [...this.el.folder.files];
      this.el.folder.value = '';
      try {
        const { categories, loose } = await this.own.addFolder(files);
        this.say(categories ? (loose ? `${loose} file${loose === 1 ? '' : 's'} outside a sub-folder or not audio were left out.` : '') : 'The folder has no sub-folders of audio files: each sub-folder is one category.');
      } catch (err) {
        this.say(err.message);
      }
    });
    this.el.train.addEventListener('click', () => {
      if (this.own.training?.state === 'running') this.own.cancelTraining();
      else this.own.train().catch((err) => this.say(err.message));
    });
    own.addEventListener('change', () => this.render());
    own.pool.addEventListener('status', () => this.render());
    this.render();
  }

  say(text) {
    this.el.note.textContent = text;
  }

  render() {
    const own = this.own;
    const embedder = own.embedder;
    const loading = own.pool.status.phase === 'loading';
    const unavailable = renderOwnAvailability(this.root, embedder, loading);
    this.el.categories.replaceChildren(...own.categories.map((c) => this.category(c)));
    if (!unavailable) {
      const n = own.counts();
      this.el.status.replaceChildren(
        n.busy ? `Analysing: ${n.ready} of ${n.total} examples ready… ` : n.total ? `${n.ready} of ${n.total} examples ready.` : '',
        n.busy ? h('button', { type: 'button', class: 'quiet', onclick: () => own.cancelAnalyses() }, 'Cancel') : '',
      );
    }
    const { ok, reason } = own.readiness();
    const running = own.training?.state === 'running';
    this.el.train.disabled = !ok && !running;
    this.el.train.textContent = running ? 'Cancel training' : 'Train';
    this.el.trainNote.textContent = running ? `Training… ${own.training.done} of ${own.training.total} fits` : ok ? this.thinNote() : reason;
    this.renderReport();
    this.renderModels();
  }

  /** A hint when categories have fewer examples than a useful estimate needs. */
  thinNote() {
    const thin = this.own.categories.filter((c) => c.examples.filter((e) => e.state === 'ready').length < SUGGESTED_EXAMPLES);
    return thin.length ? `With fewer than ${SUGGESTED_EXAMPLES} examples in ${thin.map((c) => `“${c.name}”`).join(', ')}, the estimate will be rough.` : '';
  }

  category(c) {
    const own = this.own;
    const input = h('input', { type: 'file', multiple: true, accept: 'audio/*,.au,.snd,.aif,.aiff,.aifc,.caf,.flac,.ogg,.oga,.opus,.webm,.mka,.m4a,.mp4,.wav,.mp3', class: 'sr-only', id: `own-files-${c.id}` });
    input.addEventListener('change', () => {
      const files = [...input.files];
      input.value = '';
      own.addFiles(c.id, files);
    });
    const ready = c.examples.filter((e) => e.state === 'ready').length;
    const li = h(
      'li',
      { class: 'own-category', dataset: { name: c.name, ready: String(ready) } },
      h('div', { class: 'own-category-head' },
        h('strong', {}, c.name),
        h('span', { class: 'muted small' }, `${ready} of ${c.examples.length} example${c.examples.length === 1 ? '' : 's'} ready${ready < MIN_EXAMPLES ? ` (at least ${MIN_EXAMPLES} needed)` : ''}`),
        h('span', { class: 'actions' },
          h('label', { class: 'link', for: input.id }, 'Add files'),
          input,
          h('button', { type: 'button', class: 'quiet', onclick: () => own.removeCategory(c.id), 'aria-label': `Remove the category ${c.name}` }, 'Remove'))),
      h('ul', { class: 'own-examples' }, ...c.examples.map((e) =>
        h('li', { class: 'own-example', dataset: { state: e.state }, title: e.message || undefined },
          h('span', {}, e.name),
          h('span', { class: 'muted small' }, e.state === 'ready' ? `${e.patches} patches` : STATE_TEXT[e.state] ?? e.state),
          e.message ? h('span', { class: 'small own-error' }, e.message) : '',
          h('button', { type: 'button', class: 'quiet small', onclick: () => own.removeExample(c.id, e.id), 'aria-label': `Remove ${e.name}` }, '×')))),
    );
    li.addEventListener('dragover', (event) => {
      event.preventDefault();
      li.classList.add('over');
    });
    li.addEventListener('dragleave', () => li.classList.remove('over'));
    li.addEventListener('drop', (event) => {
      // Prevented, so the page's drop zone leaves these files alone (lib/drop.js).
      event.preventDefault();
      li.classList.remove('over');
      own.addFiles(c.id, [...(event.dataTransfer?.files ?? [])]);
    });
    return li;
  }

  renderReport() {
    const t = this.own.training;
    const report = this.el.report;
    if (!t || t.state === 'running') {
      report.hidden = true;
      return;
    }
    report.hidden = false;
    if (t.state === 'error') {
      report.dataset.state = 'error';
      report.replaceChildren(h('p', { class: 'own-error' }, `Training failed: ${t.message}`));
      return;
    }
    const r = t.report;
    const tracks = r.tracksPerLabel.reduce((a, b) => a + b, 0);
    Object.assign(report.dataset, { state: 'done', accuracy: String(r.accuracy), correct: String(r.correct), tracks: String(tracks), folds: String(r.folds) });
    const matrix = h('table', { class: 'own-confusion' },
      h('caption', { class: 'small muted' }, 'Held-out tracks: true category (rows) against the answer (columns)'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, ''), ...r.labels.map((l) => h('th', { scope: 'col' }, l)))),
      h('tbody', {}, ...r.labels.map((l, i) => h('tr', {}, h('th', { scope: 'row' }, l), ...r.confusion[i].map((n, j) => h('td', { class: n && i !== j ? 'num off' : 'num' }, String(n)))))));
    const c = r.calibration?.calibration;
    const name = h('input', { id: 'own-adopt-name', type: 'text', value: r.labels.join(' / '), 'aria-label': 'Name of the new model', maxlength: '80' });
    report.replaceChildren(
      h('p', { class: 'own-accuracy' },
        h('strong', {}, `Cross-validated accuracy: ${percent(r.accuracy)} ± ${percent(r.accuracyStd)}`),
        ` (${r.correct} of ${tracks} held-out tracks right, ${r.folds}-fold by track; chance is ${percent(1 / r.labels.length)}).`),
      matrix,
      h('p', { class: 'small muted' },
        c ? `Calibrated on those held-out answers: answers below ${percent(c.uncertainBelow ?? c.uncertain_below ?? 0)} confidence are shown as unsure. ` : '',
        `It keeps the base model's music detector${this.own.pool.status.model?.tags?.length ? ' and Million Song Dataset tags' : ''}; it only knows these ${r.labels.length} categories, so music of another kind gets one of them. `,
        `Trained on ${r.patches} patches of ${tracks} tracks in ${ms(t.report.wallMs)}.`),
      h('form', { class: 'own-adopt', onsubmit: (event) => {
        event.preventDefault();
        this.own.adopt(name.value).then((id) => this.say(`Adopted. Use it from “Your models” below.`), (err) => this.say(err.message));
      } }, name, h('button', { id: 'own-adopt', type: 'submit' }, 'Adopt')),
    );
  }

  renderModels() {
    const models = this.own.models;
    this.el.models.replaceChildren(...models.map((m) => {
      const rename = h('input', { type: 'text', value: m.name, 'aria-label': `Name of ${m.name}`, maxlength: '80' });
      const active = m.id === this.activeModel;
      const accuracy = m.report ? `${percent(m.report.accuracy)} cross-validated` : '';
      return h('li', { class: 'own-model', dataset: { id: m.id, active: active ? 'yes' : 'no' } },
        h('div', {},
          h('strong', {}, m.name), active ? h('span', { class: 'badge' }, 'in use') : '',
          h('div', { class: 'small muted' }, `${m.labels.join(', ')} · ${accuracy} · ${m.created.slice(0, 10)} · ${bytes(m.bytes)}`)),
        h('div', { class: 'actions' },
          active
            ? h('a', { href: this.own.modelAddress(null), 'data-action': 'use-default' }, 'Use the default model')
            : h('a', { href: this.own.modelAddress(m.id), 'data-action': 'use' }, 'Use'),
          h('button', { type: 'button', 'data-action': 'export', onclick: () => this.own.exportModel(m.id).catch((err) => this.say(err.message)) }, 'Export .gscope'),
          rename,
          h('button', { type: 'button', class: 'quiet', 'data-action': 'rename', onclick: () => this.own.renameModel(m.id, rename.value) }, 'Rename'),
          h('button', { type: 'button', class: 'quiet', 'data-action': 'delete', onclick: () => this.own.deleteModel(m.id) }, 'Delete')));
    }));
    this.el.models.hidden = models.length === 0;
  }
}
