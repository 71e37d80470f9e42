// Journaled commits (TrieOptions.checkpointEvery > 1): between node checkpoints a commit stores its
// write journal and a pointer `root -> base + journal`. Every committed root must still open with
// exactly its contents (replayed lazily for short journals, after loading the base for long ones),
// a writable reopen continues the chain, checkpoints come at the stated cadence, and a damaged store
// is refused with a clear error, never opened at a wrong root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TernaryTrie, MemoryNodeStore, TrieMissingNodeError } from '../src/trie/index.js';
import { WriteJournal, forEachJournalEntry } from '../src/trie/journal.js';
import { DecodeError, toHex } from '../src/core/bytes.js';
import { hkey } from './trie-helpers.js';

const keys = Array.from({ length: 6000 }, (_, i) => hkey(`journal-${i}`));

/** Pointer kinds in the store, by the first byte of records stored under a 32-byte key. */
function pointerKinds(store: MemoryNodeStore): { checkpoints: number; journaled: number } {
  let checkpoints = 0;
  let journaled = 0;
  for (const [k, v] of store.map) {
    if (k.length !== 64) continue;
    if (v[0] === 0x06 && v.length === 5) checkpoints++;
    if (v[0] === 0x07 && v.length === 37) journaled++;
  }
  return { checkpoints, journaled };
}

async function expectContents(t: TernaryTrie, model: Map<number, Uint8Array>, step: number): Promise<void> {
  for (let k = 0; k < keys.length; k += step) {
    const got = await t.get(keys[k]!);
    const want = model.get(k);
    assert.equal(got === undefined ? 'absent' : toHex(got), want === undefined ? 'absent' : toHex(want), `key ${k}`);
  }
}

for (const recordBytes of [0, 256]) {
  test(`every root of a journaled chain opens with exactly its contents, short journals lazily and long ones after loading the base; a writable reopen continues the chain (recordBytes ${recordBytes})`, async () => {
    const store = new MemoryNodeStore();
    let t = await TernaryTrie.open(store, undefined, { recordBytes, checkpointEvery: 4 });
    const model = new Map<number, Uint8Array>();
    const versions: Array<[Uint8Array, Map<number, Uint8Array>]> = [];
    let s = 7;
    const rnd = (n: number): number => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s % n;
    };
    // Batch sizes on both sides of the replay threshold (4096 writes), deletes included.
    const sizes = [6000, 3, 40, 5000, 1, 200, 7, 4500, 2, 0, 30, 5];
    for (let round = 0; round < sizes.length; round++) {
      for (let j = 0; j < sizes[round]!; j++) {
        const k = round === 0 ? j : rnd(keys.length);
        if (round > 0 && rnd(5) === 0) {
          await t.delete(keys[k]!);
          model.delete(k);
        } else {
          const v = Uint8Array.of(round, j & 0xff, rnd(256));
          await t.put(keys[k]!, v);
          model.set(k, v);
        }
      }
      versions.push([await t.commit(), new Map(model)]);
      if (round === 5) t = await TernaryTrie.open(store, versions[round]![0], { recordBytes, checkpointEvery: 4 });
    }
    for (const [root, contents] of versions) {
      const view = await TernaryTrie.at(store, root, { recordBytes });
      assert.equal(toHex(view.root()), toHex(root));
      await expectContents(view, contents, 13);
    }
    // The empty trie is the first base, so commits go J J J C J J | reopen (chain of 2) J C J - J J:
    // every 4th commit that writes is a checkpoint, and round 9 (no writes) writes nothing.
    assert.deepEqual(pointerKinds(store), { checkpoints: 2, journaled: 9 });
  });
}

test('journaled commits keep exactly-once semantics under a model: random puts, deletes, commits and writable reopens, every committed root verified', async () => {
  const small = keys.slice(0, 60);
  type Op = { t: 'put'; k: number; v: number } | { t: 'del'; k: number } | { t: 'commit' } | { t: 'reopen' };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 8, arbitrary: fc.record({ t: fc.constant('put' as const), k: fc.nat(small.length - 1), v: fc.nat(255) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('del' as const), k: fc.nat(small.length - 1) }) },
    { weight: 3, arbitrary: fc.constant({ t: 'commit' as const }) },
    { weight: 1, arbitrary: fc.constant({ t: 'reopen' as const }) },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { maxLength: 120 }), fc.integer({ min: 2, max: 5 }), fc.constantFrom(0, 256), async (ops, every, recordBytes) => {
      const store = new MemoryNodeStore();
      const opts = { recordBytes, checkpointEvery: every };
      let t = await TernaryTrie.open(store, undefined, opts);
      const model = new Map<number, number>();
      const versions: Array<[Uint8Array, Map<number, number>]> = [];
      let last: Uint8Array | undefined;
      for (const op of ops) {
        if (op.t === 'put') {
          await t.put(small[op.k]!, Uint8Array.of(op.v));
          model.set(op.k, op.v);
        } else if (op.t === 'del') {
          await t.delete(small[op.k]!);
          model.delete(op.k);
        } else if (op.t === 'commit') {
          last = await t.commit();
          versions.push([last, new Map(model)]);
        } else if (last !== undefined) {
          // Uncommitted writes are dropped by a reopen, as after a crash.
          t = await TernaryTrie.open(store, last, opts);
          model.clear();
          for (const [k, v] of versions[versions.length - 1]![1]) model.set(k, v);
        }
      }
      for (const [root, contents] of versions) {
        const view = await TernaryTrie.at(store, root, { recordBytes });
        for (let k = 0; k < small.length; k++) {
          const got = await view.get(small[k]!);
          assert.equal(got === undefined ? -1 : got[0], contents.get(k) ?? -1);
        }
      }
    }),
    { numRuns: 150, seed: 20261204 },
  );
});

