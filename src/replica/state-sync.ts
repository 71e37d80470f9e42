// State sync of a replica that is new, wiped or far behind (docs/REPLICAS.md "State sync"): before
// its shard opens, it asks the other replicas for their latest committed signed snapshot, picks one
// (state-sync-verify.ts), fetches that snapshot's state and outbox tries top-down from the replica
// that offered it, checking every record against the hash its parent names (the top against the
// signed root), writes the records in atomic batches, then writes the account rows (addresses
// checked against the verified leaves), the snapshot and the shard head in ONE last batch. Until that
// batch the store has no head, so a kill -9 leaves nothing that opens as state: the next start syncs
// again, reusing the records already written (content-addressed). The shard then follows from the
// snapshot's epoch with the normal pull and re-execution.
import { mkdirSync } from 'node:fs';
import { DecodeError, toHex } from '../core/bytes.js';
import type { KeyPair } from '../core/ed25519.js';
import type { Genesis } from '../core/genesis.js';
import type { ShardId } from '../core/ids.js';
import { encodeInboxState, INBOX_META_KEY } from '../shard/inbox.js';
import { dataDirIdentity, GENESIS_META_KEY, SYNCED_AT_META_KEY } from '../shard/shard.js';
import { ShardStore } from '../shard/store.js';
import { EMPTY_ROOT, LevelNodeStore } from '../trie/index.js';
import { checkRecords, RecordHashMismatchError } from '../trie/record-check.js';
import { readNodeRecord, rootPointer } from '../trie/trie.js';
import type { Logger } from '../node/logger.js';
import { signMessage } from './messages.js';
import {
  decodeAddresses, decodeManifest, decodeRecords, encodeStateRequest, MAX_ADDRESSES, MAX_LOCATORS, type FoundRecord, type Manifest, type StateRequest,
} from './state-sync-codec.js';
import { LeafClaims, needsStateSync, outboxLeavesOf, StateSyncError, syncCandidates, syncedHead, type ManifestFrom } from './state-sync-verify.js';
import { wipeDataDir } from './wipe.js';

/** Where a replica syncing state reads from (another replica over HTTP; in tests and benchmarks, a store in process). */
export interface StateSource {
  readonly name: string;
  records(locators: Uint8Array[]): Promise<(FoundRecord | undefined)[]>;
  addresses(after: Uint8Array | null, limit: number): Promise<{ addresses: Uint8Array[]; more: boolean }>;
}

export interface SyncStats {
  epoch: number;
  from: string;
  /** Records fetched from the source / found already written (a resumed sync). */
  fetched: number;
  reused: number;
  /** Bytes of records and addresses received. */
  bytes: number;
  accounts: number;
  ms: number;
}

const BATCH = 512;

/**
 * Fetches the state of snapshot `m` from `src` into `store` (which has no head), checking every
 * record and address; the head is written last, in one batch with the account rows and snapshot.
 * Throws StateSyncError (tampered, missing, incomplete) with nothing read as state written.
 */
export async function syncStateInto(store: ShardStore, genesis: Genesis, shard: ShardId, m: Manifest, src: StateSource): Promise<SyncStats> {
  const t0 = performance.now();
  const s = m.signed.snapshot;
  const stats = { fetched: 0, reused: 0, bytes: 0 };
  const claims = new LeafClaims(genesis.depth);
  await fetchTrie(store, s.stateRoot, src, stats, (leaves) => claims.addLeaves(leaves));
  const outboxLeaves: [Uint8Array, Uint8Array][] = [];
  await fetchTrie(store, s.outboxRoot, src, stats, (leaves) => outboxLeaves.push(...leaves));
  // the account rows: every address the source lists whose key is an account leaf
  let after: Uint8Array | null = null;
  for (let page = 0; ; page++) {
    if (page > 10 + claims.leafCount / 1000) throw new StateSyncError('bad-answer', `${src.name} keeps listing addresses`);
    const a = await src.addresses(after, MAX_ADDRESSES);
    stats.bytes += 20 * a.addresses.length;
    for (let i = 0; i < a.addresses.length; i++) {
      const prev = i > 0 ? a.addresses[i - 1]! : after;
      if (prev && Buffer.compare(prev, a.addresses[i]!) >= 0) throw new StateSyncError('bad-answer', `${src.name} listed addresses out of order`);
    }
    claims.claim(a.addresses);
    if (!a.more) break;
    if (a.addresses.length === 0) throw new StateSyncError('bad-answer', `${src.name} says more addresses follow but sent none`);
    after = a.addresses[a.addresses.length - 1]!;
  }
  const cursors = claims.finish();
  if (claims.supply() !== s.supply) throw new StateSyncError('incomplete', `the synced accounts hold ${claims.supply()}, the snapshot's supply is ${s.supply}`);
  const head = syncedHead(m, outboxLeavesOf(genesis.depth, outboxLeaves));
  const syncedAt = new Uint8Array(8);
  new DataView(syncedAt.buffer).setBigUint64(0, BigInt(s.epoch));
  const meta: [Uint8Array, Uint8Array][] = [[GENESIS_META_KEY, dataDirIdentity(genesis, shard)], [SYNCED_AT_META_KEY, syncedAt]];
  if (cursors.size > 0) meta.push([INBOX_META_KEY, encodeInboxState(cursors)]);
  // ONE atomic, fsynced batch: the store opens as state only from here on
  await store.commit({ nodes: [], accounts: claims.rows, receiptRows: [], snapshot: m.signed, head, meta });
  return { epoch: s.epoch, from: src.name, ...stats, accounts: claims.rows.length, ms: Math.round(performance.now() - t0) };
}

