// The committed test vectors are reproduced exactly by the current code, and every vector proof
// verifies with the standalone verifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildVectors, type TrieVectors } from '../scripts/gen-trie-vectors.js';
import { verifyProof, decodeProof, keyDigits } from '../src/trie/index.js';
import { fromHex } from '../src/core/bytes.js';

const file = JSON.parse(readFileSync(new URL('./vectors/trie.json', import.meta.url), 'utf8')) as TrieVectors;

test('test/vectors/trie.json is reproduced exactly (roots, trit paths, proof bytes)', async () => {
  assert.deepEqual(await buildVectors(), file);
});

test('every vector proof verifies against its root and fails against another set\'s root', () => {
  let n = 0;
  for (const [si, s] of file.sets.entries()) {
    const other = fromHex(file.sets[(si + 1) % file.sets.length]!.root);
    for (const p of s.proofs) {
      const proof = decodeProof(fromHex(p.proof));
      const value = p.value === null ? null : fromHex(p.value);
      assert.ok(verifyProof(fromHex(s.root), fromHex(p.key), value, proof), `${s.name} ${p.key}`);
      assert.ok(!verifyProof(other, fromHex(p.key), value, proof));
      n++;
    }
  }
  assert.ok(n >= 20);
  const ends = new Set(file.sets.flatMap((s) => s.proofs.map((p) => p.end)));
  assert.deepEqual([...ends].sort(), ['empty', 'ext-diverge', 'leaf', 'other-leaf']);
  for (const t of file.trits) assert.equal([...keyDigits(fromHex(t.key), 3)].join(''), t.trits);
});

// A naive, independent implementation of the spec (BigInt digits, taggedHash, recursion over the
// sorted key set), to check the vector roots against the text of docs/PROTOCOL.md, not the code.
import { taggedHash } from '../src/core/hash.js';
import { refDigits } from './trie-helpers.js';

function specRoot(entries: Array<{ key: Uint8Array; value: Uint8Array; d: number[] }>, depth: number): Uint8Array {
  if (entries.length === 0) return new Uint8Array(32);
  if (entries.length === 1) return taggedHash('trie/leaf', entries[0]!.key, entries[0]!.value);
  let j = depth;
  while (entries.every((e) => e.d[j] === entries[0]!.d[j])) j++;
  const kids = [0, 1, 2].map((t) => specRoot(entries.filter((e) => e.d[j] === t), j + 1));
  const branch = taggedHash('trie/branch', ...kids);
  if (j === depth) return branch;
  const path = entries[0]!.d.slice(depth, j);
  const packed = new Uint8Array(Math.ceil(path.length / 4));
  path.forEach((t, i) => (packed[i >> 2]! |= t << (6 - 2 * (i & 3))));
  return taggedHash('trie/ext', Uint8Array.of(path.length), packed, branch);
}

test('vector roots equal a naive implementation written from the spec', () => {
  for (const s of file.sets) {
    const entries = s.entries.map(([k, v]) => ({ key: fromHex(k), value: fromHex(v), d: refDigits(fromHex(k), 3, 162) }));
    assert.equal(Buffer.from(specRoot(entries, 0)).toString('hex'), s.root, s.name);
  }
});

test('random tries (hundreds of keys, 16-byte and other values: the 4-lane SIMD and the one-at-a-time hashing paths) have the root of the naive spec implementation, also after updates', async () => {
  const { TernaryTrie, MemoryNodeStore } = await import('../src/trie/index.js');
  const { randomBytes } = await import('node:crypto');
  for (const n of [1, 2, 3, 5, 9, 40, 700]) {
    const t = await TernaryTrie.open(new MemoryNodeStore());
    const model = new Map<string, { key: Uint8Array; value: Uint8Array }>();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < n; i++) {
        const key = round === 0 || i % 3 !== 0 ? randomBytes(32) : [...model.values()][i % model.size]!.key; // inserts and updates
        const value = randomBytes(i % 5 === 4 ? 1 + (i % 40) : 16);
        await t.put(key, value);
        model.set(Buffer.from(key).toString('hex'), { key, value });
      }
      const entries = [...model.values()].map((e) => ({ ...e, d: refDigits(e.key, 3, 162) }));
      assert.equal(Buffer.from(await t.commit()).toString('hex'), Buffer.from(specRoot(entries, 0)).toString('hex'), `n=${n} round ${round}`);
    }
  }
});
