// The arena trie's own bookkeeping: node slots are reused and the byte pool is compacted, and a staged
// commit must still know exactly which nodes it wrote when writes land between stageCommit() and
// markCommitted(). Checked against a Map model, a trie built from scratch, and a reopen from the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TernaryTrie, MemoryNodeStore, encodeProof } from '../src/trie/index.js';
import { toHex, DecodeError } from '../src/core/bytes.js';
import { Arena } from '../src/trie/arena.js';
import { tagsFor } from '../src/trie/hash.js';
import { decodeRecord } from './support/trie-node-record.js';
import { hkey, sharingPrefix } from './trie-helpers.js';

const base = hkey('arena-base');
const POOL: Uint8Array[] = [];
for (let i = 0; i < 40; i++) POOL.push(hkey(`arena-${i}`));
for (const k of [1, 2, 4, 22, 23, 24, 40]) for (let j = 1; j <= 2; j++) POOL.push(sharingPrefix(base, k, j));
POOL.push(base);

const val = (v: number): Uint8Array => (v % 7 === 6 ? new Uint8Array(90 + v).fill(v & 0xff) : Uint8Array.of(v & 0xff, v >> 8));

async function fromScratch(model: Map<number, Uint8Array>): Promise<string> {
  const t = await TernaryTrie.open(new MemoryNodeStore());
  for (const [k, v] of model) await t.put(POOL[k]!, v);
  return toHex(t.root());
}

type Op = { t: 'put'; k: number; v: number } | { t: 'del'; k: number } | { t: 'stage' } | { t: 'mark' } | { t: 'root' };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('put' as const), k: fc.nat(POOL.length - 1), v: fc.nat(1000) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('del' as const), k: fc.nat(POOL.length - 1) }) },
  { weight: 2, arbitrary: fc.constant({ t: 'stage' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'mark' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'root' as const }) },
);

test('staged commits with writes before markCommitted, node checkpoints or journaled: every committed root reopens from the store with exactly its contents', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { maxLength: 150 }), fc.constantFrom(0, 100, 256), fc.constantFrom(1, 4096), fc.constantFrom(1, 2, 3, 7), async (ops, recordBytes, relayoutMinNodes, checkpointEvery) => {
      const store = new MemoryNodeStore();
      const t = await TernaryTrie.open(store, undefined, { recordBytes, relayoutMinNodes, checkpointEvery });
      const model = new Map<number, Uint8Array>();
      const versions: Array<[string, Map<number, Uint8Array>]> = [];
      let staged: Map<number, Uint8Array> | null = null;
      let stagedRoot = '';
      for (const op of ops) {
        if (op.t === 'put') {
          await t.put(POOL[op.k]!, val(op.v));
          model.set(op.k, val(op.v));
        } else if (op.t === 'del') {
          await t.delete(POOL[op.k]!);
          model.delete(op.k);
        } else if (op.t === 'root') {
          t.root();
        } else if (op.t === 'stage') {
          const s = t.stageCommit();
          await store.writeNodes(s.nodes); // the caller's batch lands at once
          staged = new Map(model);
          stagedRoot = toHex(s.root);
        } else if (staged !== null) {
          t.markCommitted(); // after more writes: those nodes must stay dirty for the next commit
          versions.push([stagedRoot, staged]);
          staged = null;
        }
      }
      const last = toHex(await t.commit());
      versions.push([last, new Map(model)]);
      assert.equal(last, await fromScratch(model));
      for (const [root, contents] of versions) {
        const view = await TernaryTrie.at(store, Uint8Array.from(Buffer.from(root, 'hex')));
        for (let k = 0; k < POOL.length; k++) {
          const got = await view.get(POOL[k]!);
          const want = contents.get(k);
          assert.equal(got === undefined ? 'absent' : toHex(got), want === undefined ? 'absent' : toHex(want));
        }
      }
    }),
    { numRuns: 100, seed: 20261122 },
  );
});

