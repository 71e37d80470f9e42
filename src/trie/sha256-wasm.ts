// SHA-256 (FIPS 180-4) as a small WebAssembly module emitted by this file (no toolchain, no binary
// blob). Why: verifying a trie proof hashes ~14 nodes of 128 bytes. Measured per 128-byte hash (Node
// 24, x64, CPU time): sodium-native ~560 ns (~75 ns of it the native call), node:crypto.hash
// ~900-1200 ns, this module ~430 ns: the compression, fully unrolled with the message schedule in
// SIMD, runs a little faster than libsodium's portable C, a JS -> wasm call is nearly free, the
// padding block of a 128-byte message has a precomputed schedule, and a fixed 32-byte prefix's first
// 8 rounds can be precomputed. The
// caller lays out padded preimages in the module's memory and hashes them in place, writing each
// digest straight into the next preimage. Checked against node:crypto in test/trie-proof.test.ts.

export const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
  0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
  0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
  0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
export const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** Byte offset of the 32-byte chaining state in the module's memory; callers must not use [0, 64). */
export const STATE_OFF = 0;
/** The working variables after the first 8 rounds over a fixed 32-byte prefix (see setPrefix). */
const MID_OFF = 32;
/** Input bytes a caller may use start here. */
export const FREE_OFF = 64;

// --- a minimal wasm binary emitter (only what the functions below use; also used by sha256x4-wasm.ts) ---
export const I32 = 0x7f;
export const OP = {
  end: 0x0b, block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, call: 0x10,
  get: 0x20, set: 0x21, tee: 0x22, load: 0x28, store: 0x36, const: 0x41,
  eqz: 0x45, add: 0x6a, sub: 0x6b, and: 0x71, or: 0x72, xor: 0x73, shrU: 0x76, rotl: 0x77, rotr: 0x78,
} as const;
export const V128 = 0x7b;
export const V = { load: 0x00, const: 0x0c, shuffle: 0x0d, extract: 0x1b, or: 0x50, xor: 0x51, shl: 0xab, shrU: 0xad, add: 0xae } as const;

export function uleb(n: number, out: number[]): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}
export function sleb(n: number, out: number[]): void {
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

export class Code {
  readonly b: number[] = [];
  op(...ops: number[]): this {
    this.b.push(...ops);
    return this;
  }
  get(i: number): this {
    this.b.push(OP.get);
    uleb(i, this.b);
    return this;
  }
  set(i: number): this {
    this.b.push(OP.set);
    uleb(i, this.b);
    return this;
  }
  tee(i: number): this {
    this.b.push(OP.tee);
    uleb(i, this.b);
    return this;
  }
  i32(v: number): this {
    this.b.push(OP.const);
    sleb(v, this.b);
    return this;
  }
  load(off: number): this {
    this.b.push(OP.load, 2);
    uleb(off, this.b);
    return this;
  }
  store(off: number): this {
    this.b.push(OP.store, 2);
    uleb(off, this.b);
    return this;
  }
  call(f: number): this {
    this.b.push(OP.call);
    uleb(f, this.b);
    return this;
  }
  /** Byte-swaps the i32 on the stack (wasm loads are little-endian; SHA-256 words are big-endian). */
  bswap(tmp: number): this {
    return this.tee(tmp).i32(8).op(OP.rotl).i32(0x00ff00ff).op(OP.and).get(tmp).i32(8).op(OP.rotr).i32(0xff00ff00).op(OP.and).op(OP.or);
  }
  /** A SIMD instruction (0xfd prefix) with optional immediate bytes. */
  v(op: number, ...imm: number[]): this {
    this.b.push(0xfd);
    uleb(op, this.b);
    this.b.push(...imm);
    return this;
  }
  /** i32x4 rotate right of local x by n (wasm SIMD has no rotate). */
  vrotr(x: number, n: number): this {
    return this.get(x).i32(n).v(V.shrU).get(x).i32(32 - n).v(V.shl).v(V.or);
  }
  /** small sigma on the i32x4 in local x: rotr(r1) ^ rotr(r2) ^ (x >>> s). */
  vsigma(x: number, r1: number, r2: number, sh: number): this {
    return this.vrotr(x, r1).vrotr(x, r2).v(V.xor).get(x).i32(sh).v(V.shrU).v(V.xor);
  }
  /** i8x16.shuffle of the two v128 on the stack, by i32 lanes (0-3 first operand, 4-7 second). */
  shuffle32(l: number[]): this {
    return this.v(V.shuffle, ...l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]));
  }
  rotrXor3(x: number, r1: number, r2: number, r3: number): this {
    return this.get(x).i32(r1).op(OP.rotr).get(x).i32(r2).op(OP.rotr).op(OP.xor).get(x).i32(r3).op(OP.rotr).op(OP.xor);
  }
}

