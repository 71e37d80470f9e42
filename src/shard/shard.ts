// The shard: wires the pure engine (engine.ts), the mempool, the signature workers and the tries
// to the durable store. One writer per shard (docs/PROTOCOL.md); every seal is one atomic, fsynced batch.
//
// Life of a transaction: submit() decodes and checks it (cheap checks first, then the signature
// on a worker thread, then the sender's nonce and funds against committed state plus the mempool)
// -> 'pending' (accepted, not yet durable) -> sealEpoch() applies all ready transactions in the
// deterministic order and writes the epoch -> 'committed' (durable; survives kill -9).
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { homeShard } from '../core/address.js';
import { addressFastAt, addressHexAt, hex, hexRange } from './fast-hash.js';
import { DecodeError, bytesEqual, concatBytes, toHex } from '../core/bytes.js';
import type { KeyPair } from '../core/ed25519.js';
import { allocationsOf, genesisHash, isReplicated, replicaKeys, type Genesis } from '../core/genesis.js';
import { Hlc } from '../core/hlc.js';
import { LamportClock } from '../core/lamport.js';
import { allShards, shardCount, shardIndex, type ShardId } from '../core/ids.js';
import { TernaryTrie, LevelNodeStore, EMPTY_ROOT, encodeProof } from '../trie/index.js';
import { readNodeRecord } from '../trie/trie.js';
import { scanSignedTx, txIdOfSigned, txIdOfSignedInto, MAX_TX_BYTES, type TxScan } from './tx.js';
import type { RejectReason } from './errors.js';
import { Mempool, type PendingTx } from './mempool.js';
import { VerifyPool } from './verify-pool.js';
import { applyEpoch, type EngineAccount } from './engine.js';
import { accountKey, decodeOutboxLeaf, decodeReceiptRow, decodeTxRecord, encodeAccountValue, epochKey, encodeOutboxLeaf, outboxKey, RECEIPT_ENTRY_BYTES, type OutboxLeaf, type Receipt, type ReceiptGroup, type ShardHead } from './records.js';
import { ShardStore, type Db, type GroupRebuilder } from './store.js';
import { TokenBucket } from '../core/token-bucket.js';
import { decodeSignedTx, verifySignedTxBytes } from './tx.js';
import { encodeSnapshot, genesisPrevHash, signSnapshot, snapshotHash, type SignedSnapshot, type Snapshot } from './snapshot.js';
import { decodeCredits, encodeCredits, type ReplicaEntry } from '../replica/entry.js';
import { ChainMismatchError, Inbox, INBOX_META_KEY, creditRowKey, creditRowOf, decodeInboxState, encodeCursorValue, encodeInboxState, inboxCursorKey, type CreditRecord, type InboxCursor } from './inbox.js';
import { MAX_BATCH_RECEIPTS, ReceiptBatchError, encodeReceiptBatchRows, verifyReceiptBatch, type ReceiptBatch, type ReceiveResult } from './receipts.js';
import { chainGenesis, chainGroup } from './receipt-chain.js';
import { groupFromTxRecords } from './receipt-rebuild.js';

export type SubmitResult = { ok: true; txid: string } | { ok: false; txid?: string; reason: RejectReason; message: string };

/**
 * What Shard.check() decided about a batch before admission: the refusals found so far, the
 * candidates and their signature verdicts. Only a batch checked by the same shard skips verification.
 */
export interface CheckedBatch {
  readonly results: readonly (SubmitResult | undefined)[];
  /** The positions in the batch of the candidates (transactions left for admission). */
  readonly candAt: readonly number[];
  readonly sigOk: readonly boolean[] | undefined;
  readonly badSignatures: number;
  /** Transactions left unverified for lack of room (mempool-full, overloaded). */
  readonly capacity: number;
}

export const DEFAULT_VERIFY_QUEUE_MAX = 50_000;

export type TxStatus =
  | { status: 'pending' }
  | { status: 'committed'; epoch: number; txRoot: string; proof: string; value: string }
  | { status: 'rejected'; reason: RejectReason; message: string }
  | { status: 'unknown' };

export interface AccountView {
  address: string;
  balance: bigint;
  nonce: bigint; // next nonce expected by committed state
  pendingNonce: bigint; // next nonce after the pending ones contiguous with `nonce`
  epoch: number; // the sealed epoch the state and proof refer to (-1 = genesis state)
  stateRoot: string;
  proof: string; // hex of encodeProof
  value: string | null; // hex of the account leaf value, null if the account does not exist
}

export interface ShardOptions {
  dataDir: string;
  genesis: Genesis;
  shard: ShardId;
  validatorKey: KeyPair;
  logger?: Logger;
  verifyWorkers?: number; // default: available cores; 0 verifies on the main thread
  verifyNice?: number; // the verify workers' nice value (VerifyPool), default 0
  /** Benchmark only: skip signature verification. Never turn off on a real node. */
  verifySignatures?: boolean;
  /** Transactions whose signatures may be in verification at once (default 50000); beyond: 'overloaded'. */
  verifyQueueMax?: number;
  mempoolMax?: number;
  nonceWindow?: number;
  /** fsync every seal (default true). */
  sync?: boolean;
  /** Pending transactions stuck behind a nonce gap this long are dropped (default 10 minutes). */
  stuckTtlMs?: number;
  /** Unload the outbox trie's stored nodes from memory after this many receipts (default 100000). */
  outboxUnloadEvery?: number;
  /** Receipts per destination per epoch (default and at most MAX_BATCH_RECEIPTS); lower only in tests. */
  receiptCap?: number;
  /** A database to use instead of LevelDB in `dataDir` (the simulator's in-memory one). */
  db?: Db;
  /** Wall clock (ms) for the HLC, acceptance times and mempool expiry; tests pin it to make snapshots byte-comparable. */
  clock?: () => number;
  /** A replicated shard (docs/REPLICAS.md): which of its replicas this is (default 0); its key is `validatorKey`. */
  replica?: number;
}

/** A follower's re-execution of its writer's epoch did not give the writer's snapshot (docs/REPLICAS.md). */
export class ReplicaMismatchError extends Error {
  override name = 'ReplicaMismatchError';
}
/** A writer's entry does not continue this replica's history: it holds epochs that were never committed. */
export class ReplicaDivergenceError extends Error {
  override name = 'ReplicaDivergenceError';
}

/**
 * What check() read from a batch, for its admission: the batch, its txids (one buffer), the hex of
 * each candidate's txid and sender (the map keys, made once), the time of the check.
 */
interface CheckScratch {
  readonly txs: readonly Uint8Array[];
  ids: Uint8Array; // 32 bytes per transaction
  idHex: string[]; // by position in the batch (candidates only)
  senderHex: string[];
  now: number;
}
const EMPTY = new Uint8Array(0);

/** Emitted as 'sealed' after an epoch is durable. */
export interface SealedEvent {
  snapshot: SignedSnapshot;
  txCount: number;
  txids: string[]; // hex, in the epoch's order
  acceptedAt: number[]; // the clock at acceptance of each committed tx (for latency metrics)
  sealMs: number; // time the seal took
  phases: Record<string, number>; // ms per phase: apply, accountTrie, txTrie, outboxTrie, sign, write
}

/**
 * Bounds on one receipt batch served to a remote asker (xshard.ts): its size, and the rebuilds
 * (receipt-rebuild.ts: an epoch's whole tx trie loaded) it may cost. A bounded batch ends early,
 * proven against the epoch of its last group; the asker pulls again from there.
 */
export interface ServeBounds {
  /** Groups per batch. */
  maxGroups: number;
  /** Receipt-row bytes per batch (at least one group is served whatever its size). */
  maxBytes: number;
  /** Epochs whose tx records one batch may load (groups not in memory nor in the rebuild cache). */
  maxLoads: number;
  /** A shared budget of tx records loaded (tokens = the epoch's tx count): exhausted, nothing is loaded. */
  budget?: TokenBucket;
}

/** May receipts proven against this source snapshot be credited? (The node: is its epoch final?) */
export type ReceiptFinality = (source: Snapshot) => boolean | Promise<boolean>;

export class ShardConfigError extends Error {
  override name = 'ShardConfigError';
}
export class ShardClosedError extends Error {
  override name = 'ShardClosedError';
}

