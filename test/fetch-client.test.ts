// The request client (src/gossip/fetch-client.ts) against a scripted transport: who is asked, when,
// and whose answer is taken. Bounded in time (real timers of tens of ms).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { askAtOnce, askInTurn, type AskOptions } from '../src/gossip/fetch-client.js';

/** Per peer: the answer (bytes, or an Error to fail with, or 'silent' to never answer) and its delay. */
type Script = Record<string, { answer: Uint8Array | Error | 'silent'; ms: number }>;

function transport(script: Script) {
  const asked: { peer: string; at: number }[] = [];
  const t0 = Date.now();
  const p2p: AskOptions['p2p'] = {
    request: (peer) => {
      asked.push({ peer, at: Date.now() - t0 });
      const s = script[peer]!;
      if (s.answer === 'silent') return new Promise<Uint8Array>(() => {});
      const a = s.answer;
      return new Promise<Uint8Array>((resolve, reject) => setTimeout(() => (a instanceof Error ? reject(a) : resolve(a)), s.ms));
    },
  };
  return { p2p, asked };
}

const ok = new Uint8Array([1]);
const none = new Uint8Array();
const base = (p2p: AskOptions['p2p'], peers: string[]) => ({ p2p, protocol: '/t/1', peers, request: new Uint8Array([0]), timeoutMs: 1000, take: (b: Uint8Array) => b[0] === 1 });

test('hedged: when the first peer answers, it is the only one asked', async () => {
  const { p2p, asked } = transport({ a: { answer: ok, ms: 5 }, b: { answer: ok, ms: 5 }, c: { answer: ok, ms: 5 } });
  const stats = { fetchesMade: 0, fetchesRefused: 0 };
  assert.equal(await askAtOnce({ ...base(p2p, ['a', 'b', 'c']), hedgeMs: 200, stats }), 'a');
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(asked.map((x) => x.peer), ['a']);
  assert.deepEqual(stats, { fetchesMade: 1, fetchesRefused: 0 });
});

test('hedged: a silent peer holds the next back by hedgeMs only; an empty, failed or refused answer moves on at once', async () => {
  const silent = transport({ a: { answer: 'silent', ms: 0 }, b: { answer: ok, ms: 5 } });
  const t0 = Date.now();
  assert.equal(await askAtOnce({ ...base(silent.p2p, ['a', 'b']), hedgeMs: 60 }), 'b');
  assert.ok(silent.asked[1]!.at >= 50, `b asked after the hedge (${silent.asked[1]!.at} ms)`);
  assert.ok(Date.now() - t0 < 900, 'well before the request timeout');

  const refused: string[] = [];
  const bad = transport({ a: { answer: none, ms: 5 }, b: { answer: new Error('down'), ms: 5 }, c: { answer: new Uint8Array([2]), ms: 5 }, d: { answer: ok, ms: 5 } });
  assert.equal(await askAtOnce({ ...base(bad.p2p, ['a', 'b', 'c', 'd']), hedgeMs: 500, onRefused: (p) => refused.push(p) }), 'd');
  assert.deepEqual(bad.asked.map((x) => x.peer), ['a', 'b', 'c', 'd']);
  assert.ok(bad.asked[3]!.at < 300, `each next one asked as soon as the previous gave nothing usable (${bad.asked.map((x) => x.at)})`);
  assert.deepEqual(refused, ['b', 'c']);
});

test('hedgeMs 0 asks every peer at once; nothing usable from anyone resolves to undefined once all have settled', async () => {
  const { p2p, asked } = transport({ a: { answer: none, ms: 40 }, b: { answer: new Error('x'), ms: 10 }, c: { answer: none, ms: 20 } });
  const t0 = Date.now();
  assert.equal(await askAtOnce({ ...base(p2p, ['a', 'b', 'c']), hedgeMs: 0 }), undefined);
  assert.ok(Date.now() - t0 >= 35, 'waited for the slowest');
  assert.ok(asked.every((x) => x.at < 20), `all asked at once (${asked.map((x) => x.at)})`);
  assert.equal(await askAtOnce({ ...base(p2p, []) }), undefined);
});

test('cancelled: no further peer is asked', async () => {
  const { p2p, asked } = transport({ a: { answer: none, ms: 5 }, b: { answer: ok, ms: 5 } });
  let stop = false;
  const p = askAtOnce({ ...base(p2p, ['a', 'b']), hedgeMs: 100, cancelled: () => stop });
  stop = true;
  assert.equal(await p, undefined);
  assert.deepEqual(asked.map((x) => x.peer), ['a']);
  assert.equal(await askInTurn({ ...base(p2p, ['a', 'b']), cancelled: () => true }), undefined);
});
