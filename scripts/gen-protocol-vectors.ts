// Writes the client conformance vectors in test/vectors/ (keys.json, transfers.json, snapshots.json,
// proofs.json, receipts.json): every derivation a client or another implementation needs, from a key
// seed to a verified receipt batch, with expected verdicts for valid and tampered inputs
// (docs/PROTOCOL.md "Client encodings" and "Writing a client").
//   npm run vectors:protocol   (test/vectors-protocol.test.ts checks the current code reproduces every file)
// Everything is deterministic: seeds are SHA-256 of fixed labels and ed25519 signatures are deterministic.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sha256, domainPrefix, taggedHash } from '../src/core/hash.js';
import { ByteWriter, toHex } from '../src/core/bytes.js';
import { keyPairFromSeed, type KeyPair } from '../src/core/ed25519.js';
import { addressFromPublicKey, homeShard } from '../src/core/address.js';
import { keyFileJson } from '../src/core/keyfile.js';
import { allShards, type ShardId, type TriadPath } from '../src/core/ids.js';
import { encodeGenesis, genesisHash, genesisToJson, type Genesis } from '../src/core/genesis.js';
import { encodeSignedTx, encodeTransfer, signTransfer, txId, txSigningHash, verifySignedTxBytes, decodeSignedTxFull, type Transfer } from '../src/shard/tx.js';
import { encodeSignedSnapshot, encodeSnapshot, snapshotHash, snapshotToJson, signSnapshot, verifySnapshotSignature, decodeSignedSnapshot, type Snapshot } from '../src/shard/snapshot.js';
import { accountKey, decodeAccountValue, encodeAccountValue, encodeTxRecord, encodeOutboxLeaf, encodeReceiptRow, outboxKey, type Receipt } from '../src/shard/records.js';
import { inboxCursorKey } from '../src/shard/inbox.js';
import { chainGenesis, chainGroup } from '../src/shard/receipt-chain.js';
import { decodeReceiptBatch, encodeReceiptBatch, verifyReceiptBatch, ReceiptBatchError } from '../src/shard/receipts.js';
import { TernaryTrie, MemoryNodeStore, encodeProof, decodeProof, verifyProof } from '../src/trie/index.js';
import { computeAggregate, encodeAggregate, aggregateHash, type ChildInput, type TriadAggregate } from '../src/hierarchy/aggregate.js';
import { decodeFinalAggregate, encodeFinalAggregate, memberSigner, signAggregate, verifyFinalAggregate, type FinalAggregate } from '../src/hierarchy/finality.js';
import { aggregationPath, encodeAggregationPath, decodeAggregationPath, verifyAggregationPath, globalRoot } from '../src/hierarchy/global.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Seeds of the vectors: SHA-256("smt/vectors/" + label), untagged, so anyone can recompute them. */
const seedOf = (label: string): Uint8Array => sha256(enc(`smt/vectors/${label}`));
const keyOf = (label: string): KeyPair => keyPairFromSeed(seedOf(label));
const addrOf = (k: KeyPair): Uint8Array => addressFromPublicKey(k.publicKey);
const u64be = (b: Uint8Array): bigint => new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);

/** Every domain tag of the protocol: H_tag(m) = SHA-256(SHA-256("smt/v1/" || tag) || m). */
export const TAGS = [
  'account-key', 'home-shard', 'tx', 'tx-sign', 'snapshot', 'aggregate', 'genesis', 'outbox-key', 'inbox-cursor',
  'receipt-chain', 'receipt-chain-genesis', 'trie/leaf', 'trie/branch', 'trie/ext', 'trie/journal', 'gossip-msg', 'global-proof',
] as const;

// ---------------------------------------------------------------- keys

