// The 4-lane SIMD SHA-256 module (src/trie/sha256x4-wasm.ts) against node:crypto: every length
// 0..300, with and without a registered 32-byte prefix, 1..5 groups per call, the 128-byte fast path,
// the interleaved input / de-interleaved output layout, and random cases (fast-check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  wasmSha256x4,
  writeLaneX4,
  padLaneX4,
  paddingWords,
  blocksFor,
  laneByteOffset,
  X4_FREE_OFF,
  X4_BLOCK_BYTES,
  X4_OUT_BYTES,
  X4_PREFIXES,
  type WasmSha256x4,
} from '../src/trie/sha256x4-wasm.js';

const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const IN = X4_FREE_OFF;
const OUT = 1 << 20; // far after any input used here (5 groups x 6 blocks x 256 bytes < 8 KiB)
const h: WasmSha256x4 = wasmSha256x4(OUT + 64 * 1024);

/** Lays out groups of 4 messages (all of one block count) at IN; unread words get random garbage. */
function layout(msgs: Uint8Array[], blocks: number, skip = 0): void {
  const groups = msgs.length / 4;
  h.mem.set(randomBytes(groups * blocks * X4_BLOCK_BYTES), IN); // garbage where nothing is written
  for (let m = 0; m < msgs.length; m++) {
    const g = IN + (m >> 2) * blocks * X4_BLOCK_BYTES;
    writeLaneX4(h.mem, g, m & 3, msgs[m]!.subarray(skip), skip);
    padLaneX4(h.mem, g, m & 3, msgs[m]!.length, blocks);
  }
}

function digests(n: number): Buffer[] {
  const o: Buffer[] = [];
  for (let m = 0; m < n; m++) o.push(Buffer.from(h.mem.subarray(OUT + 32 * m, OUT + 32 * m + 32)));
  return o;
}

function expectAll(msgs: Uint8Array[], what: string): void {
  const got = digests(msgs.length);
  for (let m = 0; m < msgs.length; m++) assert.deepEqual(got[m], sha(msgs[m]!), `${what}: message ${m} (lane ${m & 3}, group ${m >> 2}, ${msgs[m]!.length} bytes)`);
}

function withPrefix(prefix: Uint8Array, len: number): Uint8Array {
  const m = randomBytes(len);
  m.set(prefix);
  return m;
}

test('hashGroups equals node:crypto for every length 0..300, different random data in each lane, 1..5 groups per call', () => {
  for (let len = 0; len <= 300; len++) {
    const blocks = blocksFor(len);
    for (let groups = 1; groups <= 5; groups++) {
      const msgs = Array.from({ length: 4 * groups }, () => randomBytes(len));
      layout(msgs, blocks);
      h.hashGroups(IN, OUT, groups, blocks, -1);
      expectAll(msgs, `len ${len}, ${groups} groups, no prefix`);
    }
  }
});

test('with a registered 32-byte prefix, hashGroups equals node:crypto for every length 32..300, 1..5 groups, and never reads input words 0..7', () => {
  const prefixes = Array.from({ length: X4_PREFIXES }, () => randomBytes(32));
  prefixes.forEach((p, i) => h.setPrefix(i, p));
  for (let len = 32; len <= 300; len++) {
    const blocks = blocksFor(len);
    const pi = len % X4_PREFIXES;
    for (let groups = 1; groups <= 5; groups++) {
      const msgs = Array.from({ length: 4 * groups }, () => withPrefix(prefixes[pi]!, len));
      layout(msgs, blocks, 32); // bytes 0..31 of every lane stay random garbage: must not be read
      h.hashGroups(IN, OUT, groups, blocks, pi);
      expectAll(msgs, `len ${len}, ${groups} groups, prefix ${pi}`);
    }
  }
});

test('the 128-byte fast path equals node:crypto with and without a prefix, 1..5 groups, and never reads the padding block', () => {
  const prefix = randomBytes(32);
  h.setPrefix(2, prefix);
  for (let groups = 1; groups <= 5; groups++) {
    for (const pi of [-1, 2]) {
      const msgs = Array.from({ length: 4 * groups }, () => (pi < 0 ? randomBytes(128) : withPrefix(prefix, 128)));
      // Layout of 2 blocks per group (512 bytes), no padding written at all; garbage in the prefix words.
      h.mem.set(randomBytes(groups * 2 * X4_BLOCK_BYTES + 256), IN);
      for (let m = 0; m < msgs.length; m++) {
        const skip = pi < 0 ? 0 : 32;
        writeLaneX4(h.mem, IN + (m >> 2) * 2 * X4_BLOCK_BYTES, m & 3, msgs[m]!.subarray(skip), skip);
      }
      h.hash128Groups(IN, OUT, groups, pi);
      expectAll(msgs, `128-byte fast path, ${groups} groups, prefix ${pi}`);
    }
  }
});

test('lanes of one group may have different lengths with the same block count, and each digest lands in its own 32-byte slot', () => {
  const msgs = [56, 64, 70, 119].map((n) => randomBytes(n)); // all 2 blocks
  layout(msgs, 2);
  h.mem.fill(0xee, OUT, OUT + 2 * X4_OUT_BYTES);
  h.hashGroups(IN, OUT, 1, 2, -1);
  expectAll(msgs, 'mixed lengths');
  assert.ok(h.mem.subarray(OUT + X4_OUT_BYTES, OUT + 2 * X4_OUT_BYTES).every((b) => b === 0xee), 'nothing written past the group output');
});

