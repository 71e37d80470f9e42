// Leaves of any value length are hashed 4 at a time (arena.ts hashLeavesX4: one kernel call per block
// count) when a level holds enough of them, e.g. a tx trie's ~240-byte records. The property: every
// leaf's hash is H_trie/leaf(key || value) whatever lane, group or block count it was hashed in, so
// each key's proof (leaf hashed again from its key and value by the verifier) reaches the root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TernaryTrie, MemoryNodeStore, verifyProof } from '../src/trie/index.js';
import { taggedHash } from '../src/core/hash.js';
import { hkey } from './trie-helpers.js';

test('leaves of every value length 0..480 (2..9 blocks; over 8 one by one; several per block count, mixed in one level) hash as H_trie/leaf(key || value): every proof verifies against the root', async () => {
  const t = await TernaryTrie.open(new MemoryNodeStore());
  const entries: [Uint8Array, Uint8Array][] = [];
  for (let len = 0; len <= 480; len++) {
    for (let j = 0; j < 3; j++) {
      const k = hkey(`leaf-x4 ${len} ${j}`);
      const value = new Uint8Array(len).map((_, i) => (i * 31 + len + j) & 0xff);
      entries.push([k, value]);
      await t.put(k, value);
    }
  }
  const root = t.root();
  for (const [k, v] of entries) assert.ok(verifyProof(root, k, v, await t.prove(k)), `value of ${v.length} bytes`);
  // and a one-leaf trie's root is that leaf's hash
  for (const len of [0, 16, 179, 211, 471]) {
    const one = await TernaryTrie.open(new MemoryNodeStore());
    const k = hkey(`single ${len}`);
    const v = new Uint8Array(len).fill(7);
    await one.put(k, v);
    const kv = new Uint8Array(32 + len);
    kv.set(k);
    kv.set(v, 32);
    assert.deepEqual(one.root(), taggedHash('trie/leaf', kv), `single leaf of ${len} bytes`);
  }
});

test('a tx trie of 4000 ~180-byte records (the seal shape): the same root as inserting them into a trie one commit at a time', async () => {
  const recs = Array.from({ length: 4000 }, (_, i) => [hkey(`tx ${i}`), new Uint8Array(179).map((_, j) => (i + j) & 0xff)] as const);
  const batch = await TernaryTrie.open(new MemoryNodeStore());
  for (const [k, v] of recs) await batch.put(k, v);
  const stepwise = await TernaryTrie.open(new MemoryNodeStore());
  for (let i = 0; i < recs.length; i++) {
    await stepwise.put(recs[i]![0], recs[i]![1]);
    if (i % 3 === 0) stepwise.root(); // few leaves per level per root(): mostly one by one
  }
  assert.deepEqual(batch.root(), stepwise.root());
});