function keysVectors(): unknown {
  const seeds: { label: string; seed: Uint8Array }[] = [
    { label: 'zero seed', seed: new Uint8Array(32) },
    ...[0, 1, 2, 3, 4, 5].map((i) => ({ label: `SHA-256("smt/vectors/key/${i}")`, seed: seedOf(`key/${i}`) })),
  ];
  return {
    description:
      'Keys, addresses and home shards (docs/PROTOCOL.md "Client encodings"). publicKey = ed25519 (RFC 8032) public key of the 32-byte seed; ' +
      'address = first 20 bytes of SHA-256(publicKey) (untagged); homeValue = the first 8 bytes of H_home-shard(address) as a big-endian u64 (decimal); ' +
      'home[D] = homeValue mod 3^D written as D base-3 digits, most significant first ("" at depth 0); accountKey = H_account-key(address) over the 20 raw bytes; ' +
      'keyFile = the JSON key file (type smt-ed25519-key/v1). tags: domainPrefix(tag) = SHA-256("smt/v1/" || tag), and H_tag("abc"). ' +
      'inboxCursorKeys: H_inbox-cursor(u32 j). genesis: a genesis.json, its canonical encoding and H_genesis(encoding).',
    tags: TAGS.map((tag) => ({ tag, prefix: toHex(domainPrefix(tag)), hashOfAbc: toHex(taggedHash(tag, enc('abc'))) })),
    keys: seeds.map(({ label, seed }) => {
      const kp = keyPairFromSeed(seed);
      const address = addressFromPublicKey(kp.publicKey);
      const home: Record<string, string> = {};
      for (let d = 0; d <= 4; d++) home[String(d)] = homeShard(address, d);
      return {
        label, seed: toHex(seed), publicKey: toHex(kp.publicKey), address: toHex(address),
        homeValue: u64be(taggedHash('home-shard', address)).toString(), home,
        accountKey: toHex(accountKey(address)), keyFile: keyFileJson(kp),
      };
    }),
    inboxCursorKeys: [0, 1, 8].map((j) => ({ sourceIndex: j, key: toHex(inboxCursorKey(j)) })),
    genesis: genesisVector(),
  };
}

/** A genesis file of depth 1 and its identity H_genesis(encoding). */
function genesisVector(): unknown {
  const g: Genesis = {
    networkId: 'devnet', depth: 1, epochMs: 1000, genesisTime: 1_767_225_600_000,
    allocations: [3, 1, 2].map((i) => ({ address: addrOf(keyOf(`key/${i}`)), amount: BigInt(1_000_000 * i) })),
    validators: new Map(allShards(1).map((s) => [s, keyOf(`validator/${s}`).publicKey])),
  };
  return { json: genesisToJson(g), encoding: toHex(encodeGenesis(g)), hash: toHex(genesisHash(g)) };
}

// ---------------------------------------------------------------- transfers

interface TransferCase { name: string; signer: string; tx: Omit<Transfer, 'from'> }

function transferFieldsJson(t: Transfer): Record<string, string> {
  return { network: t.network, from: toHex(t.from), to: toHex(t.to), amount: t.amount.toString(), fee: t.fee.toString(), nonce: t.nonce.toString(), ts: t.ts.toString() };
}

