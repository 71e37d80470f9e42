// The client conformance vectors (test/vectors/{keys,transfers,snapshots,proofs,receipts}.json):
// (1) the generator reproduces every file byte for byte from the real code, so the files cannot drift
// from it; (2) an independent client written from docs/PROTOCOL.md alone (node:crypto SHA-256 and
// Ed25519, no import from src/) re-derives every key, address, home shard, transfer, signature, txid,
// snapshot hash, signed-snapshot layout and receipt chain head in the files; (3) every verdict in the
// files is the verdict of the real verifiers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { buildProtocolVectors, vectorFileText, VECTOR_FILES } from '../scripts/gen-protocol-vectors.js';
import { verifyProof, decodeProof } from '../src/trie/index.js';
import { accountKey } from '../src/shard/records.js';
import { decodeAggregationPath, verifyAggregationPath } from '../src/hierarchy/global.js';
import { decodeFinalAggregate, verifyFinalAggregate } from '../src/hierarchy/finality.js';
import { aggregateHash } from '../src/hierarchy/aggregate.js';
import { decodeReceiptBatch, verifyReceiptBatch, ReceiptBatchError } from '../src/shard/receipts.js';
import { chainGroup } from '../src/shard/receipt-chain.js';
import type { ShardId } from '../src/core/ids.js';

const load = (name: string): any => JSON.parse(readFileSync(new URL(`./vectors/${name}.json`, import.meta.url), 'utf8'));
const keys = load('keys');
const transfers = load('transfers');
const snapshots = load('snapshots');
const proofs = load('proofs');
const receipts = load('receipts');

test('every vector file is reproduced byte for byte by scripts/gen-protocol-vectors.ts (npm run vectors:protocol)', async () => {
  const all = await buildProtocolVectors();
  for (const name of VECTOR_FILES) {
    const file = readFileSync(new URL(`./vectors/${name}.json`, import.meta.url), 'utf8');
    assert.equal(vectorFileText(all[name]), file, `test/vectors/${name}.json is stale: run npm run vectors:protocol`);
  }
});

// ---- an independent client, from docs/PROTOCOL.md "Client encodings" only ----
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Buffer => Buffer.from(s, 'hex');
const sha = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const H = (tag: string, ...parts: Uint8Array[]): Buffer => sha(sha(Buffer.from(`smt/v1/${tag}`)), ...parts);
const u8 = (v: number): Buffer => Buffer.of(v);
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
};
const u64 = (v: bigint | number | string): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
};
const str = (s: string): Buffer => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);
const privateKey = (seed: Buffer): KeyObject => createPrivateKey({ key: Buffer.concat([unhex('302e020100300506032b657004220420'), seed]), format: 'der', type: 'pkcs8' });
const publicKeyOf = (seed: Buffer): Buffer => createPublicKey(privateKey(seed)).export({ format: 'der', type: 'spki' }).subarray(12);
const publicKeyObject = (raw: Buffer): KeyObject => createPublicKey({ key: Buffer.concat([unhex('302a300506032b6570032100'), raw]), format: 'der', type: 'spki' });
const address = (publicKey: Buffer): Buffer => sha(publicKey).subarray(0, 20);
function homeShard(addr: Buffer, depth: number): string {
  let v = H('home-shard', addr).readBigUInt64BE(0) % 3n ** BigInt(depth);
  let s = '';
  for (let i = 0; i < depth; i++, v /= 3n) s = String(v % 3n) + s;
  return s;
}

test('independent client: domain tags, key seed -> public key -> address -> home shard (depths 0-4) -> account key, key files', () => {
  for (const t of keys.tags) {
    assert.equal(hex(sha(Buffer.from(`smt/v1/${t.tag}`))), t.prefix, t.tag);
    assert.equal(hex(H(t.tag, Buffer.from('abc'))), t.hashOfAbc, t.tag);
  }
  assert.ok(keys.keys.length >= 5);
  for (const k of keys.keys) {
    const pk = publicKeyOf(unhex(k.seed));
    assert.equal(hex(pk), k.publicKey, k.label);
    const a = address(pk);
    assert.equal(hex(a), k.address);
    assert.equal(H('home-shard', a).readBigUInt64BE(0).toString(), k.homeValue);
    for (let d = 0; d <= 4; d++) assert.equal(homeShard(a, d), k.home[String(d)], `${k.label} depth ${d}`);
    assert.equal(hex(H('account-key', a)), k.accountKey, 'H_account-key over the 20 raw bytes');
    assert.deepEqual(k.keyFile, { type: 'smt-ed25519-key/v1', address: hex(a), publicKey: hex(pk), seed: k.seed });
  }
  for (const c of keys.inboxCursorKeys) assert.equal(hex(H('inbox-cursor', u32(c.sourceIndex))), c.key);
});

