// The node's proof store: its own small level DB under <data>/proofs (not the network's DB, so the
// proving layer can be added or dropped without touching the aggregation state).
//   t/<path or "-">/<epoch16>  encoded triad proof (triad-proof.ts)
//   g/<epoch16>                u64 receivedAt ms | encoded global state proof (global.ts)
//   tree                       the latest commitment tree, JSON (bigints as "n:<decimal>")
// Only admitted proofs and the node's own are stored: paired on arrival, or (apex triad and global
// proofs at the nodes they stop nothing) bound to signed state and paired at first use, before they
// are served or linked to (src/node/proving/holdings.ts); so they are read back without the
// decoder's subgroup check (VERIFIED_NEXT: the pairing checks it).
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Level } from 'level';
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { VERIFIED_NEXT, type DecodeProofOptions } from '../proof/encoding.js';
import { decodeGlobalProof, encodeGlobalProof, type GlobalStateProof } from '../proof/global.js';
import { decodeTriadProof, encodeTriadProof, type TriadProof } from '../proof/triad-proof.js';
import type { CommitmentTree } from '../proof/tree.js';

/**
 * Points decompressed at their first read: most reads need the signals or the record's bytes (hashes,
 * links, serving), and a proof taken unpaired is stored as received, its points checked at its use.
 */
const STORED: DecodeProofOptions = { ...VERIFIED_NEXT, deferPoints: true };

const pad = (e: number): string => e.toString().padStart(16, '0');
const tKey = (path: string, e: number): string => `t/${path === '' ? '-' : path}/${pad(e)}`;
const gKey = (e: number): string => `g/${pad(e)}`;

export interface StoredGlobal {
  proof: GlobalStateProof;
  receivedAt: number; // ms since the epoch (Unix), when this node first held it
}

export function proofDir(dataDir: string): string {
  return join(dataDir, 'proofs');
}

/**
 * Stored global proofs of the newest epochs kept in memory, encoded as in the store. Every node
 * stores every global proof, and the two checks made on its arrival (admission: is a proof of its
 * epoch held already? then holding it: stored yet?) were a LevelDB read each, always for an epoch not
 * stored yet, each a round trip to the thread pool and a wake-up of an idle node (docs/NETWORK.md).
 */
export const RECENT_GLOBALS = 32;

export class ProofStore {
  private readonly db: Level<string, Uint8Array>;
  /** The stored global proofs of epochs above `knownAbove`, every one of them (this process is the store's only writer). */
  private readonly recent = new Map<number, Uint8Array>();
  /** Epochs <= this may be in the store without being in `recent`; above it, `recent` is the store. */
  private knownAbove: number;

  private constructor(db: Level<string, Uint8Array>, knownAbove: number) {
    this.db = db;
    this.knownAbove = knownAbove;
  }

  static async open(dataDir: string): Promise<ProofStore> {
    mkdirSync(proofDir(dataDir), { recursive: true });
    const db = new Level<string, Uint8Array>(proofDir(dataDir), { valueEncoding: 'view' });
    await db.open();
    let top = -1; // the largest epoch of a stored global proof
    for await (const k of db.keys({ gte: 'g/', lte: 'g/~', reverse: true, limit: 1 })) top = Number(k.slice(2));
    return new ProofStore(db, top);
  }

  async putTriad(epoch: number, p: TriadProof): Promise<void> {
    await this.db.put(tKey(p.path, epoch), encodeTriadProof(p));
  }

  async triad(path: string, epoch: number): Promise<TriadProof | undefined> {
    const b = await this.db.get(tKey(path, epoch));
    return b ? decodeTriadProof(b, STORED) : undefined;
  }

  /** Drops a triad proof that failed its pairing at first use. */
  async deleteTriad(path: string, epoch: number): Promise<void> {
    await this.db.del(tKey(path, epoch));
  }

  /** Drops a global proof that failed its pairing at first use. */
  async deleteGlobal(epoch: number): Promise<void> {
    await this.db.del(gKey(epoch));
    this.recent.delete(epoch);
  }

