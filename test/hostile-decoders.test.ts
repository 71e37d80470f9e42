// Hostile inputs, part 1: every binary decoder in the tree, fed random bytes and mutations of valid
// encodings (bit flips, byte overwrites, truncations, extensions, spliced slices, duplicated
// ranges). Property, for each decoder: it never crashes with anything but DecodeError (or a
// subclass such as OversizedError), never hangs, and whatever it accepts re-encodes canonically when
// the codec is canonical. Fetch responses are the canonical encodings of signed snapshots and
// final aggregates, decoded by the same decoders (src/gossip/fetch.ts), so they are covered here.
// The run counts per decoder are printed and recorded in docs/SECURITY.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bn254 } from '@noble/curves/bn254.js';
import type { Groth16Proof } from 'snarkjs';
import { DecodeError } from '../src/core/bytes.js';
import { generateKeyPair } from '../src/core/ed25519.js';
import type { ShardId, TriadPath } from '../src/core/ids.js';
import { decodeSignedTx, decodeSignedTxFull, encodeSignedTx, scanSignedTx, signTransfer } from '../src/shard/tx.js';
import { decodeSignedSnapshot, decodeSnapshot, encodeSignedSnapshot, encodeSnapshot } from '../src/shard/snapshot.js';
import {
  decodeAccountValue, decodeHead, decodeOutboxLeaf, decodeReceiptRow, encodeOutboxLeaf, decodeTxLocation, decodeTxRecord, encodeAccountValue, encodeHead, encodeReceiptRow, encodeTxLocation, encodeTxRecord, groupReceipts, type ReceiptGroup,
} from '../src/shard/records.js';
import { computeAggregate, decodeAggregate, encodeAggregate, type ChildInput } from '../src/hierarchy/aggregate.js';
import { decodeFinalAggregate, encodeFinalAggregate, memberSigner, signAggregate, type FinalAggregate } from '../src/hierarchy/finality.js';
import { aggregationPath, decodeAggregationPath, encodeAggregationPath } from '../src/hierarchy/global.js';
import { decodeAggregateSig, decodeEnvelope, decodeLowestFinal, decodeTxBatch, encodeAggregateSig, encodeEnvelope, encodeLowestFinal, encodeTxBatch, GossipKind } from '../src/gossip/encoding.js';
import { decodeFetchRequest, encodeFetchRequest, FetchKind } from '../src/gossip/fetch.js';
import { decodeProof as decodeGroth16, encodeProof as encodeGroth16 } from '../src/proof/encoding.js';
import { decodeGlobalProof, encodeGlobalProof } from '../src/proof/global.js';
import { decodeTriadProof, encodeTriadProof } from '../src/proof/triad-proof.js';
import { TernaryTrie, MemoryNodeStore, decodeProof as decodeTrieProof, encodeProof as encodeTrieProof } from '../src/trie/index.js';
import { decodeRecord } from './support/trie-node-record.js';
import { decodeReceiptBatch, encodeReceiptBatch } from '../src/shard/receipts.js';
import { decodeCreditRow, decodeCursorValue, decodeInboxState, encodeCreditRow, encodeCursorValue, encodeInboxState } from '../src/shard/inbox.js';
import { decodeProofFetchRequest, decodeProofMessage, encodeProofFetchRequest, encodeProofMessage, ProofFetchKind } from '../src/gossip/proof-messages.js';
import { makeSignedSnapshot, makeSnapshot, makeTestNet } from './hierarchy-fixtures.js';

const RANDOM_RUNS = 1000;
const MUTATION_RUNS = 1000;

// ---------- valid encodings, one or more per decoder ----------
const net = makeTestNet(1, 'hostile');
const kp = generateKeyPair();
const signedTx = encodeSignedTx(signTransfer({ network: 'hostile', from: kp.publicKey, to: new Uint8Array(20).fill(7), amount: 1234n, fee: 2n, nonce: 5n, ts: 99n << 16n }, kp.secretKey));
const snap = makeSnapshot(net, '1' as ShardId, 3);
const signedSnap = makeSignedSnapshot(net, '2' as ShardId, 4);
const kids: ChildInput[] = ['0', '1', '2'].map((s) => ({ kind: 'snapshot', snapshot: makeSnapshot(net, s as ShardId, 4) }));
const agg = computeAggregate({ network: 'hostile', path: '' as TriadPath, epoch: 4, children: kids as never, prev: null });
const sig = (p: number) => signAggregate(agg, p, 0, net.keys.get(memberSigner(agg, p, 0, 1))!.secretKey);
const finalAgg: FinalAggregate = { aggregate: agg, signatures: [sig(0), sig(2)], children: null };