const U64_MAX = (1n << 64n) - 1n;
const MAX_REJECTED_REMEMBERED = 100_000;
const OUTBOX_UNLOAD_EVERY = 100_000; // receipts
const RECENT_GROUPS = 8; // receipt groups per destination kept in memory to serve batches
// Older groups rebuilt from tx records (catch-up, restarts), kept in memory, least recently used
// forgotten first: a destination catching up (or a peer asking again) does not reload epochs.
const REBUILT_KEPT = 4096; // groups
const REBUILT_KEPT_BYTES = 8 << 20; // their rows
// The receipt seq `GET /v1/tx/:id` reports for an old cross-shard transfer may need its epoch's
// tx records: at most this many records loaded per second for it (burst: twice that).
const LOOKUP_RECORDS_PER_S = 5_000;
/** Stands for a group a bounded batch does not rebuild (serving stops before it). */
const NOT_REBUILT = { src: '', dst: '', epoch: -1, first: -1n, n: 0, row: new Uint8Array(0), body: 0 } as unknown as ReceiptGroup;
const ZERO32 = new Uint8Array(32);
/** Metadata row: the data dir's identity (dataDirIdentity), written with the genesis state or a state sync. */
export const GENESIS_META_KEY = new TextEncoder().encode('genesis');
/** Metadata row of a replica whose state was synced from a snapshot (docs/REPLICAS.md "State sync"): u64 epoch. */
export const SYNCED_AT_META_KEY = new TextEncoder().encode('synced-at');

/** A data dir's identity: genesis hash || shard id. */
export function dataDirIdentity(g: Genesis, shard: ShardId): Uint8Array {
  return concatBytes(genesisHash(g), new TextEncoder().encode(shard));
}

type Trie = TernaryTrie;
// Store records of the shard's tries (storage only: roots and proofs are the same whatever the
// record size). An epoch's tx trie is written once: 2 KiB records hold ~8 of its ~240-byte leaves
// (16 000 transactions: ~1 500 LevelDB records instead of ~18 000, and half the main-thread time to
// stage them). The account trie's 21-byte leaves: 1 KiB records cut its records per seal ~4x, for
// ~10-30% more bytes when few accounts change (measured, docs/PROTOCOL.md "Storage and commits").
const TX_TRIE = { recordBytes: 2048 };
const ACCOUNT_TRIE = { recordBytes: 1024 };

export class Shard {
  readonly id: ShardId;
  readonly genesis: Genesis;
  /** 'sealed' (SealedEvent). */
  readonly events = new EventEmitter();
  private readonly store: ShardStore;
  private readonly nodeStore: LevelNodeStore;
  private readonly validatorKey: KeyPair;
  private readonly log: Logger | undefined;
  /** The wall clock (the `clock` option): acceptance times and mempool expiry follow it, so a virtual clock governs them too. */
  private readonly now: () => number;
  private readonly pool: VerifyPool | undefined;
  private readonly mempool: Mempool;
  private readonly accounts: Map<string, EngineAccount>;
  private readonly rejected = new Map<string, { reason: RejectReason; message: string }>();
  private readonly verifyQueueMax: number;
  private verifying = 0; // transactions in signature verification now
  private sigChecks = 0; // signatures verified so far
  /** Batches this shard checked, and what check() read from them for admission. */
  private readonly ownChecks = new WeakMap<CheckedBatch, CheckScratch>();
  /** What precheck() read from the transaction it passed last (overwritten by the next call). */
  private readonly passed = { idHex: '', senderHex: '', nonce: 0n, cost: 0n };
  /** The address of the sender precheck() is looking at. */
  private readonly senderScratch = new Uint8Array(20);
  private readonly lamport: LamportClock;
  private readonly hlc: Hlc;
  /** Replicated shards: this replica's index and the term it seals under (docs/REPLICAS.md). */
  readonly replicaIndex: number | undefined;
  private term = 0n;
  private readonly networkId: string;
  private accountTrie: Trie;
  private outboxTrie: Trie;
  /** The per-epoch tx trie, emptied and rebuilt by each seal (its memory reused). */
  private txTrie: Trie | undefined;
  private head: ShardHead;
  private latest: SignedSnapshot | undefined;
  private sealChain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private broken: Error | undefined;
  private outboxSinceUnload = 0;
  private lastExpiry = 0;
  private readonly outboxUnloadEvery: number;
  private readonly stuckTtlMs: number;
  private readonly receiptCap: number;
  /** Cross-shard receipts from other shards: cursors (state) and verified receipts waiting to be credited. */
  private inbox: Inbox;
  /** Committed outbox leaves (count, chain head) per destination: the outbox trie's only leaves. */
  private outboxLeaves = new Map<ShardId, OutboxLeaf>();
  /** The latest receipt groups emitted per destination, as stored (serving a batch skips the store). */
  private readonly recentGroups = new Map<ShardId, ReceiptGroup[]>();
  private readonly rebuilt = new Map<string, ReceiptGroup>();
  private rebuiltBytes = 0;
  /** The tx records of the epoch rebuilt last: its groups to the other destinations load it once. */
  private rebuiltFrom?: { epoch: number; records: [Uint8Array, Uint8Array][] };
  /** Epochs whose tx records are being loaded (concurrent rebuilds of one epoch share the load). */
  private readonly loadingRecords = new Map<number, Promise<[Uint8Array, Uint8Array][]>>();
  private readonly lookupBudget = new TokenBucket({ capacity: 2 * LOOKUP_RECORDS_PER_S, refillPerSecond: LOOKUP_RECORDS_PER_S });
  private receiptFinality: ReceiptFinality = () => true;

  private constructor(o: ShardOptions, store: ShardStore, nodeStore: LevelNodeStore, head: ShardHead, accounts: Map<string, EngineAccount>, accountTrie: Trie, outboxTrie: Trie, latest: SignedSnapshot | undefined) {
    this.id = o.shard;
    this.genesis = o.genesis;
    this.networkId = o.genesis.networkId;
    this.store = store;
    this.nodeStore = nodeStore;
    this.validatorKey = o.validatorKey;
    this.log = o.logger?.child({ module: 'shard', shard: o.shard });
    this.head = head;
    this.accounts = accounts;
    this.accountTrie = accountTrie;
    this.outboxTrie = outboxTrie;
    this.latest = latest;
    this.lamport = new LamportClock(head.lamport);
    this.replicaIndex = isReplicated(o.genesis, o.shard) ? (o.replica ?? 0) : undefined;
    this.now = o.clock ?? Date.now;
    this.hlc = new Hlc(head.hlc, { clock: o.clock });
    this.mempool = new Mempool({ maxSize: o.mempoolMax, window: o.nonceWindow });
    this.stuckTtlMs = o.stuckTtlMs ?? 600_000;
    this.receiptCap = Math.max(1, Math.min(o.receiptCap ?? MAX_BATCH_RECEIPTS, MAX_BATCH_RECEIPTS));
    this.outboxUnloadEvery = o.outboxUnloadEvery ?? OUTBOX_UNLOAD_EVERY;
    this.pool = o.verifySignatures === false ? undefined : new VerifyPool(o.verifyWorkers ?? availableParallelism(), { nice: o.verifyNice });
    this.verifyQueueMax = Math.max(1, o.verifyQueueMax ?? DEFAULT_VERIFY_QUEUE_MAX);
    this.inbox = new Inbox(new Map(), (j) => this.chainGenesisFrom(j));
  }

  private readonly genesisHeads = new Map<number, Uint8Array>();
  /** head_0 of the chain from source index j to this shard. */
  private chainGenesisFrom(j: number): Uint8Array {
    let h = this.genesisHeads.get(j);
    if (!h) this.genesisHeads.set(j, (h = chainGenesis(this.networkId, allShards(this.genesis.depth)[j]!, this.id)));
    return h;
  }

