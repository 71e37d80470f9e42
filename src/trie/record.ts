// Node kinds of the trie's storage records and the limits every trie module shares (the record
// format itself is docs/TRIE.md's; arena.ts reads and writes it).
export const LEAF = 0;
export const BRANCH = 1;
export const EXT = 2;
/** A node not loaded yet: only its hash is known; it has its own record in the store. */
export const REF = 3;

export const MAX_VALUE_BYTES = 65536;

/** A private copy of b[start, end); Buffer.prototype.slice would share the caller's memory. */
export function copyBytes(b: Uint8Array, start = 0, end = b.length): Uint8Array {
  const n = end - start;
  const o = new Uint8Array(n);
  if (n <= 64) for (let i = 0; i < n; i++) o[i] = b[start + i]!;
  else o.set(b.subarray(start, end));
  return o;
}
