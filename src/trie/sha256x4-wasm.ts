// 4-lane SHA-256 (FIPS 180-4) in WebAssembly SIMD: hashes groups of 4 independent messages at once,
// one message per i32x4 lane. Why: a trie commit hashes every dirty node, and all nodes of one height
// are independent, so they can be hashed 4 at a time; the scalar compression (sha256-wasm.ts, ~430 ns
// per 128-byte message) is bound by its serial dependency chain, while here each instruction does the
// work of 4 messages. Emitted by hand with sha256-wasm.ts's emitter (no toolchain, no binary blob).
// Checked against node:crypto in test/trie-sha4.test.ts; measured by scripts/bench-sha.ts.
//
// Memory layout (all offsets in bytes; one fixed-size memory, never grown, so views stay valid):
//   [0, 128)      chaining state of the group in flight (8 x v128), internal
//   [128, 1152)   4 prefix slots of 256 bytes (see setPrefix), internal
//   [1280, size)  free for the caller's input and output (X4_FREE_OFF)
// Input, interleaved: a group of 4 messages of `blocks` padded 64-byte blocks takes 256 * blocks
// bytes; the 4 bytes [4w, 4w + 4) of lane l's padded message (w = 0 .. 16 * blocks - 1) are at
// group + 16 * w + 4 * l, in message order (so one v128.load yields word w of all 4 lanes; the module
// does the big-endian byte swap). A caller holding the message as Int32Array words of a little-endian
// view (the arena's h32) simply copies them: mem32[(group >> 2) + 4 * w + l] = word w.
// Output, de-interleaved: the digest of lane l of group g is at out + 128 * g + 32 * l, 32 bytes in
// standard (big-endian) digest byte order: copy mem32[(out >> 2) + 32 * g + 8 * l + r], r = 0..7, into
// an Int32Array view of a digest buffer.
// A partial last group: fill the unused lanes with anything of the right block count (stale input is
// fine) and ignore their digests. Messages of different kinds (prefix) or block counts go in separate
// calls.
import { Code, I32, IV, K, OP, V, V128, assemble, pad128Schedule, ulebBytes } from './sha256-wasm.js';

/** Chaining state of the group in flight (8 x v128). */
const ST_OFF = 0;
/** 4 prefix slots: per slot 8 v128 working variables after round 7, then 8 v128 message words 0..7. */
const PFX_OFF = 128;
const PFX_SLOT = 256;
/** Number of prefix slots (prefix indexes 0 .. X4_PREFIXES - 1). */
export const X4_PREFIXES = 4;
/** Input and output bytes a caller may use start here. */
export const X4_FREE_OFF = 1280;
/** Bytes per group per 64-byte block (4 lanes x 64). */
export const X4_BLOCK_BYTES = 256;
/** Output bytes per group (4 digests). */
export const X4_OUT_BYTES = 128;

// SIMD and control opcodes not in sha256-wasm.ts's tables.
const VX = { store: 0x0b, and: 0x4e, bitselect: 0x52 } as const;
const OPX = { if: 0x04, else: 0x05, geS: 0x4e } as const;
const BSWAP = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];

/** 16 little-endian bytes of the i32 `x` in all 4 lanes (a v128.const immediate). */
function splat(x: number): number[] {
  const o: number[] = [];
  for (let l = 0; l < 4; l++) for (let s = 0; s < 32; s += 8) o.push((x >>> s) & 0xff);
  return o;
}

class VCode extends Code {
  vload(addrLocal: number, off: number): this {
    return this.get(addrLocal).v(V.load, 4, ...ulebBytes(off));
  }
  /** Stores the v128 on the stack (pushed after the address) at [address + off]. */
  vstore(off: number): this {
    return this.v(VX.store, 4, ...ulebBytes(off));
  }
  vconst(x: number): this {
    return this.v(V.const, ...splat(x));
  }
  /** rotr(x, r1) ^ rotr(x, r2) ^ rotr(x, r3), all lanes; wasm SIMD has no rotate: (x >>> r) ^ (x << (32 - r)). */
  vrotrX3(x: number, r1: number, r2: number, r3: number): this {
    for (const [i, r] of [r1, r2, r3].entries()) {
      this.get(x).i32(r).v(V.shrU).get(x).i32(32 - r).v(V.shl).v(V.xor);
      if (i > 0) this.v(V.xor);
    }
    return this;
  }
  /** small sigma: rotr(x, r1) ^ rotr(x, r2) ^ (x >>> sh), all lanes. */
  vsig(x: number, r1: number, r2: number, sh: number): this {
    this.get(x).i32(r1).v(V.shrU).get(x).i32(32 - r1).v(V.shl).v(V.xor);
    this.get(x).i32(r2).v(V.shrU).v(V.xor).get(x).i32(32 - r2).v(V.shl).v(V.xor);
    return this.get(x).i32(sh).v(V.shrU).v(V.xor);
  }
}