/**
 * One compression of the block at local 0 (or of a constant schedule `constW`) into the state in
 * memory, scalar. Locals: 0 = p, 1..8 = working variables, 9..24 = schedule window, 25 = t1, 26 = tmp.
 * Variant `toMid` runs only rounds 0..7 and stores the working variables at MID_OFF (for setPrefix).
 */
function compressBody(constW: Int32Array | null, variant: 'full' | 'toMid' = 'full'): { locals: number; code: number[] } {
  const c = new Code();
  const V = (role: number, round: number): number => 1 + ((((role - round) % 8) + 8) % 8);
  const Wl = (i: number): number => 9 + (i % 16);
  const T1 = 25;
  const TMP = 26;
  for (let r = 0; r < 8; r++) c.i32(STATE_OFF).load(4 * r).set(1 + r);
  if (!constW) for (let i = 0; i < 16; i++) c.get(0).load(4 * i).bswap(TMP).set(Wl(i));
  for (let i = 0; i < (variant === 'toMid' ? 8 : 64); i++) {
    if (!constW && i >= 16) {
      // w[i] = s1(w[i-2]) + w[i-7] + s0(w[i-15]) + w[i-16]
      const w2 = Wl(i - 2);
      const w15 = Wl(i - 15);
      c.get(w2).i32(17).op(OP.rotr).get(w2).i32(19).op(OP.rotr).op(OP.xor).get(w2).i32(10).op(OP.shrU).op(OP.xor);
      c.get(Wl(i - 7)).op(OP.add);
      c.get(w15).i32(7).op(OP.rotr).get(w15).i32(18).op(OP.rotr).op(OP.xor).get(w15).i32(3).op(OP.shrU).op(OP.xor).op(OP.add);
      c.get(Wl(i)).op(OP.add).set(Wl(i));
    }
    const [a, b, cc, d, e, f, g, h] = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => V(r, i)) as [number, number, number, number, number, number, number, number];
    // t1 = h + S1(e) + Ch(e, f, g) + K[i] + w[i]
    c.get(h).rotrXor3(e, 6, 11, 25).op(OP.add);
    c.get(g).get(e).get(f).get(g).op(OP.xor).op(OP.and).op(OP.xor).op(OP.add);
    if (constW) c.i32((K[i]! + constW[i]!) | 0).op(OP.add);
    else c.i32(K[i]!).op(OP.add).get(Wl(i)).op(OP.add);
    c.set(T1);
    // d += t1 (the next e); h = t1 + S0(a) + Maj(a, b, c) (the next a)
    c.get(d).get(T1).op(OP.add).set(d);
    c.get(T1).rotrXor3(a, 2, 13, 22).op(OP.add);
    c.get(a).get(b).op(OP.and).get(cc).get(a).get(b).op(OP.or).op(OP.and).op(OP.or).op(OP.add).set(h);
  }
  // After 8 or 64 rounds (multiples of 8) every role is back in its own local.
  if (variant === 'toMid') for (let r = 0; r < 8; r++) c.i32(MID_OFF).get(1 + r).store(4 * r);
  else for (let r = 0; r < 8; r++) c.i32(STATE_OFF).i32(STATE_OFF).load(4 * r).get(1 + r).op(OP.add).store(4 * r);
  return { locals: 26, code: c.b };
}

