// Inclusion and non-inclusion proofs: completeness, soundness against tampering, canonical codec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TernaryTrie, MemoryNodeStore, verifyProof, encodeProof, decodeProof, type TrieProof } from '../src/trie/index.js';
import { DecodeError, toHex } from '../src/core/bytes.js';
import { hkey, sharingPrefix, enc, refDigits } from './trie-helpers.js';
import { createHash } from 'node:crypto';
import { taggedHash } from '../src/core/hash.js';
import { wasmSha256, padAt, FREE_OFF } from '../src/trie/sha256-wasm.js';

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

test('the wasm SHA-256 equals node:crypto SHA-256 for every length 0..300 and for the 128-byte fast paths', () => {
  const w = wasmSha256(1 << 16);
  const OUT = 4096;
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 128, maxLength: 128 })), fc.integer({ min: 0, max: 255 }), (m, junk) => {
      w.mem.fill(junk, FREE_OFF, OUT + 32); // stale bytes must not leak into the result
      w.mem.set(m, FREE_OFF);
      w.hash(FREE_OFF, padAt(w.mem, FREE_OFF, m.length), OUT);
      const want = createHash('sha256').update(m).digest('hex');
      assert.equal(toHex(w.mem.subarray(OUT, OUT + 32)), want);
      if (m.length === 128) {
        w.mem.fill(junk, FREE_OFF + 128, FREE_OFF + 192);
        w.hash128(FREE_OFF, OUT);
        assert.equal(toHex(w.mem.subarray(OUT, OUT + 32)), want);
        w.mem.set(m.subarray(0, 32), 8192); // the prefix is remembered, not re-read
        w.setPrefix(8192);
        w.mem.fill(junk, 8192, 8224);
        w.hash128p(FREE_OFF, OUT);
        assert.equal(toHex(w.mem.subarray(OUT, OUT + 32)), want);
      }
    }),
    { numRuns: 1500 },
  );
  for (let n = 0; n <= 300; n++) {
    const m = Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff);
    w.mem.set(m, FREE_OFF);
    w.hash(FREE_OFF, padAt(w.mem, FREE_OFF, n), OUT);
    assert.equal(toHex(w.mem.subarray(OUT, OUT + 32)), createHash('sha256').update(m).digest('hex'), `length ${n}`);
  }
});

/** The verifier written naively from docs/PROTOCOL.md (BigInt digits, taggedHash), to cross-check verifyProof. */
function naiveVerify(root: Uint8Array, key: Uint8Array, value: Uint8Array | null, p: TrieProof, arity: number): boolean {
  const tag = arity === 3 ? 'trie' : `trie${arity}`;
  const L = arity === 3 ? 162 : 256;
  const d = refDigits(key, arity, L);
  const packed = (path: Uint8Array): Uint8Array => {
    const out = new Uint8Array(Math.ceil(path.length / 4));
    path.forEach((t, i) => (out[i >> 2]! |= t << (6 - 2 * (i & 3))));
    return out;
  };
  const eq = (a: Uint8Array, b: Uint8Array): boolean => toHex(a) === toHex(b);
  if (p.steps.length > 2 * L) return false;
  let depth = 0;
  const taken: number[] = [];
  for (const s of p.steps) {
    if (s.kind === 'branch') {
      if (depth >= L || s.siblings.length !== arity - 1 || s.siblings.some((h) => h.length !== 32)) return false;
      taken.push(d[depth++]!);
    } else {
      if (s.path.length < 1 || depth + s.path.length > L) return false;
      if (s.path.some((t, j) => t !== d[depth + j])) return false;
      depth += s.path.length;
      taken.push(-1);
    }
  }
  const e = p.end;
  let h: Uint8Array;
  if (e.kind === 'empty') {
    if (value !== null) return false;
    h = new Uint8Array(32);
  } else if (e.kind === 'leaf') {
    if (value === null || value.length > 65536) return false;
    h = taggedHash(`${tag}/leaf`, key, value);
  } else if (e.kind === 'other-leaf') {
    if (value !== null || e.key.length !== 32 || e.value.length > 65536 || eq(e.key, key)) return false;
    h = taggedHash(`${tag}/leaf`, e.key, e.value);
  } else {
    if (value !== null || e.path.length < 1 || e.path.length >= L || e.child.length !== 32 || e.path.some((t) => t >= arity)) return false;
    if (!e.path.some((t, j) => depth + j < L && t !== d[depth + j])) return false;
    h = taggedHash(`${tag}/ext`, Uint8Array.of(e.path.length), packed(e.path), e.child);
  }
  for (let i = p.steps.length - 1; i >= 0; i--) {
    const s = p.steps[i]!;
    if (s.kind === 'branch') {
      const kids = [...s.siblings];
      kids.splice(taken[i]!, 0, h);
      h = taggedHash(`${tag}/branch`, ...kids);
    } else h = taggedHash(`${tag}/ext`, Uint8Array.of(s.path.length), packed(s.path), h);
  }
  return eq(h, root);
}

test('verifyProof agrees with a naive verifier written from the spec on valid, tampered and wrong-claim proofs (arity 3 and 2)', async () => {
  let accepted = 0;
  let checked = 0;
  for (const arity of [3, 2]) {
    const t = await TernaryTrie.open(new MemoryNodeStore(), undefined, { arity });
    const keys: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) keys.push(hkey(`n${arity}/${i}`));
    const base = hkey('nbase');
    if (arity === 3) for (const k of [3, 9, 25, 80]) keys.push(sharingPrefix(base, k, 1)); // extensions
    else for (const bit of [2, 9, 30, 200]) keys.push(Uint8Array.from(base, (v, i) => (i === 31 - (bit >> 3) ? v ^ (1 << (bit & 7)) : v)));
    const big = new Uint8Array(65536).fill(7); // the largest value: a multi-block leaf preimage
    for (const [i, k] of keys.entries()) await t.put(k, i === 5 ? big : enc(`v${i}`.repeat(1 + (i % 9))));
    await t.commit();
    const root = t.root();
    const probes = keys.slice(0, 60).concat(keys.slice(-4), [base], Array.from({ length: 40 }, (_, i) => hkey(`absent${i}`)));
    for (const [pi, k] of probes.entries()) {
      const v = await t.get(k);
      const enc0 = encodeProof(await t.prove(k), arity);
      const variants = [enc0];
      for (let j = 0; j < 6; j++) {
        const m = enc0.slice();
        m[(pi * 131 + j * 977) % m.length]! ^= 1 << ((pi + j) & 7);
        variants.push(m);
      }
      for (const b of variants) {
        let p: TrieProof;
        try {
          p = decodeProof(b, arity);
        } catch {
          continue;
        }
        const other = probes[(pi + 1) % probes.length]!;
        for (const [kk, vv] of [[k, v ?? null], [k, null], [k, enc('x')], [other, v ?? null]] as Array<[Uint8Array, Uint8Array | null]>) {
          const fast = verifyProof(root, kk, vv, p, arity);
          assert.equal(fast, naiveVerify(root, kk, vv, p, arity), `arity ${arity} probe ${pi}`);
          checked++;
          if (fast) accepted++;
        }
      }
    }
  }
  assert.ok(accepted >= 200 && checked > 4 * accepted, `${accepted} accepted of ${checked}`);
});