function transfersVectors(): unknown {
  const cases: TransferCase[] = [
    { name: 'simple', signer: 'key/0', tx: { network: 'devnet', to: addrOf(keyOf('key/1')), amount: 25n, fee: 1n, nonce: 0n, ts: 0n } },
    { name: 'hlc-timestamp', signer: 'key/0', tx: { network: 'devnet', to: addrOf(keyOf('key/2')), amount: 1_000_000n, fee: 0n, nonce: 7n, ts: (1_767_225_600_000n << 16n) | 3n } },
    { name: 'u64-extremes', signer: 'key/3', tx: { network: 'a', to: new Uint8Array(20).fill(0xff), amount: (1n << 64n) - 2n, fee: 1n, nonce: (1n << 64n) - 2n, ts: (1n << 64n) - 1n } },
    { name: 'longest-network-id', signer: 'key/4', tx: { network: 'n'.repeat(63) + '9', to: addrOf(keyOf('key/5')), amount: 1n, fee: 2n, nonce: 3n, ts: 4n } },
  ];
  const valid = cases.map((c) => {
    const kp = keyOf(c.signer);
    const t: Transfer = { ...c.tx, from: kp.publicKey };
    const transfer = encodeTransfer(t);
    const s = signTransfer(t, kp.secretKey);
    const signed = encodeSignedTx(s);
    return {
      name: c.name, signerSeed: toHex(seedOf(c.signer)), fields: transferFieldsJson(t), transfer: toHex(transfer), signingMessage: toHex(txSigningHash(transfer)),
      txid: toHex(txId(t)), signature: toHex(s.signature), signed: toHex(signed), bytes: signed.length,
      senderAddress: toHex(addrOf(kp)), senderHome: Object.fromEntries([0, 1, 2].map((d) => [String(d), homeShard(addrOf(kp), d)])),
    };
  });
  // Invalid encodings, with the first reason the node gives (docs/PROTOCOL.md "Validation").
  const base = Buffer.from(valid[0]!.signed, 'hex');
  const mut = (f: (b: Buffer) => Buffer): string => toHex(f(Buffer.from(base)));
  const invalid = [
    { name: 'amount changed after signing', signed: mut((b) => { b[b.length - 64 - 32 + 7] ^= 1; return b; }), reason: 'bad-signature' },
    { name: 'signature bit flipped', signed: mut((b) => { b[b.length - 1] ^= 0x80; return b; }), reason: 'bad-signature' },
    { name: 'unknown version', signed: mut((b) => { b[0] = 2; return b; }), reason: 'malformed' },
    { name: 'one trailing byte', signed: mut((b) => Buffer.concat([b, Buffer.of(0)])), reason: 'malformed' },
    { name: 'truncated by one byte', signed: mut((b) => b.subarray(0, b.length - 1)), reason: 'malformed' },
    { name: 'network id with an upper-case letter', signed: mut((b) => { b[5] = 0x44; return b; }), reason: 'malformed' },
    { name: 'network id length 0', signed: toHex(concat(Uint8Array.of(1, 0, 0, 0, 0), base.subarray(11))), reason: 'malformed' },
    { name: 'over 256 bytes', signed: toHex(new Uint8Array(257)), reason: 'oversized' },
  ];
  for (const v of invalid) {
    const b = Buffer.from(v.signed, 'hex');
    const got = b.length > 256 ? 'oversized' : decodes(b) ? (verifySignedTxBytes(b) ? 'valid' : 'bad-signature') : 'malformed';
    if (got !== v.reason) throw new Error(`transfer vector "${v.name}": expected ${v.reason}, the code says ${got}`);
  }
  return {
    description:
      'Transfers (docs/PROTOCOL.md "Client encodings"). transfer = u8 1 | u32 len | network | 32 from | 20 to | u64 amount | u64 fee | u64 nonce | u64 ts; ' +
      'signingMessage = H_tx-sign(transfer); signature = ed25519(seed, signingMessage); txid = H_tx(transfer); signed = transfer || signature (what POST /v1/tx takes, hex). ' +
      'u64 fields are decimal strings. invalid: signed encodings and the first reason a node refuses them with.',
    valid,
    invalid,
  };
}

function decodes(b: Uint8Array): boolean {
  try {
    decodeSignedTxFull(b);
    return true;
  } catch {
    return false;
  }
}

function concat(...p: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(p));
}

// ---------------------------------------------------------------- snapshots

function vectorSnapshot(network: string, shard: ShardId, depth: number, epoch: number, roots: { stateRoot: Uint8Array; txRoot: Uint8Array; outboxRoot: Uint8Array }, over: Partial<Snapshot> = {}): Snapshot {
  const h = (t: string) => taggedHash('vectors', enc(`${network}/${shard}/${epoch}/${t}`));
  const idx = shard === '' ? 0 : parseInt(shard, 3);
  const vc = new Array<number>(3 ** depth).fill(0);
  vc[idx] = epoch;
  return {
    network, shard, epoch, ...roots,
    txCount: BigInt(3 + idx), supply: BigInt(1_000_000 - 10 * idx - epoch), outflow: BigInt(idx), inflow: 0n, fees: BigInt(epoch % 3),
    totalOutflow: BigInt(idx * (epoch + 1)), totalInflow: 0n, totalFees: BigInt(epoch),
    lamport: BigInt(epoch + 1), vectorClock: vc, hlc: (1_767_225_600_000n + BigInt(epoch) * 1000n) << 16n,
    prevSnapshotHash: epoch === 0 ? new Uint8Array(32) : h('prev'),
    ...over,
  };
}

function snapshotJson(s: Snapshot): Record<string, unknown> {
  const { hash: _hash, ...fields } = snapshotToJson(s);
  return fields;
}