/**
 * The compression of a message block at local 0, with the message schedule computed 4 words at a
 * time in SIMD (and the byte swap of the loaded words done by one shuffle per 4 words): ~5-8% faster
 * than compressBody(null). `fromMid` starts at round 8 from MID_OFF (valid when the block's first 8
 * words are those last given to setPrefix). i32 locals: 0 = p, 1..8 = working variables, 9 = t1;
 * v128 locals: 10..13 = schedule window, 14 = t, 15 = s, 16 = w + k.
 */
function compressSimd(variant: 'full' | 'fromMid'): { locals: number; vlocals: number; code: number[] } {
  const c = new Code();
  const Vr = (role: number, round: number): number => 1 + ((((role - round) % 8) + 8) % 8);
  const T1 = 9;
  const X = (g: number): number => 10 + (g % 4);
  const T = 14;
  const S = 15;
  const WK = 16;
  const from = variant === 'fromMid' ? MID_OFF : STATE_OFF;
  for (let r = 0; r < 8; r++) c.i32(from).load(4 * r).set(1 + r);
  const BSWAP = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];
  // i8x16.shuffle takes two operands: the same 16 bytes, loaded twice (cheaper than a local round trip).
  for (let g = 0; g < 4; g++) c.get(0).v(V.load, 4, ...ulebBytes(16 * g)).get(0).v(V.load, 4, ...ulebBytes(16 * g)).v(V.shuffle, ...BSWAP).set(X(g));
  const start = variant === 'fromMid' ? 8 : 0;
  for (let g = 0; g < 16; g++) {
    if (g >= 4) {
      // X0 = oldest (w[i-16..i-13]) ... X3 = newest (w[i-4..i-1]); the result replaces X0.
      const x0 = X(g - 4), x1 = X(g - 3), x2 = X(g - 2), x3 = X(g - 1);
      c.get(x0).get(x1).shuffle32([1, 2, 3, 4]).set(S); // w[i-15..i-12]
      c.get(x0).vsigma(S, 7, 18, 3).v(V.add);
      c.get(x2).get(x3).shuffle32([1, 2, 3, 4]).v(V.add).set(T); // + w[i-7..i-4]
      c.get(x3).get(x3).shuffle32([2, 3, 2, 3]).set(S); // w[i-2], w[i-1]
      c.get(T).vsigma(S, 17, 19, 10).v(V.add).set(WK); // lanes 0, 1 final
      c.get(x3).get(WK).shuffle32([2, 3, 4, 5]).set(S); // w[i-2], w[i-1], w[i], w[i+1]
      c.get(T).vsigma(S, 17, 19, 10).v(V.add).set(x0);
    }
    if (4 * g + 3 < start) continue;
    c.get(X(g)).v(V.const, ...kBytes(4 * g)).v(V.add).set(WK);
    for (let i = 4 * g; i < 4 * g + 4; i++) {
      if (i < start) continue;
      const [a, b, cc, d, e, f, gg, h] = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => Vr(r, i)) as [number, number, number, number, number, number, number, number];
      c.get(h).rotrXor3(e, 6, 11, 25).op(OP.add);
      c.get(gg).get(e).get(f).get(gg).op(OP.xor).op(OP.and).op(OP.xor).op(OP.add);
      c.get(WK).v(V.extract, i - 4 * g).op(OP.add);
      c.set(T1);
      c.get(d).get(T1).op(OP.add).set(d);
      c.get(T1).rotrXor3(a, 2, 13, 22).op(OP.add);
      c.get(a).get(b).op(OP.and).get(cc).get(a).get(b).op(OP.or).op(OP.and).op(OP.or).op(OP.add).set(h);
    }
  }
  for (let r = 0; r < 8; r++) c.i32(STATE_OFF).i32(STATE_OFF).load(4 * r).get(1 + r).op(OP.add).store(4 * r);
  return { locals: 9, vlocals: 7, code: c.b };
}
export function ulebBytes(n: number): number[] {
  const o: number[] = [];
  uleb(n, o);
  return o;
}
/** K[i..i+4) as 16 little-endian bytes (a v128.const). */
function kBytes(i: number): number[] {
  const o: number[] = [];
  for (let j = i; j < i + 4; j++) for (let s = 0; s < 32; s += 8) o.push((K[j]! >>> s) & 0xff);
  return o;
}