test('independent client: transfer fields -> encoding -> signing message -> signature -> txid -> signed bytes; invalid encodings', () => {
  assert.ok(transfers.valid.length >= 4);
  for (const v of transfers.valid) {
    const f = v.fields;
    const seed = unhex(v.signerSeed);
    assert.equal(f.from, hex(publicKeyOf(seed)));
    const transfer = Buffer.concat([u8(1), str(f.network), unhex(f.from), unhex(f.to), u64(f.amount), u64(f.fee), u64(f.nonce), u64(f.ts)]);
    assert.equal(hex(transfer), v.transfer, v.name);
    const msg = H('tx-sign', transfer);
    assert.equal(hex(msg), v.signingMessage);
    const sig = edSign(null, msg, privateKey(seed)); // Ed25519 is deterministic (RFC 8032)
    assert.equal(hex(sig), v.signature);
    assert.equal(hex(H('tx', transfer)), v.txid);
    assert.equal(hex(Buffer.concat([transfer, sig])), v.signed);
    assert.equal(v.bytes, transfer.length + 64);
    const a = address(unhex(f.from));
    assert.equal(hex(a), v.senderAddress);
    for (const d of ['0', '1', '2']) assert.equal(homeShard(a, Number(d)), v.senderHome[d]);
  }
  // what an independent decoder + verifier concludes about the invalid encodings
  for (const v of transfers.invalid) {
    const b = unhex(v.signed);
    let got: string;
    if (b.length > 256) got = 'oversized';
    else {
      const n = b.length >= 5 ? b.readUInt32BE(1) : -1;
      const net = b.subarray(5, 5 + Math.max(0, n)).toString('latin1');
      const wellFormed = b[0] === 1 && n >= 1 && n <= 64 && /^[a-z0-9-]+$/.test(net) && b.length === 5 + n + 32 + 20 + 32 + 64;
      if (!wellFormed) got = 'malformed';
      else {
        const transfer = b.subarray(0, b.length - 64);
        got = edVerify(null, H('tx-sign', transfer), publicKeyObject(b.subarray(5 + n, 5 + n + 32)), b.subarray(b.length - 64)) ? 'valid' : 'bad-signature';
      }
    }
    assert.equal(got, v.reason, v.name);
  }
});

function encodeSnapshotFromJson(s: any): Buffer {
  return Buffer.concat([
    u8(1), str(s.network), str(s.shard), u64(s.epoch), unhex(s.stateRoot), unhex(s.txRoot), unhex(s.outboxRoot),
    u64(s.txCount), u64(s.supply), u64(s.outflow), u64(s.inflow), u64(s.fees), u64(s.totalOutflow), u64(s.totalInflow), u64(s.totalFees),
    u64(s.lamport), u32(s.vectorClock.length), ...s.vectorClock.map((e: number) => u64(e)), u64(s.hlc), unhex(s.prevSnapshotHash),
  ]);
}

test('independent client: snapshot fields (API JSON types) -> encoding -> snapshotHash -> signature -> signed snapshot "encoded"', () => {
  for (const v of snapshots.valid) {
    assert.equal(typeof v.fields.epoch, 'number');
    assert.equal(typeof v.fields.supply, 'string');
    const e = encodeSnapshotFromJson(v.fields);
    assert.equal(hex(e), v.encoding, v.name);
    const h = H('snapshot', e);
    assert.equal(hex(h), v.hash);
    assert.equal(hex(publicKeyOf(unhex(v.validatorSeed))), v.validator);
    const sig = edSign(null, h, privateKey(unhex(v.validatorSeed)));
    assert.equal(hex(sig), v.signature);
    assert.equal(hex(Buffer.concat([u32(e.length), e, sig])), v.encoded, 'encoded = u32 len | snapshot | 64 signature');
  }
  for (const t of snapshots.tampered) {
    const b = unhex(t.encoded);
    const n = b.readUInt32BE(0);
    let got = 'malformed';
    if (b.length === 4 + n + 64) {
      const body = b.subarray(4, 4 + n);
      got = edVerify(null, H('snapshot', body), publicKeyObject(unhex(t.validator)), b.subarray(4 + n)) ? 'valid' : 'bad-signature';
    }
    assert.equal(got, t.verdict, t.name);
  }
});

