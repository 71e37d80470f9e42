// Stored and committed record encodings: round trip, and decoders throw only DecodeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../src/core/bytes.js';
import type { ShardId } from '../src/core/ids.js';
import {
  decodeAccountValue, decodeHead, decodeReceiptRow, decodeTxLocation, decodeTxRecord, encodeAccountValue, encodeHead, encodeReceiptRow, groupReceipts,
  encodeTxLocation, encodeTxRecord, TX_STATUS_APPLIED,
} from '../src/shard/records.js';

const U64 = (1n << 64n) - 1n;
const u64 = fc.bigInt({ min: 0n, max: U64 });
const shard = fc.stringMatching(/^[012]{0,6}$/).map((s) => s as ShardId);
const b = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

function onlyDecodeError(decode: (x: Uint8Array) => unknown) {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (x) => {
    try {
      decode(x);
    } catch (e) {
      assert.ok(e instanceof DecodeError, `${(e as Error).name}: ${(e as Error).message}`);
    }
  }), { numRuns: 1000 });
}

test('account value, tx record, receipt, tx location and head round-trip', () => {
  fc.assert(fc.property(u64, u64, (balance, nonce) => assert.deepEqual(decodeAccountValue(encodeAccountValue({ balance, nonce })), { balance, nonce })));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), fc.nat(), fc.nat(), (signedTx, epoch, index) => {
    const r = { signedTx, epoch, index, status: TX_STATUS_APPLIED };
    assert.deepEqual(decodeTxRecord(encodeTxRecord(r)), r);
  }));
  fc.assert(fc.property(b(32), shard, shard, fc.bigInt({ min: 0n, max: U64 - 1n }), b(20), u64, fc.nat(), (txid, src, dst, seq, to, amount, epoch) => {
    const r = { txid, src, dst, seq, to, amount, epoch };
    assert.deepEqual(groupReceipts(decodeReceiptRow(encodeReceiptRow([r]))), [r]);
  }));
  fc.assert(fc.property(fc.nat(), fc.nat({ max: 0xffffffff }), (epoch, index) => assert.deepEqual(decodeTxLocation(encodeTxLocation(epoch, index)), { epoch, index })));
  fc.assert(fc.property(fc.integer({ min: -1, max: 1e9 }), b(32), b(32), b(32), u64, u64, u64, u64, fc.tuple(u64, u64, u64), fc.array(fc.tuple(shard, u64), { maxLength: 5 }),
    (epoch, stateRoot, outboxRoot, snapshotHash, lamport, hlc, supply, committedTotal, [totalOutflow, totalInflow, totalFees], seqs) => {
      const h = { epoch, stateRoot, outboxRoot, snapshotHash, lamport, hlc, supply, committedTotal, totalOutflow, totalInflow, totalFees, outboxSeq: new Map(seqs) };
      assert.deepEqual(decodeHead(encodeHead(h)), h);
    }));
});

test('record decoders throw only DecodeError on arbitrary bytes', () => {
  for (const d of [decodeAccountValue, decodeTxRecord, (b: Uint8Array) => decodeReceiptRow(b), decodeTxLocation, decodeHead]) onlyDecodeError(d);
});