/** Fetches the trie of `root` top-down: records already in the store are read there, the others from `src`, each checked against the hash its parent names. */
async function fetchTrie(store: ShardStore, root: Uint8Array, src: StateSource, stats: { fetched: number; reused: number; bytes: number }, onLeaves: (l: [Uint8Array, Uint8Array][]) => void): Promise<void> {
  if (root.length !== 32 || toHex(root) === toHex(EMPTY_ROOT)) return;
  const local = new LevelNodeStore(store.nodes);
  const queue: Uint8Array[] = [root];
  const seen = new Set<string>([toHex(root)]);
  while (queue.length > 0) {
    const batch = queue.splice(0, BATCH);
    const have = await Promise.all(batch.map((l) => readNodeRecord(local, l)));
    const want = batch.map((_, i) => i).filter((i) => have[i] === undefined);
    const got = new Map<number, FoundRecord>();
    for (let i = 0; i < batch.length; i++) if (have[i]) got.set(i, have[i]!);
    stats.reused += batch.length - want.length;
    const fresh: { loc: Uint8Array; rec: FoundRecord }[] = [];
    for (let k = 0; k < want.length; ) {
      const idx = want.slice(k, k + MAX_LOCATORS);
      const ask = idx.map((i) => batch[i]!);
      const ans = await src.records(ask);
      if (ans.length === 0 || ans.length > ask.length) throw new StateSyncError('bad-answer', `${src.name} answered ${ans.length} records for ${ask.length}`);
      for (let i = 0; i < ans.length; i++) {
        const rec = ans[i];
        if (!rec) throw new StateSyncError('missing', `${src.name} does not hold trie record ${toHex(ask[i]!)}`);
        fresh.push({ loc: ask[i]!, rec });
        got.set(idx[i]!, rec);
        stats.bytes += rec.bytes.length;
      }
      k += ans.length; // a bounded answer: ask again for the rest
    }
    let checked: ReturnType<typeof checkRecords>;
    try {
      checked = checkRecords(batch.map((l, i) => ({ hash: l.subarray(l.length - 32), bytes: got.get(i)!.bytes })));
    } catch (e) {
      if (e instanceof RecordHashMismatchError || e instanceof DecodeError) throw new StateSyncError('tampered', `${src.name} sent a trie record that does not match its hash: ${e.message}`);
      throw e;
    }
    for (let i = 0; i < batch.length; i++) {
      // a record's key is what its parent names: gen || hash (a root: the gen it came with, plus its pointer)
      const l = batch[i]!;
      if (l.length === 36 && got.get(i)!.gen !== new DataView(l.buffer, l.byteOffset, 4).getUint32(0)) throw new StateSyncError('bad-answer', `${src.name} answered another generation than asked`);
      for (const r of checked[i]!.refs) {
        const h = toHex(r);
        if (!seen.has(h)) {
          seen.add(h);
          queue.push(r);
        }
      }
      onLeaves(checked[i]!.leaves);
    }
    if (fresh.length > 0) {
      const b = store.db.batch();
      const opts = { sublevel: store.nodes };
      for (const f of fresh) {
        if (f.loc.length === 32) {
          b.put(genKey(f.rec.gen, f.loc), f.rec.bytes, opts);
          b.put(f.loc, rootPointer(f.rec.gen), opts);
        } else b.put(f.loc, f.rec.bytes, opts);
      }
      await b.write({ sync: store.sync });
      stats.fetched += fresh.length;
    }
  }
}

function genKey(gen: number, hash: Uint8Array): Uint8Array {
  const k = new Uint8Array(36);
  new DataView(k.buffer).setUint32(0, gen);
  k.set(hash, 4);
  return k;
}

// ------------------------------------------------------------------ over HTTP, at node start