function snapshotsVectors(): unknown {
  const h = (t: string) => taggedHash('vectors', enc(t));
  const roots = { stateRoot: h('state'), txRoot: h('tx'), outboxRoot: h('outbox') };
  const cases: { name: string; validator: string; depth: number; snapshot: Snapshot }[] = [
    { name: 'depth 0, epoch 0', validator: 'validator/root', depth: 0, snapshot: vectorSnapshot('devnet', '' as ShardId, 0, 0, roots) },
    { name: 'depth 2, shard 21, epoch 12', validator: 'validator/21', depth: 2, snapshot: vectorSnapshot('devnet', '21' as ShardId, 2, 12, roots, { inflow: 40n, totalInflow: 90n, vectorClock: [0, 3, 11, 0, 0, 0, 0, 12, 9] }) },
  ];
  const valid = cases.map((c) => {
    const kp = keyOf(c.validator);
    const ss = signSnapshot(c.snapshot, kp.secretKey);
    const encoded = encodeSignedSnapshot(ss);
    return {
      name: c.name, validatorSeed: toHex(seedOf(c.validator)), validator: toHex(kp.publicKey), fields: snapshotJson(c.snapshot),
      encoding: toHex(encodeSnapshot(c.snapshot)), hash: toHex(snapshotHash(c.snapshot)), signature: toHex(ss.signature), encoded: toHex(encoded),
    };
  });
  const v1 = valid[1]!;
  const b = Buffer.from(v1.encoded, 'hex');
  const tamper = (f: (x: Buffer) => void): string => {
    const x = Buffer.from(b);
    f(x);
    return toHex(x);
  };
  const other = toHex(keyOf('validator/other').publicKey);
  const tampered = [
    { name: 'supply changed', encoded: tamper((x) => { x[4 + 1 + 4 + 6 + 4 + 2 + 8 + 96 + 8 + 7] ^= 1; }), validator: v1.validator, verdict: 'bad-signature' },
    { name: 'signature bit flipped', encoded: tamper((x) => { x[x.length - 10] ^= 1; }), validator: v1.validator, verdict: 'bad-signature' },
    { name: 'signed by another key', encoded: v1.encoded, validator: other, verdict: 'bad-signature' },
    { name: 'snapshot length prefix one too long', encoded: tamper((x) => { x[3]! += 1; }), validator: v1.validator, verdict: 'malformed' },
  ];
  for (const t of tampered) {
    let got: string;
    try {
      got = verifySnapshotSignature(decodeSignedSnapshot(Buffer.from(t.encoded, 'hex')), Buffer.from(t.validator, 'hex')) ? 'valid' : 'bad-signature';
    } catch {
      got = 'malformed';
    }
    if (got !== t.verdict) throw new Error(`snapshot vector "${t.name}": expected ${t.verdict}, the code says ${got}`);
  }
  return {
    description:
      'Snapshots (docs/PROTOCOL.md "Client encodings"). encoding = the canonical snapshot; hash = H_snapshot(encoding) (the snapshotHash); ' +
      'signature = ed25519(validator seed, hash); encoded = u32 len(encoding) | encoding | 64 signature (the "encoded" field of GET /v1/snapshot/:epoch). ' +
      'fields use the JSON types of the API (u64 as decimal strings, epoch and vector clock as numbers, hashes as hex). ' +
      'tampered: encoded signed snapshots with the verdict of decoding and checking the signature under validator.',
    valid,
    tampered,
  };
}

// ---------------------------------------------------------------- proofs

type Verdict = boolean;

function checkProof(root: string, key: Uint8Array, value: string | null, proof: string): Verdict {
  try {
    return verifyProof(Buffer.from(root, 'hex'), key, value === null ? null : Buffer.from(value, 'hex'), decodeProof(Buffer.from(proof, 'hex')));
  } catch {
    return false; // a proof that does not decode proves nothing
  }
}

function flipByte(hex: string, at: number): string {
  const b = Buffer.from(hex, 'hex');
  b[at < 0 ? b.length + at : at] ^= 1;
  return toHex(b);
}