type Source =
  | { kind: 'block' } // message words 0..15 from the block at param 0
  | { kind: 'mid' } // words 0..7 and round-8 variables from the prefix slot at param 1, words 8..15 from param 0
  | { kind: 'const'; wk: Int32Array }; // a constant schedule: wk[i] = K[i] + W[i]

/**
 * One compression of 4 lanes, fully unrolled, adding into the state at ST_OFF. The message schedule
 * is computed in the round that first needs it (16-entry window in locals, as in sha256-wasm.ts).
 * `nParams` i32 params come first; v128 locals: vars 0..7 (a..h, rotating roles), window 8..23, t1,
 * tmp, and two a ^ b slots (this round's and the previous round's).
 */
function compress4(src: Source, nParams: number): { vlocals: number; code: number[] } {
  const c = new VCode();
  const base = nParams;
  const Vr = (role: number, round: number): number => base + ((((role - round) % 8) + 8) % 8);
  const Wl = (i: number): number => base + 8 + (i % 16);
  const T1 = base + 24;
  const TMP = base + 25;
  const AB = [base + 26, base + 27];
  const start = src.kind === 'mid' ? 8 : 0;
  if (src.kind === 'mid') for (let r = 0; r < 8; r++) c.vload(1, 16 * r).set(base + r);
  else for (let r = 0; r < 8; r++) c.i32(ST_OFF).v(V.load, 4, ...ulebBytes(16 * r)).set(base + r);
  if (src.kind !== 'const') {
    for (let w = 0; w < 16; w++) {
      if (src.kind === 'mid' && w < 8) c.vload(1, 128 + 16 * w).set(Wl(w));
      else c.vload(0, 16 * w).tee(TMP).get(TMP).v(V.shuffle, ...BSWAP).set(Wl(w));
    }
  }
  for (let i = start; i < 64; i++) {
    if (src.kind !== 'const' && i >= 16) {
      // w[i] = s1(w[i-2]) + w[i-7] + s0(w[i-15]) + w[i-16]
      c.vsig(Wl(i - 2), 17, 19, 10).get(Wl(i - 7)).v(V.add);
      c.vsig(Wl(i - 15), 7, 18, 3).v(V.add).get(Wl(i - 16)).v(V.add).set(Wl(i));
    }
    const [a, b, cc, d, e, f, g, h] = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => Vr(r, i)) as [number, number, number, number, number, number, number, number];
    // t1 = h + S1(e) + Ch(e, f, g) + K[i] + w[i]; Ch = bitselect(f, g, e)
    c.get(h).vrotrX3(e, 6, 11, 25).v(V.add);
    c.get(f).get(g).get(e).v(VX.bitselect).v(V.add);
    if (src.kind === 'const') c.vconst(src.wk[i]!).v(V.add);
    else c.get(Wl(i)).v(V.add).vconst(K[i]!).v(V.add);
    c.set(T1);
    // d += t1 (the next e); h = t1 + S0(a) + Maj(a, b, c) (the next a)
    c.get(d).get(T1).v(V.add).set(d);
    c.get(T1).vrotrX3(a, 2, 13, 22).v(V.add);
    // Maj = b ^ ((a ^ b) & (b ^ c)), where b ^ c is the previous round's a ^ b (the roles shift
    // down): 3 ops, 1 fewer than bitselect(c, a, a ^ b) (measured ~2% faster).
    const prev = AB[i & 1]!;
    const cur = AB[(i + 1) & 1]!;
    if (i === start) c.get(b).get(cc).v(V.xor).set(prev);
    c.get(b).get(a).get(b).v(V.xor).tee(cur).get(prev).v(VX.and).v(V.xor).v(V.add).set(h);
  }
  // After 56 or 64 rounds (multiples of 8) every role is back in its own local.
  for (let r = 0; r < 8; r++) c.i32(ST_OFF).i32(ST_OFF).v(V.load, 4, ...ulebBytes(16 * r)).get(base + r).v(V.add).vstore(16 * r);
  return { vlocals: 28, code: c.b };
}