/** Writes IV into the state. */
function initState(c: Code): void {
  for (let r = 0; r < 8; r++) c.i32(STATE_OFF).i32(IV[r]!).store(4 * r);
}
/** Writes the state big-endian at local `out`. */
function outputState(c: Code, out: number, tmp: number): void {
  for (let r = 0; r < 8; r++) c.get(out).i32(STATE_OFF).load(4 * r).bswap(tmp).store(4 * r);
}

/** The message schedule of the padding block that follows a 128-byte message. */
export function pad128Schedule(): Int32Array {
  const w = new Int32Array(64);
  w[0] = 0x80000000 | 0;
  w[15] = 128 * 8;
  const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!;
    const b = w[i - 2]!;
    w[i] = ((rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10)) + w[i - 7]! + (rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3)) + w[i - 16]!) | 0;
  }
  return w;
}

export function section(id: number, body: number[], out: number[]): void {
  out.push(id);
  uleb(body.length, out);
  out.push(...body);
}
export function name(s: string, out: number[]): void {
  uleb(s.length, out);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

function buildModule(): Uint8Array {
  // Types: 0 = (i32) -> (), 1 = () -> (), 2 = (i32 i32 i32) -> (), 3 = (i32 i32) -> ()
  const types = [[[I32], []], [[], []], [[I32, I32, I32], []], [[I32, I32], []]] as const;
  // Functions: 0 compress(p), 1 compressPad128(), 2 hash(p, nblocks, out), 3 hash128(p, out),
  // 4 compressFromMid(p), 5 setPrefix(p), 6 hash128p(p, out)
  const funcs: Array<{ type: number; locals: number; vlocals?: number; code: number[] }> = [];
  funcs.push({ type: 0, ...compressSimd('full') });
  const pad = compressBody(pad128Schedule());
  funcs.push({ type: 1, locals: pad.locals + 1, code: pad.code }); // no param: local 0 unused
  {
    // hash(p, n, out): IV; n x compress(p += 64); digest -> out. Local 3 = tmp.
    const c = new Code();
    initState(c);
    c.op(OP.block, 0x40, OP.loop, 0x40);
    c.get(1).op(OP.eqz).op(OP.brIf, 1);
    c.get(0).call(0);
    c.get(0).i32(64).op(OP.add).set(0);
    c.get(1).i32(1).op(OP.sub).set(1);
    c.op(OP.br, 0, OP.end, OP.end);
    outputState(c, 2, 3);
    funcs.push({ type: 2, locals: 1, code: c.b });
  }
  {
    // hash128(p, out): a 128-byte message at p (its padding block is constant, never read). Local 2 = tmp.
    const c = new Code();
    initState(c);
    c.get(0).call(0);
    c.get(0).i32(64).op(OP.add).call(0);
    c.call(1);
    outputState(c, 1, 2);
    funcs.push({ type: 3, locals: 1, code: c.b });
  }
  funcs.push({ type: 0, ...compressSimd('fromMid') });
  {
    // setPrefix(p): IV, then rounds 0..7 over the first 32 bytes at p -> MID_OFF. Local 1 = tmp.
    const c = new Code();
    initState(c);
    const m = compressBody(null, 'toMid');
    funcs.push({ type: 0, locals: m.locals, code: [...c.b, ...m.code] });
  }
  {
    // hash128p(p, out): as hash128, for a message starting with the prefix given to setPrefix().
    const c = new Code();
    initState(c);
    c.get(0).call(4);
    c.get(0).i32(64).op(OP.add).call(0);
    c.call(1);
    outputState(c, 1, 2);
    funcs.push({ type: 3, locals: 1, code: c.b });
  }

  return assemble(types, funcs, [['hash', 2], ['hash128', 3], ['setPrefix', 5], ['hash128p', 6]]);
}

/** A wasm function to assemble: its type index, its i32 and v128 locals, its body (without `end`). */
export interface WasmFunc {
  type: number;
  locals: number;
  vlocals?: number;
  code: number[];
}

/**
 * The module's bytes: the given function types and functions, the memory imported as `e.m`, and the
 * named exports (function index).
 */
export function assemble(types: ReadonlyArray<readonly [readonly number[], readonly number[]]>, funcs: WasmFunc[], exports: Array<[string, number]>): Uint8Array {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const ty: number[] = [];
  uleb(types.length, ty);
  for (const [p, r] of types) {
    ty.push(0x60);
    uleb(p.length, ty);
    ty.push(...p);
    uleb(r.length, ty);
    ty.push(...r);
  }
  section(1, ty, out);
  const im: number[] = [1];
  name('e', im);
  name('m', im);
  im.push(0x02, 0x00, 0x01); // memory, limits min 1, no max
  section(2, im, out);
  const fn: number[] = [];
  uleb(funcs.length, fn);
  for (const f of funcs) uleb(f.type, fn);
  section(3, fn, out);
  const ex: number[] = [];
  uleb(exports.length, ex);
  for (const [n, i] of exports) {
    name(n, ex);
    ex.push(0x00, i);
  }
  section(7, ex, out);
  const co: number[] = [];
  uleb(funcs.length, co);
  for (const f of funcs) {
    const body: number[] = [];
    const groups: Array<[number, number]> = [];
    if (f.locals > 0) groups.push([f.locals, I32]);
    if (f.vlocals) groups.push([f.vlocals, V128]);
    uleb(groups.length, body);
    for (const [n, t] of groups) {
      uleb(n, body);
      body.push(t);
    }
    body.push(...f.code, OP.end);
    uleb(body.length, co);
    co.push(...body);
  }
  section(10, co, out);
  return Uint8Array.from(out);
}

export interface WasmSha256 {
  /** The module's memory as bytes (fixed size: never grown, so this view stays valid). */
  mem: Uint8Array;
  /** SHA-256 over `nblocks` already padded 64-byte blocks at mem[p..], digest to mem[out, out + 32). */
  hash(p: number, nblocks: number, out: number): void;
  /** SHA-256 of the 128-byte message at mem[p, p + 128) (no padding needed), digest to mem[out, out + 32). */
  hash128(p: number, out: number): void;
  /** Remembers the first 32 bytes at mem[p..] (their first 8 SHA-256 rounds) for hash128p. */
  setPrefix(p: number): void;
  /**
   * hash128 for a message whose first 32 bytes equal those last given to setPrefix: skips the 8
   * rounds that depend only on them (a trie node's domain prefix is fixed per kind).
   */
  hash128p(p: number, out: number): void;
}

// The project's TypeScript libs do not declare WebAssembly (no DOM lib); the little used here:
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: object };
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
let mod: object | undefined;

