// TernaryTrie.putNow / putRangeNow (the seal's synchronous puts): on a fully loaded writable trie they
// record exactly what put() records (same root, same values), a range of a shared buffer like a
// copy of it; anything put() would have to do otherwise (unloaded nodes, a read-only view, bad input)
// is refused with false and records nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { TernaryTrie, MemoryNodeStore } from '../src/trie/index.js';

test('putRangeNow(key, buf, off, len) gives the root and values of put(key, buf[off, off + len)); bad ranges are refused untouched', async () => {
  const buf = new Uint8Array(randomBytes(64 * 300));
  const keys = Array.from({ length: 200 }, () => new Uint8Array(randomBytes(32)));
  const a = await TernaryTrie.open(new MemoryNodeStore());
  const b = await TernaryTrie.open(new MemoryNodeStore());
  for (let i = 0; i < keys.length; i++) {
    const off = 37 * i;
    const len = (i * 13) % 250; // short and long values, and empty ones
    assert.equal(a.putRangeNow(keys[i]!, buf, off, len), true);
    await b.put(keys[i]!, buf.slice(off, off + len));
  }
  assert.deepEqual(a.root(), b.root());
  for (let i = 0; i < keys.length; i += 17) assert.deepEqual(await a.get(keys[i]!), await b.get(keys[i]!));
  const before = a.root();
  for (const [off, len] of [[-1, 4], [0, -1], [buf.length - 3, 4], [0.5, 2], [0, 65537]] as const) {
    assert.equal(a.putRangeNow(new Uint8Array(32), buf, off, len), false, `range ${off}+${len} refused`);
  }
  assert.equal(a.putNow(new Uint8Array(31), buf), false, 'a 31-byte key is refused');
  assert.deepEqual(a.root(), before, 'nothing recorded by a refusal');
});

test('putNow refuses (false, nothing recorded) on a trie with unloaded nodes, where put() must load first', async () => {
  const store = new MemoryNodeStore();
  const t = await TernaryTrie.open(store);
  for (let i = 0; i < 300; i++) await t.put(new Uint8Array(randomBytes(32)), new Uint8Array([i & 0xff]));
  const root = await t.commit();
  const reopened = await TernaryTrie.open(store, root);
  const k = new Uint8Array(randomBytes(32));
  assert.equal(reopened.putNow(k, new Uint8Array([1])), false);
  await reopened.put(k, new Uint8Array([1]));
  assert.deepEqual(await reopened.get(k), new Uint8Array([1]), 'put() still works there');
});