  static async open(o: ShardOptions): Promise<Shard> {
    const g = o.genesis;
    if (o.shard.length !== g.depth || !/^[012]*$/.test(o.shard)) throw new ShardConfigError(`shard ${JSON.stringify(o.shard)} is not a shard of a depth-${g.depth} network`);
    const expected = replicaKeys(g, o.shard)[o.replica ?? 0];
    if (!expected || !bytesEqual(expected, o.validatorKey.publicKey)) {
      throw new ShardConfigError(`validator key ${toHex(o.validatorKey.publicKey)} is not the genesis validator of shard "${o.shard}"${o.replica ? ` (replica ${o.replica})` : ''}`);
    }
    const store = o.db ? await ShardStore.over(o.db, { sync: o.sync }) : await ShardStore.open(o.dataDir, { sync: o.sync });
    try {
      const nodeStore = new LevelNodeStore(store.nodes);
      // identity of the data dir: genesis hash || shard id, written with the genesis state
      const gh = dataDirIdentity(g, o.shard);
      const storedGenesis = await store.meta.get(GENESIS_META_KEY);
      if (storedGenesis && !bytesEqual(storedGenesis, gh)) {
        throw new ShardConfigError(`data dir ${o.dataDir} belongs to another network or shard (genesis ${toHex(storedGenesis.subarray(0, 32))}, shard "${new TextDecoder().decode(storedGenesis.subarray(32))}"): give this node its own --data-dir, or delete ${o.dataDir} if that network's data is no longer needed`);
      }
      let head = await store.head();
      const accounts = new Map<string, EngineAccount>();
      let accountTrie: Trie;
      if (!head) {
        // First start: commit the genesis state (no snapshot yet; epoch 0 is the first sealed one).
        accountTrie = await TernaryTrie.open(nodeStore, undefined, ACCOUNT_TRIE);
        let supply = 0n;
        for (const a of allocationsOf(g, o.shard)) {
          accounts.set(toHex(a.address), { address: a.address, balance: a.amount, nonce: 0n });
          supply += a.amount;
        }
        const rows = encodeAccountRows(accounts.values(), accounts.size);
        for (const [address, value] of rows) await accountTrie.put(accountKey(address), value);
        const staged = await accountTrie.stageCommit();
        head = {
          epoch: -1, stateRoot: staged.root, outboxRoot: EMPTY_ROOT, snapshotHash: ZERO32, lamport: 0n, hlc: 0n,
          supply, committedTotal: 0n, totalOutflow: 0n, totalInflow: 0n, totalFees: 0n, outboxSeq: new Map(),
        };
        await store.commit({ nodes: staged.nodes, accounts: rows, receiptRows: [], head, meta: [[GENESIS_META_KEY, gh]] });
        accountTrie.markCommitted();
      } else {
        for (const a of await store.loadAccounts()) accounts.set(toHex(a.address), a);
        accountTrie = await TernaryTrie.open(nodeStore, head.stateRoot, ACCOUNT_TRIE);
        // Every account is written again sooner or later: load the trie once so that puts take the
        // in-memory fast path instead of reading nodes one by one during seals.
        await accountTrie.loadAll();
      }
      const outboxTrie = await TernaryTrie.open(nodeStore, head.outboxRoot);
      const latest = head.epoch >= 0 ? await store.snapshot(head.epoch) : undefined;
      const shard = new Shard(o, store, nodeStore, head, accounts, accountTrie, outboxTrie, latest);
      const inboxRow = await store.meta.get(INBOX_META_KEY);
      shard.inbox = new Inbox(inboxRow ? decodeInboxState(inboxRow) : new Map(), (j) => shard.chainGenesisFrom(j));
      for (const dst of head.outboxSeq.keys()) {
        const leaf = await outboxTrie.get(outboxKey(dst as ShardId));
        if (leaf) shard.outboxLeaves.set(dst as ShardId, decodeOutboxLeaf(leaf));
      }
      shard.log?.info({ epoch: head.epoch, accounts: accounts.size, stateRoot: toHex(head.stateRoot) }, 'shard opened');
      return shard;
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  // ---------------------------------------------------------------- submission

  /**
   * Checks and admits `txs`, one result each. `checked` (from check() on the same shard, e.g. by
   * the gossip validator) carries the signature verdicts already reached: they are not verified again.
   */
  async submit(txs: Uint8Array[], checked?: CheckedBatch): Promise<SubmitResult[]> {
    const c = checked !== undefined && this.ownChecks.has(checked) ? checked : await this.check(txs);
    return this.admit(c, this.ownChecks.get(c)!);
  }

  /**
   * Everything about `txs` that can be decided before admission, cheapest first: stateless checks,
   * then (without a signature check) the sender's committed nonce window and funds and the room left
   * in the mempool, then the signatures of what is left on the worker threads. Verification in
   * flight is bounded (verifyQueueMax transactions): a batch that does not fit is refused whole as
   * 'overloaded' before any work on it, so a flood cannot queue unbounded work or memory.
   */
  async check(txs: Uint8Array[]): Promise<CheckedBatch> {
    if (this.closed) throw new ShardClosedError('shard is closed');
    const results = new Array<SubmitResult | undefined>(txs.length);
    const candAt: number[] = [];
    // While signatures are verified, which can take a while behind other batches, a candidate is its
    // position, its txid in one buffer for the batch and two strings: not a pending-tx object with
    // its bigints and views, built at admission instead (a dozen objects per transaction that
    // outlived a few young-generation GCs, to be promoted, marked and swept).
    const scratch: CheckScratch = { txs, ids: EMPTY, idHex: [], senderHex: [], now: 0 };
    if (!this.canVerify(txs.length)) {
      const message = `${this.verifying} transactions are being verified (at most ${this.verifyQueueMax}); retry later`;
      results.fill({ ok: false, reason: 'overloaded', message });
      const c: CheckedBatch = { results, candAt, sigOk: undefined, badSignatures: 0, capacity: txs.length };
      this.ownChecks.set(c, scratch);
      return c;
    }
    scratch.now = this.now();
    scratch.ids = new Uint8Array(32 * txs.length);
    scratch.idHex = new Array<string>(txs.length);
    scratch.senderHex = new Array<string>(txs.length);
    let room = this.mempool.maxSize - this.mempool.size - this.verifying;
    let capacity = 0;
    const r = this.passed;
    for (let i = 0; i < txs.length; i++) {
      const refused = this.precheck(txs[i]!, scratch, i);
      if (refused) {
        results[i] = refused;
        continue;
      }
      const acct = this.accounts.get(r.senderHex);
      const nonce = acct?.nonce ?? 0n;
      // a refusal admission would reach anyway, found without a signature check
      if (r.nonce >= nonce + this.mempool.window) results[i] = this.reject(r.idHex, 'nonce-too-far', `nonce ${r.nonce} is beyond the window [${nonce}, ${nonce + this.mempool.window})`);
      else if (r.cost > (acct?.balance ?? 0n)) results[i] = this.reject(r.idHex, 'insufficient-funds', `needs ${r.cost} (amount + fee) but the balance is ${acct?.balance ?? 0n}`);
      else if (room <= 0) {
        results[i] = this.reject(r.idHex, 'mempool-full', `mempool full (${this.mempool.maxSize} pending or being verified); retry later`);
        capacity++;
      } else {
        room--;
        candAt.push(i);
        scratch.idHex[i] = r.idHex;
        scratch.senderHex[i] = r.senderHex;
      }
    }
    let sigOk: boolean[] | undefined;
    if (this.pool && candAt.length > 0) {
      this.verifying += candAt.length;
      try {
        sigOk = await this.pool.verifyTxs(candAt.map((i) => txs[i]!));
      } finally {
        this.verifying -= candAt.length;
      }
      this.sigChecks += candAt.length;
    }
    let badSignatures = 0;
    if (sigOk) for (const ok of sigOk) if (!ok) badSignatures++;
    const c: CheckedBatch = { results, candAt, sigOk, badSignatures, capacity };
    this.ownChecks.set(c, scratch);
    return c;
  }

  /**
   * Candidate `i` of a checked batch as a pending transaction, read again from its bytes (which
   * passed precheck()); undefined if they no longer scan (the caller changed them meanwhile).
   */
  private pendingOf(s: CheckScratch, i: number): PendingTx | undefined {
    const b = s.txs[i]!;
    let t: TxScan;
    try {
      t = scanSignedTx(b);
    } catch (e) {
      if (e instanceof DecodeError) return undefined;
      throw e;
    }
    return { id: s.ids.subarray(32 * i, 32 * i + 32), idHex: s.idHex[i]!, senderHex: s.senderHex[i]!, bytes: b, toAt: t.toAt, amount: t.amount, nonce: t.nonce, cost: t.amount + t.fee, acceptedAt: s.now };
  }

  /** Admission of a checked batch against the committed state plus the mempool, as of now. */
  private async admit(c: CheckedBatch, s: CheckScratch): Promise<SubmitResult[]> {
    if (this.closed) throw new ShardClosedError('shard is closed');
    const { candAt, sigOk } = c;
    const results = [...c.results];
    // From here to the end of the loop nothing awaits: admission sees one consistent state.
    const maybeCommitted: [number, PendingTx][] = [];
    for (let k = 0; k < candAt.length; k++) {
      const i = candAt[k]!;
      if (sigOk && !sigOk[k]) {
        // not remembered: anyone can make these, and a flood of them would fill the rejected map
        results[i] = { ok: false, txid: s.idHex[i]!, reason: 'bad-signature', message: 'signature does not verify for tx.from' };
        continue;
      }
      const p = this.pendingOf(s, i);
      if (p === undefined) {
        results[i] = { ok: false, reason: 'malformed', message: 'the transaction bytes changed during verification' };
        continue;
      }
      const acct = this.accounts.get(p.senderHex);
      const res = this.mempool.admit(p, acct ?? { balance: 0n, nonce: 0n });
      if (res.ok) {
        if (this.rejected.size > 0) this.rejected.delete(p.idHex);
        for (const e of res.evicted) this.reject(e.idHex, 'insufficient-funds', `evicted: nonce ${p.nonce} now uses the funds this transaction needed`);
        results[i] = { ok: true, txid: p.idHex };
      } else {
        results[i] = { ok: false, txid: p.idHex, reason: res.reason, message: res.message };
        if (res.reason === 'nonce-replayed' && p.nonce < (acct?.nonce ?? 0n)) maybeCommitted.push([i, p]);
        else if (res.reason !== 'duplicate') this.remember(p.idHex, res.reason, res.message);
      }
    }
    // A used nonce is either this very transaction again (duplicate) or a different one (replay).
    for (const [i, p] of maybeCommitted) {
      if (await this.store.txLocation(p.id)) results[i] = { ok: false, txid: p.idHex, reason: 'duplicate', message: `transaction ${p.idHex} is already committed` };
      else this.remember(p.idHex, 'nonce-replayed', (results[i] as { message: string }).message);
    }
    return results as SubmitResult[];
  }

  /**
   * Stateless checks, cheapest first, of transaction `i` of a batch being checked: a rejection, or
   * undefined with its txid and sender address written into `s` and what the checks after it
   * need in this.passed.
   */
  private precheck(b: Uint8Array, s: CheckScratch, i: number): (SubmitResult & { ok: false }) | undefined {
    if (!(b instanceof Uint8Array)) return { ok: false, reason: 'malformed', message: 'transaction must be bytes' };
    if (b.length > MAX_TX_BYTES) return { ok: false, reason: 'oversized', message: `transaction of ${b.length} bytes exceeds ${MAX_TX_BYTES}` };
    let t: TxScan; // shared by every scan: read before the next one
    try {
      t = scanSignedTx(b);
    } catch (e) {
      if (e instanceof DecodeError) return { ok: false, reason: 'malformed', message: e.message };
      throw e;
    }
    txIdOfSignedInto(b, t.transferLen, s.ids, 32 * i);
    const idHex = hexRange(s.ids, 32 * i, 32 * i + 32);
    if (t.network !== this.networkId) return this.reject(idHex, 'wrong-network', `transaction is for network "${t.network}", this is "${this.networkId}"`);
    const { amount, fee, nonce } = t;
    if (amount === 0n) return this.reject(idHex, 'zero-amount', 'amount must be positive');
    const cost = amount + fee;
    if (cost > U64_MAX) return this.reject(idHex, 'overflow', 'amount + fee exceeds u64');
    if (nonce === U64_MAX) return this.reject(idHex, 'overflow', 'nonce u64 max leaves no next nonce');
    const senderHex = addressHexAt(b, t.fromAt, this.senderScratch, 0);
    // an account held here is homed here by construction: hash the home map only for others
    if (this.genesis.depth > 0 && !this.accounts.has(senderHex)) {
      const home = homeShard(this.senderScratch, this.genesis.depth);
      if (home !== this.id) return this.reject(idHex, 'wrong-shard', `sender ${senderHex} lives on shard "${home}", this is "${this.id}"`);
    }
    if (this.mempool.has(idHex)) return { ok: false, txid: idHex, reason: 'duplicate', message: `transaction ${idHex} is already pending` };
    const r = this.passed;
    r.idHex = idHex;
    r.senderHex = senderHex;
    r.nonce = nonce;
    r.cost = cost;
    return undefined;
  }

  private reject(idHex: string, reason: RejectReason, message: string): SubmitResult & { ok: false } {
    this.remember(idHex, reason, message);
    return { ok: false, txid: idHex, reason, message };
  }

  private remember(idHex: string, reason: RejectReason, message: string): void {
    if (this.mempool.has(idHex)) return; // a rejected resubmission does not hide the pending original
    this.rejected.delete(idHex);
    this.rejected.set(idHex, { reason, message });
    if (this.rejected.size > MAX_REJECTED_REMEMBERED) this.rejected.delete(this.rejected.keys().next().value!);
  }

  // ---------------------------------------------------------------- the epoch barrier

  /**
   * Until `untilMs` (wall clock) or releaseVerification(), the signature workers start no new slice
   * of signatures (verify-pool.ts hold): the node's seal and the epoch's aggregation take the CPU
   * first. Transactions being checked wait (still within verifyQueueMax).
   */
  holdVerification(untilMs: number): void {
    this.pool?.hold(untilMs);
  }

  releaseVerification(): void {
    this.pool?.release();
  }

  /** Seals the next epoch: applies every ready transaction and writes it all in one batch. */
  sealEpoch(): Promise<SignedSnapshot> {
    const p = this.sealChain.then(() => this.seal());
    this.sealChain = p.catch(() => undefined);
    return p;
  }

  /**
   * A follower's step (docs/REPLICAS.md): re-executes its writer's epoch `entry` like a seal and
   * writes it with the writer's signed snapshot, provided every field computed here equals it
   * (else ReplicaMismatchError, nothing written). ReplicaDivergenceError if the entry does not
   * continue this replica's head.
   */
  applyEntry(entry: ReplicaEntry): Promise<SignedSnapshot> {
    const p = this.sealChain.then(() => this.seal(entry));
    this.sealChain = p.catch(() => undefined);
    return p;
  }

  /** Sets the write lease's term this replica seals under (replicated shards). */
  setTerm(term: bigint): void {
    this.term = term;
  }

  /** Drops every pending transaction (a writer that stepped down: the new writer decides what commits). */
  dropPending(): void {
    this.mempool.clear();
  }

  /** The replication entry of sealed epoch `epoch`: signed snapshot, transactions in order, credited groups. */
  async replicaEntry(epoch: number): Promise<ReplicaEntry | undefined> {
    const signed = await this.snapshot(epoch);
    if (!signed) return undefined;
    const records = await (await TernaryTrie.at(this.nodeStore, signed.snapshot.txRoot)).entries();
    const recs = records.map(([, v]) => decodeTxRecord(v)).sort((a, b) => a.index - b.index);
    const row = await this.store.meta.get(replKey(epoch));
    return { signed, txs: recs.map((r) => r.signedTx), credits: row ? decodeCredits(row) : [] };
  }

  private entryTxs(entry: ReplicaEntry, now: number): PendingTx[] {
    return entry.txs.map((b) => {
      const { transferLen, fromAt, toAt, amount, fee, nonce } = scanSignedTx(b);
      const id = txIdOfSigned(b, transferLen);
      return { id, idHex: hex(id), senderHex: hex(addressFastAt(b, fromAt)), bytes: b, toAt, amount, nonce, cost: amount + fee, acceptedAt: now };
    });
  }

  private async seal(follow?: ReplicaEntry): Promise<SignedSnapshot> {
    if (this.closed) throw new ShardClosedError('shard is closed');
    if (this.broken) throw new ShardClosedError(`shard store failed earlier (${this.broken.message}); restart the node`);
    const started = performance.now();
    const head = this.head;
    const epoch = head.epoch + 1;
    if (follow) {
      const fs = follow.signed.snapshot;
      if (fs.epoch !== epoch) throw new ReplicaDivergenceError(`entry of epoch ${fs.epoch}, this replica's next epoch is ${epoch}`);
      if (!bytesEqual(fs.prevSnapshotHash, head.epoch >= 0 ? head.snapshotHash : genesisPrevHash())) throw new ReplicaDivergenceError(`entry of epoch ${epoch} does not follow this replica's snapshot of epoch ${head.epoch}`);
    }
    const ready = follow ? this.entryTxs(follow, this.now()) : this.mempool.takeReady((hex) => this.accounts.get(hex)?.nonce ?? 0n);
    const phases: Record<string, number> = {};
    let signed: SignedSnapshot;
    let newHead: ShardHead;
    let fx: ReturnType<typeof applyEpoch<PendingTx>>;
    let credit: ReturnType<Inbox['plan']>;
    let leaves: Map<ShardId, OutboxLeaf>;
    let groups: ReceiptGroup[];
    try {
      fx = applyEpoch({
        shard: this.id, depth: this.genesis.depth, epoch, txs: ready,
        account: (hex) => this.accounts.get(hex),
        nextSeq: (dst) => head.outboxSeq.get(dst) ?? 0n,
        maxReceiptsPerDst: this.receiptCap,
      });
      // Credit the receipts from other shards that are next in seq order (inbox.ts).
      // Read in place from the rows as received: recipient and amount at fixed offsets.
      credit = follow ? this.inbox.planFrom(follow.credits.map((c) => ({ src: c.src, group: decodeReceiptRow(c.row) }))) : this.inbox.plan();
      for (const { group: g } of credit.credits) {
        const row = g.row;
        const v = new DataView(row.buffer, row.byteOffset, row.byteLength);
        const hexes = g.recipients;
        for (let i = 0, o = g.body + 32; i < g.n; i++, o += RECEIPT_ENTRY_BYTES) {
          const h = hexes?.[i] ?? hexRange(row, o, o + 20);
          let a = fx.accounts.get(h);
          if (!a) {
            const c = this.accounts.get(h);
            a = c ? { address: c.address, balance: c.balance, nonce: c.nonce, key: c.key } : { address: row.slice(o, o + 20), balance: 0n, nonce: 0n };
            fx.accounts.set(h, a);
          }
          a.balance += v.getBigUint64(o + 20);
        }
      }
      for (const [src, c] of credit.cursors) await this.accountTrie.put(inboxCursorKey(src), encodeCursorValue(c));
      let t = lap(phases, 'apply', started);
      const touched = [...fx.accounts.values()];
      const touchedHex = [...fx.accounts.keys()];
      const accountRows = encodeAccountRows(touched, touched.length);
      for (let i = 0; i < touched.length; i++) {
        const a = touched[i]!;
        const k = (a.key ??= accountKey(a.address));
        if (!this.accountTrie.putNow(k, accountRows[i]![1])) await this.accountTrie.put(k, accountRows[i]![1]);
      }
      const acctStage = this.accountTrie.stageCommit();
      t = lap(phases, 'accountTrie', t);
      // The accumulator of this epoch's transactions: built from nothing, into the same memory each seal.
      const txTrie = (this.txTrie ??= await TernaryTrie.open(this.nodeStore, undefined, TX_TRIE));
      txTrie.clear();
      const { slab, ends } = fx.records;
      for (let i = 0, start = 0; i < ends.length; i++) {
        const id = fx.ordered[i]!.id;
        const end = ends[i]!;
        if (!txTrie.putRangeNow(id, slab, start, end - start)) await txTrie.put(id, slab.subarray(start, end));
        start = end;
      }
      const txStage = txTrie.stageCommit();
      t = lap(phases, 'txTrie', t);
      // This seal's receipts to a destination are one group, one row written by the engine
      // (records.ts): stored as is, one chain link, one outbox leaf (count, chain head) rewritten.
      leaves = new Map<ShardId, OutboxLeaf>();
      groups = fx.groups;
      for (const g of groups) {
        const prev = this.outboxLeaves.get(g.dst) ?? { count: 0n, head: chainGenesis(this.networkId, this.id, g.dst) };
        const leaf = { count: prev.count + BigInt(g.n), head: chainGroup(prev.head, g.row) };
        leaves.set(g.dst, leaf);
        await this.outboxTrie.put(outboxKey(g.dst), encodeOutboxLeaf(leaf));
      }
      const outStage = this.outboxTrie.stageCommit();
      t = lap(phases, 'outboxTrie', t);
      const supply = head.supply - fx.fees - fx.outflow + credit.inflow;
      const vectorClock = new Array<number>(shardCount(this.genesis.depth)).fill(0);
      for (const [src, c] of this.inbox.cursors()) vectorClock[src] = c.epoch;
      for (const [src, c] of credit.cursors) vectorClock[src] = c.epoch;
      vectorClock[shardIndex(this.id)] = epoch;
      const snapshot: Snapshot = {
        network: this.networkId, shard: this.id, epoch,
        stateRoot: acctStage.root, txRoot: txStage.root, outboxRoot: outStage.root,
        txCount: BigInt(fx.ordered.length), supply, outflow: fx.outflow, inflow: credit.inflow, fees: fx.fees,
        totalOutflow: head.totalOutflow + fx.outflow, totalInflow: head.totalInflow + credit.inflow, totalFees: head.totalFees + fx.fees,
        lamport: follow ? follow.signed.snapshot.lamport : this.lamport.tick(), vectorClock, hlc: follow ? follow.signed.snapshot.hlc : this.hlc.now(),
        prevSnapshotHash: head.epoch >= 0 ? head.snapshotHash : genesisPrevHash(),
        ...(follow?.signed.snapshot.replica ? { replica: follow.signed.snapshot.replica } : this.replicaIndex !== undefined ? { replica: { term: this.term, writer: this.replicaIndex } } : {}),
      };
      if (follow) {
        if (!bytesEqual(encodeSnapshot(snapshot), encodeSnapshot(follow.signed.snapshot))) throw new ReplicaMismatchError(`re-executing epoch ${epoch} gives another snapshot than the writer's (differs in: ${snapshotDiff(snapshot, follow.signed.snapshot).join(', ')})`);
        signed = follow.signed;
      } else signed = signSnapshot(snapshot, this.validatorKey.secretKey);
      t = lap(phases, 'sign', t);
      const outboxSeq = new Map(head.outboxSeq);
      for (const [dst, n] of fx.outboxSeq) outboxSeq.set(dst, n);
      newHead = {
        epoch, stateRoot: snapshot.stateRoot, outboxRoot: snapshot.outboxRoot, snapshotHash: snapshotHash(snapshot),
        lamport: snapshot.lamport, hlc: snapshot.hlc, supply, committedTotal: head.committedTotal + BigInt(fx.ordered.length),
        totalOutflow: snapshot.totalOutflow, totalInflow: snapshot.totalInflow, totalFees: snapshot.totalFees, outboxSeq,
      };
      await this.store.commit({
        nodes: acctStage.nodes.concat(txStage.nodes, outStage.nodes),
        accounts: accountRows,
        accountHexes: touchedHex,
        txs: { epoch, ids: fx.ordered },
        receiptRows: groups,
        creditRows: credit.credits.map(({ src, group }) => [creditRowKey(src, group.first), creditRowOf(epoch, group)]),
        snapshot: signed,
        head: newHead,
        meta: sealMeta(credit, this.inbox, this.replicaIndex !== undefined, epoch),
      });
      lap(phases, 'write', t);
    } catch (e) {
      // Nothing was written (one atomic batch): forget the staged trie changes, keep every
      // transaction pending, leave the head as it was.
      this.mempool.abort();
      try {
        this.accountTrie = await TernaryTrie.open(this.nodeStore, head.stateRoot, ACCOUNT_TRIE);
        await this.accountTrie.loadAll();
        this.outboxTrie = await TernaryTrie.open(this.nodeStore, head.outboxRoot);
      } catch (e2) {
        this.broken = e2 as Error; // cannot even read the store: refuse further seals
      }
      this.log?.error({ err: e, epoch }, 'seal failed; state unchanged');
      throw e;
    }
    // Durable. Publish the new state in one synchronous step, so readers see old or new, never a mix.
    this.accountTrie.markCommitted();
    this.outboxTrie.markCommitted();
    for (const [dst, leaf] of leaves) this.outboxLeaves.set(dst, leaf);
    for (const g of groups) {
      const dst = g.dst;
      const l = this.recentGroups.get(dst) ?? [];
      l.push(g);
      if (l.length > RECENT_GROUPS) l.shift();
      this.recentGroups.set(dst, l);
    }
    this.inbox.commit(credit);
    // The outbox only grows and its keys are random: keep its loaded part bounded in memory
    // (the account trie stays loaded: it is rewritten all the time and its size is the state's).
    for (const g of groups) this.outboxSinceUnload += g.n;
    if (this.outboxSinceUnload >= this.outboxUnloadEvery) {
      this.outboxTrie.unload(4);
      this.outboxSinceUnload = 0;
    }
    // New values into the committed objects, in place (still this one synchronous step): a new
    // object per touched account per seal was old-generation garbage for every major GC. Readers
    // copy what they need before any await (account()).
    fx.accounts.forEach((a, hex) => {
      const c = this.accounts.get(hex);
      if (c === undefined) this.accounts.set(hex, a);
      else {
        c.balance = a.balance;
        c.nonce = a.nonce;
        if (a.key !== undefined) c.key = a.key;
      }
    });
    this.mempool.commit(fx.ordered);
    const now = this.now();
    if (now - this.lastExpiry >= Math.min(5000, this.stuckTtlMs / 10)) {
      this.lastExpiry = now;
      for (const t of this.mempool.expireStuck((hex) => this.accounts.get(hex)?.nonce ?? 0n, now, this.stuckTtlMs)) {
        this.remember(t.idHex, 'nonce-too-far', `expired: nonce ${t.nonce} waited more than ${this.stuckTtlMs} ms behind a nonce gap`);
      }
    }
    this.head = newHead;
    this.latest = signed;
    if (follow) {
      this.lamport.reset(signed.snapshot.lamport);
      try {
        this.hlc.update(signed.snapshot.hlc);
      } catch {
        // a writer clock far ahead of ours: our HLC stays where it is (it only orders our own seals)
      }
    }
    const sealMs = performance.now() - started;
    // the phases (ms) say where a slow seal's time went: CPU in one of them, or the awaited write
    const ms: Record<string, number> = {};
    for (const k in phases) ms[k] = Math.round(phases[k]!);
    this.log?.info({ epoch, txCount: fx.ordered.length, sealMs: Math.round(sealMs), phases: ms }, 'sealed');
    if (this.events.listenerCount('sealed') > 0) {
      const ev: SealedEvent = { snapshot: signed, txCount: fx.ordered.length, txids: fx.ordered.map((t) => t.idHex), acceptedAt: fx.ordered.map((t) => t.acceptedAt), sealMs, phases };
      try {
        this.events.emit('sealed', ev);
      } catch (e) {
        // the epoch is durable whatever a listener does: never fail the seal for it
        this.log?.error({ err: e, epoch }, "a 'sealed' listener threw");
      }
    }
    return signed;
  }

  // ---------------------------------------------------------------- queries

  /**
   * Signature checks of transactions this shard does not admit itself (the API forwards them to
   * their home shard), on the verification workers: a flood of bad signatures never holds the event
   * loop. Undefined when verification in flight is at its bound (the caller answers 'overloaded').
   */
  async verifyTxSignatures(txs: Uint8Array[]): Promise<boolean[] | undefined> {
    if (this.closed) throw new ShardClosedError('shard is closed');
    if (!this.pool) return txs.map(verifySignedTxBytes);
    // within the same bound on verification in flight as submissions: undefined = overloaded
    if (!this.canVerify(txs.length)) return undefined;
    this.verifying += txs.length;
    try {
      return await this.pool.verifyTxs(txs);
    } finally {
      this.verifying -= txs.length;
    }
  }

  async txStatus(txid: Uint8Array): Promise<TxStatus> {
    const hex = toHex(txid);
    if (this.mempool.has(hex)) return { status: 'pending' };
    const loc = txid.length === 32 ? await this.store.txLocation(txid) : undefined;
    if (loc) {
      const snap = await this.snapshot(loc.epoch);
      if (snap) {
        const trie = await TernaryTrie.at(this.nodeStore, snap.snapshot.txRoot);
        const [proof, value] = await Promise.all([trie.prove(txid), trie.get(txid)]);
        if (value) return { status: 'committed', epoch: loc.epoch, txRoot: toHex(snap.snapshot.txRoot), proof: toHex(encodeProof(proof)), value: toHex(value) };
      }
    }
    const r = this.rejected.get(hex);
    if (r) return { status: 'rejected', reason: r.reason, message: r.message };
    return { status: 'unknown' };
  }

  async account(address: Uint8Array): Promise<AccountView> {
    // read the committed map and root in the same tick: a seal publishes both at once
    const hex = toHex(address);
    // (the values, not the object: a seal updates committed accounts in place)
    const a = this.accounts.get(hex);
    const balance = a?.balance ?? 0n;
    const nonce = a?.nonce ?? 0n;
    const head = this.head;
    const trie = await TernaryTrie.at(this.nodeStore, head.stateRoot);
    const proof = await trie.prove(accountKey(address));
    return {
      address: hex, balance, nonce, pendingNonce: this.mempool.pendingNonce(hex, nonce),
      epoch: head.epoch, stateRoot: toHex(head.stateRoot), proof: toHex(encodeProof(proof)), value: a ? toHex(encodeAccountValue({ balance, nonce })) : null,
    };
  }

  /**
   * A state-trie leaf (account key or inbox cursor key) as of a sealed epoch, with its proof against
   * that epoch's stateRoot: old roots stay readable (trie nodes are never pruned). For light clients.
   */
  async stateProofAt(key: Uint8Array, epoch: number): Promise<{ snapshot: SignedSnapshot; proof: Uint8Array; value: Uint8Array | undefined } | undefined> {
    const snap = await this.snapshot(epoch);
    if (!snap) return undefined;
    const trie = await TernaryTrie.at(this.nodeStore, snap.snapshot.stateRoot);
    const [proof, value] = await Promise.all([trie.prove(key), trie.get(key)]);
    return { snapshot: snap, proof: encodeProof(proof), value };
  }

  async snapshot(epoch?: number): Promise<SignedSnapshot | undefined> {
    if (epoch === undefined || epoch === this.head.epoch) return this.latest;
    if (epoch > this.head.epoch) return undefined;
    return this.store.snapshot(epoch);
  }

  /** Receipts this shard emitted to `dst`, seq ascending from `fromSeq` (for cross-shard delivery). */
  receipts(dst: ShardId, fromSeq = 0n, limit = 1000): Promise<Receipt[]> {
    return this.store.receiptsTo(dst, fromSeq, limit, this.rebuildGroup);
  }

  /** A stored group's row, rebuilt from its epoch's tx records (receipt-rebuild.ts); recent ones kept (LRU). */
  private readonly rebuildGroup = async (dst: ShardId, epoch: number, first: bigint, n: number): Promise<ReceiptGroup> => {
    const key = `${dst}:${first}`;
    const hit = this.rebuilt.get(key);
    if (hit) {
      this.rebuilt.delete(key);
      this.rebuilt.set(key, hit);
      return hit;
    }
    const g = groupFromTxRecords(this.id, dst, this.genesis.depth, epoch, first, n, await this.epochRecords(dst, epoch));
    if (!this.rebuilt.has(key)) {
      this.rebuilt.set(key, g);
      this.rebuiltBytes += g.row.length;
      while (this.rebuilt.size > REBUILT_KEPT || this.rebuiltBytes > REBUILT_KEPT_BYTES) {
        const [k, old] = this.rebuilt.entries().next().value!;
        this.rebuilt.delete(k);
        this.rebuiltBytes -= old.row.length;
      }
    }
    return g;
  };

  /** Is the group to `dst` from `first` (of `epoch`) served without loading any tx records? */
  private rebuildIsFree(dst: ShardId, epoch: number, first: bigint): boolean {
    return this.rebuilt.has(`${dst}:${first}`) || this.rebuiltFrom?.epoch === epoch || this.loadingRecords.has(epoch);
  }

  /** The tx records (txid, record) of a sealed epoch: its whole tx trie, loaded once at a time. */
  private epochRecords(dst: ShardId, epoch: number): Promise<[Uint8Array, Uint8Array][]> {
    if (this.rebuiltFrom?.epoch === epoch) return Promise.resolve(this.rebuiltFrom.records);
    let p = this.loadingRecords.get(epoch);
    if (!p) {
      p = (async () => {
        const snap = await this.snapshot(epoch);
        if (!snap) throw new Error(`receipt group ${this.id}->${dst} of epoch ${epoch}: no snapshot of that epoch`);
        const records = await (await TernaryTrie.at(this.nodeStore, snap.snapshot.txRoot)).entries();
        this.rebuiltFrom = { epoch, records };
        return records;
      })();
      this.loadingRecords.set(epoch, p);
      const done = (): void => void this.loadingRecords.delete(epoch);
      p.then(done, done);
    }
    return p;
  }

  /**
   * A rebuilder for one bounded batch: groups not in memory cost a load of their epoch's tx
   * records, at most `maxLoads` per batch and paid from `budget`; past that, it stands for
   * NOT_REBUILT (and so does every group after it).
   */
  private boundedRebuilder(b: ServeBounds): GroupRebuilder {
    let loads = 0;
    let stopped = false;
    return async (dst, epoch, first, n) => {
      if (stopped) return NOT_REBUILT;
      if (!this.rebuildIsFree(dst, epoch, first)) {
        const snap = loads < b.maxLoads ? await this.snapshot(epoch) : undefined;
        if (!snap || (b.budget && !b.budget.takeOnCredit(Math.max(1, Number(snap.snapshot.txCount))))) {
          stopped = true;
          return NOT_REBUILT;
        }
        loads++;
      }
      return this.rebuildGroup(dst, epoch, first, n);
    };
  }

  /** Proof of the outbox leaf of `dst` (count, chain head) against the latest outboxRoot (absence if none). */
  async outboxProof(dst: ShardId): Promise<{ outboxRoot: string; epoch: number; count: bigint; head: string; proof: string }> {
    const head = this.head;
    const trie = await TernaryTrie.at(this.nodeStore, head.outboxRoot);
    const v = await trie.get(outboxKey(dst));
    const leaf = v ? decodeOutboxLeaf(v) : { count: 0n, head: ZERO32 };
    return { outboxRoot: toHex(head.outboxRoot), epoch: head.epoch, count: leaf.count, head: toHex(leaf.head), proof: toHex(encodeProof(await trie.prove(outboxKey(dst)))) };
  }

  latestEpoch(): number {
    return this.head.epoch;
  }

  // ---------------------------------------------------------------- state sync (docs/REPLICAS.md)

  /** The epoch this replica's state was synced at (it holds no history before it); undefined: it holds its whole history. */
  async syncedAt(): Promise<number | undefined> {
    const b = await this.store.meta.get(SYNCED_AT_META_KEY);
    return b === undefined || b.length !== 8 ? undefined : Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0));
  }