test('a damaged journal chain is refused with a clear error: flipped journal byte, missing journal, looping pointers', async () => {
  const build = async (): Promise<{ store: MemoryNodeStore; roots: Uint8Array[] }> => {
    const store = new MemoryNodeStore();
    const t = await TernaryTrie.open(store, undefined, { checkpointEvery: 5 });
    const roots: Uint8Array[] = [];
    for (let r = 0; r < 3; r++) {
      for (let j = 0; j < 20; j++) await t.put(keys[r * 20 + j]!, Uint8Array.of(r, j));
      roots.push(await t.commit());
    }
    return { store, roots };
  };
  // A journal is a 36-byte-keyed record whose first u32 is its write count (20 per commit here).
  {
    const { store, roots } = await build();
    const ptr = store.map.get(toHex(roots[2]!))!;
    assert.equal(ptr[0], 0x07);
    const journals = [...store.map.entries()].filter(([k, v]) => k.length === 72 && v.length >= 4 && new DataView(v.buffer, v.byteOffset).getUint32(0) === 20);
    assert.ok(journals.length >= 2);
    // Flip one value byte in every journal: the replayed root cannot match.
    for (const [, v] of journals) v[v.length - 1] ^= 1;
    await assert.rejects(TernaryTrie.at(store, roots[2]!), /replaying the journals of root .* gave .* \(corrupt store\)/);
  }
  {
    const { store, roots } = await build();
    for (const [k, v] of [...store.map.entries()]) if (k.length === 72 && new DataView(v.buffer, v.byteOffset).getUint32(0) === 20) store.map.delete(k);
    await assert.rejects(TernaryTrie.at(store, roots[2]!), TrieMissingNodeError);
  }
  {
    const { store, roots } = await build();
    // roots[1] -> roots[2] -> roots[1]: a loop.
    const p1 = store.map.get(toHex(roots[1]!))!;
    p1.set(roots[2]!, 5);
    await assert.rejects(TernaryTrie.at(store, roots[2]!), /loops \(corrupt store\)/);
  }
  {
    // Truncated journal: a DecodeError, not a wrong root.
    const { store, roots } = await build();
    for (const [k, v] of [...store.map.entries()]) if (k.length === 72 && new DataView(v.buffer, v.byteOffset).getUint32(0) === 20) store.map.set(k, v.subarray(0, v.length - 3));
    await assert.rejects(TernaryTrie.at(store, roots[2]!), DecodeError);
  }
  await assert.rejects(TernaryTrie.open(new MemoryNodeStore(), undefined, { checkpointEvery: 0 }), RangeError);
  await assert.rejects(TernaryTrie.open(new MemoryNodeStore(), undefined, { checkpointEvery: 1.5 }), RangeError);
});

test('journal codec: what is appended decodes to the same entries in order; drop() keeps later entries; any other bytes throw only DecodeError', () => {
  const entryArb = fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }));
  fc.assert(
    fc.property(fc.array(entryArb, { maxLength: 40 }), fc.nat(40), (entries, cut) => {
      const j = new WriteJournal();
      const c = Math.min(cut, entries.length);
      for (const [k, v] of entries.slice(0, c)) j.append(k, v);
      const m = j.mark();
      for (const [k, v] of entries.slice(c)) j.append(k, v);
      const all: Array<[string, string | null]> = [];
      assert.equal(forEachJournalEntry(j.encode(), (k, v) => all.push([toHex(k), v === null ? null : toHex(v)])), entries.length);
      assert.deepEqual(all, entries.map(([k, v]) => [toHex(k), v === null ? null : toHex(v)]));
      j.drop(m);
      const rest: string[] = [];
      forEachJournalEntry(j.encode(), (k) => rest.push(toHex(k)));
      assert.deepEqual(rest, entries.slice(c).map(([k]) => toHex(k)));
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      try {
        forEachJournalEntry(b, () => undefined);
      } catch (e) {
        assert.ok(e instanceof DecodeError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
  // A value over the 64 KiB limit is refused.
  const big = new Uint8Array(4 + 36);
  new DataView(big.buffer).setUint32(0, 1);
  new DataView(big.buffer).setUint32(36, 65537);
  assert.throws(() => forEachJournalEntry(big, () => undefined), /65537 bytes/);
});
