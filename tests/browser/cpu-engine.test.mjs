// Which CPU engine the page loads (web/lib/backend.js), without a browser: the `?simd=`
// override, the choice, and the relaxed-SIMD probe module. The smoke test checks the choice
// in Chromium (which has relaxed SIMD) and that both engines equal the CLI.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

import { chooseCpuEngine, relaxedSimdAvailable, requestedSimd } from '../../web/lib/backend.js';

test('?simd= asks for plain or relaxed; anything else is auto', () => {
  assert.equal(requestedSimd('?simd=plain'), 'plain');
  assert.equal(requestedSimd('?backend=cpu&simd=relaxed'), 'relaxed');
  assert.equal(requestedSimd(''), 'auto');
  assert.equal(requestedSimd('?simd=fast'), 'auto');
});

test('the relaxed engine only where it is asked for or allowed, and the browser has it', () => {
  assert.deepEqual(chooseCpuEngine('auto', true), { relaxed: true, reason: '' });
  assert.equal(chooseCpuEngine('relaxed', true).relaxed, true);
  for (const requested of ['auto', 'relaxed']) {
    const choice = chooseCpuEngine(requested, false);
    assert.equal(choice.relaxed, false);
    assert.match(choice.reason, /no relaxed SIMD/);
  }
  const plain = chooseCpuEngine('plain', true);
  assert.equal(plain.relaxed, false);
  assert.match(plain.reason, /\?simd=plain/);
});

test('the probe validates exactly where V8 has relaxed SIMD', (t) => {
  // Node 20's V8 has it behind a flag: the same probe, in a child process with and without it.
  const probe = "import('./web/lib/backend.js').then((m) => process.stdout.write(String(m.relaxedSimdAvailable())))";
  const run = (flags) => spawnSync(process.execPath, [...flags, '--input-type=module', '-e', probe], { cwd: new URL('../..', import.meta.url), encoding: 'utf8' });
  const flagged = run(['--experimental-wasm-relaxed-simd']);
  if (flagged.status !== 0 && /bad option/.test(flagged.stderr)) {
    // A Node whose V8 ships relaxed SIMD without the flag.
    assert.equal(relaxedSimdAvailable(), true);
    t.skip(`no V8 flag to switch relaxed SIMD off in Node ${process.version}`);
    return;
  }
  assert.equal(flagged.status, 0, flagged.stderr);
  assert.equal(flagged.stdout, 'true', 'relaxed SIMD switched on: the probe validates');
  const plain = run(['--no-experimental-wasm-relaxed-simd']);
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(plain.stdout, 'false', 'relaxed SIMD switched off: the probe does not validate');
  assert.equal(typeof relaxedSimdAvailable(), 'boolean');
});
