// The trie as a key-value map with a Merkle root: model-based properties against a Map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TernaryTrie, MemoryNodeStore, EMPTY_ROOT, keyDigits } from '../src/trie/index.js';
import { taggedHash } from '../src/core/hash.js';
import { toHex } from '../src/core/bytes.js';
import { hkey, refDigits, sharingPrefix, shuffled, enc } from './trie-helpers.js';

// A key pool with random keys and keys sharing 1..60 leading digits (extension nodes, splits inside
// extensions, digits past the first 23-digit conversion pass).
const base = hkey('base');
const POOL: Uint8Array[] = [];
for (let i = 0; i < 24; i++) POOL.push(hkey(`k${i}`));
for (const k of [1, 2, 3, 5, 8, 22, 23, 24, 30, 47, 60]) for (let j = 1; j <= 2; j++) POOL.push(sharingPrefix(base, k, j)); // j < 3: distinct keys
POOL.push(base);

type Op =
  | { t: 'put'; k: number; v: number }
  | { t: 'del'; k: number }
  | { t: 'get'; k: number }
  | { t: 'commit' }
  | { t: 'reopen' }
  | { t: 'loadAll' }
  | { t: 'unload'; depth: number };

// Half of the picks come from the shared-prefix family, so extensions are common.
const keyIdx = fc.oneof(fc.nat(POOL.length - 1), fc.integer({ min: 24, max: POOL.length - 1 }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant('put' as const), k: keyIdx, v: fc.nat(5) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('del' as const), k: keyIdx }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('get' as const), k: keyIdx }) },
  { weight: 2, arbitrary: fc.constant({ t: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'loadAll' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('unload' as const), depth: fc.integer({ min: 1, max: 4 }) }) },
);

const val = (v: number): Uint8Array => (v === 5 ? new Uint8Array(300).fill(7) : enc(`v${v}`)); // one value larger than a small record

async function fresh(entries: Array<[Uint8Array, Uint8Array]>, recordBytes: number): Promise<TernaryTrie> {
  const t = await TernaryTrie.open(new MemoryNodeStore(), undefined, { recordBytes });
  for (const [k, v] of entries) await t.put(k, v);
  return t;
}

test('model: get agrees with a Map after any put/delete/commit/reopen sequence, and the root depends only on the contents', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { maxLength: 200, size: 'max' }), fc.constantFrom(40, 200, 1024), fc.integer(), async (ops, recordBytes, seed) => {
      const store = new MemoryNodeStore();
      let t = await TernaryTrie.open(store, undefined, { recordBytes });
      let model = new Map<number, Uint8Array>();
      let committed = new Map<number, Uint8Array>();
      let committedRoot = EMPTY_ROOT;
      for (const op of ops) {
        switch (op.t) {
          case 'put':
            await t.put(POOL[op.k]!, val(op.v));
            model.set(op.k, val(op.v));
            break;
          case 'del':
            await t.delete(POOL[op.k]!);
            model.delete(op.k);
            break;
          case 'get':
            assert.deepEqual(await t.get(POOL[op.k]!), model.get(op.k));
            break;
          case 'commit':
            committedRoot = await t.commit();
            committed = new Map(model);
            break;
          case 'reopen': // uncommitted writes are gone; the committed version is intact
            t = await TernaryTrie.open(store, committedRoot, { recordBytes });
            model = new Map(committed);
            break;
          case 'loadAll':
            await t.loadAll();
            break;
          case 'unload':
            await t.commit();
            committedRoot = t.root();
            committed = new Map(model);
            t.unload(op.depth);
            break;
        }
      }
      for (let i = 0; i < POOL.length; i++) assert.deepEqual(await t.get(POOL[i]!), model.get(i), `key ${i}`);
      const entries = shuffled([...model].map(([k, v]): [Uint8Array, Uint8Array] => [POOL[k]!, v]), seed);
      const other = await fresh(entries, 1024);
      assert.equal(toHex(t.root()), toHex(other.root()));
      if (model.size === 0) assert.equal(toHex(t.root()), toHex(EMPTY_ROOT));
    }),
    { numRuns: 300 },
  );
});

