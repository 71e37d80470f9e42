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
import { VERIFIED_NEXT } from '../proof/encoding.js';
import { decodeGlobalProof, encodeGlobalProof, type GlobalStateProof } from '../proof/global.js';
import { decodeTriadProof, encodeTriadProof, type TriadProof } from '../proof/triad-proof.js';
import type { CommitmentTree } from '../proof/tree.js';

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

export class ProofStore {
  private readonly db: Level<string, Uint8Array>;

  private constructor(db: Level<string, Uint8Array>) {
    this.db = db;
  }

  static async open(dataDir: string): Promise<ProofStore> {
    mkdirSync(proofDir(dataDir), { recursive: true });
    const db = new Level<string, Uint8Array>(proofDir(dataDir), { valueEncoding: 'view' });
    await db.open();
    return new ProofStore(db);
  }

  async putTriad(epoch: number, p: TriadProof): Promise<void> {
    await this.db.put(tKey(p.path, epoch), encodeTriadProof(p));
  }

  async triad(path: string, epoch: number): Promise<TriadProof | undefined> {
    const b = await this.db.get(tKey(path, epoch));
    return b ? decodeTriadProof(b, VERIFIED_NEXT) : undefined;
  }

  /** Drops a triad proof that failed its pairing at first use. */
  async deleteTriad(path: string, epoch: number): Promise<void> {
    await this.db.del(tKey(path, epoch));
  }

  /** Drops a global proof that failed its pairing at first use. */
  async deleteGlobal(epoch: number): Promise<void> {
    await this.db.del(gKey(epoch));
  }

  async putGlobal(epoch: number, g: StoredGlobal): Promise<void> {
    await this.db.put(gKey(epoch), new ByteWriter(430).u64(BigInt(g.receivedAt)).fixed(encodeGlobalProof(g.proof)).finish());
  }

  async global(epoch: number): Promise<StoredGlobal | undefined> {
    const b = await this.db.get(gKey(epoch));
    return b ? decodeStoredGlobal(b) : undefined;
  }

  /** Whether the global proof of `epoch` is stored (without decoding it). */
  async hasGlobal(epoch: number): Promise<boolean> {
    return (await this.db.get(gKey(epoch))) !== undefined;
  }

  /** The stored global proof with the largest epoch <= `atMost` (default: any). */
  async latestGlobal(atMost = Number.MAX_SAFE_INTEGER): Promise<{ epoch: number; stored: StoredGlobal } | undefined> {
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
  return { receivedAt, proof: decodeGlobalProof(r.fixed(b.length - 8), VERIFIED_NEXT) };
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
