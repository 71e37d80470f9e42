// Domain-separated SHA-256. Every hash in the protocol names its domain, so a value hashed in one
// role (a trie leaf, a transaction, a snapshot) can never be mistaken for one hashed in another.
import { hash } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { ByteWriter } from './bytes.js';

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

/**
 * H_tag(parts) = SHA-256(domainPrefix(tag) || parts...). One native one-shot SHA-256 over the
 * preimage laid out in one buffer (node:crypto `hash`; the browser bundle's shim is @noble/hashes):
 * a snapshot's hash 2.0 us against 3.4 with @noble/hashes' JavaScript compression, and every node
 * hashes every shard's snapshot and every aggregate each epoch, a few times over.
 */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Uint8Array {
  const prefix = domainPrefix(tag);
  let n = prefix.length;
  for (const p of parts) n += p.length;
  const pre = new Uint8Array(n);
  pre.set(prefix);
  let o = prefix.length;
  for (const p of parts) {
    pre.set(p, o);
    o += p.length;
  }
  // a plain Uint8Array (a Buffer's slice() would be a view, not a copy)
  return new Uint8Array(hash('sha256', pre, 'buffer') as unknown as Uint8Array);
}

const scratch = new ByteWriter(1024);
let scratchBusy = false;

/**
 * taggedHash(tag, the bytes `write` puts in a ByteWriter), without allocating the encoding: written
 * after the domain prefix into one scratch writer and hashed in place. For encodings that are only
 * hashed (snapshotHash, aggregateHash: every node, every shard's snapshot and aggregate, every epoch).
 */
export function taggedHashOf(tag: string, write: (w: ByteWriter) => void): Uint8Array {
  if (scratchBusy) {
    // `write` hashing again: the nested one gets a writer of its own
    const w = new ByteWriter(512);
    write(w);
    return taggedHash(tag, w.finish());
  }
  scratchBusy = true;
  try {
    write(scratch.reset().fixed(domainPrefix(tag)));
    return new Uint8Array(hash('sha256', scratch.written(), 'buffer') as unknown as Uint8Array);
  } finally {
    scratchBusy = false;
  }
}
