// The prover service's plan as a long poll (src/proof/prover-service.ts): a node asking with the
// version it holds is answered when the plan changes or after the hold time, not polled every 2 s.
// A real service (one prover process) on a loopback port and the nodes' real client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import pino from 'pino';
import { circuitsBuilt, artifactsDir } from '../src/proof/artifacts.js';
import { ProverService, RemoteProofPool } from '../src/proof/prover-service.js';

const skip = circuitsBuilt() ? false : `circuits not built in ${artifactsDir()}: run npm run build:circuits`;

test('plan long poll: at once without a version or with another one; held while unchanged (answered after the hold time); answered at once when the service closes', { skip }, async () => {
  const holdMs = 700;
  const svc = new ProverService({ workers: 1, depth: 2, epochMs: 1000, genesisTime: Date.now(), logger: pino({ level: 'silent' }), planHoldMs: holdMs });
  const port = await svc.listen();
  const client = new RemoteProofPool(`http://127.0.0.1:${port}`);
  try {
    let t = Date.now();
    const first = await client.plan();
    assert.ok(Date.now() - t < holdMs, 'a request without a version is answered at once');
    assert.equal(first.version, 0);
    assert.ok(first.segments.length >= 1 && first.choice.why.length > 0);
    t = Date.now();
    const other = await client.plan(first.version + 3);
    assert.ok(Date.now() - t < holdMs, 'a version the service does not hold is answered at once');
    assert.deepEqual(other.segments, first.segments);
    t = Date.now();
    const held = await client.plan(first.version);
    const waited = Date.now() - t;
    assert.ok(waited >= holdMs - 50, `held while the plan stays the same (answered after ${waited} ms)`);
    assert.equal(held.version, first.version);
    assert.deepEqual(held.segments, first.segments);
    // a request held when the service closes is answered then, not after its hold time
    const slow = new ProverService({ workers: 1, depth: 2, epochMs: 1000, genesisTime: Date.now(), logger: pino({ level: 'silent' }), planHoldMs: 60_000 });
    const slowClient = new RemoteProofPool(`http://127.0.0.1:${await slow.listen()}`);
    const v = (await slowClient.plan()).version;
    t = Date.now();
    const pending = slowClient.plan(v);
    await new Promise((r) => setTimeout(r, 200));
    await slow.close();
    assert.equal((await pending).version, v);
    assert.ok(Date.now() - t < 10_000, 'answered when the service closed');
  } finally {
    await client.close();
    await svc.close();
  }
});

test('a held plan request sets no periodic timer in the node (fetch ticked a shared timer every 500 ms while it waited)', { skip }, async () => {
  // every timer from here on, and whether the service made it (its sampler, its hold timer) or the client
  const service = new Set<number>();
  const other = new Set<number>();
  let ran = 0;
  let counting = false;
  const hook = createHook({
    init(id, type) {
      if (type !== 'Timeout') return;
      const o: { stack?: string } = {};
      Error.captureStackTrace(o);
      // the service's and its HTTP server's (the Date header's cache) apart from the client's
      (/ProverService\.|node:_http_server/.test(o.stack ?? '') ? service : other).add(id);
    },
    before(id) { if (counting && other.has(id)) ran++; },
  });
  hook.enable();
  const holdMs = 1600;
  const svc = new ProverService({ workers: 1, depth: 2, epochMs: 1000, genesisTime: Date.now(), logger: pino({ level: 'silent' }), planHoldMs: holdMs });
  const client = new RemoteProofPool(`http://127.0.0.1:${await svc.listen()}`);
  try {
    const v = (await client.plan()).version;
    counting = true;
    const held = await client.plan(v);
    counting = false;
    assert.equal(held.version, v);
    assert.ok(service.size > 0, 'the service\'s timers are told apart');
    assert.equal(ran, 0, `${ran} timer callbacks outside the service while one request was held ${holdMs} ms`);
  } finally {
    hook.disable();
    await client.close();
    await svc.close();
  }
});