async function accountProofs(): Promise<unknown> {
  const t = await TernaryTrie.open(new MemoryNodeStore());
  const accounts = Array.from({ length: 40 }, (_, i) => ({ address: addrOf(keyOf(`account/${i}`)), balance: BigInt(1000 * (i + 1)), nonce: BigInt(i % 5) }));
  for (const a of accounts) await t.put(accountKey(a.address), encodeAccountValue(a));
  await t.put(inboxCursorKey(1), new ByteWriter(48).u64(4n).u64(9n).fixed(taggedHash('vectors', enc('cursor head')), 32).finish());
  const root = toHex(t.root());
  const claim = async (address: Uint8Array) => {
    const v = await t.get(accountKey(address));
    return { address: toHex(address), stateRoot: root, value: v ? toHex(v) : null, proof: toHex(encodeProof(await t.prove(accountKey(address)))) };
  };
  const present = await claim(accounts[7]!.address);
  const present2 = await claim(accounts[31]!.address);
  const absent = await claim(addrOf(keyOf('account/absent')));
  const otherRoot = toHex(taggedHash('vectors', enc('another root')));
  const claims = [
    { name: 'present account', ...present },
    { name: 'another present account', ...present2 },
    { name: 'absent account (never funded)', ...absent },
    { name: 'balance raised by one', ...present, value: toHex(encodeAccountValue({ balance: 8001n, nonce: 2n })) },
    { name: 'present account claimed absent', ...present, value: null },
    { name: 'absent account claimed present', ...absent, value: toHex(encodeAccountValue({ balance: 5n, nonce: 0n })) },
    { name: 'proof of another account', ...present, proof: present2.proof },
    { name: 'a sibling hash altered', ...present, proof: flipByte(present.proof, 2) },
    { name: 'proof truncated', ...present, proof: present.proof.slice(0, -2) },
    { name: 'another state root', ...present, stateRoot: otherRoot },
  ];
  // balance and nonce as the API shows them: read from the claimed value (0 and 0 for an absent account)
  const shown = (value: string | null) => (value === null ? { balance: '0', nonce: '0' } : (({ balance, nonce }) => ({ balance: balance.toString(), nonce: nonce.toString() }))(decodeAccountValue(Buffer.from(value, 'hex'))));
  return claims.map((c) => ({ ...c, ...shown(c.value), verdict: checkProof(c.stateRoot, accountKey(Buffer.from(c.address, 'hex')), c.value, c.proof) }));
}

async function txProofs(): Promise<unknown> {
  const t = await TernaryTrie.open(new MemoryNodeStore());
  const txs: { txid: Uint8Array; value: Uint8Array }[] = [];
  for (let i = 0; i < 12; i++) {
    const kp = keyOf(`sender/${i}`);
    const tx: Transfer = { network: 'devnet', from: kp.publicKey, to: addrOf(keyOf(`recipient/${i}`)), amount: BigInt(10 + i), fee: 1n, nonce: BigInt(i % 3), ts: 0n };
    const signed = encodeSignedTx(signTransfer(tx, kp.secretKey));
    const value = encodeTxRecord({ signedTx: signed, epoch: 42, index: i, status: 0 });
    txs.push({ txid: txId(tx), value });
    await t.put(txId(tx), value);
  }
  const root = toHex(t.root());
  const claim = async (txid: Uint8Array) => {
    const v = await t.get(txid);
    return { txid: toHex(txid), txRoot: root, value: v ? toHex(v) : null, proof: toHex(encodeProof(await t.prove(txid))) };
  };
  const a = await claim(txs[3]!.txid);
  const b = await claim(txs[10]!.txid);
  const unknown = await claim(taggedHash('vectors', enc('a txid nobody committed')));
  const claims = [
    { name: 'committed transaction', ...a },
    { name: 'another committed transaction', ...b },
    { name: 'txid not in this epoch', ...unknown },
    { name: 'record index changed', ...a, value: flipByte(a.value!, -2) },
    { name: 'record of another transaction', ...a, value: b.value },
    { name: 'a sibling hash altered', ...a, proof: flipByte(a.proof, 3) },
    { name: 'another tx root', ...a, txRoot: toHex(taggedHash('vectors', enc('another root'))) },
  ];
  return claims.map((c) => ({ ...c, verdict: checkProof(c.txRoot, Buffer.from(c.txid, 'hex'), c.value, c.proof) }));
}

