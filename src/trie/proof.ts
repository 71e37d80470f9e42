// Inclusion and non-inclusion proofs: the nodes on the key's path, top-down, and their canonical
// binary encoding. Checking a proof against a root (no database) is verify.ts.
import { ByteSlab, DecodeError } from '../core/bytes.js';
import { packDigits, packedLength, pathLength, unpackDigits, KEY_BYTES } from './digits.js';
import { copyBytes, MAX_VALUE_BYTES } from './record.js';

/** A branch passed through: the hashes of its other children, in slot order (EMPTY_HASH if empty). */
export interface BranchStep {
  kind: 'branch';
  siblings: Uint8Array[];
}
/** An extension passed through: its digits, which equal the key's next digits. */
export interface ExtStep {
  kind: 'ext';
  path: Uint8Array;
}
export type ProofStep = BranchStep | ExtStep;

/** Where the walk along the key's path ends. */
export type ProofEnd =
  | { kind: 'empty' } // an empty slot (or the empty trie): the key is absent
  | { kind: 'leaf' } // the key's own leaf: the key is present with the claimed value
  | { kind: 'other-leaf'; key: Uint8Array; value: Uint8Array } // another key's leaf: absent
  | { kind: 'ext-diverge'; path: Uint8Array; child: Uint8Array }; // an extension leaving the key's path: absent

export interface TrieProof {
  steps: ProofStep[];
  end: ProofEnd;
}

// Encoding (see docs/PROTOCOL.md "Trie"):
//   proof := step* end
//   step  := 0x10|mask  hash(32) x popcount(mask)   (branch; bit i set = i-th sibling present)
//          | 0x20 u8 n packed(n)                      (extension)
//   end   := 0x00 | 0x01 | 0x02 key(32) u32 len value | 0x03 u8 n packed(n) hash(32)
const T_BRANCH = 0x10;
const T_EXT = 0x20;
const E_EMPTY = 0x00;
const E_LEAF = 0x01;
const E_OTHER = 0x02;
const E_EXT = 0x03;

function isEmptyHash(h: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (h[i] !== 0) return false;
  return true;
}

export function encodeProof(p: TrieProof, arity = 3): Uint8Array {
  let size = 1;
  for (const s of p.steps) {
    if (s.kind === 'branch') {
      if (s.siblings.length !== arity - 1) throw new RangeError('proof: wrong number of siblings');
      size += 1;
      for (const h of s.siblings) if (!isEmptyHash(h)) size += 32;
    } else size += 2 + packedLength(s.path.length);
  }
  const e = p.end;
  if (e.kind === 'other-leaf') size += 32 + 4 + e.value.length;
  else if (e.kind === 'ext-diverge') size += 1 + packedLength(e.path.length) + 32;
  const out = new Uint8Array(size);
  let o = 0;
  for (const s of p.steps) {
    if (s.kind === 'branch') {
      let mask = 0;
      const at = o++;
      for (let i = 0; i < s.siblings.length; i++) {
        const h = s.siblings[i]!;
        if (h.length !== 32) throw new RangeError('proof: sibling hash must be 32 bytes');
        if (isEmptyHash(h)) continue;
        mask |= 1 << i;
        out.set(h, o);
        o += 32;
      }
      out[at] = T_BRANCH | mask;
    } else {
      checkPath(s.path, arity);
      out[o++] = T_EXT;
      out[o++] = s.path.length;
      o = packDigits(s.path, out, o);
    }
  }
  switch (e.kind) {
    case 'empty':
      out[o++] = E_EMPTY;
      break;
    case 'leaf':
      out[o++] = E_LEAF;
      break;
    case 'other-leaf':
      if (e.key.length !== KEY_BYTES) throw new RangeError('proof: key must be 32 bytes');
      out[o++] = E_OTHER;
      out.set(e.key, o);
      o += 32;
      new DataView(out.buffer).setUint32(o, e.value.length);
      o += 4;
      out.set(e.value, o);
      o += e.value.length;
      break;
    case 'ext-diverge':
      checkPath(e.path, arity);
      out[o++] = E_EXT;
      out[o++] = e.path.length;
      o = packDigits(e.path, out, o);
      out.set(e.child, o);
      o += 32;
      break;
  }
  return out;
}