  /** A stored trie record by locator (gen || hash, or a committed root's hash), for a replica syncing state. */
  nodeRecord(locator: Uint8Array): Promise<{ gen: number; bytes: Uint8Array } | undefined> {
    return readNodeRecord(this.nodeStore, locator);
  }

  /** Hex addresses of every account held here (committed state; accounts are never removed). */
  accountHexes(): IterableIterator<string> {
    return this.accounts.keys();
  }

  accountCount(): number {
    return this.accounts.size;
  }

  // ---------------------------------------------------------------- cross-shard receipts (inbox.ts, receipts.ts)

  /**
   * Offers a batch of receipts from another shard. If it brings anything new and the finality
   * predicate accepts the source snapshot, verified (signature, network, leaf proof) and chained from this shard's verified frontier
   * for that source and queued for the next seal; duplicates are no-ops, a run above a gap is held.
   * Throws ReceiptBatchError (nothing changes) if the batch is refused.
   */
  async receiveReceipts(batch: ReceiptBatch): Promise<ReceiveResult> {
    if (this.closed) throw new ShardClosedError('shard is closed');
    const s = batch.snapshot.snapshot;
    // Cheap answers first, for a batch from a known source: one that ends at or below the verified
    // frontier brings nothing new (a no-op whatever it holds: pulls and pushes overlap), and one of a
    // source epoch not final here yet waits (re-offered later); only then the signature and proofs.
    if (this.genesis.validators.has(s.shard) && s.shard.length === this.genesis.depth && s.shard !== this.id && s.network === this.networkId) {
      if (batch.count <= this.inbox.frontier(shardIndex(s.shard)).next) return { queued: 0, duplicates: batch.groups.reduce((a, g) => a + g.n, 0), full: 0, gap: 0 };
      if (!(await this.receiptFinality(s))) throw new ReceiptBatchError('not-final', `source epoch ${s.shard}@${s.epoch} is not final yet`);
      if (this.closed) throw new ShardClosedError('shard is closed');
    }
    verifyReceiptBatch(batch, this.genesis, this.id, (toHex) => this.accounts.has(toHex));
    this.lamport.observe(s.lamport); // Lamport receive rule (docs/PROTOCOL.md)
    try {
      return this.inbox.offer(shardIndex(s.shard), { groups: batch.groups, count: batch.count, head: batch.head });
    } catch (e) {
      if (e instanceof ChainMismatchError) throw new ReceiptBatchError('bad-proof', `${s.shard}@${s.epoch}: ${e.message}`);
      throw e;
    }
  }

