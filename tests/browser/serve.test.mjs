// Tests of the static server itself (no browser): MIME types, caching, path confinement.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startServer } from './serve.mjs';

let dir;
let root;
let server;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'genrescope-serve-'));
  root = path.join(dir, 'web');
  await mkdir(path.join(root, 'pkg'), { recursive: true });
  await writeFile(path.join(root, 'index.html'), '<!doctype html><title>t</title>');
  await writeFile(path.join(root, 'app.js'), 'export {};');
  await writeFile(path.join(root, 'pkg', 'm.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  await writeFile(path.join(dir, 'secret.txt'), 'outside');
  await symlink(path.join(dir, 'secret.txt'), path.join(root, 'link.txt'));
  server = await startServer({ root, port: 0 });
});

after(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Sends the request line verbatim (fetch would normalise `..` away). */
function get(rawPath, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: rawPath, method }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serves index.html for / with no-cache', async () => {
  const r = await get('/');
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/html/);
  assert.equal(r.headers['cache-control'], 'no-cache');
});

test('serves .js as text/javascript and .wasm as application/wasm', async () => {
  const js = await get('/app.js');
  assert.equal(js.status, 200);
  assert.match(js.headers['content-type'], /^text\/javascript/);
  const wasm = await get('/pkg/m.wasm?v=1');
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers['content-type'], 'application/wasm');
  assert.equal(wasm.headers['cache-control'], 'no-cache');
  assert.equal(wasm.body.length, 8);
});

test('refuses paths outside the root', async () => {
  for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/pkg/../../secret.txt', '/..%2fsecret.txt', '/link.txt']) {
    const r = await get(p);
    assert.ok(r.status === 403 || r.status === 404, `${p} -> ${r.status}`);
    assert.doesNotMatch(r.body, /outside/, p);
  }
});

test('404 for missing files, 405 for other methods', async () => {
  assert.equal((await get('/nope.js')).status, 404);
  assert.equal((await get('/', 'POST')).status, 405);
});
