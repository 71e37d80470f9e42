// SHA-256 per-message cost for trie node preimages (issue #2): libsodium (one call per message), the
// single-lane wasm module (src/trie/sha256-wasm.ts) and the 4-lane SIMD module
// (src/trie/sha256x4-wasm.ts), for 80-byte leaf preimages (tag 32 + key 32 + value 16) and 128-byte
// branch preimages (tag 32 + 3 child hashes). "e2e" figures include what a caller does in JS around
// the hash, as the arena would: gather the words from Int32Array sources into the preimage (the
// interleaved layout for 4 lanes) and copy the digest words out into an Int32Array of hashes. "kernel"
// figures hash already written inputs. CPU time (process.cpuUsage), best of ROUNDS rounds; prints
// os.loadavg() and same-run ratios against libsodium e2e. Prints, never asserts (but checks the
// digests against node:crypto first, so it never times wrong code).
// Run: node --import ./bin/register.mjs scripts/bench-sha.ts
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import sodium from 'sodium-native';
import { wasmSha256, padAt, FREE_OFF } from '../src/trie/sha256-wasm.js';
import { wasmSha256x4, paddingWords, X4_FREE_OFF, X4_BLOCK_BYTES, X4_OUT_BYTES } from '../src/trie/sha256x4-wasm.js';
import { domainPrefix } from '../src/core/hash.js';

const BATCH = Number(process.env.BATCH ?? 1024); // messages per level-like batch (multiple of 4)
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const TARGET_MS = Number(process.env.TARGET_MS ?? 150); // CPU time per round per variant

const NH = 1 << 15;
// Source data as the arena holds it: little-endian Int32Array views of byte arrays.
const src = new Int32Array(NH * 8); // child hashes / leaf keys
const vals = new Int32Array(NH * 4); // 16-byte leaf values
for (let i = 0; i < src.length; i++) src[i] = (Math.random() * 2 ** 32) | 0;
for (let i = 0; i < vals.length; i++) vals[i] = (Math.random() * 2 ** 32) | 0;
const dst = new Int32Array(NH * 8); // output hashes
// Per message: 3 child indexes (branch) or a key index (leaf); random, as a level's nodes are.
const child = new Int32Array(BATCH * 3);
for (let i = 0; i < child.length; i++) child[i] = Math.floor(Math.random() * NH);
const outIdx = new Int32Array(BATCH);
for (let i = 0; i < BATCH; i++) outIdx[i] = Math.floor(Math.random() * NH);

const branchTag = new Int32Array(domainPrefix('trie/branch').slice().buffer);
const leafTag = new Int32Array(domainPrefix('trie/leaf').slice().buffer);

// ---- libsodium: preimage in a JS buffer (as arena.ts does today), one native call per message ----
const pre = new Uint8Array(128);
const pre32 = new Int32Array(pre.buffer);
const sOut = new Uint8Array(32);
const sOut32 = new Int32Array(sOut.buffer);
const pre80 = pre.subarray(0, 80);
function sodiumBranch(kernelOnly: boolean): void {
  for (let m = 0; m < BATCH; m++) {
    if (!kernelOnly) {
      for (let i = 0; i < 8; i++) pre32[i] = branchTag[i]!;
      for (let c = 0; c < 3; c++) {
        const o = child[3 * m + c]! * 8;
        for (let i = 0; i < 8; i++) pre32[8 + 8 * c + i] = src[o + i]!;
      }
    }
    sodium.crypto_hash_sha256(sOut as Buffer, pre as Buffer);
    if (!kernelOnly) {
      const d = outIdx[m]! * 8;
      for (let i = 0; i < 8; i++) dst[d + i] = sOut32[i]!;
    }
  }
}
function sodiumLeaf(kernelOnly: boolean): void {
  for (let m = 0; m < BATCH; m++) {
    if (!kernelOnly) {
      for (let i = 0; i < 8; i++) pre32[i] = leafTag[i]!;
      const k = child[m]! * 8;
      for (let i = 0; i < 8; i++) pre32[8 + i] = src[k + i]!;
      const v = child[m]! * 4;
      for (let i = 0; i < 4; i++) pre32[16 + i] = vals[v + i]!;
    }
    sodium.crypto_hash_sha256(sOut as Buffer, pre80 as Buffer);
    if (!kernelOnly) {
      const d = outIdx[m]! * 8;
      for (let i = 0; i < 8; i++) dst[d + i] = sOut32[i]!;
    }
  }
}

