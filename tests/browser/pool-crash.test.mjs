// The engine pool's crash recovery (web/lib/engine.js), in Node with a scripted stand-in for
// the worker: a file whose worker dies (a wasm trap) is tried once more on a fresh worker and
// then fails with the cause the worker reported; the other files of the batch are classified.
// A worker left holding about 1 GB of wasm memory by a huge file is replaced.
// No browser or wasm build needed: `node --test tests/browser/pool-crash.test.mjs`.

import { test } from 'node:test';
import assert from 'node:assert/strict';

/** Workers started so far, each with the file names it was given. */
const started = [];

/** A Worker that answers like web/worker.js: a file named hostile* makes it crash. */
class ScriptedWorker {
  constructor() {
    this.files = [];
    this.terminated = false;
    started.push(this);
  }

  postMessage(msg) {
    setTimeout(() => {
      if (this.terminated) return;
      if (msg.type === 'init') {
        this.onmessage({ data: { type: 'ready', info: { backend: 'cpu', model: { labels: [] } } } });
        return;
      }
      this.files.push(msg.name);
      const data = msg.name.startsWith('hostile')
        ? {
            type: 'error',
            id: msg.id,
            error: { message: 'the engine stopped on this file: TimeBase cannot have 0 numerator or denominator', code: 'crashed', crashed: true },
          }
        : { type: 'result', id: msg.id, result: { name: msg.name, timings: {}, memory: { engineBytes: 13e6, decoderBytes: msg.name.startsWith('huge') ? 1e9 : 2e6 } } };
      this.onmessage({ data });
    }, 1);
  }

  terminate() {
    this.terminated = true;
  }
}

globalThis.Worker = ScriptedWorker;
const { EnginePool } = await import('../../web/lib/engine.js');

test('a file that kills a worker twice fails with its cause; the rest of the batch is classified', { timeout: 5000 }, async () => {
  const pool = new EnginePool({ backend: 'cpu', maxWorkers: 1 });
  pool.modules.cpu = {};
  pool.bundle = new ArrayBuffer(8);
  const warn = console.warn;
  console.warn = () => {};
  try {
    await pool.startCpu(1);
    const names = ['a.wav', 'hostile.wav', 'b.wav'];
    const outcomes = await Promise.allSettled(names.map((name) => pool.classifyFile({ name })));
    assert.equal(outcomes[0].status, 'fulfilled');
    assert.equal(outcomes[0].value.name, 'a.wav');
    assert.equal(outcomes[2].status, 'fulfilled');
    assert.equal(outcomes[2].value.name, 'b.wav');
    assert.equal(outcomes[1].status, 'rejected');
    const error = outcomes[1].reason;
    assert.equal(error.code, 'crashed');
    assert.match(error.message, /TimeBase cannot have 0 numerator or denominator/);
    assert.doesNotMatch(error.message, /unreachable/);
    // Two workers died on the hostile file (tried twice, not forever); a third runs on.
    const tries = started.flatMap((w) => w.files).filter((n) => n === 'hostile.wav');
    assert.equal(tries.length, 2);
    assert.equal(started.filter((w) => w.terminated).length, 2);
    assert.equal(pool.workers.filter((w) => !w.dead).length, 1);
  } finally {
    console.warn = warn;
  }
});

test('a worker left holding too much wasm memory is replaced after its job', { timeout: 5000 }, async () => {
  const pool = new EnginePool({ backend: 'cpu', maxWorkers: 2 });
  pool.modules.cpu = {};
  pool.bundle = new ArrayBuffer(8);
  const info = console.info;
  console.info = () => {};
  try {
    await pool.startCpu(2);
    const before = started.length;
    const first = await pool.classifyFile({ name: 'a.wav' });
    assert.equal(first.name, 'a.wav');
    assert.equal(started.length, before, 'a small job keeps its worker');
    const huge = await pool.classifyFile({ name: 'huge.flac' });
    assert.equal(huge.name, 'huge.flac', 'the file itself is answered');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const bloated = started.find((w) => w.files.includes('huge.flac'));
    assert.ok(bloated.terminated, 'the worker that holds 1 GB is stopped');
    assert.equal(started.length, before + 1, 'and one fresh worker started');
    assert.equal(pool.workers.filter((w) => !w.dead && w.info).length, 2, 'the pool is back to two workers');
    const after = await Promise.all(['b.wav', 'c.wav', 'd.wav'].map((name) => pool.classifyFile({ name })));
    assert.deepEqual(after.map((r) => r.name), ['b.wav', 'c.wav', 'd.wav']);
    assert.ok(!bloated.files.includes('b.wav'), 'no later job goes to the stopped worker');
  } finally {
    console.info = info;
  }
});
