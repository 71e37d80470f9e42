// The transaction signature rule (core/tx-signature.ts, docs/PROTOCOL.md) and its three
// implementations: the native addon one by one and in batches, the libsodium + noble fallback, and
// the worker pool. Each test states the property it checks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex } from '../src/core/bytes.js';
import { keyPairFromSeed, sign, verify as libsodiumVerify } from '../src/core/ed25519.js';
import { nativeEd25519, nobleRule, verifyTxSignatureRule, txVerifierName } from '../src/core/tx-signature.js';
import { encodeSignedTx, encodeTransfer, txSigningHash, verifySignedTxBytes, type Transfer } from '../src/shard/tx.js';
import { VerifyPool } from '../src/shard/verify-pool.js';

const native = nativeEd25519();
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;
const Point = ed25519.Point;

interface Sig { pk: Uint8Array; sig: Uint8Array; msg: Uint8Array }

/**
 * Native verdicts for items, in one call (batch or one by one); also how many batch equations failed.
 * A key or signature of the wrong length is invalid without a call (the addon takes fixed widths).
 */
function nativeVerdicts(all: readonly Sig[], batch: boolean): { ok: boolean[]; failed: number } {
  if (!native) throw new Error('native addon not built');
  const items = all.filter((it) => it.pk.length === 32 && it.sig.length === 64);
  const n = items.length;
  const pks = new Uint8Array(32 * n);
  const sigs = new Uint8Array(64 * n);
  const ends = new Uint32Array(n);
  let total = 0;
  items.forEach((it, i) => { total += it.msg.length; ends[i] = total; });
  const msgs = new Uint8Array(total);
  items.forEach((it, i) => {
    pks.set(it.pk, 32 * i);
    sigs.set(it.sig, 64 * i);
    msgs.set(it.msg, i === 0 ? 0 : ends[i - 1]!);
  });
  const out = new Uint8Array(n);
  const failed = native.verify(pks, sigs, msgs, ends, out, batch);
  const verdict = new Map(items.map((it, i) => [it, out[i] === 1]));
  return { ok: all.map((it) => verdict.get(it) ?? false), failed };
}

const le = (b: Uint8Array): bigint => b.reduceRight((x, v) => (x << 8n) | BigInt(v), 0n);
const le32 = (x: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((x >> BigInt(8 * i)) & 255n));
const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

let seedNo = 0;
function honest(msg: Uint8Array = Uint8Array.from({ length: 32 }, (_, i) => (seedNo * 7 + i) & 255)): Sig {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, ++seedNo);
  const kp = keyPairFromSeed(seed);
  return { pk: kp.publicKey, sig: sign(msg, kp.secretKey), msg };
}

/**
 * A signature made with the signer's secret scalar but with a small-order point T added to R or to
 * A, or with R replaced by T (then S = k a): the cofactored equation holds for all three.
 */
function crafted(o: { addR?: typeof Point.BASE; addA?: typeof Point.BASE; smallR?: typeof Point.BASE }, msg: Uint8Array = new Uint8Array(32).fill(9), seed: Uint8Array = new Uint8Array(32).fill(++seedNo & 255)): Sig {
  const { scalar: a, point: A0 } = ed25519.utils.getExtendedPublicKey(seed);
  const pk = (o.addA ? A0.add(o.addA) : A0).toBytes();
  const r = mod(le(sha512(concatBytes(seed, msg))), L) || 1n;
  const R = o.smallR ?? Point.BASE.multiply(r).add(o.addR ?? Point.ZERO);
  const Rb = R.toBytes();
  const k = mod(le(sha512(concatBytes(Rb, pk, msg))), L);
  const S = o.smallR ? mod(k * a, L) : mod(r + k * a, L);
  return { pk, sig: concatBytes(Rb, le32(S)), msg };
}

/** Public key A = T of small order, R = [r]B, S = r: [S]B - R - [k]A = -[k]T, a small-order point. */
function smallA(T: typeof Point.BASE, msg = new Uint8Array(32).fill(5)): Sig {
  const r = BigInt(++seedNo) * 1000003n;
  const R = Point.BASE.multiply(r).toBytes();
  return { pk: T.toBytes(), sig: concatBytes(R, le32(r)), msg };
}