/** Sets the state to IV in all lanes. */
function initState(c: VCode): void {
  for (let r = 0; r < 8; r++) c.i32(ST_OFF).vconst(IV[r]!).vstore(16 * r);
}

/**
 * output(out): transposes the state (word r of lanes 0..3 per v128) into 4 digests of 8 words and
 * byte-swaps them to digest byte order, in the second shuffle stage (free). v128 locals 1..8 = state,
 * 9..12 = first-stage pairs.
 */
function outputBody(): { vlocals: number; code: number[] } {
  const c = new VCode();
  for (let r = 0; r < 8; r++) c.i32(ST_OFF).v(V.load, 4, ...ulebBytes(16 * r)).set(1 + r);
  const lanes = (a: number[]): number[] => a.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);
  const lanesSwapped = (a: number[]): number[] => a.flatMap((x) => [4 * x + 3, 4 * x + 2, 4 * x + 1, 4 * x]);
  for (const half of [0, 1]) {
    const [A, B, C, D] = [1, 2, 3, 4].map((x) => x + 4 * half) as [number, number, number, number];
    c.get(A).get(B).v(V.shuffle, ...lanes([0, 4, 1, 5])).set(9); // A0 B0 A1 B1
    c.get(A).get(B).v(V.shuffle, ...lanes([2, 6, 3, 7])).set(10); // A2 B2 A3 B3
    c.get(C).get(D).v(V.shuffle, ...lanes([0, 4, 1, 5])).set(11); // C0 D0 C1 D1
    c.get(C).get(D).v(V.shuffle, ...lanes([2, 6, 3, 7])).set(12); // C2 D2 C3 D3
    const rows: Array<[number, number, number[]]> = [
      [9, 11, [0, 1, 4, 5]],
      [9, 11, [2, 3, 6, 7]],
      [10, 12, [0, 1, 4, 5]],
      [10, 12, [2, 3, 6, 7]],
    ];
    for (const [l, [x, y, sel]] of rows.entries()) c.get(0).get(x).get(y).v(V.shuffle, ...lanesSwapped(sel)).vstore(32 * l + 16 * half);
  }
  return { vlocals: 12, code: c.b };
}

/** K[i] + W[i] for the constant padding block of a 128-byte message. */
function pad128WK(): Int32Array {
  const w = pad128Schedule();
  const o = new Int32Array(64);
  for (let i = 0; i < 64; i++) o[i] = (K[i]! + w[i]!) | 0;
  return o;
}

// Function indexes.
const F_COMPRESS = 0;
const F_COMPRESS_MID = 1;
const F_COMPRESS_PAD128 = 2;
const F_OUTPUT = 3;

/** Calls compressMid(p, slot(prefix)) if prefix >= 0, else compress(p). */
function firstBlock(c: VCode, p: number, prefix: number): void {
  c.get(prefix).i32(0).op(OPX.geS).op(OPX.if, 0x40);
  c.get(p).get(prefix).i32(8).op(0x74 /* i32.shl */).i32(PFX_OFF).op(OP.add).call(F_COMPRESS_MID);
  c.op(OPX.else).get(p).call(F_COMPRESS).op(OP.end);
}

