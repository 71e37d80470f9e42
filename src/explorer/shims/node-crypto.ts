// The browser bundle's stand-in for node:crypto: createHash('sha256') and hash('sha256') on
// @noble/hashes (shared code imports them for receipt chains and tagged hashes; the page does not
// chain receipts, but the import must resolve).
import { sha256 } from '@noble/hashes/sha2.js';

export function createHash(alg: string): { update(b: Uint8Array): ReturnType<typeof createHash>; digest(): Uint8Array } {
  if (alg !== 'sha256') throw new Error(`${alg} is not available in the browser`);
  const h = sha256.create();
  const o = { update: (b: Uint8Array) => (h.update(b), o), digest: () => h.digest() };
  return o;
}
/** node:crypto's one-shot hash (sha256 only, digest as bytes): core/hash.ts's taggedHash. */
export function hash(alg: string, data: Uint8Array, enc?: string): Uint8Array {
  if (alg !== 'sha256' || (enc !== undefined && enc !== 'buffer')) throw new Error(`hash(${alg}, ${enc}) is not available in the browser`);
  return sha256(data);
}
export const randomBytes = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
export default { createHash, hash, randomBytes };
