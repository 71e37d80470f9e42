// Writes recorded but not yet applied, last write per key wins: an open-addressing hash table over
// 32-byte keys, with keys and values in flat byte arrays. Replaces a Map keyed by 32-char strings
// plus a key || value array per write: per staged write that was two heap objects and most of the
// put() cost at 100k writes per commit (measured: ~2.5 us of ~12 us per committed update).
import { randomBytes } from 'node:crypto';

export class PendingWrites {
  /** Number of distinct keys; entry i has its key at keys[32 * i]. */
  count = 0;
  keys: Uint8Array = new Uint8Array(32 * 64);
  /** Entry i's value is vals[vOff[i], vOff[i] + vLen[i]); vLen = -1 records a delete. */
  vOff: Int32Array = new Int32Array(64);
  vLen: Int32Array = new Int32Array(64);
  vals: Uint8Array = new Uint8Array(64 * 16);
  private vTop = 0;
  /** Slots hold entry index + 1 (0 = empty); size a power of two, at most half full. */
  private table: Int32Array = new Int32Array(128);
  private mask = 127;
  // A per-process secret seed, so that keys cannot be chosen to collide in the table.
  private readonly seed = randomBytes(4).readInt32LE(0);

  private slotHash(k: Uint8Array, o: number): number {
    let h = this.seed;
    for (let i = 0; i < 16; i += 4) {
      const w = k[o + i]! | (k[o + i + 1]! << 8) | (k[o + i + 2]! << 16) | (k[o + i + 3]! << 24);
      h = Math.imul(h ^ w, 0x9e3779b1);
      h ^= h >>> 15;
    }
    return h;
  }

  /** Entry index of `key`, or -1. */
  find(key: Uint8Array): number {
    if (this.count === 0) return -1;
    const t = this.table;
    const keys = this.keys;
    let s = this.slotHash(key, 0) & this.mask;
    for (;;) {
      const e = t[s]!;
      if (e === 0) return -1;
      const o = (e - 1) * 32;
      let j = 0;
      while (j < 32 && keys[o + j] === key[j]) j++;
      if (j === 32) return e - 1;
      s = (s + 1) & this.mask;
    }
  }

  /** Records key -> value (copied), or a delete for null. */
  set(key: Uint8Array, value: Uint8Array | null): void {
    if (value === null) this.setRange(key, null, 0, 0);
    else this.setRange(key, value, 0, value.length);
  }

  /** Records key -> src[so, so + n) (copied), or a delete for null. */
  setRange(key: Uint8Array, src: Uint8Array | null, so: number, n: number): void {
    let i = this.find(key);
    if (i < 0) {
      if (2 * (this.count + 1) > this.table.length) this.rehash(2 * this.table.length);
      i = this.count++;
      if (i === this.vOff.length) this.growEntries();
      const keys = this.keys;
      const o = i * 32;
      for (let j = 0; j < 32; j++) keys[o + j] = key[j]!;
      let s = this.slotHash(key, 0) & this.mask;
      while (this.table[s] !== 0) s = (s + 1) & this.mask;
      this.table[s] = i + 1;
    }
    if (src === null) {
      this.vLen[i] = -1;
      return;
    }
    if (this.vTop + n > this.vals.length) {
      const v = new Uint8Array(Math.max(2 * this.vals.length, this.vTop + n));
      v.set(this.vals.subarray(0, this.vTop));
      this.vals = v;
    }
    const vo = this.vTop;
    const vals = this.vals;
    if (n <= 64) for (let j = 0; j < n; j++) vals[vo + j] = src[so + j]!;
    else vals.set(so === 0 && n === src.length ? src : src.subarray(so, so + n), vo);
    this.vTop += n;
    this.vOff[i] = vo;
    this.vLen[i] = n;
  }

  /** A copy of entry i's value (entry i must not be a delete). */
  value(i: number): Uint8Array {
    return this.vals.slice(this.vOff[i]!, this.vOff[i]! + this.vLen[i]!);
  }

  clear(): void {
    if (this.count === 0) return;
    this.table.fill(0);
    this.count = 0;
    this.vTop = 0;
  }

  private growEntries(): void {
    const cap = 2 * this.vOff.length;
    const k = new Uint8Array(32 * cap);
    k.set(this.keys);
    this.keys = k;
    const o = new Int32Array(cap);
    o.set(this.vOff);
    this.vOff = o;
    const l = new Int32Array(cap);
    l.set(this.vLen);
    this.vLen = l;
  }

  private rehash(size: number): void {
    this.table = new Int32Array(size);
    this.mask = size - 1;
    for (let i = 0; i < this.count; i++) {
      let s = this.slotHash(this.keys, i * 32) & this.mask;
      while (this.table[s] !== 0) s = (s + 1) & this.mask;
      this.table[s] = i + 1;
    }
  }
}