/** A depth-2 network of 9 shards, every shard sealing epoch 5 (shard 12 missing: carried from epoch 4). */
function globalFixture(): { genesis: Genesis; global: FinalAggregate; snaps: Map<ShardId, Snapshot> } {
  const depth = 2;
  const network = 'devnet';
  const keys = new Map<ShardId, KeyPair>();
  for (const s of allShards(depth)) keys.set(s, keyOf(`validator/${s}`));
  const genesis: Genesis = {
    networkId: network, depth, epochMs: 1000, genesisTime: 0,
    allocations: [], validators: new Map([...keys].map(([s, k]) => [s, k.publicKey])),
  };
  const prev = new Map<string, TriadAggregate>();
  const snaps = new Map<ShardId, Snapshot>();
  const finals = new Map<string, FinalAggregate>();
  const h = (t: string) => taggedHash('vectors', enc(t));
  for (const epoch of [4, 5]) {
    for (let level = depth - 1; level >= 0; level--) {
      for (const p of level === 0 ? [''] : (allShards(level) as string[])) {
        const path = p as TriadPath;
        const kids = [0, 1, 2].map((i): ChildInput | null => {
          const c = path + String(i);
          if (c.length === depth) {
            if (c === '12' && epoch === 5) return null;
            const s = vectorSnapshot(network, c as ShardId, depth, epoch, { stateRoot: h(`${c}/${epoch}/state`), txRoot: h(`${c}/${epoch}/tx`), outboxRoot: h(`${c}/${epoch}/outbox`) });
            if (epoch === 5) snaps.set(c as ShardId, s);
            else if (c === '12') snaps.set(c as ShardId, s);
            return { kind: 'snapshot', snapshot: s };
          }
          return { kind: 'aggregate', aggregate: finals.get(c)!.aggregate };
        }) as [ChildInput | null, ChildInput | null, ChildInput | null];
        const agg = computeAggregate({ network, path, epoch, children: kids, prev: prev.get(path) ?? null });
        prev.set(path, agg);
        // members 0 and 2 sign (2 of 3), each through the shard the rotation names
        const signatures = [0, 2].map((pos) => signAggregate(agg, pos, 0, keys.get(memberSigner(agg, pos, 0, depth))!.secretKey));
        const children = path.length === depth - 1 ? null : [0, 1, 2].map((i) => finals.get(path + String(i)) ?? null);
        finals.set(path, { aggregate: agg, signatures, children });
      }
    }
  }
  return { genesis, global: finals.get('')!, snaps };
}

function aggregationVectors(): { paths: unknown; globals: unknown } {
  const { genesis, global, snaps } = globalFixture();
  const root = toHex(globalRoot(global));
  const pathCase = (shard: ShardId) => {
    const p = aggregationPath(global, shard);
    const first = p.steps[0]!.children[Number(shard[shard.length - 1])]!;
    return { shard, snapshotHash: toHex(first.commitment), snapshotEpoch: first.epoch, carried: first.carried, root, encoded: toHex(encodeAggregationPath(p)), steps: p.steps.map((s) => toHex(encodeAggregate(s))) };
  };
  const a = pathCase('01' as ShardId);
  const carried = pathCase('12' as ShardId);
  const b = pathCase('20' as ShardId);
  if (a.snapshotHash !== toHex(snapshotHash(snaps.get('01' as ShardId)!))) throw new Error('path fixture: snapshot hash');
  const bumpSupply = (hex: string): string => {
    const p = decodeAggregationPath(Buffer.from(hex, 'hex'));
    p.steps[0]!.children[1]!.supply += 1n;
    return toHex(encodeAggregationPath(p));
  };
  const cases = [
    { name: 'shard 01 at epoch 5', ...a },
    { name: 'shard 12 carried from epoch 4', ...carried },
    { name: 'shard 20 at epoch 5', ...b },
    { name: 'snapshot hash of another shard', ...a, snapshotHash: b.snapshotHash },
    { name: 'path of another shard', ...a, encoded: b.encoded },
    { name: 'a child supply changed in the first step', ...a, encoded: bumpSupply(a.encoded) },
    { name: 'another root', ...a, root: toHex(taggedHash('vectors', enc('another root'))) },
  ].map((c) => {
    let verdict = false;
    try {
      verdict = verifyAggregationPath(decodeAggregationPath(Buffer.from(c.encoded, 'hex')), Buffer.from(c.snapshotHash, 'hex'), Buffer.from(c.root, 'hex'));
    } catch {
      verdict = false;
    }
    return { ...c, verdict };
  });
  const encoded = encodeFinalAggregate(global);
  const oneSig: FinalAggregate = { ...global, signatures: global.signatures.slice(0, 1) };
  const badSig: FinalAggregate = { ...global, signatures: global.signatures.map((s, i) => (i === 1 ? { ...s, signature: flipSig(s.signature) } : s)) };
  const childTampered = structuredClone(global);
  childTampered.children![2]!.signatures = childTampered.children![2]!.signatures.slice(1);
  const globals = [
    { name: 'global snapshot of epoch 5 (2 of 3 at every triad)', encoded: toHex(encoded) },
    { name: 'one apex signature', encoded: toHex(encodeFinalAggregate(oneSig)) },
    { name: 'an apex signature altered', encoded: toHex(encodeFinalAggregate(badSig)) },
    { name: 'triad 2 with one signature', encoded: toHex(encodeFinalAggregate(childTampered)) },
  ].map((g) => ({ ...g, verdict: verifyFinalAggregate(decodeFinal(g.encoded), genesis).ok, root: toHex(aggregateHash(decodeFinal(g.encoded).aggregate)) }));
  return {
    paths: cases,
    globals: {
      network: genesis.networkId, depth: genesis.depth, allocations: [],
      validators: Object.fromEntries([...genesis.validators].map(([s, k]) => [s, toHex(k)])),
      validatorSeeds: Object.fromEntries(allShards(genesis.depth).map((s) => [s, toHex(seedOf(`validator/${s}`))])),
      cases: globals,
    },
  };
}