export interface StateSyncOptions {
  genesis: Genesis;
  shard: ShardId;
  index: number;
  key: KeyPair;
  urls: string[];
  dataDir: string;
  logger: Logger;
  /** Sync when more than this many epochs behind the best committed snapshot (DEFAULT_STATE_SYNC_AFTER). */
  afterEpochs: number;
  timeoutMs?: number;
}

/**
 * At node start, before the shard opens: syncs state if this replica is far behind (or cannot be
 * served the entries it lacks). Undefined if it did not (nothing to sync from, not behind, or every
 * source failed: then it replays, as before).
 */
export async function stateSyncIfBehind(o: StateSyncOptions): Promise<SyncStats | undefined> {
  const log = o.logger.child({ module: 'state-sync' });
  mkdirSync(o.dataDir, { recursive: true });
  let store = await ShardStore.open(o.dataDir);
  try {
    const head = await store.head();
    const ownHead = head?.epoch ?? -1;
    const id = await store.meta.get(GENESIS_META_KEY);
    if (id && Buffer.compare(id, dataDirIdentity(o.genesis, o.shard)) !== 0) return undefined; // another network's data dir: the shard refuses it
    const others = o.urls.map((_, i) => i).filter((i) => i !== o.index);
    const answers = await Promise.all(others.map(async (i) => {
      try {
        const m = decodeManifest(await ask(o, i, { kind: 'manifest' }));
        return m ? { from: i, manifest: m } : undefined;
      } catch (e) {
        log.debug({ replica: i, err: (e as Error).message }, 'no manifest');
        return undefined;
      }
    }));
    const ms = answers.filter((x): x is ManifestFrom => x !== undefined);
    const { candidates, refused } = syncCandidates(o.genesis, o.shard, ms);
    for (const r of refused) log.warn({ replica: r.from, why: r.why }, 'state sync: snapshot refused');
    const best = candidates[0]?.manifest;
    if (!needsStateSync(ownHead, best, ms.map((m) => m.manifest.firstEntry), o.afterEpochs)) return undefined;
    if (head) {
      // far behind (or only the genesis state): its own epochs are all below the committed snapshot, held by a majority
      log.warn({ ownHead, target: best!.signed.snapshot.epoch }, 'state sync: far behind; discarding local data (the vote record is kept)');
      await store.close();
      wipeDataDir(o.dataDir, { catchUp: false });
      store = await ShardStore.open(o.dataDir);
    }
    for (const c of candidates) {
      const src = httpSource(o, c.from);
      log.info({ from: c.from, epoch: c.manifest.signed.snapshot.epoch, ownHead }, 'state sync: starting');
      try {
        const st = await syncStateInto(store, o.genesis, o.shard, c.manifest, src);
        log.warn({ ...st, replayFromGenesis: false }, 'state sync complete');
        return st;
      } catch (e) {
        const level = e instanceof StateSyncError && e.reason === 'tampered' ? 'error' : 'warn';
        log[level]({ from: c.from, err: (e as Error).message, reason: (e as StateSyncError).reason }, 'state sync from this replica failed');
      }
    }
    log.warn('state sync: no replica could serve it; replaying from genesis instead');
    return undefined;
  } finally {
    await store.close();
  }
}

function httpSource(o: StateSyncOptions, i: number): StateSource {
  return {
    name: `replica ${i}`,
    records: async (locators) => decodeRecords(await ask(o, i, { kind: 'records', locators })),
    addresses: async (after, limit) => decodeAddresses(await ask(o, i, { kind: 'addresses', after, limit })),
  };
}

type Body = { kind: 'manifest' } | { kind: 'records'; locators: Uint8Array[] } | { kind: 'addresses'; after: Uint8Array | null; limit: number };

async function ask(o: StateSyncOptions, to: number, body: Body): Promise<Uint8Array> {
  const req = { network: o.genesis.networkId, shard: o.shard, replica: o.index, at: Date.now(), ...body } as StateRequest;
  const msg = encodeStateRequest(req);
  const sig = signMessage('replica-state', msg, o.key);
  let res: Response;
  try {
    res = await fetch(`${o.urls[to]}/v1/replica/state`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ msg: toHex(msg), sig: toHex(sig) }), signal: AbortSignal.timeout(o.timeoutMs ?? 15_000) });
  } catch (e) {
    throw new StateSyncError('unavailable', `replica ${to}: ${(e as Error).message}`);
  }
  const j = (await res.json().catch(() => undefined)) as { data?: unknown; error?: { message?: string } } | undefined;
  if (!res.ok || typeof j?.data !== 'string') throw new StateSyncError('unavailable', `replica ${to}: HTTP ${res.status} ${j?.error?.message ?? ''}`);
  return new Uint8Array(Buffer.from(j.data, 'base64'));
}