/** A fresh instance with its own memory of `bytes` (rounded up to 64 KiB pages). */
export function wasmSha256(bytes: number): WasmSha256 {
  mod ??= new WA.Module(buildModule());
  const memory = new WA.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const inst = new WA.Instance(mod, { e: { m: memory } });
  const x = inst.exports as unknown as Omit<WasmSha256, 'mem'>;
  return { mem: new Uint8Array(memory.buffer), hash: x.hash, hash128: x.hash128, setPrefix: x.setPrefix, hash128p: x.hash128p };
}

/**
 * Writes SHA-256 padding after a `len`-byte message at mem[p, p + len); returns the number of blocks.
 * Supports len < 2^29 (the bit length is written as its low 32 bits; the high word is zero).
 */
export function padAt(mem: Uint8Array, p: number, len: number): number {
  const blocks = (len + 9 + 63) >>> 6;
  const end = p + 64 * blocks;
  mem[p + len] = 0x80;
  for (let i = p + len + 1; i < end - 4; i++) mem[i] = 0;
  const bits = len * 8;
  mem[end - 4] = bits >>> 24;
  mem[end - 3] = (bits >>> 16) & 0xff;
  mem[end - 2] = (bits >>> 8) & 0xff;
  mem[end - 1] = bits & 0xff;
  return blocks;
}