function groth16(a: bigint): Groth16Proof {
  const A = bn254.G1.Point.BASE.multiply(a).toAffine();
  const B = bn254.G2.Point.BASE.multiply(a + 1n).toAffine();
  const C = bn254.G1.Point.BASE.multiply(a + 2n).toAffine();
  return {
    pi_a: [A.x.toString(), A.y.toString(), '1'],
    pi_b: [[B.x.c0.toString(), B.x.c1.toString()], [B.y.c0.toString(), B.y.c1.toString()], ['1', '0']],
    pi_c: [C.x.toString(), C.y.toString(), '1'],
    protocol: 'groth16', curve: 'bn128',
  };
}
const proof = groth16(12345n);

async function trieFixtures(): Promise<{ proofs: Uint8Array[]; records: Array<[Uint8Array, Uint8Array]> }> {
  const store = new MemoryNodeStore();
  const t = await TernaryTrie.open(store, undefined, { recordBytes: 200 });
  const key = (i: number): Uint8Array => { const k = new Uint8Array(32); k[0] = i * 37; k[1] = i; k[31] = i; return k; };
  for (let i = 0; i < 40; i++) await t.put(key(i), new Uint8Array([i, i + 1, i + 2]));
  await t.commit();
  const proofs = [await t.prove(key(3)), await t.prove(key(200))].map((p) => encodeTrieProof(p));
  const records = [...store.map].filter(([, b]) => b[0] !== 0x06).slice(0, 8).map(([h, b]) => [Buffer.from(h, 'hex'), b] as [Uint8Array, Uint8Array]);
  return { proofs, records };
}

// ---------- the harness ----------
interface Case { name: string; valid: Uint8Array[]; decode: (b: Uint8Array) => unknown; encode?: (v: never) => Uint8Array; maxRandom?: number }

