// The client conformance vectors (test/vectors/{keys,transfers,snapshots,proofs,receipts}.json):
// (1) the generator reproduces every file byte for byte from the real code, so the files cannot drift
// from it; (2) an independent client written from docs/PROTOCOL.md alone (node:crypto SHA-256 and
// Ed25519; none of its code comes from src/) re-derives every key, address, home shard, transfer,
// signature, txid, snapshot hash, signed-snapshot layout and receipt chain head in the files, and its
// own verifiers of trie proofs, aggregation paths and the global 2-of-3 signature chain give every
// recorded verdict; (3) the real verifiers give every recorded verdict too.
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

test('independent client: domain tags, key seed -> public key -> address -> home shard (depths 0-4) -> account key, key files, genesis identity', () => {
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
  const g = keys.genesis.json;
  const allocs = [...g.allocations].sort((x: any, y: any) => Buffer.compare(unhex(x.address), unhex(y.address)));
  const ge = Buffer.concat([
    str(g.networkId), u8(g.depth), u32(g.epochMs), u64(g.genesisTime), u32(allocs.length), ...allocs.flatMap((x: any) => [unhex(x.address), u64(x.amount)]),
    ...['0', '1', '2'].map((s) => unhex(g.validators[s])),
  ]);
  assert.equal(hex(ge), keys.genesis.encoding);
  assert.equal(hex(H('genesis', ge)), keys.genesis.hash);
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

// ---- independent verifiers, from docs/PROTOCOL.md "Trie" > "Proofs" and "Global snapshot" only ----
const keyTrits = (key: Uint8Array): number[] => {
  let x = BigInt('0x' + hex(key));
  const out: number[] = [];
  for (let i = 0; i < 162; i++, x /= 3n) out.push(Number(x % 3n));
  return out;
};
function unpackTrits(b: Buffer, o: number, n: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < n; j++) {
    const t = (b[o + (j >> 2)]! >> (6 - 2 * (j & 3))) & 3;
    if (t === 3) throw new Error('trit 3');
    out.push(t);
  }
  const last = b[o + ((n - 1) >> 2)]!;
  if (n % 4 !== 0 && (last & ((1 << (8 - 2 * (n % 4))) - 1)) !== 0) throw new Error('padding bit set');
  return out;
}
const ZERO32 = Buffer.alloc(32);

/** verifyProof(root, key, value | null, proof bytes), written from the spec text; never throws. */
function specVerifyProof(root: Buffer, key: Buffer, value: Buffer | null, proof: Buffer): boolean {
  try {
    const k = keyTrits(key);
    type Step = { kind: 'branch'; slot: number; siblings: Buffer[] } | { kind: 'ext'; n: number; packed: Buffer };
    const steps: Step[] = [];
    let o = 0;
    let d = 0;
    for (;;) {
      const tag = proof[o]!;
      if (o >= proof.length) return false;
      if ((tag & 0xf0) === 0x10 && (tag & 0x0f) <= 3) {
        if (d >= 162) return false;
        const mask = tag & 3;
        o++;
        const sib: Buffer[] = [];
        for (let i = 0; i < 2; i++) {
          if (mask & (1 << i)) {
            const h = proof.subarray(o, o + 32);
            if (h.length !== 32 || h.equals(ZERO32)) return false;
            sib.push(h);
            o += 32;
          } else sib.push(ZERO32);
        }
        steps.push({ kind: 'branch', slot: k[d]!, siblings: sib });
        d++;
      } else if (tag === 0x20) {
        const n = proof[o + 1]!;
        if (!(n >= 1 && n <= 161)) return false;
        const len = Math.ceil(n / 4);
        const packed = proof.subarray(o + 2, o + 2 + len);
        if (packed.length !== len) return false;
        const t = unpackTrits(proof, o + 2, n);
        if (d + n > 162 || t.some((x, i) => x !== k[d + i])) return false;
        steps.push({ kind: 'ext', n, packed: Buffer.from(packed) });
        d += n;
        o += 2 + len;
      } else break;
      if (steps.length > 324) return false;
    }
    let h: Buffer;
    const end = proof[o];
    if (end === 0x00) {
      if (value !== null) return false;
      h = ZERO32;
      o += 1;
    } else if (end === 0x01) {
      if (value === null) return false;
      h = H('trie/leaf', key, value);
      o += 1;
    } else if (end === 0x02) {
      if (value !== null) return false;
      const k2 = proof.subarray(o + 1, o + 33);
      const len = proof.readUInt32BE(o + 33);
      if (len > 65536) return false;
      const v2 = proof.subarray(o + 37, o + 37 + len);
      if (k2.length !== 32 || v2.length !== len || k2.equals(key)) return false;
      h = H('trie/leaf', k2, v2);
      o += 37 + len;
    } else if (end === 0x03) {
      if (value !== null) return false;
      const n = proof[o + 1]!;
      if (!(n >= 1 && n <= 161)) return false;
      const len = Math.ceil(n / 4);
      const t = unpackTrits(proof, o + 2, n);
      if (!t.some((x, i) => d + i < 162 && x !== k[d + i])) return false;
      const child = proof.subarray(o + 2 + len, o + 2 + len + 32);
      if (child.length !== 32) return false;
      h = H('trie/ext', Buffer.of(n), proof.subarray(o + 2, o + 2 + len), child);
      o += 2 + len + 32;
    } else return false;
    if (o !== proof.length) return false;
    for (let i = steps.length - 1; i >= 0; i--) {
      const st = steps[i]!;
      if (st.kind === 'ext') h = H('trie/ext', Buffer.of(st.n), st.packed, h);
      else {
        const slots: Buffer[] = [];
        let j = 0;
        for (let s = 0; s < 3; s++) slots.push(s === st.slot ? h : st.siblings[j++]!);
        h = H('trie/branch', ...slots);
      }
    }
    return h.equals(root);
  } catch {
    return false;
  }
}

/** verifyAggregationPath(encoded path, snapshotHash, root), from the spec text; never throws. */
function specVerifyPath(encoded: Buffer, snapshotHash: Buffer, root: Buffer): boolean {
  try {
    const sl = encoded.readUInt32BE(0);
    const shard = encoded.subarray(4, 4 + sl).toString('latin1');
    if (!/^[012]+$/.test(shard)) return false;
    let o = 4 + sl;
    const n = encoded[o++]!;
    if (n !== shard.length) return false;
    let link = snapshotHash;
    let network: string | undefined;
    for (let i = 0; i < n; i++) {
      const len = encoded.readUInt32BE(o);
      const agg = encoded.subarray(o + 4, o + 4 + len);
      o += 4 + len;
      // u8 version | str network | str path | u64 epoch | 3 x (32 commitment | u64 epoch | u8 carried | 4 x u64)
      if (agg.length !== len || agg[0] !== 1) return false;
      let a = 1;
      const net = agg.subarray(a + 4, a + 4 + agg.readUInt32BE(a)).toString();
      a += 4 + Buffer.byteLength(net);
      const path = agg.subarray(a + 4, a + 4 + agg.readUInt32BE(a)).toString();
      a += 4 + path.length + 8;
      const child = shard.slice(0, shard.length - i);
      if (path !== child.slice(0, -1) || (network !== undefined && net !== network)) return false;
      network = net;
      const pos = Number(child[child.length - 1]);
      const commitment = agg.subarray(a + pos * 73, a + pos * 73 + 32);
      if (link.equals(ZERO32) || !commitment.equals(link)) return false;
      link = H('aggregate', agg);
    }
    return o === encoded.length && link.equals(root);
  } catch {
    return false;
  }
}

/** The 2-of-3 signature chain of a final aggregate encoding (the "encoded" of GET /v1/global), from
 * "Members, rotation, signatures, finality": every triad needs valid signatures of 2 distinct
 * members, each by the validator key of the shard the rotation names; child finals hash to their
 * commitments. (The supply and flow sums are checked by the real verifier below, not here.) */
function specGlobalSignatures(encoded: Buffer, validators: Record<string, string>, depth: number): boolean {
  const order = (p: string, e: number): number[] => {
    let o = p.length;
    for (const ch of p) o += Number(ch);
    return [0, 1, 2].map((k) => (e + o + k) % 3);
  };
  const signerFor = (child: string, e: number, attempt: number): string => {
    if (child.length === depth) return child;
    let s = child + String(order(child, e)[attempt]);
    while (s.length < depth) s += String(order(s, e)[0]);
    return s;
  };
  let o = 0;
  const readFinal = (expectPath: string, expectHash: Buffer | null): boolean => {
    if (encoded[o++] !== 1) return false;
    const len = encoded.readUInt32BE(o);
    const agg = encoded.subarray(o + 4, o + 4 + len);
    o += 4 + len;
    let a = 1;
    a += 4 + agg.readUInt32BE(a);
    const path = agg.subarray(a + 4, a + 4 + agg.readUInt32BE(a)).toString();
    a += 4 + path.length;
    const epoch = Number(agg.readBigUInt64BE(a));
    a += 8;
    const hash = H('aggregate', agg);
    if (path !== expectPath || (expectHash && !hash.equals(expectHash))) return false;
    const n = encoded[o++]!;
    const ok = new Set<number>();
    for (let i = 0; i < n; i++, o += 66) {
      const [pos, attempt] = [encoded[o]!, encoded[o + 1]!];
      const key = validators[signerFor(path + String(pos), epoch, attempt)];
      if (attempt === 0 && key && edVerify(null, hash, publicKeyObject(unhex(key)), encoded.subarray(o + 2, o + 66))) ok.add(pos);
    }
    let good = ok.size >= 2;
    const mask = encoded[o++]!;
    if (mask === 0xff) return good && path.length === depth - 1;
    for (let i = 0; i < 3; i++) {
      if (!(mask & (1 << i))) continue;
      const commitment = agg.subarray(a + i * 73, a + i * 73 + 32);
      good = readFinal(path + String(i), commitment) && good;
    }
    return good;
  };
  try {
    return readFinal('', null) && o === encoded.length;
  } catch {
    return false;
  }
}

test('independent verifiers written from the spec give every recorded verdict: trie proofs (these vectors and test/vectors/trie.json), aggregation paths, the 2-of-3 signature chain of global snapshots', () => {
  for (const c of proofs.accounts) assert.equal(specVerifyProof(unhex(c.stateRoot), H('account-key', unhex(c.address)), c.value === null ? null : unhex(c.value), unhex(c.proof)), c.verdict, c.name);
  for (const c of proofs.transactions) assert.equal(specVerifyProof(unhex(c.txRoot), unhex(c.txid), c.value === null ? null : unhex(c.value), unhex(c.proof)), c.verdict, c.name);
  const trie = load('trie');
  let n = 0;
  for (const set of trie.sets) {
    for (const p of set.proofs) {
      assert.ok(specVerifyProof(unhex(set.root), unhex(p.key), p.value === null ? null : unhex(p.value), unhex(p.proof)), `${set.name} ${p.key}`);
      assert.ok(!specVerifyProof(unhex(set.root), unhex(p.key), p.value === null ? Buffer.from('x') : null, unhex(p.proof)), 'the opposite claim fails');
      n++;
    }
  }
  assert.ok(n >= 20);
  for (const c of proofs.aggregationPaths) assert.equal(specVerifyPath(unhex(c.encoded), unhex(c.snapshotHash), unhex(c.root)), c.verdict, c.name);
  const g = proofs.globalSnapshots;
  for (const c of g.cases) assert.equal(specGlobalSignatures(unhex(c.encoded), g.validators, g.depth), c.verdict, c.name);
  const r = receipts;
  assert.ok(specVerifyProof(unhex(r.sourceSnapshot.outboxRoot), unhex(r.outboxKey), unhex(r.leaf), unhex(r.leafProof)), 'the outbox leaf proof of the receipt vectors');
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
