// Inclusion and non-inclusion proofs: completeness, soundness against tampering, canonical codec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TernaryTrie, MemoryNodeStore, verifyProof, encodeProof, decodeProof, type TrieProof } from '../src/trie/index.js';
import { DecodeError, toHex } from '../src/core/bytes.js';
import { hkey, sharingPrefix, enc } from './trie-helpers.js';

async function sample(): Promise<{ t: TernaryTrie; present: Uint8Array[]; absent: Uint8Array[]; root: Uint8Array }> {
  const t = await TernaryTrie.open(new MemoryNodeStore(), undefined, { recordBytes: 200 });
  const present: Uint8Array[] = [];
  for (let i = 0; i < 400; i++) present.push(hkey(`p${i}`));
  const base = hkey('pbase');
  for (const k of [3, 9, 25]) for (let j = 0; j < 2; j++) present.push(sharingPrefix(base, k, j)); // extensions
  for (const k of present) await t.put(k, enc(`value of ${toHex(k).slice(0, 8)}`));
  await t.commit();
  const absent: Uint8Array[] = [];
  for (let i = 0; i < 300; i++) absent.push(hkey(`a${i}`));
  for (const k of [3, 5, 9, 12, 25]) absent.push(sharingPrefix(base, k, 2)); // end inside / beside extensions
  return { t, present, absent, root: t.root() };
}

const valueOf = (k: Uint8Array): Uint8Array => enc(`value of ${toHex(k).slice(0, 8)}`);

test('every inclusion and non-inclusion proof verifies after an encode/decode round trip, and re-encodes identically', async () => {
  const { t, present, absent, root } = await sample();
  const kinds = new Set<string>();
  for (const k of present) {
    const p = await t.prove(k);
    assert.equal(p.end.kind, 'leaf');
    const b = encodeProof(p);
    assert.ok(verifyProof(root, k, valueOf(k), decodeProof(b)));
    assert.equal(toHex(encodeProof(decodeProof(b))), toHex(b));
  }
  for (const k of absent) {
    const p = await t.prove(k);
    kinds.add(p.end.kind);
    const b = encodeProof(p);
    assert.ok(verifyProof(root, k, null, decodeProof(b)), `absent ${toHex(k)}`);
    assert.equal(toHex(encodeProof(decodeProof(b))), toHex(b));
  }
  assert.deepEqual([...kinds].sort(), ['empty', 'ext-diverge', 'other-leaf']);
  // The empty trie proves absence of anything.
  const e = await TernaryTrie.open(new MemoryNodeStore());
  assert.ok(verifyProof(e.root(), hkey('x'), null, await e.prove(hkey('x'))));
});

test('a proof fails for a wrong value, a wrong key, a wrong root, and the opposite claim', async () => {
  const { t, present, absent, root } = await sample();
  const badRoot = root.slice();
  badRoot[0]! ^= 1;
  for (const k of present.slice(0, 80).concat(present.slice(-6))) {
    const p = decodeProof(encodeProof(await t.prove(k)));
    assert.ok(!verifyProof(root, k, enc('wrong'), p));
    assert.ok(!verifyProof(root, k, null, p));
    assert.ok(!verifyProof(badRoot, k, valueOf(k), p));
    for (const other of [present[(present.indexOf(k) + 1) % present.length]!, absent[0]!]) {
      assert.ok(!verifyProof(root, other, valueOf(k), p));
      assert.ok(!verifyProof(root, other, valueOf(other), p));
    }
  }
  for (const k of absent.slice(0, 80).concat(absent.slice(-5))) {
    const p = decodeProof(encodeProof(await t.prove(k)));
    assert.ok(!verifyProof(root, k, enc('anything'), p));
    assert.ok(!verifyProof(badRoot, k, null, p));
    assert.ok(!verifyProof(root, present[0]!, null, p));
    assert.ok(!verifyProof(root, present[0]!, valueOf(present[0]!), p));
  }
});

test('flipping any bit of an encoded proof makes it undecodable or unverifiable', async () => {
  const { t, present, absent, root } = await sample();
  const cases: Array<[Uint8Array, Uint8Array | null]> = [];
  for (const k of present.slice(0, 6).concat(present.slice(-6))) cases.push([k, valueOf(k)]);
  for (const k of absent.slice(0, 6).concat(absent.slice(-5))) cases.push([k, null]);
  for (const [k, v] of cases) {
    const b = encodeProof(await t.prove(k));
    for (let i = 0; i < b.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const m = b.slice();
        m[i]! ^= 1 << bit;
        let p: TrieProof;
        try {
          p = decodeProof(m);
        } catch (e) {
          assert.ok(e instanceof DecodeError, `byte ${i}: ${String(e)}`);
          continue;
        }
        assert.ok(!verifyProof(root, k, v, p), `byte ${i} bit ${bit} of ${toHex(k)}`);
      }
    }
  }
});

test('decodeProof on arbitrary bytes throws nothing but DecodeError, and what it accepts re-encodes to the same bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
      try {
        const p = decodeProof(b);
        assert.equal(toHex(encodeProof(p)), toHex(b));
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    }),
    { numRuns: 20000 },
  );
  // Structured noise: valid step tags with random payloads.
  const step = fc.oneof(
    fc.tuple(fc.integer({ min: 0x10, max: 0x13 }), fc.uint8Array({ maxLength: 70 })).map(([t, r]) => [t, ...r]),
    fc.tuple(fc.constant(0x20), fc.nat(255), fc.uint8Array({ maxLength: 50 })).map(([t, n, r]) => [t, n, ...r]),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 20 }), fc.nat(4), fc.uint8Array({ maxLength: 80 }), (steps, end, tail) => {
      const b = Uint8Array.from([...steps.flat(), end, ...tail]);
      try {
        decodeProof(b);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    }),
    { numRuns: 5000 },
  );
});