  /** Which source epochs may be credited (the node: final in a global/aggregate). Default: any signed one. */
  setReceiptFinality(f: ReceiptFinality): void {
    this.receiptFinality = f;
  }

  /** The committed inbox cursor of source shard index `src` (next expected seq, vector clock entry). */
  inboxCursor(src: number): InboxCursor {
    return this.inbox.cursor(src);
  }

  /** The verified frontier of source shard index `src` (receipts from its `next` on are still wanted). */
  inboxFrontier(src: number): InboxCursor {
    return this.inbox.frontier(src);
  }

  /** Verified receipts waiting for a gap to fill or the next seal. */
  inboxPending(): number {
    return this.inbox.pendingCount();
  }

  /**
   * Where the credit half of the cross-shard transfer with receipt (source shard `src`, `seq`)
   * landed here, if it has (one range seek). With `txid`, only if that receipt is of this transfer.
   */
  async creditStatus(src: ShardId, seq: bigint, txid?: Uint8Array): Promise<CreditRecord | undefined> {
    if (src.length !== this.genesis.depth || !/^[012]*$/.test(src) || src === this.id || seq < 0n) return undefined;
    const c = await this.store.creditOf(shardIndex(src), seq);
    if (!c) return undefined;
    const i = Number(seq - c.first);
    const id = c.txids.subarray(32 * i, 32 * i + 32);
    if (txid && !bytesEqual(id, txid)) return undefined;
    return { epoch: c.epoch, src: shardIndex(src), seq, srcEpoch: c.srcEpoch, txid: id };
  }