function buildModule(): Uint8Array {
  // Types: 0 = (i32) -> (), 1 = (i32 i32) -> (), 2 = () -> (), 3 = (i32 i32 i32 i32 i32) -> (), 4 = (i32 i32 i32 i32) -> ()
  const types: Array<[number[], number[]]> = [[[I32], []], [[I32, I32], []], [[], []], [[I32, I32, I32, I32, I32], []], [[I32, I32, I32, I32], []]];
  const funcs: Array<{ type: number; locals: number; vlocals: number; code: number[] }> = [];
  funcs.push({ type: 0, locals: 0, ...compress4({ kind: 'block' }, 1) });
  funcs.push({ type: 1, locals: 0, ...compress4({ kind: 'mid' }, 2) });
  funcs.push({ type: 2, locals: 0, ...compress4({ kind: 'const', wk: pad128WK() }, 0) });
  funcs.push({ type: 0, locals: 0, ...outputBody() });
  {
    // hashGroups(in, out, groups, blocks, prefix); local 5 = blocks left.
    const c = new VCode();
    c.op(OP.block, 0x40, OP.loop, 0x40);
    c.get(2).op(OP.eqz).op(OP.brIf, 1);
    initState(c);
    firstBlock(c, 0, 4);
    c.get(0).i32(X4_BLOCK_BYTES).op(OP.add).set(0);
    c.get(3).i32(1).op(OP.sub).set(5);
    c.op(OP.block, 0x40, OP.loop, 0x40);
    c.get(5).i32(0).op(0x4c /* i32.le_s */).op(OP.brIf, 1);
    c.get(0).call(F_COMPRESS);
    c.get(0).i32(X4_BLOCK_BYTES).op(OP.add).set(0);
    c.get(5).i32(1).op(OP.sub).set(5);
    c.op(OP.br, 0, OP.end, OP.end);
    c.get(1).call(F_OUTPUT);
    c.get(1).i32(X4_OUT_BYTES).op(OP.add).set(1);
    c.get(2).i32(1).op(OP.sub).set(2);
    c.op(OP.br, 0, OP.end, OP.end);
    funcs.push({ type: 3, locals: 1, vlocals: 0, code: c.b });
  }
  {
    // hash128Groups(in, out, groups, prefix): 128-byte messages; the padding block is never read.
    const c = new VCode();
    c.op(OP.block, 0x40, OP.loop, 0x40);
    c.get(2).op(OP.eqz).op(OP.brIf, 1);
    initState(c);
    firstBlock(c, 0, 3);
    c.get(0).i32(X4_BLOCK_BYTES).op(OP.add).call(F_COMPRESS);
    c.call(F_COMPRESS_PAD128);
    c.get(1).call(F_OUTPUT);
    c.get(0).i32(2 * X4_BLOCK_BYTES).op(OP.add).set(0);
    c.get(1).i32(X4_OUT_BYTES).op(OP.add).set(1);
    c.get(2).i32(1).op(OP.sub).set(2);
    c.op(OP.br, 0, OP.end, OP.end);
    funcs.push({ type: 4, locals: 0, vlocals: 0, code: c.b });
  }

  return assemble(types, funcs, [['hashGroups', 4], ['hash128Groups', 5]]);
}

export interface WasmSha256x4 {
  /** The module's memory as bytes (fixed size: never grown, so this view stays valid). */
  mem: Uint8Array;
  /** The same memory as little-endian 32-bit words (mem32[i] = bytes [4i, 4i + 4)). */
  mem32: Int32Array;
  /**
   * Registers `prefix` (exactly 32 bytes, e.g. a trie node kind's domain tag) as prefix `index`
   * (0..3): stores its first 8 rounds so that calls passing `index` skip them. Every message of such
   * a call must start with these 32 bytes; its input words 0..7 are then not read (need not be written).
   */
  setPrefix(index: number, prefix: Uint8Array): void;
  /**
   * SHA-256 of `groups` groups of 4 messages, each already padded to `blocks` (>= 1) 64-byte blocks,
   * interleaved at `inOff` (group g at inOff + 256 * blocks * g), digests to `outOff` (128 bytes per
   * group, de-interleaved). `prefix` = a registered prefix index, or -1 for none. Offsets: multiples
   * of 16, >= X4_FREE_OFF, inside mem; input and output must not overlap.
   */
  hashGroups(inOff: number, outOff: number, groups: number, blocks: number, prefix: number): void;
  /**
   * hashGroups for 128-byte messages (blocks = 2 in the layout: group g at inOff + 512 * g) without
   * their padding: the third block (the padding) is never read, its schedule is a constant.
   */
  hash128Groups(inOff: number, outOff: number, groups: number, prefix: number): void;
}

// The project's TypeScript libs do not declare WebAssembly (no DOM lib); the little used here:
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: object };
  Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
let mod: object | undefined;

/** The module's bytes (for inspection and tests). */
export function sha256x4ModuleBytes(): Uint8Array {
  return buildModule();
}