function flipSig(s: Uint8Array): Uint8Array {
  const c = s.slice();
  c[0]! ^= 1;
  return c;
}

const decodeFinal = (hex: string): FinalAggregate => decodeFinalAggregate(Buffer.from(hex, 'hex'));

async function proofsVectors(): Promise<unknown> {
  const agg = aggregationVectors();
  return {
    description:
      'Proofs and their verdicts (docs/PROTOCOL.md "Trie" > "Proofs", "Client encodings", "Global snapshot"). ' +
      'accounts: verifyProof(stateRoot, H_account-key(address), value | null, proof) as GET /v1/account/:address returns them (value = u64 balance | u64 nonce; null = absent). ' +
      'transactions: verifyProof(txRoot, txid, value, proof) as GET /v1/tx/:txid returns them (value = the tx record). A proof that does not decode is false. ' +
      'aggregationPaths: verifyAggregationPath(decode(encoded), snapshotHash, root) as GET /v1/global/:epoch/path/:shard returns them. ' +
      'globalSnapshots: the "encoded" of GET /v1/global/:epoch (a final apex aggregate with its child finals) and the verdict of checking its 2-of-3 chain against the validators; root = H_aggregate(apex aggregate).',
    accounts: await accountProofs(),
    transactions: await txProofs(),
    aggregationPaths: agg.paths,
    globalSnapshots: agg.globals,
  };
}

// ---------------------------------------------------------------- receipts