  /**
   * The receipt a committed transfer of this shard emitted, if it went to another shard: its
   * destination and seq. Found from the tx record (recipient -> destination, epoch) and the outbox
   * count before that epoch (the first seq of the epoch's group), then the group's row: nothing is
   * indexed per transfer for it.
   */
  async debitReceipt(txid: Uint8Array): Promise<{ dst: ShardId; seq: bigint; epoch: number } | undefined> {
    if (this.genesis.depth === 0 || txid.length !== 32) return undefined;
    const loc = await this.store.txLocation(txid);
    if (!loc || loc.epoch > this.head.epoch) return undefined;
    const snap = await this.snapshot(loc.epoch);
    if (!snap) return undefined;
    const value = await (await TernaryTrie.at(this.nodeStore, snap.snapshot.txRoot)).get(txid);
    if (!value) return undefined;
    const dst = homeShard(decodeSignedTx(decodeTxRecord(value).signedTx).tx.to, this.genesis.depth);
    if (dst === this.id) return undefined;
    const first = await this.outboxCountAt(dst, loc.epoch - 1);
    // a client's question: the group's row may need its epoch's tx records, within a node-wide budget
    for (const g of await this.readGroups(dst, first, 1, { maxGroups: 1, maxBytes: Infinity, maxLoads: 1, budget: this.lookupBudget })) {
      if (g.epoch !== loc.epoch) continue;
      for (let i = 0, o = g.body; i < g.n; i++, o += RECEIPT_ENTRY_BYTES) {
        if (bytesEqual(g.row.subarray(o, o + 32), txid)) return { dst, seq: g.first + BigInt(i), epoch: loc.epoch };
      }
    }
    return undefined;
  }