/** A fresh instance with its own memory of `bytes` (rounded up to 64 KiB pages), never grown. */
export function wasmSha256x4(bytes: number): WasmSha256x4 {
  mod ??= new WA.Module(buildModule());
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  const memory = new WA.Memory({ initial: pages, maximum: pages });
  const inst = new WA.Instance(mod, { e: { m: memory } });
  const x = inst.exports as unknown as Pick<WasmSha256x4, 'hashGroups' | 'hash128Groups'>;
  const mem = new Uint8Array(memory.buffer);
  const mem32 = new Int32Array(memory.buffer);
  return {
    mem,
    mem32,
    hashGroups: x.hashGroups,
    hash128Groups: x.hash128Groups,
    setPrefix(index: number, prefix: Uint8Array): void {
      if (!Number.isInteger(index) || index < 0 || index >= X4_PREFIXES) throw new RangeError(`sha256x4: prefix index ${index} not in 0..${X4_PREFIXES - 1}`);
      if (prefix.length !== 32) throw new RangeError(`sha256x4: a prefix is 32 bytes, got ${prefix.length}`);
      const w = new Int32Array(8);
      for (let i = 0; i < 8; i++) w[i] = (prefix[4 * i]! << 24) | (prefix[4 * i + 1]! << 16) | (prefix[4 * i + 2]! << 8) | prefix[4 * i + 3]!;
      const v = first8Rounds(w);
      const s = (PFX_OFF + PFX_SLOT * index) >> 2;
      for (let r = 0; r < 8; r++) for (let l = 0; l < 4; l++) {
        mem32[s + 4 * r + l] = v[r]!;
        mem32[s + 32 + 4 * r + l] = w[r]!;
      }
    },
  };
}

/** The working variables a..h after SHA-256 rounds 0..7 from IV over message words w[0..7]. */
function first8Rounds(w: Int32Array): Int32Array {
  const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));
  let [a, b, c, d, e, f, g, h] = IV as unknown as [number, number, number, number, number, number, number, number];
  for (let i = 0; i < 8; i++) {
    const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  return Int32Array.of(a, b, c, d, e, f, g, h);
}

/** Padded 64-byte blocks of a `len`-byte message. */
export function blocksFor(len: number): number {
  return (len + 9 + 63) >>> 6;
}

/** Byte offset in memory of byte `i` of lane `lane`'s message in the group at `group`. */
export function laneByteOffset(group: number, lane: number, i: number): number {
  return group + 16 * (i >>> 2) + 4 * lane + (i & 3);
}

/** Writes msg as bytes [at, at + msg.length) of lane `lane`'s message in the group at `group` (byte-wise; for tests and odd lengths). */
export function writeLaneX4(mem: Uint8Array, group: number, lane: number, msg: Uint8Array, at = 0): void {
  for (let i = 0; i < msg.length; i++) mem[laneByteOffset(group, lane, at + i)] = msg[i]!;
}

/**
 * Writes the SHA-256 padding of a `len`-byte message into lane `lane` of the group at `group`, for a
 * group of `blocks` blocks (>= blocksFor(len); every lane of a group must have the same block count).
 * Supports len < 2^29. Returns `blocks`.
 */
export function padLaneX4(mem: Uint8Array, group: number, lane: number, len: number, blocks = blocksFor(len)): number {
  if (blocks !== blocksFor(len)) throw new RangeError(`sha256x4: a ${len}-byte message has ${blocksFor(len)} blocks, not ${blocks}`);
  const end = 64 * blocks;
  mem[laneByteOffset(group, lane, len)] = 0x80;
  for (let i = len + 1; i < end - 4; i++) mem[laneByteOffset(group, lane, i)] = 0;
  const bits = len * 8;
  mem[laneByteOffset(group, lane, end - 4)] = bits >>> 24;
  mem[laneByteOffset(group, lane, end - 3)] = (bits >>> 16) & 0xff;
  mem[laneByteOffset(group, lane, end - 2)] = (bits >>> 8) & 0xff;
  mem[laneByteOffset(group, lane, end - 1)] = bits & 0xff;
  return blocks;
}

/**
 * The padding of a `len`-byte message (len a multiple of 4) as the words a caller stores with
 * little-endian Int32Array writes: words[j] is message word len / 4 + j, up to the end of the last
 * block. For fixed-length messages (e.g. 80-byte leaves: 12 words, 0x80 then zeros then 0x80020000)
 * these are constant, so a caller may write them once into a reused input region.
 */
export function paddingWords(len: number): Int32Array {
  if (len % 4 !== 0) throw new RangeError('sha256x4: paddingWords needs a length that is a multiple of 4');
  const blocks = blocksFor(len);
  const b = new Uint8Array(64 * blocks - len);
  b[0] = 0x80;
  const bits = len * 8;
  b[b.length - 4] = bits >>> 24;
  b[b.length - 3] = (bits >>> 16) & 0xff;
  b[b.length - 2] = (bits >>> 8) & 0xff;
  b[b.length - 1] = bits & 0xff;
  return new Int32Array(b.buffer);
}
