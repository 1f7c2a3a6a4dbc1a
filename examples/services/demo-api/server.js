// demo-api: the one-service story of ferry (docs/ci.md, SCENARIOS story 1).
//
// GET /health answers 200 once the server is ready and 503 while it shuts down, so a readiness probe takes
// the pod out of the Service before it stops. GET / answers the version string, which is how a rolling
// update is seen from outside. SIGTERM: stop being ready, finish in-flight requests, close, exit 0.
'use strict';

const http = require('node:http');
const { version } = require('./package.json');

function createServer() {
  const state = { ready: false };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' });
      res.end('method not allowed\n');
    } else if (url.pathname === '/health') {
      res.writeHead(state.ready ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(state.ready ? 'ok\n' : 'shutting down\n');
    } else if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${version}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  });
  server.on('listening', () => {
    state.ready = true;
  });
  server.shutdown = () =>
    new Promise((resolve) => {
      state.ready = false;
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  return server;
}

function main() {
  const port = Number.parseInt(process.env.PORT || '3000', 10);
  const server = createServer();
  server.listen(port, () => {
    console.log(`demo-api ${version} listening on :${server.address().port}`);
  });
  process.on('SIGTERM', async () => {
    console.log('demo-api: SIGTERM, draining');
    await server.shutdown();
    process.exit(0);
  });
}

module.exports = { createServer, version };

if (require.main === module) {
  main();
}
