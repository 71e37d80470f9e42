// Mempool: nonce-ordered per-sender queues, bounded future window, overall bound, funds rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Mempool, type PendingTx } from '../src/shard/mempool.js';

function ptx(sender: number, nonce: bigint, cost = 10n): PendingTx {
  const senderHex = sender.toString(16).padStart(40, '0');
  const idHex = `${senderHex}:${nonce}:${cost}`;
  return { id: new Uint8Array(32), idHex, senderHex, bytes: new Uint8Array(0), toAt: 0, amount: cost - 1n, nonce, cost, acceptedAt: 0 };
}
const rich = { balance: 1_000_000n, nonce: 0n };

test('out-of-order arrival within the window: takeReady returns exactly the contiguous run from the committed nonce', () => {
  fc.assert(fc.property(fc.shuffledSubarray([...Array(20).keys()], { minLength: 1 }), (nonces) => {
    const m = new Mempool({ window: 64 });
    for (const n of nonces) assert.ok(m.admit(ptx(1, BigInt(n)), rich).ok);
    const ready = m.takeReady(() => 0n).map((p) => Number(p.nonce));
    const set = new Set(nonces);
    let k = 0;
    while (set.has(k)) k++;
    assert.deepEqual(ready.sort((a, b) => a - b), [...Array(k).keys()]);
    m.abort();
  }));
});

test('nonces below the committed one are replays, a second tx at a pending nonce is a replay, same id is a duplicate', () => {
  const m = new Mempool();
  assert.equal(m.admit(ptx(1, 4n), { balance: 100n, nonce: 5n }).ok, false);
  const r1 = m.admit(ptx(1, 4n), { balance: 100n, nonce: 5n });
  assert.ok(!r1.ok && r1.reason === 'nonce-replayed');
  assert.ok(m.admit(ptx(1, 5n, 10n), { balance: 100n, nonce: 5n }).ok);
  const r2 = m.admit(ptx(1, 5n, 11n), { balance: 100n, nonce: 5n });
  assert.ok(!r2.ok && r2.reason === 'nonce-replayed');
  const r3 = m.admit(ptx(1, 5n, 10n), { balance: 100n, nonce: 5n });
  assert.ok(!r3.ok && r3.reason === 'duplicate');
  assert.equal(m.size, 1);
});

test('a nonce at or beyond next + window is refused as too far', () => {
  const m = new Mempool({ window: 8 });
  assert.ok(m.admit(ptx(1, 7n), rich).ok);
  const r = m.admit(ptx(1, 8n), rich);
  assert.ok(!r.ok && r.reason === 'nonce-too-far');
});

test('the pool is bounded: when full it refuses with mempool-full and does not grow', () => {
  const m = new Mempool({ maxSize: 3 });
  for (let s = 0; s < 3; s++) assert.ok(m.admit(ptx(s, 0n), rich).ok);
  const r = m.admit(ptx(9, 0n), rich);
  assert.ok(!r.ok && r.reason === 'mempool-full');
  assert.equal(m.size, 3);
});

test('pending debits in nonce order never exceed the committed balance, whatever the arrival order', () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.bigInt({ min: 1n, max: 60n })), { maxLength: 40 }),
    fc.bigInt({ min: 0n, max: 300n }),
    (arrivals, balance) => {
      const m = new Mempool({ window: 16 });
      const acct = { balance, nonce: 0n };
      const live = new Map<bigint, PendingTx>();
      for (const [n, cost] of arrivals) {
        const p = ptx(1, BigInt(n), cost);
        const r = m.admit(p, acct);
        if (r.ok) {
          live.set(p.nonce, p);
          for (const e of r.evicted) live.delete(e.nonce);
        }
      }
      let sum = 0n;
      for (const p of live.values()) sum += p.cost;
      assert.ok(sum <= balance, `pending ${sum} <= balance ${balance}`);
      assert.equal(m.size, live.size);
    }), { numRuns: 300 });
});

test('commit removes sealed txs; abort keeps them pending', () => {
  const m = new Mempool();
  for (let n = 0n; n < 3n; n++) assert.ok(m.admit(ptx(1, n), rich).ok);
  const ready = m.takeReady(() => 0n);
  assert.equal(ready.length, 3);
  m.abort();
  assert.equal(m.size, 3);
  const again = m.takeReady(() => 0n);
  m.commit(again.slice(0, 2));
  assert.equal(m.size, 1);
  assert.equal(m.pendingNonce(ptx(1, 0n).senderHex, 2n), 3n);
});

test('transactions stuck behind a nonce gap expire after the ttl; ready ones never do', () => {
  const m = new Mempool();
  const old = (n: bigint) => ({ ...ptx(1, n), acceptedAt: 1000 });
  for (const n of [0n, 1n, 3n, 4n]) assert.ok(m.admit(old(n), rich).ok);
  assert.deepEqual(m.expireStuck(() => 0n, 1500, 1000), [], 'not old enough');
  const dropped = m.expireStuck(() => 0n, 5000, 1000).map((p) => p.nonce);
  assert.deepEqual(dropped.sort(), [3n, 4n]);
  assert.equal(m.size, 2);
  assert.equal(m.pendingNonce(ptx(1, 0n).senderHex, 0n), 2n);
});

test('commit after out-of-order admissions leaves exactly the unsealed transactions (model check)', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 12 })), { maxLength: 60 }), (arrivals) => {
    const m = new Mempool({ window: 16 });
    const model = new Map<string, PendingTx>();
    for (const [s, n] of arrivals) {
      const p = ptx(s, BigInt(n));
      if (m.admit(p, rich).ok) model.set(p.idHex, p);
    }
    const ready = m.takeReady(() => 0n);
    m.commit([...ready].sort((a, b) => (a.senderHex < b.senderHex ? -1 : a.senderHex > b.senderHex ? 1 : Number(a.nonce - b.nonce))));
    for (const p of ready) model.delete(p.idHex);
    assert.equal(m.size, model.size);
    for (const id of model.keys()) assert.ok(m.has(id));
    // the remaining ones can still be sealed later once the gap is filled: queue state is consistent
    for (const p of model.values()) assert.equal(m.get(p.idHex), p);
  }), { numRuns: 200 });
});
