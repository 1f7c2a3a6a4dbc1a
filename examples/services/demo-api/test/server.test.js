'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { createServer, version } = require('../server.js');

async function listening() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

test('GET / answers the version from package.json', async () => {
  const { server, base } = await listening();
  try {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `${version}\n`);
  } finally {
    await server.shutdown();
  }
});

test('GET /health is 200 when ready', async () => {
  const { server, base } = await listening();
  try {
    const res = await fetch(`${base}/health`);
    assert.equal(res.status, 200);
  } finally {
    await server.shutdown();
  }
});

test('unknown paths are 404 and writes are 405', async () => {
  const { server, base } = await listening();
  try {
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/`, { method: 'POST' })).status, 405);
  } finally {
    await server.shutdown();
  }
});

test('SIGTERM drains and exits 0', async () => {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'server.js')], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise((resolve) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('listening')) resolve();
    });
  });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(out, /SIGTERM, draining/);
});