test('writes on a reopened trie (nodes loaded on demand, one write at a time) give the same roots as on a fully loaded one', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(keyIdx, { maxLength: 40, size: 'max' }),
      fc.array(fc.record({ k: keyIdx, v: fc.option(fc.nat(5)) }), { minLength: 1, maxLength: 60, size: 'max' }),
      fc.constantFrom(40, 120),
      async (initial, writes, recordBytes) => {
        const store = new MemoryNodeStore();
        const a = await TernaryTrie.open(store, undefined, { recordBytes });
        for (const k of initial) await a.put(POOL[k]!, val(k % 6));
        const root = await a.commit();
        const b = await TernaryTrie.open(store, root, { recordBytes }); // REF nodes: the walking path
        for (const w of writes) {
          if (w.v === null) {
            await a.delete(POOL[w.k]!);
            await b.delete(POOL[w.k]!);
          } else {
            await a.put(POOL[w.k]!, val(w.v));
            await b.put(POOL[w.k]!, val(w.v));
          }
          assert.equal(toHex(b.root()), toHex(a.root()));
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('markCommitted after a later write keeps that write dirty: the next commit stores it', async () => {
  const store = new MemoryNodeStore();
  const t = await TernaryTrie.open(store);
  for (let i = 0; i < 200; i++) await t.put(hkey(`m${i}`), enc(`${i}`));
  const staged = t.stageCommit();
  await store.writeNodes(staged.nodes);
  await t.put(hkey('m7'), enc('later'));
  await t.put(hkey('new'), enc('n'));
  t.root(); // applies and hashes the later writes before the first batch is acknowledged
  t.markCommitted(); // only what was staged is committed
  const root = await t.commit();
  const r = await TernaryTrie.at(store, root);
  assert.deepEqual(await r.get(hkey('m7')), enc('later'));
  assert.deepEqual(await r.get(hkey('new')), enc('n'));
  assert.deepEqual(await r.get(hkey('m8')), enc('8'));
});

test('root is independent of insertion order and of applying writes one by one or in one batch', async () => {
  const keys = Array.from({ length: 300 }, (_, i) => hkey(`order${i}`)).concat(POOL);
  const a = await fresh(keys.map((k, i) => [k, enc(`x${i}`)]), 1024);
  const ra = toHex(a.root());
  for (const seed of [1, 2, 3]) {
    const b = await fresh(shuffled(keys.map((k, i): [Uint8Array, Uint8Array] => [k, enc(`x${i}`)]), seed), 1024);
    assert.equal(toHex(b.root()), ra);
  }
  // One write at a time: root() after every put forces a batch of one.
  const c = await TernaryTrie.open(new MemoryNodeStore());
  for (const [i, k] of shuffled(keys, 9).entries()) {
    await c.put(k, enc(`x${keys.indexOf(k)}`));
    if (i % 7 === 0) c.root();
  }
  assert.equal(toHex(c.root()), ra);
});

test('deleting every key returns the empty root; a no-op write leaves the root unchanged', async () => {
  const t = await TernaryTrie.open(new MemoryNodeStore());
  for (const k of POOL) await t.put(k, enc('a'));
  const r = t.root();
  await t.put(POOL[3]!, enc('a'));
  await t.delete(hkey('absent'));
  assert.equal(toHex(t.root()), toHex(r));
  for (const k of shuffled(POOL, 5)) await t.delete(k);
  assert.equal(toHex(t.root()), toHex(EMPTY_ROOT));
});

test('key-to-digit map: digit i = floor(x / b^i) mod b of the big-endian key, for arity 3 and 2', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
      assert.deepEqual([...keyDigits(key, 3)], refDigits(key, 3, 162));
      assert.deepEqual([...keyDigits(key, 2)], refDigits(key, 2, 256));
    }),
    { numRuns: 300 },
  );
  assert.deepEqual([...keyDigits(new Uint8Array(32).fill(255), 3)], refDigits(new Uint8Array(32).fill(255), 3, 162));
});

test('node hashes are taggedHash with the trie tags: a one-key root is H_trie/leaf(key || value)', async () => {
  const t = await TernaryTrie.open(new MemoryNodeStore());
  const k = hkey('one');
  await t.put(k, enc('value'));
  assert.equal(toHex(t.root()), toHex(taggedHash('trie/leaf', k, enc('value'))));
  // Two keys differing in digit 0: one branch over two leaves.
  const k2 = sharingPrefix(k, 0, 1);
  await t.put(k2, enc('w'));
  const slots = [EMPTY_ROOT, EMPTY_ROOT, EMPTY_ROOT];
  slots[keyDigits(k, 3)[0]!] = taggedHash('trie/leaf', k, enc('value'));
  slots[keyDigits(k2, 3)[0]!] = taggedHash('trie/leaf', k2, enc('w'));
  assert.equal(toHex(t.root()), toHex(taggedHash('trie/branch', ...slots)));
});

test('commit writes only new nodes; staged nodes are re-staged until markCommitted', async () => {
  const store = new MemoryNodeStore();
  const t = await TernaryTrie.open(store);
  for (let i = 0; i < 500; i++) await t.put(hkey(`c${i}`), enc(`${i}`));
  const s1 = t.stageCommit();
  assert.ok(s1.nodes.length > 0);
  const s2 = t.stageCommit(); // not marked: the same records again
  assert.equal(s2.nodes.length, s1.nodes.length);
  await store.writeNodes(s2.nodes);
  t.markCommitted();
  assert.equal(t.stageCommit().nodes.length, 0);
  await t.put(hkey('c1'), enc('changed'));
  const s3 = t.stageCommit();
  assert.ok(s3.nodes.length > 0 && s3.nodes.length < s1.nodes.length);
  // Content addressing: a reopened trie at the new root reads everything.
  await store.writeNodes(s3.nodes);
  t.markCommitted();
  const r = await TernaryTrie.at(store, s3.root);
  assert.deepEqual(await r.get(hkey('c1')), enc('changed'));
  assert.deepEqual(await r.get(hkey('c499')), enc('499'));
  await assert.rejects(r.put(hkey('x'), enc('y')), /read-only/);
});

