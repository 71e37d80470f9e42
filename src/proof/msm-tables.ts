// The fixed-base tables of a proving key (groth16-prover.ts), cached beside the circuit artifacts:
// building them takes a few CPU-seconds per key, so each prover child builds them once per
// artifacts directory and every later child (every cluster start) reads them. The file carries the
// table window and sizes and a SHA-256 of its contents: a file that does not match (another
// window, another key, truncated or damaged) is rebuilt, never used, since a wrong table would
// make proofs that do not verify. Written to a temporary name and renamed, so a reader never sees
// half a file; where the directory is not writable the tables live in memory only.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { attachTables, MSM_NAMES, TABLE_BITS, TABLE_WINDOWS, type MsmName, type ProvingKey, type WasmCurve } from './groth16-prover.js';

const MAGIC = 'smt/msm-tables/v1';
const HEADER = 32 + 4 + 8 * MSM_NAMES.length + 32; // magic (padded) | bits | sizes | sha256

export function tablesFile(dir: string, kind: string): string {
  return join(dir, `${kind}.msm${TABLE_BITS}.bin`);
}

function digest(parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The cached tables of `pk` in `file`, if the file is exactly what `pk` needs; else undefined. */
export function readTables(file: string, pk: ProvingKey): Record<MsmName, Uint8Array> | undefined {
  let b: Buffer;
  try {
    b = readFileSync(file);
  } catch {
    return undefined;
  }
  if (b.length < HEADER || b.subarray(0, MAGIC.length).toString('latin1') !== MAGIC || b.readUInt32LE(32) !== TABLE_BITS) return undefined;
  const out = {} as Record<MsmName, Uint8Array>;
  let p = HEADER;
  for (const [i, m] of MSM_NAMES.entries()) {
    const size = Number(b.readBigUInt64LE(36 + 8 * i));
    if (size !== TABLE_WINDOWS * pk[m].length || p + size > b.length) return undefined;
    out[m] = new Uint8Array(b.buffer, b.byteOffset + p, size);
    p += size;
  }
  if (p !== b.length) return undefined;
  const want = b.subarray(36 + 8 * MSM_NAMES.length, HEADER);
  if (!Buffer.from(digest(MSM_NAMES.map((m) => out[m]))).equals(want)) return undefined;
  // the key's own bases must be the tables' first window (the file belongs to this key)
  if (MSM_NAMES.some((m) => !Buffer.from(out[m].subarray(0, pk[m].length)).equals(pk[m]))) return undefined;
  return out;
}

export function writeTables(file: string, t: Record<MsmName, Uint8Array>): void {
  const head = Buffer.alloc(HEADER);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(TABLE_BITS, 32);
  for (const [i, m] of MSM_NAMES.entries()) head.writeBigUInt64LE(BigInt(t[m].length), 36 + 8 * i);
  Buffer.from(digest(MSM_NAMES.map((m) => t[m]))).copy(head, 36 + 8 * MSM_NAMES.length);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([head, ...MSM_NAMES.map((m) => t[m])]));
    renameSync(tmp, file);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing written
    }
  }
}

/** Attaches `pk`'s tables: from `file` when it holds them, else built now and written there. Returns whether they were built. */
export async function loadOrBuildTables(curve: WasmCurve, pk: ProvingKey, file: string): Promise<boolean> {
  const cached = readTables(file, pk);
  if (cached) {
    pk.tables = cached;
    return false;
  }
  writeTables(file, await attachTables(curve, pk));
  return true;
}
