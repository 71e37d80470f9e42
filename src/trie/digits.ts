// Key -> digit path. A key is a 32-byte hash read as a 256-bit big-endian unsigned integer x; its
// path is the base-`arity` expansion of x least-significant digit first: digit i = floor(x / b^i) mod b.
// Least-significant first because those digits are uniform for a uniform x (the distribution of the
// first i digits is within b^i / 2^256 of uniform in total variation), while the most significant
// base-3 digit of a 256-bit number is badly biased (it is never 2 at position 161).
export const KEY_BYTES = 32;

/** Path length for an arity: the number of digits that distinguish all 2^256 keys. */
export function pathLength(arity: number): number {
  return arity === 2 ? 256 : 162; // 3^161 < 2^256 <= 3^162
}

// Base 3: long division of the key (16 x 16-bit limbs) by 3^23, 23 trits per pass. 3^23 < 2^36.5, so
// rem * 2^16 + limb < 2^53 and every step is exact in a double. Each pass's remainder is split
// into 6-trit chunks read from a table.
const D3 = 3 ** 23;
const P12 = 3 ** 12;
const limbs = new Float64Array(16);
const T6 = new Uint8Array(729 * 6);
for (let v = 0; v < 729; v++) for (let j = 0, x = v; j < 6; j++, x = Math.floor(x / 3)) T6[v * 6 + j] = x % 3;

/** The full digit path of `key` (162 trits for arity 3, 256 bits for arity 2), freshly allocated. */
export function keyDigits(key: Uint8Array, arity: number): Uint8Array {
  if (arity === 2) return keyBits(key, new Uint8Array(256));
  const out = new Uint8Array(184);
  trits(key, out, 8);
  return out.subarray(0, 162);
}

/**
 * Writes passes x 23 trits of the key at key[ko, ko + 32) into out[oo .. oo + 23 * passes) (out has
 * room for 184 from oo).
 */
export function trits(key: Uint8Array, out: Uint8Array, passes: number, ko = 0, oo = 0): void {
  for (let i = 0; i < 16; i++) limbs[i] = (key[ko + 2 * i]! << 8) | key[ko + 2 * i + 1]!;
  let first = 0; // index of the first non-zero limb
  for (let pos = oo; pos < oo + 23 * passes; pos += 23) {
    while (first < 16 && limbs[first] === 0) first++;
    let rem = 0;
    for (let i = first; i < 16; i++) {
      const cur = rem * 65536 + limbs[i]!;
      const q = Math.floor(cur / D3);
      limbs[i] = q;
      rem = cur - q * D3;
    }
    const hi = Math.floor(rem / P12); // < 3^11
    const lo = rem - hi * P12; // < 3^12
    put6(out, pos, lo % 729);
    put6(out, pos + 6, (lo / 729) | 0);
    put6(out, pos + 12, hi % 729);
    put5(out, pos + 18, (hi / 729) | 0);
  }
}

/**
 * A reusable, lazily expanded digit path: `d[0 .. n)` are valid. Loading a key computes the first
 * 23 trits (one division pass), enough for nearly every walk in a trie of millions of keys; walkers
 * call full() before reading past `n`. Saves most of the 8-pass conversion and an allocation per call.
 */
export class KeyPath {
  readonly d: Uint8Array;
  n = 0;
  readonly arity: number;
  readonly L: number;
  private key: Uint8Array | null = null;

  constructor(arity: number) {
    this.arity = arity;
    this.L = pathLength(arity);
    this.d = new Uint8Array(arity === 2 ? 256 : 184);
  }

  load(key: Uint8Array): this {
    this.key = key;
    if (this.arity === 2) {
      keyBits(key, this.d);
      this.n = 256;
    } else {
      trits(key, this.d, 1);
      this.n = 23;
    }
    return this;
  }

  /** Makes all L digits valid. */
  full(): void {
    if (this.n < this.L) {
      trits(this.key!, this.d, 8);
      this.n = this.L;
    }
  }
}

function put6(out: Uint8Array, o: number, v: number): void {
  const t = v * 6;
  out[o] = T6[t]!;
  out[o + 1] = T6[t + 1]!;
  out[o + 2] = T6[t + 2]!;
  out[o + 3] = T6[t + 3]!;
  out[o + 4] = T6[t + 4]!;
  out[o + 5] = T6[t + 5]!;
}

function put5(out: Uint8Array, o: number, v: number): void {
  const t = v * 6;
  out[o] = T6[t]!;
  out[o + 1] = T6[t + 1]!;
  out[o + 2] = T6[t + 2]!;
  out[o + 3] = T6[t + 3]!;
  out[o + 4] = T6[t + 4]!;
}

function keyBits(key: Uint8Array, out: Uint8Array): Uint8Array {
  for (let i = 0; i < 256; i++) out[i] = (key[31 - (i >> 3)]! >> (i & 7)) & 1;
  return out;
}

/** Packed digit string: 2 bits per digit, first digit in the top bits of the first byte, zero padding. */
export function packedLength(n: number): number {
  return (n + 3) >> 2;
}

export function packDigits(d: Uint8Array, out: Uint8Array, off: number): number {
  const bytes = packedLength(d.length);
  out.fill(0, off, off + bytes);
  for (let j = 0; j < d.length; j++) out[off + (j >> 2)]! |= d[j]! << (6 - 2 * (j & 3));
  return off + bytes;
}

/** Unpacks `n` digits; returns undefined if a digit is >= arity or a padding bit is set (non-canonical). */
export function unpackDigits(src: Uint8Array, off: number, n: number, arity: number): Uint8Array | undefined {
  const out = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const v = (src[off + (j >> 2)]! >> (6 - 2 * (j & 3))) & 3;
    if (v >= arity) return undefined;
    out[j] = v;
  }
  const rest = n & 3;
  if (rest !== 0 && (src[off + (n >> 2)]! & (0xff >> (2 * rest))) !== 0) return undefined;
  return out;
}