  async putGlobal(epoch: number, g: StoredGlobal): Promise<void> {
    const b = new ByteWriter(430).u64(BigInt(g.receivedAt)).fixed(encodeGlobalProof(g.proof)).finish();
    await this.db.put(gKey(epoch), b);
    if (epoch <= this.knownAbove) return; // an older epoch (a gap filled): read from the store
    this.recent.set(epoch, b);
    if (this.recent.size > RECENT_GLOBALS) {
      // the oldest leaves memory: epochs up to it are the store's to answer from now on
      const oldest = Math.min(...this.recent.keys());
      this.recent.delete(oldest);
      this.knownAbove = oldest;
    }
  }

  async global(epoch: number): Promise<StoredGlobal | undefined> {
    const b = await this.globalBytes(epoch);
    return b ? decodeStoredGlobal(b) : undefined;
  }

  /** Whether the global proof of `epoch` is stored (without decoding it). */
  async hasGlobal(epoch: number): Promise<boolean> {
    return (await this.globalBytes(epoch)) !== undefined;
  }

  /** A stored global proof as stored: from memory above `knownAbove` (held or not stored), else from the store. */
  private async globalBytes(epoch: number): Promise<Uint8Array | undefined> {
    if (epoch > this.knownAbove) return this.recent.get(epoch);
    return this.db.get(gKey(epoch));
  }

  /** The stored global proof with the largest epoch <= `atMost` (default: any). */
  async latestGlobal(atMost = Number.MAX_SAFE_INTEGER): Promise<{ epoch: number; stored: StoredGlobal } | undefined> {
    // one in memory at or below atMost is the answer: every stored epoch above knownAbove is in memory
    let best = -1;
    for (const e of this.recent.keys()) if (e <= atMost && e > best) best = e;
    if (best >= 0) return { epoch: best, stored: decodeStoredGlobal(this.recent.get(best)!) };
    for await (const [k, v] of this.db.iterator({ gte: 'g/', lte: gKey(atMost), reverse: true, limit: 1 })) {
      return { epoch: Number(k.slice(2)), stored: decodeStoredGlobal(v) };
    }
    return undefined;
  }

  /** The stored global proof with the smallest epoch > `after`, if any. */
  async nextGlobal(after: number): Promise<{ epoch: number; stored: StoredGlobal } | undefined> {
    for await (const [k, v] of this.db.iterator({ gt: gKey(after), lte: 'g/~', limit: 1 })) {
      return { epoch: Number(k.slice(2)), stored: decodeStoredGlobal(v) };
    }
    return undefined;
  }

  /** The `limit` stored global proofs of the largest epochs, newest first. */
  async recentGlobals(limit: number): Promise<{ epoch: number; stored: StoredGlobal }[]> {
    const out: { epoch: number; stored: StoredGlobal }[] = [];
    for await (const [k, v] of this.db.iterator({ gte: 'g/', lte: 'g/~', reverse: true, limit })) out.push({ epoch: Number(k.slice(2)), stored: decodeStoredGlobal(v) });
    return out;
  }

  async putTree(t: CommitmentTree): Promise<void> {
    await this.db.put('tree', new TextEncoder().encode(treeToJson(t)));
  }

  async tree(): Promise<CommitmentTree | undefined> {
    const b = await this.db.get('tree');
    return b ? treeFromJson(new TextDecoder().decode(b)) : undefined;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

function decodeStoredGlobal(b: Uint8Array): StoredGlobal {
  const r = new ByteReader(b, 'stored global proof');
  const receivedAt = Number(r.u64());
  return { receivedAt, proof: decodeGlobalProof(r.fixed(b.length - 8), STORED) };
}

export function treeToJson(t: CommitmentTree): string {
  return JSON.stringify({ depth: t.depth, epoch: t.epoch, shards: t.shards, triads: [...t.triads.entries()] }, (_k, v) => (typeof v === 'bigint' ? `n:${v}` : v));
}

export function treeFromJson(s: string): CommitmentTree {
  const j = JSON.parse(s, (_k, v) => (typeof v === 'string' && v.startsWith('n:') ? BigInt(v.slice(2)) : v)) as {
    depth: number; epoch: number; shards: CommitmentTree['shards']; triads: [string, CommitmentTree['triads'] extends Map<string, infer V> ? V : never][];
  };
  return { depth: j.depth, epoch: j.epoch, shards: j.shards, triads: new Map(j.triads) };
}