test('many rounds of updates, deletes and re-inserts (slot reuse, pool compaction) keep the root equal to a from-scratch build', async () => {
  const keys = Array.from({ length: 3000 }, (_, i) => hkey(`churn-${i}`));
  const store = new MemoryNodeStore();
  let t = await TernaryTrie.open(store);
  const model = new Map<number, Uint8Array>();
  let s = 12345;
  const rnd = (n: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  for (let round = 0; round < 12; round++) {
    for (let j = 0; j < 1500; j++) {
      const k = rnd(keys.length);
      if (rnd(4) === 0) {
        await t.delete(keys[k]!);
        model.delete(k);
      } else {
        const v = new Uint8Array(1 + rnd(120)).fill(round);
        await t.put(keys[k]!, v);
        model.set(k, v);
      }
    }
    const root = await t.commit();
    if (round % 4 === 3) {
      t = await TernaryTrie.open(store, root); // reopen: REF nodes, loaded on demand by the next writes
      if (round === 7) await t.loadAll();
    }
  }
  const fresh = await TernaryTrie.open(new MemoryNodeStore());
  for (const [k, v] of model) await fresh.put(keys[k]!, v);
  assert.equal(toHex(t.root()), toHex(fresh.root()));
  for (let k = 0; k < keys.length; k += 7) {
    const got = await t.get(keys[k]!);
    assert.equal(got === undefined ? 'absent' : toHex(got), model.has(k) ? toHex(model.get(k)!) : 'absent');
  }
});

test('same-size updates (rewritten in place in the pool) keep every committed version intact: each earlier root reopens with its own values, and the last equals a from-scratch build (K = 1 and journaled K = 3)', async () => {
  for (const checkpointEvery of [1, 3]) {
    const keys = Array.from({ length: 2000 }, (_, i) => hkey(`inplace-${i}`));
    const store = new MemoryNodeStore();
    const t = await TernaryTrie.open(store, undefined, { checkpointEvery });
    const v16 = (k: number, round: number): Uint8Array => {
      const v = new Uint8Array(16);
      v[0] = round;
      v[15] = k & 0xff;
      v[14] = k >> 8;
      return v;
    };
    const model = new Map<number, Uint8Array>();
    for (let k = 0; k < keys.length; k++) {
      await t.put(keys[k]!, v16(k, 0));
      model.set(k, v16(k, 0));
    }
    const history: Array<{ root: Uint8Array; model: Map<number, Uint8Array> }> = [{ root: await t.commit(), model: new Map(model) }];
    for (let round = 1; round <= 7; round++) {
      for (let k = round; k < keys.length; k += 3) {
        await t.put(keys[k]!, v16(k, round)); // same 16 bytes: the leaf is rewritten in place
        model.set(k, v16(k, round));
      }
      if (round === 4) {
        t.stageCommit(); // a staged commit with writes landing before it is marked
        await t.put(keys[0]!, v16(0, 99));
        model.set(0, v16(0, 99));
      }
      history.push({ root: await t.commit(), model: new Map(model) });
    }
    for (const [i, h] of history.entries()) {
      const view = await TernaryTrie.at(store, h.root);
      for (let k = 0; k < keys.length; k += 37) assert.equal(toHex((await view.get(keys[k]!))!), toHex(h.model.get(k)!), `K ${checkpointEvery}, version ${i}, key ${k}`);
    }
    const fresh = await TernaryTrie.open(new MemoryNodeStore());
    for (const [k, v] of model) await fresh.put(keys[k]!, v);
    assert.equal(toHex(t.root()), toHex(fresh.root()));
    const reopened = await TernaryTrie.open(store, t.root(), { checkpointEvery });
    for (let k = 0; k < keys.length; k += 11) assert.equal(toHex((await reopened.get(keys[k]!))!), toHex(model.get(k)!));
  }
});

test('put and delete on a read-only view and with bad arguments reject (not throw) and change nothing', async () => {
  const store = new MemoryNodeStore();
  const t = await TernaryTrie.open(store);
  await t.put(POOL[0]!, val(1));
  const root = await t.commit();
  const view = await TernaryTrie.at(store, root);
  await assert.rejects(() => { const p = view.put(POOL[1]!, val(2)); assert.ok(p instanceof Promise); return p; }, /read-only/);
  await assert.rejects(() => view.delete(POOL[0]!), /read-only/);
  await assert.rejects(() => t.put(new Uint8Array(31), val(2)), /32 bytes/);
  await assert.rejects(() => t.put(POOL[1]!, new Uint8Array(65537)), /at most/);
  assert.equal(toHex(t.root()), toHex(root));
  assert.equal(toHex(view.root()), toHex(root));
});

test('record decoder: on any bytes it accepts exactly what node.ts decodeRecord accepts, throws only DecodeError, leaves no nodes behind, and re-encodes what it accepts byte for byte', async () => {
  const store = new MemoryNodeStore();
  const t = await TernaryTrie.open(store, undefined, { recordBytes: 120 });
  for (let i = 0; i < POOL.length; i++) await t.put(POOL[i]!, val(i * 3));
  await t.commit();
  const valid = [...store.map.values()].filter((b) => b[0] !== 0x06); // node records (not the root pointer)
  const arena = new Arena(3, tagsFor(3));
  const hash = new Uint8Array(32).fill(9);
  const bytesArb = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.nat(valid.length - 1), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(3)).map(([v, i, b, cut]) => {
      const x = valid[v]!.slice(0, cut === 0 ? undefined : valid[v]!.length - cut);
      if (x.length > 0) x[i % x.length] = b;
      return x;
    }),
  );
  await fc.assert(
    fc.asyncProperty(bytesArb, async (bytes) => {
      const before = arena.live;
      let oldOk = true;
      try {
        decodeRecord(bytes, hash, 3);
      } catch (e) {
        assert.ok(e instanceof DecodeError);
        oldOk = false;
      }
      let id = -1;
      try {
        id = arena.decode(bytes, hash, { refs: 0 });
      } catch (e) {
        assert.ok(e instanceof DecodeError, String(e));
      }
      assert.equal(id >= 0, oldOk);
      if (id < 0) {
        assert.equal(arena.live, before);
        return;
      }
      const out = new Uint8Array(bytes.length);
      assert.equal(arena.write(id, out, 0, []), bytes.length);
      assert.equal(toHex(out), toHex(bytes));
      arena.freeTree(id);
      assert.equal(arena.live, before);
    }),
    { numRuns: 3000, seed: 7 },
  );
  for (const v of valid) arena.freeTree(arena.decode(v, hash, { refs: 0 })); // every stored record decodes
});