test('independent client: account leaf values, tx records, receipt rows and the receipt chain heads', () => {
  for (const c of proofs.accounts) {
    if (c.value === null) continue;
    const v = unhex(c.value);
    assert.equal(v.length, 16);
    assert.equal(v.readBigUInt64BE(0).toString(), c.balance, c.name);
    assert.equal(v.readBigUInt64BE(8).toString(), c.nonce);
  }
  for (const c of proofs.transactions) {
    if (c.value === null || !c.verdict) continue;
    const v = unhex(c.value);
    const n = v.readUInt32BE(0);
    const signed = v.subarray(4, 4 + n);
    assert.equal(v.length, 4 + n + 8 + 4 + 1);
    assert.equal(v[v.length - 1], 0, 'status 0 = applied');
    assert.equal(hex(H('tx', signed.subarray(0, signed.length - 64))), c.txid, 'the record holds the signed tx whose txid is the key');
  }
  const r = receipts;
  let head = H('receipt-chain-genesis', str(r.network), str(r.src), str(r.dst));
  assert.equal(hex(head), r.head0);
  let seq = 0;
  for (const [g, rowHex] of r.rows.entries()) {
    const row = unhex(rowHex);
    // u8 2 | str src | str dst | u64 epoch | u64 first | u32 n | n x (32 txid | 20 to | u64 amount)
    assert.equal(row[0], 2);
    let o = 1;
    const src = row.subarray(o + 4, o + 4 + row.readUInt32BE(o)).toString();
    o += 4 + src.length;
    const dst = row.subarray(o + 4, o + 4 + row.readUInt32BE(o)).toString();
    o += 4 + dst.length;
    const epoch = Number(row.readBigUInt64BE(o));
    const first = Number(row.readBigUInt64BE(o + 8));
    const n = row.readUInt32BE(o + 16);
    o += 20;
    assert.deepEqual([src, dst, first], [r.src, r.dst, seq]);
    assert.equal(row.length, o + 60 * n);
    for (let i = 0; i < n; i++, seq++, o += 60) {
      const want = r.receipts[seq];
      assert.deepEqual({ seq: String(seq), epoch, txid: hex(row.subarray(o, o + 32)), to: hex(row.subarray(o + 32, o + 52)), amount: row.readBigUInt64BE(o + 52).toString() }, want);
      assert.equal(homeShard(row.subarray(o + 32, o + 52), r.depth), r.dst, 'every recipient is homed on the destination');
    }
    head = H('receipt-chain', head, row);
    assert.equal(hex(head), r.heads[g]);
  }
  assert.equal(hex(H('outbox-key', u8(r.dst.length), Buffer.from(r.dst))), r.outboxKey);
  assert.equal(r.leaf, hex(Buffer.concat([u64(r.receipts.length), head])));
});

// ---- verdicts: the real verifiers agree with every verdict in the files ----

const proofVerdict = (root: string, key: Uint8Array, value: string | null, proof: string): boolean => {
  try {
    return verifyProof(unhex(root), key, value === null ? null : unhex(value), decodeProof(unhex(proof)));
  } catch {
    return false;
  }
};

test('account and transaction proofs: verifyProof gives every recorded verdict (valid ones true, every tampered one false)', () => {
  for (const c of proofs.accounts) assert.equal(proofVerdict(c.stateRoot, accountKey(unhex(c.address)), c.value, c.proof), c.verdict, c.name);
  for (const c of proofs.transactions) assert.equal(proofVerdict(c.txRoot, unhex(c.txid), c.value, c.proof), c.verdict, c.name);
  const verdicts = [...proofs.accounts, ...proofs.transactions].map((c: any) => c.verdict);
  assert.ok(verdicts.filter((v: boolean) => v).length >= 5 && verdicts.filter((v: boolean) => !v).length >= 10);
});

test('aggregation paths and global snapshots: verifyAggregationPath and verifyFinalAggregate give every recorded verdict', () => {
  for (const c of proofs.aggregationPaths) {
    let got = false;
    try {
      got = verifyAggregationPath(decodeAggregationPath(unhex(c.encoded)), unhex(c.snapshotHash), unhex(c.root));
    } catch {
      got = false;
    }
    assert.equal(got, c.verdict, c.name);
  }
  const g = proofs.globalSnapshots;
  const ctx = { networkId: g.network, depth: g.depth, allocations: [], validators: new Map(Object.entries(g.validators).map(([s, k]) => [s as ShardId, unhex(k as string)])) };
  for (const [s, seed] of Object.entries(g.validatorSeeds)) assert.equal(hex(publicKeyOf(unhex(seed as string))), g.validators[s]);
  for (const c of g.cases) {
    const fa = decodeFinalAggregate(unhex(c.encoded));
    assert.equal(verifyFinalAggregate(fa, ctx).ok, c.verdict, c.name);
    assert.equal(hex(aggregateHash(fa.aggregate)), c.root);
  }
  assert.equal(g.cases[0].root, proofs.aggregationPaths[0].root, 'the paths lead to the root of the global snapshot vector');
});

test('receipt batches: verifyReceiptBatch and the chain from head0 give every recorded verdict', () => {
  const r = receipts;
  const genesis = { networkId: r.network, depth: r.depth, epochMs: 1000, genesisTime: 0, allocations: [], validators: new Map(Object.entries(r.validators).map(([s, k]) => [s as ShardId, unhex(k as string)])) };
  for (const c of r.batches) {
    const b = decodeReceiptBatch(unhex(c.encoded));
    let stateless = 'ok';
    try {
      verifyReceiptBatch(b, genesis, r.dst as ShardId);
    } catch (e) {
      assert.ok(e instanceof ReceiptBatchError);
      stateless = e.reason;
    }
    let h: Uint8Array = unhex(r.head0);
    for (const grp of b.groups) h = chainGroup(h, grp.row);
    const chain = hex(h) === hex(b.head);
    assert.deepEqual({ stateless, chain, accepted: stateless === 'ok' && chain }, { stateless: c.stateless, chain: c.chain, accepted: c.accepted }, c.name);
  }
  assert.equal(r.batches.filter((c: any) => c.accepted).length, 1);
});
