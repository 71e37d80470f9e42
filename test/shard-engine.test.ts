// The pure apply core: order-independent, value-conserving, per-destination receipt sequences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { homeShard } from '../src/core/address.js';
import { toHex } from '../src/core/bytes.js';
import type { ShardId } from '../src/core/ids.js';
import { applyEpoch, type ApplyTx, type EngineAccount } from '../src/shard/engine.js';
import { groupReceipts } from '../src/shard/records.js';
import { decodeSignedTxFull, encodeSignedTx, txIdOfTransferBytes } from '../src/shard/tx.js';

const DEPTH = 1;
const HERE = '0' as ShardId;

function addrOf(i: number): Uint8Array {
  const a = new Uint8Array(20);
  new DataView(a.buffer).setUint32(0, i * 2654435761 >>> 0);
  a[19] = i;
  return a;
}

function mk(sender: Uint8Array, to: Uint8Array, amount: bigint, fee: bigint, nonce: bigint): ApplyTx {
  const d = decodeSignedTxFull(encodeSignedTx({ tx: { network: 'n', from: new Uint8Array(32).fill(sender[19]!), to, amount, fee, nonce, ts: 0n }, signature: new Uint8Array(64) }));
  return { id: txIdOfTransferBytes(d.transferBytes), senderHex: toHex(sender), bytes: d.bytes, toAt: d.bytes.length - 64 - 52, amount, nonce, cost: amount + fee };
}

const arbPlan = fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 60 }), fc.bigInt({ min: 1n, max: 50n }), fc.bigInt({ min: 0n, max: 3n })), { minLength: 1, maxLength: 60 });

test('applyEpoch: the effects do not depend on the order of the input, and value is conserved', () => {
  fc.assert(fc.property(arbPlan, fc.integer(), (plan, seed) => {
    const senders = [...new Set(plan.map(([s]) => s))].map(addrOf).filter((a) => homeShard(a, DEPTH) === HERE);
    if (senders.length === 0) return;
    const accounts = new Map<string, EngineAccount>(senders.map((a) => [toHex(a), { address: a, balance: 10_000n, nonce: 0n }]));
    const nonces = new Map<string, bigint>();
    const txs: ApplyTx[] = [];
    for (const [s, r, amount, fee] of plan) {
      const sender = senders[s % senders.length]!;
      const n = nonces.get(toHex(sender)) ?? 0n;
      nonces.set(toHex(sender), n + 1n);
      txs.push(mk(sender, addrOf(r), amount, fee, n));
    }
    const run = (order: ApplyTx[]) => applyEpoch({ shard: HERE, depth: DEPTH, epoch: 3, txs: order, account: (h) => accounts.get(h), nextSeq: () => 5n });
    const shuffled = fc.sample(fc.shuffledSubarray(txs, { minLength: txs.length, maxLength: txs.length }), { seed, numRuns: 1 })[0]!;
    const a = run(txs);
    const b = run(shuffled);
    assert.deepEqual(a.records, b.records);
    assert.deepEqual(a.groups, b.groups);
    assert.deepEqual([...a.accounts].sort(), [...b.accounts].sort());
    // conservation: what left the touched accounts = fees + outflow
    let before = 0n;
    let afterSum = 0n;
    for (const [h, acc] of a.accounts) {
      before += accounts.get(h)?.balance ?? 0n;
      afterSum += acc.balance;
    }
    assert.equal(before - afterSum, a.fees + a.outflow);
    // receipts per destination count up from the committed next seq without gaps
    const byDst = new Map<string, bigint[]>();
    for (const r of a.groups.flatMap(groupReceipts)) byDst.set(r.dst, [...(byDst.get(r.dst) ?? []), r.seq]);
    for (const seqs of byDst.values()) assert.deepEqual(seqs, seqs.map((_, i) => 5n + BigInt(i)));
    // the committed input map was not mutated
    for (const acc of accounts.values()) assert.equal(acc.balance, 10_000n);
  }), { numRuns: 150 });
});
