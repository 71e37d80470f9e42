// Shared helpers for the trie tests: deterministic keys, keys with long common digit prefixes.
import { sha256 } from '../src/core/hash.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A deterministic 32-byte key. */
export function hkey(label: string): Uint8Array {
  return sha256(enc(label));
}

export function toBig(b: Uint8Array): bigint {
  let x = 0n;
  for (const v of b) x = (x << 8n) | BigInt(v);
  return x;
}

export function fromBig(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** A key whose first `k` base-3 digits equal those of `base` (digits are least significant first). */
export function sharingPrefix(base: Uint8Array, k: number, j: number): Uint8Array {
  const M = 1n << 256n;
  return fromBig((toBig(base) + BigInt(j) * 3n ** BigInt(k)) % M);
}

/** Reference digit map straight from the definition: digit i = floor(x / b^i) mod b. */
export function refDigits(key: Uint8Array, arity: number, n: number): number[] {
  let x = toBig(key);
  const b = BigInt(arity);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Number(x % b));
    x /= b;
  }
  return out;
}

/** Fisher-Yates with a seeded LCG (deterministic shuffles in property tests). */
export function shuffled<T>(xs: T[], seed: number): T[] {
  const a = xs.slice();
  let s = seed >>> 0 || 1;
  for (let i = a.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
