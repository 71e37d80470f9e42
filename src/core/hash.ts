// Domain-separated SHA-256. Every hash in the protocol names its domain, so a value hashed in one
// role (a trie leaf, a transaction, a snapshot) can never be mistaken for one hashed in another.
import { sha256 } from '@noble/hashes/sha2.js';

export { sha256 };

const tagCache = new Map<string, Uint8Array>();

/** The domain prefix for `tag`: SHA-256("smt/v1/" + tag), 32 bytes, cached. */
export function domainPrefix(tag: string): Uint8Array {
  let p = tagCache.get(tag);
  if (!p) {
    p = sha256(new TextEncoder().encode(`smt/v1/${tag}`));
    tagCache.set(tag, p);
  }
  return p;
}

/** H_tag(parts) = SHA-256(domainPrefix(tag) || parts...). */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Uint8Array {
  const h = sha256.create();
  h.update(domainPrefix(tag));
  for (const p of parts) h.update(p);
  return h.digest();
}