test('a call writes only its output range (and the internal state below X4_FREE_OFF), never its input', () => {
  const msgs = Array.from({ length: 12 }, () => randomBytes(80));
  layout(msgs, 2);
  h.mem.set(randomBytes(4096), OUT - 2048);
  const before = Uint8Array.from(h.mem.subarray(X4_FREE_OFF, OUT + 8192));
  h.hashGroups(IN, OUT, 3, 2, -1);
  const after = h.mem.subarray(X4_FREE_OFF, OUT + 8192);
  for (let i = 0; i < after.length; i++) {
    const a = X4_FREE_OFF + i;
    if (a >= OUT && a < OUT + 3 * X4_OUT_BYTES) continue;
    if (after[i] !== before[i]) assert.fail(`byte ${a} changed outside the output range`);
  }
  expectAll(msgs, 'write range');
});

test('zero groups is a no-op', () => {
  h.mem.fill(0x5a, OUT, OUT + X4_OUT_BYTES);
  h.hashGroups(IN, OUT, 0, 1, -1);
  h.hash128Groups(IN, OUT, 0, -1);
  assert.ok(h.mem.subarray(OUT, OUT + X4_OUT_BYTES).every((b) => b === 0x5a));
});

test('the interleaved layout is word w of lane l at 16w + 4l, and little-endian Int32 word copies give the standard digest bytes', () => {
  // An arena-style caller: message and digests held as Int32Array views of byte arrays.
  const msgs = Array.from({ length: 4 }, () => randomBytes(128));
  for (let l = 0; l < 4; l++) {
    const w32 = new Int32Array(Uint8Array.from(msgs[l]!).buffer);
    for (let w = 0; w < 32; w++) h.mem32[(IN >> 2) + 4 * w + l] = w32[w]!;
    assert.equal(laneByteOffset(IN, l, 4 * 5 + 2), IN + 16 * 5 + 4 * l + 2);
  }
  h.hash128Groups(IN, OUT, 1, -1);
  const hash = new Uint8Array(4 * 32);
  const h32 = new Int32Array(hash.buffer);
  for (let l = 0; l < 4; l++) for (let r = 0; r < 8; r++) h32[8 * l + r] = h.mem32[(OUT >> 2) + 8 * l + r]!;
  for (let l = 0; l < 4; l++) assert.deepEqual(Buffer.from(hash.subarray(32 * l, 32 * l + 32)), sha(msgs[l]!));
});

test('paddingWords(len) equals the bytes padLaneX4 writes, for every multiple of 4 up to 300', () => {
  for (let len = 0; len <= 300; len += 4) {
    const blocks = blocksFor(len);
    h.mem.fill(0xcc, IN, IN + blocks * X4_BLOCK_BYTES);
    padLaneX4(h.mem, IN, 1, len);
    const words = paddingWords(len);
    assert.equal(words.length, 16 * blocks - len / 4);
    for (let j = 0; j < words.length; j++) assert.equal(h.mem32[(IN >> 2) + 4 * (len / 4 + j) + 1], words[j], `len ${len} word ${j}`);
  }
  assert.throws(() => paddingWords(81), RangeError);
});

test('setPrefix rejects a bad index or a prefix that is not 32 bytes, and re-registering an index replaces its prefix', () => {
  assert.throws(() => h.setPrefix(-1, new Uint8Array(32)), RangeError);
  assert.throws(() => h.setPrefix(X4_PREFIXES, new Uint8Array(32)), RangeError);
  assert.throws(() => h.setPrefix(0.5, new Uint8Array(32)), RangeError);
  assert.throws(() => h.setPrefix(0, new Uint8Array(31)), RangeError);
  assert.throws(() => padLaneX4(h.mem, IN, 0, 56, 1), RangeError);
  for (const p of [randomBytes(32), randomBytes(32)]) {
    h.setPrefix(3, p);
    const msgs = Array.from({ length: 4 }, () => withPrefix(p, 128));
    layout(msgs, 3, 32);
    h.hashGroups(IN, OUT, 1, 3, 3);
    expectAll(msgs, 're-registered prefix');
  }
});

test('property: for random lengths, contents, group counts and prefix use, every digest equals node:crypto', () => {
  const prefix = randomBytes(32);
  h.setPrefix(1, prefix);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }), // blocks
      fc.integer({ min: 1, max: 5 }), // groups
      fc.boolean(),
      fc.boolean(),
      fc.infiniteStream(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 320, maxLength: 320 }))),
      (blocks, groups, usePrefix, fast, stream) => {
        const it = stream[Symbol.iterator]();
        const lo = Math.max(usePrefix ? 32 : 0, 64 * blocks - 72); // lengths with exactly `blocks` blocks
        const hi = 64 * blocks - 9;
        const msgs: Uint8Array[] = [];
        for (let m = 0; m < 4 * groups; m++) {
          const [n, bytes] = it.next().value as [number, Uint8Array];
          const len = fast ? 128 : lo + (n % (hi - lo + 1));
          const msg = bytes.slice(0, len);
          if (usePrefix) msg.set(prefix);
          msgs.push(msg);
        }
        const pi = usePrefix ? 1 : -1;
        if (fast) {
          // 512-byte groups without the padding block; random garbage in whatever is not written.
          h.mem.set(randomBytes(groups * 512), IN);
          for (let m = 0; m < msgs.length; m++) writeLaneX4(h.mem, IN + (m >> 2) * 512, m & 3, msgs[m]!.subarray(usePrefix ? 32 : 0), usePrefix ? 32 : 0);
          h.hash128Groups(IN, OUT, groups, pi);
        } else {
          layout(msgs, blocks, usePrefix ? 32 : 0);
          h.hashGroups(IN, OUT, groups, blocks, pi);
        }
        const got = digests(msgs.length);
        return msgs.every((m, i) => got[i]!.equals(sha(m)));
      },
    ),
    { numRuns: 1000 },
  );
});