  /**
   * A batch of the receipts this shard emitted to `dst` from the group holding `fromSeq` (a batch
   * starts and ends on group boundaries: the chain links whole groups), proven with one proof of the
   * outbox leaf of `dst` against the snapshot of `atEpoch` (default: the latest; on a node, the
   * latest FINAL epoch). When more than `limit` receipts (at most MAX_BATCH_RECEIPTS) are due, it
   * ends at the latest earlier epoch whose count fits, proven against that epoch's snapshot; at least
   * one group (the engine caps a group at MAX_BATCH_RECEIPTS). Undefined if there is no snapshot yet.
   */
  async receiptBatch(dst: ShardId, fromSeq: bigint, limit = MAX_BATCH_RECEIPTS, atEpoch?: number): Promise<ReceiptBatch | undefined> {
    const p = await this.planBatch(dst, fromSeq, limit, atEpoch);
    if (!p) return undefined;
    return { snapshot: p.snapshot, proof: p.proof, count: p.count, head: p.head, groups: p.groups };
  }

  /**
   * receiptBatch, encoded (encodeReceiptBatch) straight from the stored rows: nothing decoded. With
   * `bounds` (a remote asker), it may end early, and is undefined if not even its first group can be
   * had within them (the asker tries again later).
   */
  async receiptBatchBytes(dst: ShardId, fromSeq: bigint, limit = MAX_BATCH_RECEIPTS, atEpoch?: number, bounds?: ServeBounds): Promise<{ bytes: Uint8Array; count: bigint; receipts: number; epoch: number } | undefined> {
    const p = await this.planBatch(dst, fromSeq, limit, atEpoch, bounds);
    if (!p) return undefined;
    const n = p.groups.reduce((a, g) => a + g.n, 0);
    return { bytes: encodeReceiptBatchRows(p, p.groups.map((g) => g.row)), count: p.count, receipts: n, epoch: p.snapshot.snapshot.epoch };
  }

