// Checks a trie storage record received from someone else (state sync, docs/REPLICAS.md): decodes
// it, hashes its top node from its content (inline nodes hashed, references taken as the hashes they
// name) and compares with the hash it was asked for. A record that passes is the node of that hash
// (collision resistance), so a whole trie fetched top-down from a trusted root this way is exactly
// that root's trie. Returns what the caller needs next: the records it references, and its leaves.
import { DecodeError } from '../core/bytes.js';
import { Arena, BRANCH, EXT, LEAF, REF, NIL, F_HASHED } from './arena.js';
import { tagsFor } from './hash.js';

export interface CheckedRecord {
  /** Store keys of the records this one references: gen || hash (36 bytes), or a legacy hash alone (32). */
  refs: Uint8Array[];
  /** Its leaves: [key, value]. */
  leaves: [Uint8Array, Uint8Array][];
}

/** The record is well formed but its top node does not hash to the hash asked for. */
export class RecordHashMismatchError extends Error {
  override name = 'RecordHashMismatchError';
}

/** Checks records against the hashes asked for; throws DecodeError or RecordHashMismatchError for the first bad one. */
export function checkRecords(records: { hash: Uint8Array; bytes: Uint8Array }[], arity = 3): CheckedRecord[] {
  const a = new Arena(arity, tagsFor(arity));
  const out: CheckedRecord[] = [];
  const dummy = new Uint8Array(32);
  for (const rec of records) {
    if (rec.hash.length !== 32) throw new RangeError('record check: a hash is 32 bytes');
    const top = a.decode(rec.bytes, dummy, { refs: 0 });
    a.flags[top] = a.flags[top]! & ~F_HASHED; // decode trusts the hash it is given: recompute it
    a.ensureHash(top);
    if (!a.hashEquals(top, rec.hash)) {
      a.freeTree(top);
      throw new RecordHashMismatchError('trie record does not hash to the hash asked for');
    }
    const refs: Uint8Array[] = [];
    const leaves: [Uint8Array, Uint8Array][] = [];
    const walk = (n: number): void => {
      if (n === NIL) return;
      const k = a.kind[n];
      if (k === REF) refs.push(a.locator(n));
      else if (k === LEAF) leaves.push([a.bytes(n, 0, 32), a.bytes(n, 32, a.len[n]!)]);
      else if (k === BRANCH) for (let i = 0; i < arity; i++) walk(a.child(n, i));
      else if (k === EXT) walk(a.c0[n]!);
      else throw new DecodeError('trie record: unexpected node kind');
    };
    walk(top);
    a.freeTree(top);
    out.push({ refs, leaves });
  }
  return out;
}