async function receiptsVectors(): Promise<unknown> {
  const depth = 1;
  const network = 'devnet';
  const src = '0' as ShardId;
  const dst = '1' as ShardId;
  const keys = new Map<ShardId, KeyPair>(allShards(depth).map((s) => [s, keyOf(`validator/${s}`)]));
  const genesis: Genesis = { networkId: network, depth, epochMs: 1000, genesisTime: 0, allocations: [], validators: new Map([...keys].map(([s, k]) => [s, k.publicKey])) };
  // recipients homed on dst
  const recipients: Uint8Array[] = [];
  for (let i = 0; recipients.length < 5; i++) {
    const a = addrOf(keyOf(`recipient/${i}`));
    if (homeShard(a, depth) === dst) recipients.push(a);
  }
  const txidOf = (i: number) => taggedHash('vectors', enc(`receipt txid ${i}`));
  const receipt = (seq: number, epoch: number): Receipt => ({ txid: txidOf(seq), src, dst, seq: BigInt(seq), to: recipients[seq]!, amount: BigInt(100 + seq), epoch });
  const groups = [[receipt(0, 3), receipt(1, 3)], [receipt(2, 5), receipt(3, 5), receipt(4, 5)]];
  const rows = groups.map((g) => encodeReceiptRow(g));
  const head0 = chainGenesis(network, src, dst);
  const heads = [head0];
  for (const r of rows) heads.push(chainGroup(heads[heads.length - 1]!, r));
  const head = heads[heads.length - 1]!;
  const count = 5n;
  // the source's outbox trie at epoch 5: one leaf per destination it ever emitted to
  const outbox = await TernaryTrie.open(new MemoryNodeStore());
  await outbox.put(outboxKey(dst), encodeOutboxLeaf({ count, head }));
  await outbox.put(outboxKey('2' as ShardId), encodeOutboxLeaf({ count: 1n, head: taggedHash('vectors', enc('head to 2')) }));
  const h = (t: string) => taggedHash('vectors', enc(t));
  const snap = vectorSnapshot(network, src, depth, 5, { stateRoot: h('src state'), txRoot: h('src tx'), outboxRoot: outbox.root() });
  const signed = signSnapshot(snap, keys.get(src)!.secretKey);
  const proof = await outbox.prove(outboxKey(dst));
  const batch = encodeReceiptBatch({ snapshot: signed, proof, count, head, receipts: groups.flat() });
  const rowsAt = batch.length - rows.reduce((n, r) => n + r.length, 0);
  const tamper = (f: (b: Buffer) => void): string => {
    const b = Buffer.from(batch);
    f(b);
    return toHex(b);
  };
  const entry0 = rowsAt + rows[0]!.length - 2 * 60; // the first entry of row 0 (2 entries of 60 bytes)
  const cases = [
    { name: 'two groups, seqs 0..4, proven at source epoch 5', encoded: toHex(batch) },
    { name: 'an amount raised after signing', encoded: tamper((b) => { b[entry0 + 52 + 7]! += 1; }) },
    { name: 'a recipient changed', encoded: tamper((b) => { b[entry0 + 32]! ^= 1; }) },
    { name: 'leaf head altered', encoded: tamper((b) => { b[rowsAt - 4 - 32]! ^= 1; }) },
    { name: 'source snapshot signature altered', encoded: tamper((b) => { b[1 + 4 + 4 + encodeSnapshot(snap).length + 5]! ^= 1; }) },
  ].map((c) => ({ ...c, ...batchVerdict(c.encoded, genesis, dst, head0) }));
  return {
    description:
      'Cross-shard receipts (docs/PROTOCOL.md "Cross-shard transfers"). rows: the receipt rows of the (src, dst) pair, one per emitting source epoch; ' +
      'head0 = H_receipt-chain-genesis(str network | str src | str dst); heads[g+1] = H_receipt-chain(heads[g] | rows[g]); outboxKey = H_outbox-key(u8 len | dst); ' +
      'leaf = u64 count | 32 head. batches: receipt batch encodings (wire version 3) and the verdict of a destination whose cursor is at seq 0 (head0): ' +
      'stateless = verifyReceiptBatch (network, source signature, fields, home of recipients, leaf proof against outboxRoot), chain = the rows chained from head0 end at the leaf head; ' +
      'accepted = both.',
    network, depth, src, dst,
    validators: Object.fromEntries([...genesis.validators].map(([s, k]) => [s, toHex(k)])),
    receipts: groups.flat().map((r) => ({ seq: r.seq.toString(), epoch: r.epoch, txid: toHex(r.txid), to: toHex(r.to), amount: r.amount.toString() })),
    rows: rows.map(toHex),
    head0: toHex(head0),
    heads: heads.slice(1).map(toHex),
    outboxKey: toHex(outboxKey(dst)),
    leaf: toHex(encodeOutboxLeaf({ count, head })),
    sourceSnapshot: { encoded: toHex(encodeSignedSnapshot(signed)), hash: toHex(snapshotHash(snap)), outboxRoot: toHex(snap.outboxRoot) },
    leafProof: toHex(encodeProof(proof)),
    batches: cases,
  };
}

function batchVerdict(hex: string, genesis: Genesis, dst: ShardId, head0: Uint8Array): { stateless: string; chain: boolean; accepted: boolean } {
  let b;
  try {
    b = decodeReceiptBatch(Buffer.from(hex, 'hex'));
  } catch {
    return { stateless: 'malformed', chain: false, accepted: false };
  }
  let stateless = 'ok';
  try {
    verifyReceiptBatch(b, genesis, dst);
  } catch (e) {
    if (!(e instanceof ReceiptBatchError)) throw e;
    stateless = e.reason;
  }
  let h = head0;
  for (const g of b.groups) h = chainGroup(h, g.row);
  const chain = Buffer.compare(h, b.head) === 0;
  return { stateless, chain, accepted: stateless === 'ok' && chain };
}

// ---------------------------------------------------------------- all

export const VECTOR_FILES = ['keys', 'transfers', 'snapshots', 'proofs', 'receipts'] as const;

export async function buildProtocolVectors(): Promise<Record<(typeof VECTOR_FILES)[number], unknown>> {
  return {
    keys: keysVectors(),
    transfers: transfersVectors(),
    snapshots: snapshotsVectors(),
    proofs: await proofsVectors(),
    receipts: await receiptsVectors(),
  };
}

/** The canonical text of a vector file (what the test compares byte for byte). */
export function vectorFileText(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const all = await buildProtocolVectors();
  for (const name of VECTOR_FILES) {
    const out = fileURLToPath(new URL(`../test/vectors/${name}.json`, import.meta.url));
    writeFileSync(out, vectorFileText(all[name]));
    console.log(`wrote ${out}`);
  }
}
