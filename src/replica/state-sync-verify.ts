// The pure rules of state sync (docs/REPLICAS.md "State sync"): which signed snapshot to sync to,
// whether to sync at all, and how account rows are taken from the verified trie (nothing the
// serving replica says is trusted: only the writer's signature on the snapshot, and hashes).
import { toHex } from '../core/bytes.js';
import type { Genesis } from '../core/genesis.js';
import { allShards } from '../core/ids.js';
import { accountKey, decodeAccountValue, decodeOutboxLeaf, outboxKey, type OutboxLeaf, type ShardHead } from '../shard/records.js';
import { decodeCursorValue, inboxCursorKey, type InboxCursor } from '../shard/inbox.js';
import { snapshotHash } from '../shard/snapshot.js';
import { TermFence } from './fence.js';
import { verifyShardSnapshot } from './keys.js';
import type { Manifest } from './state-sync-codec.js';

/** Why a state sync failed; nothing it wrote is read as state (no head was written). */
export class StateSyncError extends Error {
  override name = 'StateSyncError';
  readonly reason: 'tampered' | 'missing' | 'incomplete' | 'unavailable' | 'bad-answer';
  constructor(reason: StateSyncError['reason'], message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * Default of --state-sync-after: a follower more than this many epochs behind the best committed
 * snapshot syncs state instead of replaying (docs/REPLICAS.md gives the measured reason: below it a
 * replay is about as fast and keeps the replica's whole history).
 */
export const DEFAULT_STATE_SYNC_AFTER = 256;

export interface ManifestFrom {
  from: number;
  manifest: Manifest;
}

/**
 * The manifests worth syncing from, best (highest epoch) first: signed by the writer their snapshot
 * names, of this network and shard, and accepted by a TermFence fed with all of them in epoch order
 * (a lower term at a later epoch is a deposed writer's; two snapshots of one epoch are both refused).
 */
export function syncCandidates(genesis: Pick<Genesis, 'validators' | 'replicas' | 'networkId'>, shard: string, ms: readonly ManifestFrom[]): { candidates: ManifestFrom[]; refused: { from: number; why: string }[] } {
  const refused: { from: number; why: string }[] = [];
  const valid: ManifestFrom[] = [];
  for (const m of ms) {
    const s = m.manifest.signed.snapshot;
    if (s.network !== genesis.networkId || s.shard !== shard) refused.push({ from: m.from, why: `a snapshot of ${s.network}/${s.shard}` });
    else if (!verifyShardSnapshot(genesis, m.manifest.signed)) refused.push({ from: m.from, why: `snapshot of epoch ${s.epoch} not signed by the writer it names` });
    else valid.push(m);
  }
  const hashOf = (m: ManifestFrom): string => toHex(snapshotHash(m.manifest.signed.snapshot));
  const byEpoch = new Map<number, Set<string>>();
  for (const m of valid) {
    const e = m.manifest.signed.snapshot.epoch;
    byEpoch.set(e, (byEpoch.get(e) ?? new Set()).add(hashOf(m)));
  }
  const fence = new TermFence();
  const ok: ManifestFrom[] = [];
  const order = [...valid].sort((a, b) => a.manifest.signed.snapshot.epoch - b.manifest.signed.snapshot.epoch || cmp(a.manifest.signed.snapshot.replica?.term ?? 0n, b.manifest.signed.snapshot.replica?.term ?? 0n));
  for (const m of order) {
    const s = m.manifest.signed.snapshot;
    if (byEpoch.get(s.epoch)!.size > 1) {
      refused.push({ from: m.from, why: `equivocation: two snapshots of epoch ${s.epoch}` });
      continue;
    }
    const v = fence.accept({ shard: s.shard, epoch: s.epoch, term: s.replica?.term ?? 0n, hash: hashOf(m) });
    if (!v.ok) refused.push({ from: m.from, why: v.message });
    else ok.push(m);
  }
  ok.sort((a, b) => b.manifest.signed.snapshot.epoch - a.manifest.signed.snapshot.epoch);
  return { candidates: ok, refused };
}

/**
 * Should a replica whose latest epoch is `ownHead` (-1: none) sync state to `best` rather than
 * replay? Yes when it is more than `afterEpochs` behind, or when a replica cannot serve the next
 * entry it needs (`firstEntries`: each answering replica's first entry held; a state-synced replica
 * holds none before its sync point).
 */
export function needsStateSync(ownHead: number, best: Manifest | undefined, firstEntries: readonly number[], afterEpochs: number): boolean {
  if (!best) return false;
  const e = best.signed.snapshot.epoch;
  if (e <= ownHead) return false;
  return e - ownHead > afterEpochs || firstEntries.some((f) => f > ownHead + 1);
}

/**
 * Account rows from the verified state trie's leaves and the addresses a replica listed: each
 * address whose H_account-key is an account leaf gets that leaf's value (addresses that are not
 * leaves are ignored); once all addresses are in, every leaf must be an inbox cursor or claimed by
 * an address (else the server withheld some: 'incomplete').
 */
export class LeafClaims {
  private readonly leaves = new Map<string, Uint8Array>();
  private readonly claimed = new Set<string>();
  private readonly cursorKeys = new Map<string, number>();
  readonly rows: [address: Uint8Array, value: Uint8Array][] = [];

  constructor(depth: number) {
    for (let j = 0; j < 3 ** depth; j++) this.cursorKeys.set(toHex(inboxCursorKey(j)), j);
  }

  addLeaves(leaves: readonly [Uint8Array, Uint8Array][]): void {
    for (const [k, v] of leaves) this.leaves.set(toHex(k), v);
  }

  get leafCount(): number {
    return this.leaves.size;
  }

  claim(addresses: readonly Uint8Array[]): void {
    for (const a of addresses) {
      const k = toHex(accountKey(a));
      const v = this.leaves.get(k);
      if (v === undefined || this.claimed.has(k) || this.cursorKeys.has(k)) continue;
      decodeAccountValue(v); // an account leaf's value is its row's value
      this.claimed.add(k);
      this.rows.push([a.slice(), v]);
    }
  }

  /** The inbox cursors among the leaves; throws 'incomplete' if an account leaf has no address. */
  finish(): Map<number, InboxCursor> {
    const cursors = new Map<number, InboxCursor>();
    let unclaimed = 0;
    for (const [k, v] of this.leaves) {
      const j = this.cursorKeys.get(k);
      if (j !== undefined) cursors.set(j, decodeCursorValue(v));
      else if (!this.claimed.has(k)) unclaimed++;
    }
    if (unclaimed > 0) throw new StateSyncError('incomplete', `${unclaimed} account leaves of the state trie have no address among those the replica listed`);
    return cursors;
  }

  /** Sum of the claimed accounts' balances (must equal the snapshot's supply). */
  supply(): bigint {
    let s = 0n;
    for (const [, v] of this.rows) s += decodeAccountValue(v).balance;
    return s;
  }
}

/** The outbox leaves of the verified outbox trie, by destination (its keys are hashes of shard ids). */
export function outboxLeavesOf(depth: number, leaves: readonly [Uint8Array, Uint8Array][]): Map<string, OutboxLeaf> {
  const byKey = new Map<string, string>();
  for (const d of allShards(depth)) byKey.set(toHex(outboxKey(d)), d);
  const out = new Map<string, OutboxLeaf>();
  for (const [k, v] of leaves) {
    const d = byKey.get(toHex(k));
    if (d === undefined) throw new StateSyncError('tampered', 'an outbox leaf of no destination shard');
    out.set(d, decodeOutboxLeaf(v));
  }
  return out;
}

/** The shard head of a replica synced to `m` (everything from the signed snapshot, the outbox counts from its verified leaves). */
export function syncedHead(m: Manifest, outbox: ReadonlyMap<string, OutboxLeaf>): ShardHead {
  const s = m.signed.snapshot;
  return {
    epoch: s.epoch, stateRoot: s.stateRoot, outboxRoot: s.outboxRoot, snapshotHash: snapshotHash(s), lamport: s.lamport, hlc: s.hlc,
    supply: s.supply, committedTotal: m.committedTotal, totalOutflow: s.totalOutflow, totalInflow: s.totalInflow, totalFees: s.totalFees,
    outboxSeq: new Map([...outbox].map(([d, l]): [string, bigint] => [d, l.count])),
  };
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