test('keys and values are validated and copied', async () => {
  const t = await TernaryTrie.open(new MemoryNodeStore());
  await assert.rejects(t.put(new Uint8Array(31), enc('v')), RangeError);
  await assert.rejects(t.put(new Uint8Array(32), new Uint8Array(65537)), RangeError);
  const k = hkey('copy');
  const v = enc('abc');
  await t.put(k, v);
  v[0] = 0;
  assert.deepEqual(await t.get(k), enc('abc'));
  t.root();
  assert.deepEqual(await t.get(k), enc('abc'));
});

test('storage: records are keyed gen || hash and each committed root is reachable by its hash alone (a root pointer), including a clean record that became the root', async () => {
  const store = new MemoryNodeStore();
  // recordBytes 0: every node its own record, so deleting a leaf's siblings leaves a clean record as the root.
  const t = await TernaryTrie.open(store, undefined, { recordBytes: 0 });
  const keys = Array.from({ length: 30 }, (_, i) => hkey(`ptr${i}`));
  for (const k of keys) await t.put(k, enc('v'));
  const r1 = await t.commit();
  for (const k of store.map.keys()) assert.ok(k.length === 72 || k.length === 64, 'a key is gen || hash (36 bytes) or a root hash (32)');
  const pointers = [...store.map].filter(([k]) => k.length === 64);
  assert.deepEqual(pointers.map(([k]) => k), [toHex(r1)], 'one pointer, for the committed root');
  for (const k of keys.slice(1)) await t.delete(k);
  const r2 = await t.commit(); // root = the clean leaf record of keys[0]
  assert.equal(toHex(r2), toHex(taggedHash('trie/leaf', keys[0]!, enc('v'))));
  for (const root of [r1, r2]) {
    const view = await TernaryTrie.at(store, root);
    assert.deepEqual(await view.get(keys[0]!), enc('v'));
  }
  assert.equal(await (await TernaryTrie.at(store, r1)).get(keys[7]!).then((v) => v !== undefined), true);
});

test('storage: a store written in the legacy layout (records keyed by hash, 0x03 references) still opens, reads and takes new commits', async () => {
  // Three keys with distinct first trits: root = branch of three leaves, each leaf its own record.
  const byTrit = new Map<number, Uint8Array>();
  for (let i = 0; byTrit.size < 3; i++) {
    const k = hkey(`legacy${i}`);
    byTrit.set(refDigits(k, 3, 1)[0]!, k);
  }
  const store = new MemoryNodeStore();
  const refs: Uint8Array[] = [];
  for (let t = 0; t < 3; t++) {
    const k = byTrit.get(t)!;
    const v = enc(`leaf${t}`);
    const rec = Uint8Array.of(0x01, ...k, 0, 0, 0, v.length, ...v);
    const h = taggedHash('trie/leaf', k, v);
    store.map.set(toHex(h), rec);
    refs.push(h);
  }
  const branch = Uint8Array.of(0x02, 0x03, ...refs[0]!, 0x03, ...refs[1]!, 0x03, ...refs[2]!);
  const root = taggedHash('trie/branch', ...refs);
  store.map.set(toHex(root), branch);
  const t = await TernaryTrie.open(store, root);
  for (let i = 0; i < 3; i++) assert.deepEqual(await t.get(byTrit.get(i)!), enc(`leaf${i}`));
  await t.put(hkey('legacy-new'), enc('new'));
  const r2 = await t.commit();
  const re = await TernaryTrie.open(store, r2);
  await re.loadAll();
  for (let i = 0; i < 3; i++) assert.deepEqual(await re.get(byTrit.get(i)!), enc(`leaf${i}`));
  assert.deepEqual(await re.get(hkey('legacy-new')), enc('new'));
});

test('entries() of a trie reopened at a root lists exactly its (key, value) pairs, whatever was inserted, overwritten or deleted before', async () => {
  await fc.assert(fc.asyncProperty(
    fc.array(fc.tuple(fc.nat(60), fc.option(fc.uint8Array({ minLength: 1, maxLength: 40 }), { nil: null })), { minLength: 0, maxLength: 120 }),
    async (ops) => {
      const store = new MemoryNodeStore();
      const t = await TernaryTrie.open(store);
      const model = new Map<string, Uint8Array>();
      for (const [k, v] of ops) {
        const key = hkey(`k${k}`);
        if (v === null) {
          await t.delete(key);
          model.delete(toHex(key));
        } else {
          await t.put(key, v);
          model.set(toHex(key), v);
        }
      }
      const root = await t.commit();
      const got = await (await TernaryTrie.at(store, root)).entries();
      assert.deepEqual(new Map(got.map(([k, v]) => [toHex(k), toHex(v)])), new Map([...model].map(([k, v]) => [k, toHex(v)])));
      assert.equal(got.length, model.size);
    },
  ), { numRuns: 60 });
  // writes not applied yet are refused rather than left out
  const t = await TernaryTrie.open(new MemoryNodeStore());
  await t.put(hkey("k1"), new Uint8Array([1]));
  await assert.rejects(t.entries(), /pending/);
});
