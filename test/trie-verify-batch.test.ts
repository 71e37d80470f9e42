// verifyProofs (4 ternary proofs per 4-lane SHA-256 call) gives exactly verifyProof's verdicts, on
// valid, tampered and wrong-claim proofs of mixed depths and kinds, in groups of every fill.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TernaryTrie, MemoryNodeStore, verifyProof, verifyProofs, encodeProof, decodeProof, type ProofClaim } from '../src/trie/index.js';
import { hkey, sharingPrefix, enc, shuffled } from './trie-helpers.js';

async function claimsFor(arity: number): Promise<ProofClaim[]> {
  const t = await TernaryTrie.open(new MemoryNodeStore(), undefined, { arity });
  const keys: Uint8Array[] = [];
  for (let i = 0; i < 500; i++) keys.push(hkey(`b${arity}/${i}`));
  const base = hkey('bbase');
  if (arity === 3) for (const k of [2, 3, 9, 25, 80]) for (let j = 0; j < 2; j++) keys.push(sharingPrefix(base, k, j)); // extensions
  for (const [i, k] of keys.entries()) await t.put(k, i === 7 ? new Uint8Array(65536).fill(3) : enc(`v${i}`.repeat(1 + (i % 5))));
  await t.commit();
  const root = t.root();
  const badRoot = root.slice();
  badRoot[31]! ^= 0x80;
  const probes = keys.concat(Array.from({ length: 200 }, (_, i) => hkey(`absent${i}`)));
  if (arity === 3) for (const k of [3, 5, 9, 12, 25, 81]) probes.push(sharingPrefix(base, k, 2)); // ends beside extensions
  const claims: ProofClaim[] = [];
  for (const [pi, k] of probes.entries()) {
    const v = (await t.get(k)) ?? null;
    const b = encodeProof(await t.prove(k), arity);
    const proof = decodeProof(b, arity);
    claims.push({ root, key: k, value: v, proof });
    if (pi % 3 === 0) claims.push({ root, key: k, value: v === null ? enc('x') : null, proof }); // the opposite claim
    if (pi % 5 === 0) claims.push({ root: badRoot, key: k, value: v, proof });
    if (pi % 7 === 0) claims.push({ root, key: probes[(pi + 1) % probes.length]!, value: v, proof });
    if (pi % 4 === 0) {
      const m = b.slice();
      m[(pi * 131) % m.length]! ^= 1 << (pi & 7);
      try {
        claims.push({ root, key: k, value: v, proof: decodeProof(m, arity) });
      } catch {
        // undecodable: nothing to verify
      }
    }
  }
  // Proofs with no steps: the empty trie, and a trie holding one leaf.
  const e = await TernaryTrie.open(new MemoryNodeStore(), undefined, { arity });
  claims.push({ root: e.root(), key: keys[0]!, value: null, proof: await e.prove(keys[0]!) });
  await e.put(keys[1]!, enc('one'));
  await e.commit();
  claims.push({ root: e.root(), key: keys[1]!, value: enc('one'), proof: await e.prove(keys[1]!) });
  claims.push({ root: e.root(), key: keys[2]!, value: null, proof: await e.prove(keys[2]!) });
  claims.push({ root: root, key: keys[1]!, value: enc('one'), proof: await e.prove(keys[1]!) });
  // Malformed inputs verifyProof rejects without throwing.
  claims.push({ root: root.subarray(1), key: keys[0]!, value: null, proof: await t.prove(keys[0]!) });
  claims.push({ root, key: keys[0]!.subarray(1), value: null, proof: await t.prove(keys[0]!) });
  return claims;
}

test('verifyProofs returns verifyProof\'s verdict for every claim, in groups of 1 to 64 claims of mixed depths (arity 3 and 2)', async () => {
  for (const arity of [3, 2]) {
    const all = await claimsFor(arity);
    const single = all.map((a) => (verifyProof(a.root, a.key, a.value, a.proof, arity) ? 1 : 0));
    const accepted = single.reduce((s: number, x) => s + x, 0);
    assert.ok(accepted >= 500 && all.length - accepted >= 300, `arity ${arity}: ${accepted} accepted of ${all.length}`);
    assert.deepEqual([...verifyProofs(all, arity)], single, `arity ${arity}, one call`);
    for (const [seed, size] of [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 7], [7, 64]] as const) {
      const order = shuffled(all.map((_, i) => i), seed);
      for (let o = 0; o < order.length; o += size) {
        const idx = order.slice(o, o + size);
        const got = verifyProofs(idx.map((i) => all[i]!), arity);
        assert.deepEqual([...got], idx.map((i) => single[i]!), `arity ${arity}, groups of ${size} (seed ${seed}), at ${o}`);
        // Interleaved single verifications still agree (the two paths share the module's memory).
        const j = idx[0]!;
        assert.equal(verifyProof(all[j]!.root, all[j]!.key, all[j]!.value, all[j]!.proof, arity) ? 1 : 0, single[j]);
      }
    }
  }
});

test('verifyProofs writes into a caller\'s array, accepts an empty batch and refuses an array too short', () => {
  const out = new Uint8Array(3).fill(9);
  assert.equal(verifyProofs([], 3, out), out);
  assert.deepEqual([...out], [9, 9, 9]);
  assert.throws(() => verifyProofs([{ root: new Uint8Array(32), key: new Uint8Array(32), value: null, proof: { steps: [], end: { kind: 'empty' } } }], 3, new Uint8Array(0)), RangeError);
});