test('concurrent gets, puts, deletes and proofs on a reopened trie (nodes loading under each other) end in the same state as running them one by one', async () => {
  const keys = Array.from({ length: 600 }, (_, i) => hkey(`conc-${i}`));
  const store = new MemoryNodeStore();
  const t0 = await TernaryTrie.open(store, undefined, { recordBytes: 64 });
  for (let i = 0; i < 400; i++) await t0.put(keys[i]!, Uint8Array.of(i & 0xff, 1));
  const root = await t0.commit();
  const t = await TernaryTrie.open(store, root, { recordBytes: 64 }); // only the root record is loaded
  const model = new Map<number, Uint8Array>();
  for (let i = 0; i < 400; i++) model.set(i, Uint8Array.of(i & 0xff, 1));
  const jobs: Array<Promise<unknown>> = [];
  for (let i = 0; i < 600; i++) {
    if (i % 3 === 0) {
      jobs.push(t.put(keys[i]!, Uint8Array.of(i & 0xff, 2)));
      model.set(i, Uint8Array.of(i & 0xff, 2));
    } else if (i % 3 === 1 && i < 400) {
      jobs.push(t.delete(keys[i]!));
      model.delete(i);
    } else {
      jobs.push(t.prove(keys[(i * 7) % 600]!));
      jobs.push(t0.get(keys[i]!));
    }
  }
  await Promise.all(jobs);
  const fresh = await TernaryTrie.open(new MemoryNodeStore());
  for (const [k, v] of model) await fresh.put(keys[k]!, v);
  assert.equal(toHex(t.root()), toHex(fresh.root()));
  await t.commit();
  const again = await TernaryTrie.open(store, t.root());
  await again.loadAll();
  assert.equal(toHex(again.root()), toHex(fresh.root()));
});

test('relayout (depth-first re-laying of the node arena) changes nothing observable: roots, gets, proofs, commits and reopen agree with a trie that never relays', async () => {
  // relayoutMinNodes: 1 re-lays whenever the churn since the last relayout reaches half the live
  // node count, so every sequence below runs through many relayouts (keys sharing long prefixes
  // included: extensions are re-laid too).
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(POOL.length - 1), fc.option(fc.nat(1000), { nil: null }), fc.boolean()), { minLength: 1, maxLength: 300 }),
      async (ops) => {
        const s1 = new MemoryNodeStore();
        const t1 = await TernaryTrie.open(s1, undefined, { relayoutMinNodes: 1 });
        const t2 = await TernaryTrie.open(new MemoryNodeStore(), undefined, { relayoutMinNodes: 1 << 30 });
        for (const [k, v, commit] of ops) {
          if (v === null) {
            await t1.delete(POOL[k]!);
            await t2.delete(POOL[k]!);
          } else {
            await t1.put(POOL[k]!, val(v));
            await t2.put(POOL[k]!, val(v));
          }
          if (commit) assert.equal(toHex(await t1.commit()), toHex(await t2.commit()));
        }
        const root = await t1.commit();
        assert.equal(toHex(root), toHex(await t2.commit()));
        for (let k = 0; k < POOL.length; k++) {
          assert.deepEqual(await t1.get(POOL[k]!), await t2.get(POOL[k]!));
          assert.equal(toHex(encodeProof(await t1.prove(POOL[k]!))), toHex(encodeProof(await t2.prove(POOL[k]!))));
        }
        const re = await TernaryTrie.open(s1, root, { relayoutMinNodes: 1 });
        await re.loadAll(); // loadAll re-lays too
        assert.equal(toHex(re.root()), toHex(root));
        for (let k = 0; k < POOL.length; k++) assert.deepEqual(await re.get(POOL[k]!), await t2.get(POOL[k]!));
      },
    ),
    { numRuns: 60, seed: 4242 },
  );
});
