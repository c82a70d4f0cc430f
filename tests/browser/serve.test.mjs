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
function get(rawPath, method = 'GET', headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: rawPath, method, headers }, (res) => {
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

test('sends validators and answers a conditional request for an unchanged file with 304', async () => {
  const first = await get('/app.js');
  assert.equal(first.status, 200);
  const etag = first.headers.etag;
  assert.match(etag ?? '', /^"[0-9a-f]+-[0-9a-f]+"$/);
  assert.ok(first.headers['last-modified']);
  const again = await get('/app.js', 'GET', { 'If-None-Match': etag });
  assert.equal(again.status, 304);
  assert.equal(again.body, '');
  const since = await get('/app.js', 'GET', { 'If-Modified-Since': first.headers['last-modified'] });
  assert.equal(since.status, 304);
  // A changed file is sent again, whole.
  await writeFile(path.join(root, 'app.js'), 'export const changed = 1;');
  const changed = await get('/app.js', 'GET', { 'If-None-Match': etag });
  assert.equal(changed.status, 200);
  assert.equal(changed.body, 'export const changed = 1;');
  assert.notEqual(changed.headers.etag, etag);
  assert.equal((await get('/app.js', 'GET', { 'If-None-Match': '"other"' })).status, 200);
});
