// The write journal of a journaled commit (docs/PROTOCOL.md "Journaled commits"): the writes made
// since the previous commit, in call order, so that a commit between two node checkpoints stores
// ~53 bytes per write instead of every dirty node. Pure: encoding, decoding, and a growable buffer.
import { DecodeError, getU32, putU32 } from '../core/bytes.js';
import { MAX_VALUE_BYTES } from './record.js';

/** Length field of a delete (a put's length is at most MAX_VALUE_BYTES). */
const DELETE = 0xffffffff;

/**
 * journal := u32 count, entry * count
 * entry   := key(32) u32 len value(len)   a put, len <= 65536
 *          | key(32) 0xffffffff           a delete
 */
export class WriteJournal {
  count = 0;
  /** Encoded entries (from byte 4 on; bytes 0-3 are the count, filled by take()). */
  private buf = new Uint8Array(1 << 16);
  private top = 4;

  /** Bytes of entries held (without the count). */
  get byteLength(): number {
    return this.top - 4;
  }

  private room(n: number): void {
    if (this.top + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.top + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.top));
    this.buf = b;
  }

  /** Appends a put (value copied) or, for null, a delete. The caller has validated both. */
  append(key: Uint8Array, value: Uint8Array | null): void {
    const vl = value === null ? 0 : value.length;
    this.room(36 + vl);
    const b = this.buf;
    let o = this.top;
    for (let i = 0; i < 32; i++) b[o + i] = key[i]!;
    o += 32;
    putU32(b, o, value === null ? DELETE : vl);
    o += 4;
    if (value !== null) {
      if (vl <= 64) for (let i = 0; i < vl; i++) b[o + i] = value[i]!;
      else b.set(value, o);
      o += vl;
    }
    this.top = o;
    this.count++;
  }

  /** A mark for drop(): everything appended so far. */
  mark(): { count: number; top: number } {
    return { count: this.count, top: this.top };
  }

  /** The encoded journal of everything appended so far (a copy). */
  encode(): Uint8Array {
    const out = this.buf.slice(0, this.top);
    putU32(out, 0, this.count);
    return out;
  }

  /** Forgets the entries up to `m` (they landed), keeping any appended after it. */
  drop(m: { count: number; top: number }): void {
    const rest = this.top - m.top;
    if (rest > 0) this.buf.copyWithin(4, m.top, this.top);
    this.top = 4 + rest;
    this.count -= m.count;
  }
}

/** Calls `fn` for each entry of an encoded journal, in order; throws DecodeError on malformed bytes. */
export function forEachJournalEntry(bytes: Uint8Array, fn: (key: Uint8Array, value: Uint8Array | null) => void): number {
  const fail = (why: string): never => {
    throw new DecodeError(`trie journal: ${why}`);
  };
  if (bytes.length < 4) fail('truncated count');
  const count = getU32(bytes, 0);
  let o = 4;
  for (let i = 0; i < count; i++) {
    if (o + 36 > bytes.length) fail(`entry ${i} truncated`);
    const key = bytes.subarray(o, o + 32);
    const len = getU32(bytes, o + 32);
    o += 36;
    if (len === DELETE) {
      fn(key, null);
      continue;
    }
    if (len > MAX_VALUE_BYTES) fail(`entry ${i} value of ${len} bytes (max ${MAX_VALUE_BYTES})`);
    if (o + len > bytes.length) fail(`entry ${i} value truncated`);
    fn(key, bytes.subarray(o, o + len));
    o += len;
  }
  if (o !== bytes.length) fail(`${bytes.length - o} trailing bytes`);
  return count;
}