// ---- single-lane wasm: preimage written into wasm memory, hash128p / hash ----
const w1 = wasmSha256(1 << 16);
const w1m32 = new Int32Array(w1.mem.buffer);
const P1 = FREE_OFF; // preimage (192 bytes incl. padding for hash(); hash128p never reads padding)
const O1 = FREE_OFF + 256;
w1.mem.set(domainPrefix('trie/branch'), P1);
w1.setPrefix(P1);
function wasm1Branch(kernelOnly: boolean): void {
  const p = P1 >> 2;
  for (let m = 0; m < BATCH; m++) {
    if (!kernelOnly) {
      for (let c = 0; c < 3; c++) {
        const o = child[3 * m + c]! * 8;
        for (let i = 0; i < 8; i++) w1m32[p + 8 + 8 * c + i] = src[o + i]!;
      }
    }
    w1.hash128p(P1, O1);
    if (!kernelOnly) {
      const d = outIdx[m]! * 8;
      const s = O1 >> 2;
      for (let i = 0; i < 8; i++) dst[d + i] = w1m32[s + i]!;
    }
  }
}
// The single-lane module has no prefix path for 80-byte messages: a full 2-block hash().
const P1L = FREE_OFF + 512;
w1.mem.set(domainPrefix('trie/leaf'), P1L);
padAt(w1.mem, P1L, 80);
function wasm1Leaf(kernelOnly: boolean): void {
  const p = P1L >> 2;
  for (let m = 0; m < BATCH; m++) {
    if (!kernelOnly) {
      const k = child[m]! * 8;
      for (let i = 0; i < 8; i++) w1m32[p + 8 + i] = src[k + i]!;
      const v = child[m]! * 4;
      for (let i = 0; i < 4; i++) w1m32[p + 16 + i] = vals[v + i]!;
    }
    w1.hash(P1L, 2, O1);
    if (!kernelOnly) {
      const d = outIdx[m]! * 8;
      const s = O1 >> 2;
      for (let i = 0; i < 8; i++) dst[d + i] = w1m32[s + i]!;
    }
  }
}

// ---- 4-lane wasm: interleaved input for the whole batch, one call, de-interleaved output ----
const G = BATCH / 4;
const IN4 = X4_FREE_OFF;
const OUT4 = IN4 + G * 3 * X4_BLOCK_BYTES; // room for 3-block groups (unused here)
const w4 = wasmSha256x4(OUT4 + G * X4_OUT_BYTES);
const m32 = w4.mem32;
w4.setPrefix(0, domainPrefix('trie/branch'));
w4.setPrefix(1, domainPrefix('trie/leaf'));
const leafPad = paddingWords(80); // words 20..31
function x4Branch(kernelOnly: boolean): void {
  if (!kernelOnly) {
    // Words 0..7 (the tag) are not read with a registered prefix; words 8..31 = the 3 child hashes.
    for (let m = 0; m < BATCH; m++) {
      const g = (IN4 >> 2) + (m >> 2) * 128 + (m & 3);
      for (let c = 0; c < 3; c++) {
        const o = child[3 * m + c]! * 8;
        const b = g + 4 * (8 + 8 * c);
        for (let i = 0; i < 8; i++) m32[b + 4 * i] = src[o + i]!;
      }
    }
  }
  w4.hash128Groups(IN4, OUT4, G, 0);
  if (!kernelOnly) takeDigests();
}
/** Copies the 4-lane kernel's digests into the digest table (what the arena does after a call). */
function takeDigests(): void {
  const s = OUT4 >> 2;
  for (let m = 0; m < BATCH; m++) {
    const d = outIdx[m]! * 8;
    const o = s + 8 * m;
    for (let i = 0; i < 8; i++) dst[d + i] = m32[o + i]!;
  }
}
function x4Leaf(kernelOnly: boolean): void {
  if (!kernelOnly) {
    for (let m = 0; m < BATCH; m++) {
      const g = (IN4 >> 2) + (m >> 2) * 128 + (m & 3);
      const k = child[m]! * 8;
      for (let i = 0; i < 8; i++) m32[g + 4 * (8 + i)] = src[k + i]!;
      const v = child[m]! * 4;
      for (let i = 0; i < 4; i++) m32[g + 4 * (16 + i)] = vals[v + i]!;
      // Padding written per message too (a caller reusing the region for 80-byte leaves could skip it).
      for (let i = 0; i < 12; i++) m32[g + 4 * (20 + i)] = leafPad[i]!;
    }
  }
  w4.hashGroups(IN4, OUT4, G, 2, 1);
  if (!kernelOnly) takeDigests();
}

