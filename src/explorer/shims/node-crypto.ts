// The browser bundle's stand-in for node:crypto: createHash('sha256') on @noble/hashes (shared code
// imports it for receipt chains; the page does not chain receipts, but the import must resolve).
import { sha256 } from '@noble/hashes/sha2.js';

export function createHash(alg: string): { update(b: Uint8Array): ReturnType<typeof createHash>; digest(): Uint8Array } {
  if (alg !== 'sha256') throw new Error(`${alg} is not available in the browser`);
  const h = sha256.create();
  const o = { update: (b: Uint8Array) => (h.update(b), o), digest: () => h.digest() };
  return o;
}
export const randomBytes = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));
export default { createHash, randomBytes };