const mutation = (valid: Uint8Array[]) => fc.tuple(
  fc.nat(valid.length - 1),
  fc.oneof(
    fc.record({ k: fc.constant('flip' as const), i: fc.nat(), bit: fc.nat(7) }),
    fc.record({ k: fc.constant('set' as const), i: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ k: fc.constant('truncate' as const), i: fc.nat() }),
    fc.record({ k: fc.constant('extend' as const), tail: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
    fc.record({ k: fc.constant('splice' as const), i: fc.nat(), len: fc.nat(40), ins: fc.uint8Array({ maxLength: 40 }) }),
    fc.record({ k: fc.constant('dup' as const), i: fc.nat(), len: fc.nat(64) }),
    fc.record({ k: fc.constant('u32' as const), i: fc.nat(), v: fc.constantFrom(0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff) }),
  ),
  fc.array(fc.record({ i: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }),
).map(([which, m, extra]) => {
  const b = valid[which]!;
  let out: Uint8Array;
  const at = (i: number, n = b.length): number => (n === 0 ? 0 : i % n);
  switch (m.k) {
    case 'flip': out = b.slice(); if (b.length) out[at(m.i)]! ^= 1 << m.bit; break;
    case 'set': out = b.slice(); if (b.length) out[at(m.i)] = m.v; break;
    case 'truncate': out = b.slice(0, at(m.i)); break;
    case 'extend': out = new Uint8Array([...b, ...m.tail]); break;
    case 'splice': { const i = at(m.i, b.length + 1); out = new Uint8Array([...b.subarray(0, i), ...m.ins, ...b.subarray(Math.min(b.length, i + m.len))]); break; }
    case 'dup': { const i = at(m.i, b.length + 1); out = new Uint8Array([...b.subarray(0, i), ...b.subarray(i, i + m.len), ...b.subarray(i)]); break; }
    case 'u32': { out = b.slice(); const i = at(m.i); const dv = new DataView(out.buffer); if (i + 4 <= out.length) dv.setUint32(i, m.v); break; }
  }
  for (const e of extra) if (out.length) out[e.i % out.length] = e.v;
  return out;
});

function onlyDecodeError(c: Case, input: Uint8Array): void {
  let v: unknown;
  try {
    v = c.decode(input);
  } catch (e) {
    assert.ok(e instanceof DecodeError, `${c.name}: ${(e as Error)?.name}: ${(e as Error)?.message}`);
    return;
  }
  // accepted: a canonical codec gives back exactly the bytes it accepted
  if (c.encode) assert.deepEqual(Buffer.from(c.encode(v as never)), Buffer.from(input), `${c.name}: accepted a non-canonical encoding`);
}

/** A receipt batch (version 3): snapshot, one leaf proof, (count, head), rows of n consecutive receipts ending at count. */
function receiptBatchFixture(snapshot: typeof signedSnap, proofBytes: Uint8Array, n: number): Uint8Array {
  const count = 5n + BigInt(n);
  const receipts = Array.from({ length: n }, (_, i) => ({ txid: new Uint8Array(32).fill(i + 1), src: '2' as ShardId, dst: '1' as ShardId, seq: 5n + BigInt(i), to: new Uint8Array(20).fill(3), amount: 10n, epoch: 4 }));
  return encodeReceiptBatch({ snapshot, proof: decodeTrieProof(proofBytes), count, head: new Uint8Array(32).fill(7), receipts });
}

/** A receipt row: n receipts of one group (0 -> 2, epoch 8, seqs 4..). */
function receiptRowFixture(n: number): Uint8Array {
  return encodeReceiptRow(Array.from({ length: n }, (_, i) => ({ txid: new Uint8Array(32).fill(i + 1), src: '0' as ShardId, dst: '2' as ShardId, seq: 4n + BigInt(i), to: new Uint8Array(20).fill(3), amount: 55n + BigInt(i), epoch: 8 })));
}

const counts: Array<[string, number, number]> = [];

test('every decoder throws only DecodeError on random bytes and on mutations of valid encodings', { timeout: 120_000 }, async () => {
  const trie = await trieFixtures();
  const cases: Case[] = [
    { name: 'signed transaction (decodeSignedTx)', valid: [signedTx], decode: decodeSignedTx, encode: encodeSignedTx as never },
    { name: 'signed transaction, full (decodeSignedTxFull)', valid: [signedTx], decode: decodeSignedTxFull },
    { name: 'signed transaction, scanned in place for admission (scanSignedTx)', valid: [signedTx], decode: scanSignedTx },
    { name: 'snapshot (decodeSnapshot)', valid: [encodeSnapshot(snap)], decode: decodeSnapshot, encode: encodeSnapshot as never },
    { name: 'signed snapshot / fetch response (decodeSignedSnapshot)', valid: [encodeSignedSnapshot(signedSnap)], decode: decodeSignedSnapshot, encode: encodeSignedSnapshot as never },
    { name: 'triad aggregate (decodeAggregate)', valid: [encodeAggregate(agg)], decode: decodeAggregate, encode: encodeAggregate as never },
    { name: 'final aggregate / global snapshot / fetch response (decodeFinalAggregate)', valid: [encodeFinalAggregate(finalAgg)], decode: decodeFinalAggregate },
    { name: 'aggregation path (decodeAggregationPath)', valid: [encodeAggregationPath(aggregationPath(finalAgg, '1' as ShardId))], decode: decodeAggregationPath },
    { name: 'lowest final with snapshots (decodeLowestFinal)', valid: [encodeLowestFinal({ final: finalAgg, snapshots: [signedSnap, signedSnap] }), encodeLowestFinal({ final: finalAgg, snapshots: [] })], decode: decodeLowestFinal },
    { name: 'member signature message (decodeAggregateSig)', valid: [encodeAggregateSig({ aggregate: agg, signature: sig(1) })], decode: decodeAggregateSig, encode: encodeAggregateSig as never },
    { name: 'gossip envelope (decodeEnvelope)', valid: [encodeEnvelope({ network: 'hostile', kind: GossipKind.snapshot, payload: encodeSignedSnapshot(signedSnap) })], decode: decodeEnvelope },
    { name: 'gossip tx batch (decodeTxBatch)', valid: [encodeTxBatch([signedTx, signedTx])], decode: (b) => decodeTxBatch(b), encode: encodeTxBatch as never },
    { name: 'fetch request (decodeFetchRequest)', valid: [encodeFetchRequest({ kind: FetchKind.snapshot, path: '12', epoch: 77 }), encodeFetchRequest({ kind: FetchKind.globalLatest, path: '', epoch: 0 })], decode: decodeFetchRequest, encode: encodeFetchRequest as never },
    { name: 'account value (decodeAccountValue)', valid: [encodeAccountValue({ balance: 10n, nonce: 3n })], decode: decodeAccountValue },
    { name: 'tx record (decodeTxRecord)', valid: [encodeTxRecord({ signedTx, epoch: 4, index: 9, status: 0 })], decode: decodeTxRecord },
    { name: 'receipt row (decodeReceiptRow)', valid: [receiptRowFixture(1), receiptRowFixture(3)], decode: (b) => decodeReceiptRow(b), encode: ((g: ReceiptGroup) => encodeReceiptRow(groupReceipts(g))) as never },
    { name: 'receipt batch (decodeReceiptBatch)', valid: [receiptBatchFixture(signedSnap, trie.proofs[0]!, 0), receiptBatchFixture(signedSnap, trie.proofs[0]!, 3)], decode: decodeReceiptBatch },
    { name: 'outbox leaf (decodeOutboxLeaf)', valid: [encodeOutboxLeaf({ count: 9n, head: new Uint8Array(32).fill(4) })], decode: decodeOutboxLeaf, encode: encodeOutboxLeaf as never },
    { name: 'shard head (decodeHead)', valid: [encodeHead({ epoch: 3, stateRoot: new Uint8Array(32).fill(1), outboxRoot: new Uint8Array(32).fill(2), snapshotHash: new Uint8Array(32).fill(3), lamport: 4n, hlc: 5n << 16n, supply: 1000n, committedTotal: 7n, totalOutflow: 1n, totalInflow: 2n, totalFees: 3n, outboxSeq: new Map([['1', 2n]]) })], decode: decodeHead },
    { name: 'tx location (decodeTxLocation)', valid: [encodeTxLocation(5, 6)], decode: decodeTxLocation },
    { name: 'trie proof (trie decodeProof)', valid: trie.proofs, decode: (b) => decodeTrieProof(b) },
    { name: 'trie node record (decodeRecord)', valid: trie.records.map(([, b]) => b), decode: (b) => decodeRecord(b, new Uint8Array(32), 3) },
    { name: 'Groth16 proof (proof decodeProof)', valid: [encodeGroth16(proof)], decode: decodeGroth16 },
    { name: 'triad proof (decodeTriadProof)', valid: [encodeTriadProof({ path: '01', kind: 'triad_inner', children: [1n, 2n, 3n], publicSignals: ['4', '1', '2', '3', '4', '5', '6', '7'], proof })], decode: decodeTriadProof },
    { name: 'global state proof (decodeGlobalProof)', valid: [encodeGlobalProof({ depth: 2, publicSignals: ['1', '5', '123', '456', '1000', '1', '2', '3'], proof, prevGlobalProofHash: new Uint8Array(32).fill(9) })], decode: decodeGlobalProof, encode: encodeGlobalProof as never },
    { name: 'inbox cursor (decodeCursorValue)', valid: [encodeCursorValue({ next: 7n, epoch: 3, head: new Uint8Array(32).fill(5) })], decode: decodeCursorValue, encode: encodeCursorValue as never },
    { name: 'inbox state (decodeInboxState)', valid: [encodeInboxState(new Map([[0, { next: 1n, epoch: 2, head: new Uint8Array(32).fill(1) }], [4, { next: 9n, epoch: 5, head: new Uint8Array(32).fill(2) }]]))], decode: decodeInboxState, encode: encodeInboxState as never },
    { name: 'credit row (decodeCreditRow)', valid: [encodeCreditRow({ epoch: 5, srcEpoch: 4, first: 11n, n: 2, txids: new Uint8Array(64).fill(6) })], decode: decodeCreditRow, encode: encodeCreditRow as never },
    { name: 'proof gossip message (decodeProofMessage)', valid: [
      encodeProofMessage({ type: 'triad', proof: { path: '01', kind: 'triad_inner', children: [1n, 2n, 3n], publicSignals: ['4', '1', '2', '3', '4', '5', '6', '7'], proof } }),
      encodeProofMessage({ type: 'global', proof: { depth: 2, publicSignals: ['1', '5', '123', '456', '1000', '1', '2', '3'], proof, prevGlobalProofHash: new Uint8Array(32).fill(9) } }),
    ], decode: decodeProofMessage },
    { name: 'proof fetch request (decodeProofFetchRequest)', valid: [encodeProofFetchRequest({ kind: ProofFetchKind.triadProof, path: '1', epoch: 8 })], decode: decodeProofFetchRequest, encode: encodeProofFetchRequest as never },
  ];
  for (const c of cases) {
    // the fixtures are valid: they decode
    for (const v of c.valid) assert.doesNotThrow(() => c.decode(v), c.name);
    let n = 0;
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1200 }), (junk) => { n++; onlyDecodeError(c, junk); }), { numRuns: RANDOM_RUNS, seed: 7 });
    let m = 0;
    if (c.valid.length > 0) fc.assert(fc.property(mutation(c.valid), (bytes) => { m++; onlyDecodeError(c, bytes); }), { numRuns: MUTATION_RUNS, seed: 11 });
    counts.push([c.name, n, m]);
  }
  console.log('fuzz runs per decoder (random, mutations of valid encodings):');
  for (const [name, n, m] of counts) console.log(`  ${name}: ${n} random, ${m} mutations`);
  assert.equal(counts.length, cases.length);
});
