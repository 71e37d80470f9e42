// The HTTP server's header-timeout check runs only while a connection is open
// (src/node/http-timeouts.ts): an idle node is not woken by it, and a slow client is still closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { closeServer, createHttpServer, listen, Router } from '../src/node/http.js';
import { trackTimers } from './support/timers.js';
import { waitFor } from './support/wait.js';

// every timer of this process from here on (the servers' are made later)
const timers = trackTimers();

test('a listening server with no connection runs no periodic timeout check (Node\'s own ran every 500 ms)', async () => {
  const server = createHttpServer(new Router(), { limits: { headersTimeoutMs: 200 } });
  const url = await listen(server, '127.0.0.1', 0);
  try {
    // the check interval would be 200 ms here: 1.2 s would see 5-6 of its callbacks
    let ticks = 0;
    const idle = await timers.during(async () => {
      const t = setInterval(() => ticks++, 400); // the only timer of this window, counted apart
      await new Promise((r) => setTimeout(r, 1200));
      clearInterval(t);
    });
    assert.ok(url.startsWith('http://127.0.0.1:'));
    assert.equal(idle - ticks - 1, 0, `${idle - ticks - 1} timer callbacks besides the test's own while the server was idle`);
  } finally {
    await closeServer(server);
  }
});

test('a client that never finishes its headers is still closed after the header timeout, and the check stops when it is gone', async () => {
  const server = createHttpServer(new Router(), { limits: { headersTimeoutMs: 300 } });
  const url = new URL(await listen(server, '127.0.0.1', 0));
  try {
    const t0 = Date.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const s = connect(Number(url.port), url.hostname, () => s.write('GET / HTTP/1.1\r\nHost: x\r\n')); // no blank line: headers never end
      s.on('error', () => {});
      s.resume(); // read the 408 so that 'close' can come
      s.on('close', () => resolve(Date.now() - t0));
      setTimeout(() => reject(new Error('the slow client was not closed within 10 s')), 10_000).unref();
    });
    // closed by the check (300 ms timeout, checked every 300 ms), not by anything at 5 s or later
    assert.ok(closedAfter >= 250 && closedAfter < 4000, `closed after ${closedAfter} ms`);
    // the server's side of the connection is gone too (it closes first; a slow machine may lag)
    await waitFor('the server to hold no connection', () => new Promise<boolean>((r) => server.getConnections((_e, n) => r(n === 0))), 5000, 20);
    const idle = await timers.during(() => new Promise((r) => setTimeout(r, 1000)));
    assert.equal(idle, 1, 'only the test\'s own timer ran once the connection was gone');
  } finally {
    await closeServer(server);
  }
});
