// The compact batch body (src/shard/tx-batch.ts): signed transfers concatenated, split back by the
// length each one carries. Properties: split(join(txs)) gives back exactly txs; a body that is not an
// exact concatenation (cut anywhere, or with bytes appended) is refused whole; the limit holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { keyPairFromSeed } from '../src/core/ed25519.js';
import { encodeSignedTx, signTransfer } from '../src/shard/tx.js';
import { joinSignedTxs, splitSignedTxs, TxBatchError } from '../src/shard/tx-batch.js';

const key = keyPairFromSeed(new Uint8Array(32).fill(3));
const txOf = (net: string, nonce: number): Uint8Array =>
  encodeSignedTx(signTransfer({ network: net, from: key.publicKey, to: new Uint8Array(20).fill(nonce & 0xff), amount: 1n, fee: 0n, nonce: BigInt(nonce), ts: 0n }, key.secretKey));
const arbNet = fc.stringMatching(/^[a-z0-9-]{1,64}$/);
const arbTxs = fc.array(fc.tuple(arbNet, fc.nat(1000)), { minLength: 1, maxLength: 12 }).map((l) => l.map(([n, i]) => txOf(n, i)));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('split(join(txs)) is txs, as views of the body', () => {
  fc.assert(fc.property(arbTxs, (txs) => {
    const body = joinSignedTxs(txs);
    const got = splitSignedTxs(body, 100);
    assert.deepEqual(got.map(hex), txs.map(hex));
    for (const g of got) assert.equal(g.buffer, body.buffer);
  }), { numRuns: 100 });
});

test('a body cut short anywhere, or with bytes appended, is refused as bad-request', () => {
  fc.assert(fc.property(arbTxs, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 200 }), (txs, cutAt, extra) => {
    const body = joinSignedTxs(txs);
    const cut = cutAt % body.length; // 0 .. length-1 bytes kept
    const boundaries = new Set<number>();
    let o = 0;
    for (const t of txs) boundaries.add((o += t.length));
    if (cut === 0 || !boundaries.has(cut)) {
      assert.throws(() => splitSignedTxs(body.subarray(0, cut), 100), (e: unknown) => e instanceof TxBatchError && e.code === 'bad-request');
    }
    // appended bytes never split into a whole transfer of their own unless they happen to be one
    let whole = false;
    try {
      splitSignedTxs(extra, 100);
      whole = true;
    } catch { /* expected */ }
    if (!whole) assert.throws(() => splitSignedTxs(joinSignedTxs([body, extra]), 100), (e: unknown) => e instanceof TxBatchError && e.code === 'bad-request');
  }), { numRuns: 200 });
});

test('more than max transfers is batch-too-large; exactly max splits', () => {
  const t = txOf('n', 1);
  assert.equal(splitSignedTxs(joinSignedTxs(Array(5).fill(t)), 5).length, 5);
  assert.throws(() => splitSignedTxs(joinSignedTxs(Array(6).fill(t)), 5), (e: unknown) => e instanceof TxBatchError && e.code === 'batch-too-large');
});