function checkPath(path: Uint8Array, arity: number): void {
  if (path.length < 1 || path.length >= pathLength(arity)) throw new RangeError('proof: bad extension path length');
}

// A decoded proof's hashes and values are views into one private copy of its bytes. Copies of small
// proofs share 16 KiB slabs: one ArrayBuffer per proof cost more than the rest of the decode
// (measured: 57% of decodeProof's time). A slab stays alive while any proof decoded into it does.
const SLAB_BYTES = 16384;
const copies = new ByteSlab(SLAB_BYTES);
function privateCopy(input: Uint8Array): Uint8Array {
  if (input.length > SLAB_BYTES >> 3) return copyBytes(input);
  const b = copies.take(input.length);
  b.set(input);
  return b;
}

/** Canonical decoding: the only encoding of a proof is accepted; anything else throws DecodeError. */
export function decodeProof(input: Uint8Array, arity = 3): TrieProof {
  const L = pathLength(arity);
  const b = privateCopy(input); // hashes and values are views into it
  const steps: ProofStep[] = [];
  let o = 0;
  const need = (k: number): void => {
    if (o + k > b.length) throw new DecodeError(`trie proof: truncated at offset ${o}`);
  };
  const readPath = (): Uint8Array => {
    need(1);
    const n = b[o++]!;
    if (n < 1 || n >= L) throw new DecodeError(`trie proof: extension length ${n} out of range`);
    need(packedLength(n));
    const path = unpackDigits(b, o, n, arity);
    if (!path) throw new DecodeError(`trie proof: non-canonical extension path at offset ${o}`);
    o += packedLength(n);
    return path;
  };
  const readHash = (): Uint8Array => {
    need(32);
    const h = b.subarray(o, o + 32);
    o += 32;
    return h;
  };
  for (;;) {
    need(1);
    const t = b[o++]!;
    if ((t & 0xf0) === T_BRANCH) {
      const mask = t & 0x0f;
      if (mask >> (arity - 1) !== 0) throw new DecodeError(`trie proof: bad branch mask ${t}`);
      if (steps.length >= 2 * L) throw new DecodeError('trie proof: too many steps');
      const siblings: Uint8Array[] = [];
      for (let i = 0; i < arity - 1; i++) {
        if ((mask >> i) & 1) {
          const h = readHash();
          if (isEmptyHash(h)) throw new DecodeError('trie proof: explicit empty sibling (non-canonical)');
          siblings.push(h);
        } else siblings.push(new Uint8Array(32)); // a fresh EMPTY: callers may own what we return
      }
      steps.push({ kind: 'branch', siblings });
      continue;
    }
    if (t === T_EXT) {
      if (steps.length >= 2 * L) throw new DecodeError('trie proof: too many steps');
      steps.push({ kind: 'ext', path: readPath() });
      continue;
    }
    let end: ProofEnd;
    if (t === E_EMPTY) end = { kind: 'empty' };
    else if (t === E_LEAF) end = { kind: 'leaf' };
    else if (t === E_OTHER) {
      const key = readHash();
      need(4);
      const len = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o);
      o += 4;
      if (len > MAX_VALUE_BYTES) throw new DecodeError(`trie proof: value of ${len} bytes exceeds ${MAX_VALUE_BYTES}`);
      need(len);
      end = { kind: 'other-leaf', key, value: b.subarray(o, o + len) };
      o += len;
    } else if (t === E_EXT) {
      const path = readPath();
      end = { kind: 'ext-diverge', path, child: readHash() };
    } else throw new DecodeError(`trie proof: unknown tag 0x${t.toString(16)} at offset ${o - 1}`);
    if (o !== b.length) throw new DecodeError(`trie proof: ${b.length - o} trailing bytes`);
    return { steps, end };
  }
}