  private async planBatch(dst: ShardId, fromSeq: bigint, limit: number, atEpoch?: number, bounds?: ServeBounds): Promise<ReceiptBatch | undefined> {
    const latest = await this.snapshot(atEpoch);
    if (!latest) return undefined;
    const lim = Math.max(1, Math.min(limit, MAX_BATCH_RECEIPTS));
    // Outside the seal chain: serving never delays a seal. Everything read here is committed and
    // immutable (a snapshot, stored trie nodes, stored groups, rows rebuilt from a sealed epoch), and
    // the proof is made from the stored nodes of the snapshot's outboxRoot, never the live trie a
    // seal is writing.
    let snap = latest;
    let leaf = await this.leafAt(snap, dst);
    let groups: ReceiptGroup[] = [];
    if (fromSeq < leaf.count) {
      groups = (await this.readGroups(dst, fromSeq, lim, bounds)).filter((g) => g.epoch <= snap.snapshot.epoch);
      if (groups.length === 0 && bounds) return undefined; // over its bounds before the first group
      if (groups.length === 0) throw new Error(`receipt batch: no stored group to ${dst} holds seq ${fromSeq}`);
      const end = groups[groups.length - 1]!;
      const endCount = end.first + BigInt(end.n);
      if (endCount !== leaf.count) {
        // cut short by the limit or the bounds: end at the last group's epoch, proven against that snapshot
        const older = await this.snapshot(end.epoch);
        if (!older) throw new Error(`receipt batch: snapshot ${end.epoch} missing`);
        snap = older;
        leaf = await this.leafAt(snap, dst);
        if (leaf.count !== endCount) throw new Error(`receipt batch: leaf of ${dst} at ${end.epoch} counts ${leaf.count}, groups end at ${endCount}`);
      }
    }
    const proof = await (await TernaryTrie.at(this.nodeStore, snap.snapshot.outboxRoot)).prove(outboxKey(dst));
    return { snapshot: snap, proof, count: leaf.count, head: leaf.count === 0n ? ZERO32 : leaf.head, groups };
  }

  /**
   * Whole groups to `dst` from the one holding `from`, up to `max` receipts (>= 1 group): from memory
   * when recent. With `bounds`: within them, possibly none.
   */
  private async readGroups(dst: ShardId, from: bigint, max: number, bounds?: ServeBounds): Promise<ReceiptGroup[]> {
    const c = this.recentGroups.get(dst);
    let groups: ReceiptGroup[];
    if (c && c.length > 0 && from >= c[0]!.first) {
      groups = [];
      let n = 0;
      for (const g of c) {
        if (g.first + BigInt(g.n) <= from) continue;
        if (groups.length > 0 && n + g.n > max) break;
        groups.push(g);
        n += g.n;
      }
    } else if (!bounds) return this.store.receiptGroups(dst, from, max, this.rebuildGroup);
    else groups = await this.store.receiptGroups(dst, from, max, this.boundedRebuilder(bounds), bounds.maxGroups);
    if (!bounds) return groups;
    let bytes = 0;
    let k = 0;
    for (; k < groups.length && k < bounds.maxGroups; k++) {
      const g = groups[k]!;
      if (g === NOT_REBUILT || (k > 0 && bytes + g.row.length > bounds.maxBytes)) break;
      bytes += g.row.length;
    }
    return groups.slice(0, k);
  }

  /** Receipts emitted to `dst` at epochs <= `epoch` (the outbox leaf's count then; 0 before epoch 0). */
  async outboxCountAt(dst: ShardId, epoch: number): Promise<bigint> {
    const snap = epoch < 0 ? undefined : await this.snapshot(epoch);
    return snap ? (await this.leafAt(snap, dst)).count : 0n;
  }

  /** The outbox leaf of `dst` as of snapshot `snap` (count 0 if none). */
  private async leafAt(snap: SignedSnapshot, dst: ShardId): Promise<OutboxLeaf> {
    if (bytesEqual(this.head.outboxRoot, snap.snapshot.outboxRoot)) return this.outboxLeaves.get(dst) ?? { count: 0n, head: ZERO32 };
    const v = await (await TernaryTrie.at(this.nodeStore, snap.snapshot.outboxRoot)).get(outboxKey(dst));
    return v ? decodeOutboxLeaf(v) : { count: 0n, head: ZERO32 };
  }

  /** Lamport receive rule: takes effect at the next seal (L = max(L, observed) + 1). */
  observeLamport(l: bigint): void {
    this.lamport.observe(l);
  }

  /** HLC receive rule for timestamps seen in gossip; throws HlcError if `remote` is too far ahead. */
  observeHlc(remote: bigint): void {
    this.hlc.update(remote);
  }

  /** Committed view of supply: sum of the balances held here (O(accounts); for tests and audits). */
  sumBalances(): bigint {
    let s = 0n;
    for (const a of this.accounts.values()) s += a.balance;
    return s;
  }

  /** May a batch of `n` transactions go to signature verification now (the queue bound)? O(1). */
  canVerify(n: number): boolean {
    return !this.pool || this.verifying === 0 || this.verifying + n <= this.verifyQueueMax;
  }

  /** Signature verification: transactions in flight now, signatures checked since start. */
  verifyStats(): { verifying: number; sigChecks: number; queueMax: number } {
    return { verifying: this.verifying, sigChecks: this.sigChecks, queueMax: this.verifyQueueMax };
  }

  /** What the store's commits wrote so far (LevelDB operations, bytes of nodes, account rows and tx index). */
  storeStats(): { commits: number; records: number; bytes: number } {
    return { ...this.store.written };
  }

  stats(): { mempool: number; committedTotal: number; epoch: number } {
    return { mempool: this.mempool.size, committedTotal: Number(this.head.committedTotal), epoch: this.head.epoch };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sealChain; // let a seal in progress finish (or fail) before closing the store
    this.closed = true;
    await this.pool?.close();
    await this.store.close();
    this.log?.info({ epoch: this.head.epoch }, 'shard closed');
  }
}

/** The metadata rows of a seal: the inbox cursors if they moved; for a replicated shard, the groups it credited (its replication entry). */
function sealMeta(credit: ReturnType<Inbox['plan']>, inbox: Inbox, replicated: boolean, epoch: number): [Uint8Array, Uint8Array][] | undefined {
  const meta: [Uint8Array, Uint8Array][] = [];
  if (credit.cursors.size > 0) meta.push([INBOX_META_KEY, encodeInboxState(new Map([...inbox.cursors(), ...credit.cursors]))]);
  if (replicated && credit.credits.length > 0) {
    meta.push([replKey(epoch), encodeCredits(credit.credits.map(({ src, group }) => ({ src, row: group.row })))]);
  }
  return meta.length > 0 ? meta : undefined;
}

const REPL_PREFIX = new TextEncoder().encode('repl/');
/** Metadata key of epoch `epoch`'s credited groups (replicated shards). */
function replKey(epoch: number): Uint8Array {
  return concatBytes(REPL_PREFIX, epochKey(epoch));
}

/** Names of the fields where two snapshots differ (for the follower's loud error). */
function snapshotDiff(a: Snapshot, b: Snapshot): string[] {
  const out: string[] = [];
  for (const k of Object.keys(a) as (keyof Snapshot)[]) {
    const x = a[k];
    const y = b[k];
    const same = x instanceof Uint8Array && y instanceof Uint8Array ? bytesEqual(x, y) : JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) === JSON.stringify(y, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
    if (!same) out.push(k);
  }
  return out;
}

/** Account rows (address, u64 balance | u64 nonce), all values carved from one buffer. */
function encodeAccountRows(accounts: Iterable<EngineAccount>, n: number): [Uint8Array, Uint8Array][] {
  const slab = new Uint8Array(16 * n);
  const v = new DataView(slab.buffer);
  const rows: [Uint8Array, Uint8Array][] = new Array(n);
  let i = 0;
  for (const a of accounts) {
    v.setBigUint64(16 * i, a.balance);
    v.setBigUint64(16 * i + 8, a.nonce);
    rows[i] = [a.address, slab.subarray(16 * i, 16 * i + 16)];
    i++;
  }
  return rows;
}

function lap(phases: Record<string, number>, name: string, since: number): number {
  const now = performance.now();
  phases[name] = now - since;
  return now;
}