const torsion = ED25519_TORSION_SUBGROUP.map((h) => Point.fromBytes(fromHex(h)));
const T8 = Point.fromBytes(fromHex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05')); // order 8

const hasCompiler = spawnSync(process.env.CC || 'cc', ['--version'], { stdio: 'ignore' }).status === 0;
/** Native-only tests are skipped where the addon cannot have been built (no C compiler); the first test fails if it should have been. */
const nativeOnly = { skip: native ? false : 'native addon not built here (no C compiler)' };

test('the native addon is built and loaded wherever a C compiler exists (npm ci builds it)', () => {
  if (!hasCompiler) return;
  assert.ok(native, `native verifier missing: ${txVerifierName()} (npm run build:native)`);
  assert.match(txVerifierName(), /native/);
});

// --- Wycheproof ---
const suite = JSON.parse(readFileSync(new URL('./vectors/wycheproof_ed25519_test.json', import.meta.url), 'utf8')) as {
  testGroups: { publicKey: { pk: string }; tests: { tcId: number; msg: string; sig: string; result: 'valid' | 'invalid'; comment: string }[] }[];
};
const wyche = suite.testGroups.flatMap((g) => g.tests.map((t) => ({ tcId: t.tcId, comment: t.comment, valid: t.result === 'valid', pk: fromHex(g.publicKey.pk), sig: fromHex(t.sig), msg: fromHex(t.msg) })));

test('Wycheproof: every case gets its expected result from the native verifier one by one, as a batch of one, and inside batches of valid signatures at every position; and from the fallback', () => {
  assert.equal(wyche.length, 151);
  const valid = Array.from({ length: 40 }, () => honest());
  const one = native ? nativeVerdicts(wyche, false).ok : undefined;
  wyche.forEach((c, i) => {
    const what = `tcId ${c.tcId} (${c.comment})`;
    assert.equal(nobleRule(c.msg, c.sig, c.pk), c.valid, `noble fallback: ${what}`);
    assert.equal(verifyTxSignatureRule(c.msg, c.sig, c.pk), c.valid, `verifyTxSignatureRule: ${what}`);
    if (!native) return;
    assert.equal(one![i], c.valid, `one by one: ${what}`);
    assert.deepEqual(nativeVerdicts([c], true).ok, [c.valid], `batch of one: ${what}`);
    const at = i % (valid.length + 1);
    const mixed = [...valid.slice(0, at), c, ...valid.slice(at)];
    const got = nativeVerdicts(mixed, true);
    assert.deepEqual(got.ok, mixed.map((x) => x === c ? c.valid : true), `in a batch at ${at}: ${what}`);
  });
  // all of them in one call: chunks of 64 with valid and invalid mixed
  if (native) assert.deepEqual(nativeVerdicts(wyche, true).ok, wyche.map((c) => c.valid));
});

// --- differential against libsodium ---
test('differential: on honest signatures and random corruptions of key, signature or message, the rule (native one by one and batched, and the fallback) agrees with libsodium', () => {
  const base = Array.from({ length: 24 }, () => honest(Uint8Array.from({ length: 1 + (seedNo % 70) }, (_, i) => i ^ seedNo)));
  fc.assert(fc.property(
    fc.array(fc.record({ which: fc.nat(base.length - 1), part: fc.constantFrom('pk', 'sig', 'msg', 'none'), bit: fc.nat(511) }), { minLength: 1, maxLength: 80 }),
    (edits) => {
      const items = edits.map(({ which, part, bit }) => {
        const b = base[which]!;
        const it = { pk: b.pk.slice(), sig: b.sig.slice(), msg: b.msg.slice() };
        if (part !== 'none') {
          const t = it[part];
          t[(bit >> 3) % t.length]! ^= 1 << (bit & 7);
        }
        return it;
      });
      const want = items.map((it) => libsodiumVerify(it.msg, it.sig, it.pk));
      items.forEach((it, i) => assert.equal(nobleRule(it.msg, it.sig, it.pk), want[i]));
      if (!native) return;
      assert.deepEqual(nativeVerdicts(items, true).ok, want);
      assert.deepEqual(nativeVerdicts(items, false).ok, want);
    },
  ), { numRuns: 60 });
});

// --- crafted cases: the rule's verdicts where it and libsodium's cofactorless check part ways ---
function nonCanonical(y: bigint, sign = 0): Uint8Array {
  const b = le32(y + P); // y + p < 2^255 only for y < 19
  if (sign) b[31]! |= 0x80;
  return b;
}
const aDecodableSmallY = (() => { // a point whose y < 19 has a second (non-canonical) encoding y + p
  for (let y = 2n; y < 19n; y++) {
    try { Point.fromBytes(le32(y)); return y; } catch { /* not on the curve */ }
  }
  throw new Error('no y < 19 on the curve');
})();

function cases(): { name: string; s: Sig; rule: boolean; libsodium?: boolean }[] {
  const good = honest();
  const sPlusL = le(good.sig.subarray(32)) + L;
  const withR = (R: Uint8Array, s: Sig = good): Sig => ({ ...s, sig: concatBytes(R, s.sig.subarray(32)) });
  return [
    { name: 'honest signature', s: good, rule: true, libsodium: true },
    { name: 'order-8 point added to R (cofactored equation holds)', s: crafted({ addR: T8 }), rule: true, libsodium: false },
    { name: 'order-4 point added to R', s: crafted({ addR: torsion[2]! }), rule: true, libsodium: false },
    { name: 'order-8 point added to A (cofactored equation holds)', s: crafted({ addA: T8 }), rule: true },
    ...torsion.map((T, i) => ({ name: `R of small order (torsion point ${i}), S = k a: the cofactored equation holds, R's order refuses it`, s: crafted({ smallR: T }), rule: false, libsodium: false })),
    ...torsion.map((T, i) => ({ name: `A of small order (torsion point ${i}), R = [r]B, S = r: the cofactored equation holds, A's order refuses it`, s: smallA(T), rule: false, libsodium: false })),
    { name: 'S + L (same point [S]B, S not reduced)', s: { ...good, sig: concatBytes(good.sig.subarray(0, 32), le32(sPlusL)) }, rule: false, libsodium: false },
    { name: 'S = L', s: { ...good, sig: concatBytes(good.sig.subarray(0, 32), le32(L)) }, rule: false, libsodium: false },
    { name: 'R non-canonical: y = 1 + p (the identity)', s: withR(nonCanonical(1n)), rule: false, libsodium: false },
    { name: 'R non-canonical: x = 0 with the sign bit set ("negative zero")', s: withR(fromHex('0100000000000000000000000000000000000000000000000000000000000080')), rule: false, libsodium: false },
    { name: `R non-canonical: y = ${aDecodableSmallY} + p`, s: withR(nonCanonical(aDecodableSmallY)), rule: false, libsodium: false },
    { name: `A non-canonical: y = ${aDecodableSmallY} + p`, s: { ...good, pk: nonCanonical(aDecodableSmallY) }, rule: false, libsodium: false },
    { name: 'A non-canonical: y = 1 + p with the sign bit', s: { ...good, pk: nonCanonical(1n, 1) }, rule: false, libsodium: false },
    { name: 'A not on the curve', s: { ...good, pk: (() => { for (let y = 2n; ; y++) { try { Point.fromBytes(le32(y)); } catch { return le32(y); } } })() }, rule: false, libsodium: false },
  ];
}

test('crafted torsion and encoding cases: the rule\'s verdict from the native verifier (alone and in a batch of valid signatures), the fallback and verifyTxSignatureRule; libsodium where it is known', () => {
  const valid = Array.from({ length: 30 }, () => honest());
  for (const c of cases()) {
    const { pk, sig, msg } = c.s;
    assert.equal(nobleRule(msg, sig, pk), c.rule, `fallback: ${c.name}`);
    assert.equal(verifyTxSignatureRule(msg, sig, pk), c.rule, `verifyTxSignatureRule: ${c.name}`);
    if (c.libsodium !== undefined) assert.equal(libsodiumVerify(msg, sig, pk), c.libsodium, `libsodium: ${c.name}`);
    if (!native) continue;
    assert.deepEqual(nativeVerdicts([c.s], false).ok, [c.rule], `native alone: ${c.name}`);
    const mixed = [...valid.slice(0, 13), c.s, ...valid.slice(13)];
    assert.deepEqual(nativeVerdicts(mixed, true).ok, mixed.map((x) => x === c.s ? c.rule : true), `native in a batch: ${c.name}`);
  }
});

test('a batch of signatures carrying torsion (valid under the rule) passes as a batch: the batch equation is cofactored like the rule', nativeOnly, () => {
  const items = Array.from({ length: 64 }, (_, i) => (i % 2 ? crafted({ addR: torsion[i % 8]! }) : crafted({ addA: torsion[(i >> 1) % 8]! })));
  const r = nativeVerdicts(items, true);
  assert.deepEqual(r.ok, items.map(() => true));
  assert.equal(r.failed, 0, 'no batch equation failed, so no signature was checked alone');
});

test('one bad signature in any position of a batch: exactly that one is refused, the batch equation reports its failure', nativeOnly, () => {
  const valid = Array.from({ length: 130 }, () => honest());
  for (const n of [2, 64, 130]) {
    for (let pos = 0; pos < n; pos += n === 64 ? 1 : 7) {
      const items = valid.slice(0, n).map((s, i) => {
        if (i !== pos) return s;
        const sig = s.sig.slice();
        sig[40]! ^= 1; // S changes: every encoding check passes, the equation fails
        return { ...s, sig };
      });
      const r = nativeVerdicts(items, true);
      assert.deepEqual(r.ok, items.map((_, i) => i !== pos), `n ${n}, bad at ${pos}`);
      assert.equal(r.failed, 1, `n ${n}, bad at ${pos}: one batch equation failed`);
    }
  }
  const r = nativeVerdicts(valid, true);
  assert.ok(r.ok.every(Boolean));
  assert.equal(r.failed, 0);
});

test('the native call refuses arguments whose lengths disagree, and verifies nothing', nativeOnly, () => {
  if (!native) return assert.fail('native addon not built');
  const out = new Uint8Array(2);
  assert.throws(() => native.verify(new Uint8Array(64), new Uint8Array(127), new Uint8Array(64), Uint32Array.of(32, 64), out, true), RangeError);
  assert.throws(() => native.verify(new Uint8Array(64), new Uint8Array(128), new Uint8Array(64), Uint32Array.of(32, 65), out, true), RangeError);
  assert.throws(() => native.verify(new Uint8Array(64), new Uint8Array(128), new Uint8Array(64), Uint32Array.of(40, 32), out, true), RangeError);
  assert.throws(() => native.verify(new Uint8Array(64), new Uint8Array(128), new Uint8Array(64), new Uint8Array(2) as unknown as Uint32Array, out, true), TypeError);
  assert.throws(() => native.verifyTagged(new Uint8Array(100), new Uint8Array(32), Uint32Array.of(0, 10, 36, 40), new Uint8Array(1), true), RangeError, 'a signature past the end');
  assert.throws(() => native.verifyTagged(new Uint8Array(100), new Uint8Array(32), Uint32Array.of(0, 101, 0, 0), new Uint8Array(1), true), RangeError, 'a message past the end');
  assert.throws(() => native.verifyTagged(new Uint8Array(100), new Uint8Array(31), Uint32Array.of(0, 10, 0, 0), new Uint8Array(1), true), RangeError, 'a short prefix');
  assert.throws(() => native.verifyTagged(new Uint8Array(100), new Uint8Array(32), Uint32Array.of(0, 10, 0), new Uint8Array(1), true), RangeError, 'spans not 4 per item');
  assert.deepEqual([...out], [0, 0]);
  assert.equal(native.verify(new Uint8Array(0), new Uint8Array(0), new Uint8Array(0), new Uint32Array(0), new Uint8Array(0), true), 0);
});

// --- the worker pool, native and not ---
function signedTx(i: number, s?: (m: Uint8Array) => Sig): Uint8Array {
  const seed = new Uint8Array(32).fill(200 + (i % 50));
  const kp = keyPairFromSeed(seed);
  const t: Transfer = { network: 'net-sig', from: kp.publicKey, to: new Uint8Array(20).fill(i & 255), amount: BigInt(i + 1), fee: 1n, nonce: BigInt(i), ts: 0n };
  if (!s) return encodeSignedTx({ tx: t, signature: sign(txSigningHash(encodeTransfer(t)), kp.secretKey) });
  const c = s(txSigningHash(encodeTransfer({ ...t, from: new Uint8Array(32) })));
  const t2 = { ...t, from: c.pk };
  const c2 = s(txSigningHash(encodeTransfer(t2)));
  assert.deepEqual(c2.pk, c.pk);
  return encodeSignedTx({ tx: t2, signature: c2.sig });
}

const pools: VerifyPool[] = [];
after(() => Promise.all(pools.map((p) => p.close())));

test('the worker pool (native batches) and the pool without the addon (SMT_ED25519_NATIVE=0) give the rule\'s verdicts on signed transfers: honest, torsion-carrying, small-order R, tampered', async () => {
  const items: Uint8Array[] = [];
  const want: boolean[] = [];
  for (let i = 0; i < 150; i++) {
    const kind = i % 10;
    const seed = new Uint8Array(32).fill(i & 255);
    const mk = (o: Parameters<typeof crafted>[0]) => (m: Uint8Array) => crafted(o, m, seed); // one key for both calls
    if (kind === 3) { items.push(signedTx(i, mk({ addR: T8 }))); want.push(true); }
    else if (kind === 5) { items.push(signedTx(i, mk({ smallR: torsion[i % 8]! }))); want.push(false); }
    else if (kind === 7) { const b = signedTx(i); b[b.length - 20]! ^= 2; items.push(b); want.push(false); }
    else { items.push(signedTx(i)); want.push(true); }
  }
  assert.deepEqual(items.map(verifySignedTxBytes), want, 'in-thread');
  const withNative = new VerifyPool(2);
  pools.push(withNative);
  assert.deepEqual(await withNative.verifyTxs(items), want, 'native pool');
  const before = process.env.SMT_ED25519_NATIVE;
  process.env.SMT_ED25519_NATIVE = '0'; // the workers read their env copy at start
  const without = new VerifyPool(2);
  pools.push(without);
  if (before === undefined) delete process.env.SMT_ED25519_NATIVE;
  else process.env.SMT_ED25519_NATIVE = before;
  assert.deepEqual(await without.verifyTxs(items), want, 'pool without the addon');
});