// ---- correctness check of every variant (e2e path) against node:crypto, before timing ----
function refBranch(m: number): Buffer {
  const b = new Uint8Array(128);
  const b32 = new Int32Array(b.buffer);
  b32.set(branchTag, 0);
  for (let c = 0; c < 3; c++) b32.set(src.subarray(child[3 * m + c]! * 8, child[3 * m + c]! * 8 + 8), 8 + 8 * c);
  return createHash('sha256').update(b).digest();
}
function refLeaf(m: number): Buffer {
  const b = new Uint8Array(80);
  const b32 = new Int32Array(b.buffer);
  b32.set(leafTag, 0);
  b32.set(src.subarray(child[m]! * 8, child[m]! * 8 + 8), 8);
  b32.set(vals.subarray(child[m]! * 4, child[m]! * 4 + 4), 16);
  return createHash('sha256').update(b).digest();
}
const dst8 = new Uint8Array(dst.buffer);
function check(label: string, run: (k: boolean) => void, ref: (m: number) => Buffer): void {
  // outIdx may repeat; check only the last writer of each index.
  dst.fill(0);
  run(false);
  const last = new Map<number, number>();
  for (let m = 0; m < BATCH; m++) last.set(outIdx[m]!, m);
  for (const [d, m] of last) {
    if (!ref(m).equals(dst8.subarray(32 * d, 32 * d + 32))) throw new Error(`bench-sha: ${label} digest of message ${m} is wrong`);
  }
}

type Variant = { size: 80 | 128; name: string; run: (kernelOnly: boolean) => void; kernelOnly: boolean };
const variants: Variant[] = [];
for (const k of [false, true]) {
  variants.push({ size: 128, name: 'libsodium', run: sodiumBranch, kernelOnly: k });
  variants.push({ size: 128, name: 'wasm 1-lane hash128p', run: wasm1Branch, kernelOnly: k });
  variants.push({ size: 128, name: 'wasm 4-lane hash128Groups', run: x4Branch, kernelOnly: k });
  variants.push({ size: 80, name: 'libsodium', run: sodiumLeaf, kernelOnly: k });
  variants.push({ size: 80, name: 'wasm 1-lane hash (2 blocks)', run: wasm1Leaf, kernelOnly: k });
  variants.push({ size: 80, name: 'wasm 4-lane hashGroups (prefix)', run: x4Leaf, kernelOnly: k });
}
check('libsodium 128', sodiumBranch, refBranch);
check('wasm1 128', wasm1Branch, refBranch);
check('x4 128', x4Branch, refBranch);
check('libsodium 80', sodiumLeaf, refLeaf);
check('wasm1 80', wasm1Leaf, refLeaf);
check('x4 80', x4Leaf, refLeaf);

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}
function timeOnce(v: Variant): number {
  // Calibrate batches per round to ~TARGET_MS of CPU time.
  let reps = 1;
  for (;;) {
    const t0 = cpuNs();
    for (let r = 0; r < reps; r++) v.run(v.kernelOnly);
    const dt = cpuNs() - t0;
    if (dt >= TARGET_MS * 1e6) return dt / (reps * BATCH);
    reps *= dt < TARGET_MS * 1e5 ? 10 : 2;
  }
}
// Warm up every variant (tier-up of JS and wasm), then ROUNDS interleaved rounds; best per variant.
for (const v of variants) for (let r = 0; r < 20; r++) v.run(v.kernelOnly);
const best = variants.map(() => Infinity);
const la0 = loadavg();
for (let round = 0; round < ROUNDS; round++) variants.forEach((v, i) => (best[i] = Math.min(best[i]!, timeOnce(v))));
const la1 = loadavg();

const r1 = (x: number): number => Math.round(x * 10) / 10;
console.log(`SHA-256 per message, ns of CPU time (best of ${ROUNDS} rounds of ~${TARGET_MS} ms), batch ${BATCH} messages, node ${process.version}`);
console.log(`loadavg at start ${la0.map((x) => x.toFixed(2)).join(' ')}, at end ${la1.map((x) => x.toFixed(2)).join(' ')}`);
console.log('| bytes | variant | e2e ns/msg | x libsodium e2e | kernel ns/msg | x libsodium kernel |');
console.log('|---|---|---|---|---|---|');
const rows: Array<Record<string, unknown>> = [];
for (const size of [128, 80] as const) {
  const find = (name: string, k: boolean): number => best[variants.findIndex((v) => v.size === size && v.name === name && v.kernelOnly === k)]!;
  const se = find('libsodium', false);
  const sk = find('libsodium', true);
  for (const name of [...new Set(variants.filter((v) => v.size === size).map((v) => v.name))]) {
    const e = find(name, false);
    const k = find(name, true);
    console.log(`| ${size} | ${name} | ${r1(e)} | ${(se / e).toFixed(2)} | ${r1(k)} | ${(sk / k).toFixed(2)} |`);
    rows.push({ size, name, e2eNs: r1(e), e2eSpeedup: Number((se / e).toFixed(2)), kernelNs: r1(k), kernelSpeedup: Number((sk / k).toFixed(2)) });
  }
}
console.log(JSON.stringify({ bench: 'sha', batch: BATCH, rounds: ROUNDS, loadavgStart: la0, loadavgEnd: la1, rows }));
