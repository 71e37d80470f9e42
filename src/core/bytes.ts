// Canonical binary encoding primitives. Every hashed or signed structure in smt is encoded with
// these: fixed-width big-endian integers and length-prefixed byte strings, no JSON.

/** Thrown by every decoder on malformed input; the only error a decoder may throw. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

const U64_MAX = (1n << 64n) - 1n;
// One of each, not one per string: every snapshot, aggregate and message encodes or decodes a few
// strings, and constructing a TextDecoder was most of a short string's cost (~1% of nine idle nodes'
// CPU by profile). A non-streaming decode keeps no state between calls.
const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true });

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`u8 out of range: ${v}`);
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`u16 out of range: ${v}`);
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`u32 out of range: ${v}`);
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }

  u64(v: bigint): this {
    if (v < 0n || v > U64_MAX) throw new RangeError(`u64 out of range: ${v}`);
    this.ensure(8);
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
    return this;
  }

  /** Raw bytes, no length prefix: for fixed-size fields (hashes, keys, signatures). */
  fixed(b: Uint8Array, len?: number): this {
    if (len !== undefined && b.length !== len) throw new RangeError(`expected ${len} bytes, got ${b.length}`);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Length-prefixed (u32) byte string. */
  bytes(b: Uint8Array): this {
    this.u32(b.length);
    return this.fixed(b);
  }

  /**
   * Length-prefixed UTF-8 string. ASCII (network ids, shard paths: what every snapshot and aggregate
   * encodes) is written in place, byte for byte what the encoder gives, without its allocation.
   */
  string(s: string): this {
    const n = s.length;
    this.ensure(4 + n);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return this.bytes(UTF8_ENCODER.encode(s));
      this.buf[this.pos + 4 + i] = c;
    }
    this.view.setUint32(this.pos, n);
    this.pos += 4 + n;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** Empties the writer, keeping its memory (a scratch writer reused for encodings that are only hashed). */
  reset(): this {
    this.pos = 0;
    return this;
  }

  /** What was written, without a copy: valid until the writer is written or reset again. */
  written(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

export class ByteReader {
  private readonly buf: Uint8Array;
  private readonly what: string;
  private readonly view: DataView;
  private pos = 0;

  constructor(buf: Uint8Array, what = 'input') {
    this.buf = buf;
    this.what = what;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new DecodeError(`${this.what}: truncated (need ${n} bytes at offset ${this.pos}, have ${this.buf.length - this.pos})`);
    }
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  fixed(len: number): Uint8Array {
    this.need(len);
    const out = this.buf.slice(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** Length-prefixed byte string, refused if longer than `max`. */
  bytes(max: number): Uint8Array {
    const len = this.u32();
    if (len > max) throw new DecodeError(`${this.what}: field length ${len} exceeds limit ${max}`);
    return this.fixed(len);
  }

  string(max: number): string {
    const len = this.u32();
    if (len > max) throw new DecodeError(`${this.what}: field length ${len} exceeds limit ${max}`);
    this.need(len);
    const start = this.pos;
    this.pos += len;
    // short ASCII (ids, paths) without the decoder: the same string it gives for bytes < 0x80
    if (len <= 64) {
      let out = '';
      for (let i = start; i < start + len; i++) {
        const c = this.buf[i]!;
        if (c >= 0x80) return this.utf8(start, len);
        out += String.fromCharCode(c);
      }
      return out;
    }
    return this.utf8(start, len);
  }

  private utf8(start: number, len: number): string {
    try {
      return UTF8_DECODER.decode(this.buf.subarray(start, start + len));
    } catch {
      throw new DecodeError(`${this.what}: invalid UTF-8`);
    }
  }

  /** Every decoder ends with this: trailing bytes make an encoding non-canonical. */
  end(): void {
    if (this.pos !== this.buf.length) {
      throw new DecodeError(`${this.what}: ${this.buf.length - this.pos} trailing bytes`);
    }
  }
}

/** Writes `v` (0 <= v < 2^32) big-endian at out[o, o + 4). */
export function putU32(out: Uint8Array, o: number, v: number): void {
  out[o] = v >>> 24;
  out[o + 1] = (v >>> 16) & 0xff;
  out[o + 2] = (v >>> 8) & 0xff;
  out[o + 3] = v & 0xff;
}

/** The big-endian u32 at b[o, o + 4). */
export function getU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Strict hex decoding (optional 0x prefix, even length, hex digits only). */
export function fromHex(s: string, expectedLen?: number): Uint8Array {
  const h = s.startsWith('0x') ? s.slice(2) : s;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new DecodeError(`not a hex string: ${JSON.stringify(s.slice(0, 80))}`);
  const out = new Uint8Array(Buffer.from(h, 'hex'));
  if (expectedLen !== undefined && out.length !== expectedLen) {
    throw new DecodeError(`expected ${expectedLen} bytes of hex, got ${out.length}`);
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * n bytes NOT zero-filled, in their own ArrayBuffer (byteOffset 0, plain Uint8Array semantics), for a
 * buffer the caller overwrites entirely before anyone reads it: large zero-filled allocations
 * (receipt rows and batches, ~100-200 KB each) were measured as a visible cost of the cross-shard path.
 */
export function uninitBytes(n: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
}

/**
 * Carves small byte arrays out of shared buffers of `size` bytes: one ArrayBuffer per buffer instead
 * of one per array (an ArrayBuffer's backing store lives outside V8's heap and costs far more to
 * allocate than a view). A buffer stays alive while any view into it does, so only for arrays that
 * are small next to `size`.
 */
export class ByteSlab {
  private buf: Uint8Array;
  private off = 0;
  private readonly size: number;
  constructor(size: number) {
    this.size = size;
    this.buf = new Uint8Array(size);
  }
  /** n fresh zero bytes (n <= size), 8-byte aligned in their buffer. */
  take(n: number): Uint8Array {
    if (this.off + n > this.size) {
      this.buf = new Uint8Array(this.size);
      this.off = 0;
    }
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += (n + 7) & ~7;
    return b;
  }
}
