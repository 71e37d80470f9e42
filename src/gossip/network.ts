// The glue between a shard node and the hierarchy (docs/PROTOCOL.md): topic subscriptions, snapshot
// publication, the per-triad aggregation state machine, final aggregates and global snapshots
// (memory + an optional level sublevel), and catch-up over /smt/<net>/fetch/1.
//
// Per triad T on the path from this node's shard to the apex, per epoch e (a "round"):
//   1. collect the three children (shard snapshots at the lowest level, child final aggregates
//      above) from T's topic; after `childTimeoutMs` from the first arrival, try to fetch missing
//      ones from peers, then carry what is still missing forward (computeAggregate);
//   2. compute the aggregate (prev = T's final at e-1, waited for up to the same timeout) and sign
//      it if this shard is the rotation-chosen signer of its member subtree (attempt a signs after
//      a leases if the member's signature is still missing); publish the signature on T's topic;
//   3. any aggregate with 2 of 3 member signatures is final; above the lowest level the children's
//      final aggregates are attached (fetched if missing);
//   4. the rotation-chosen publisher puts T's final on the parent's topic (the apex's on the apex
//      topic), the next in turn after a lease if nobody did; T's parent round takes it as input.
// The apex final of epoch e is the global snapshot of e.
import type { Logger } from 'pino';
import { bytesEqual, toHex } from '../core/bytes.js';
import type { KeyPair } from '../core/ed25519.js';
import type { Genesis } from '../core/genesis.js';
import { ancestorsOf, parentOf, type ShardId, type TriadPath } from '../core/ids.js';
import {
  aggregateHash, computeAggregate, AggregateInputError, isZeroHash, type ChildInput, type TriadAggregate,
} from '../hierarchy/aggregate.js';
import {
  decodeFinalAggregate, encodeFinalAggregate, signAggregate, verifyFinalAggregate, verifyMemberSignature,
  type FinalAggregate, type MemberSignature,
} from '../hierarchy/finality.js';
import { attemptOf, publisherOrder, signerFor, turnAt } from '../hierarchy/rotation.js';
import { SignGuard, type SignRecordStore } from '../hierarchy/sign-guard.js';
import type { GlobalSnapshot } from '../hierarchy/global.js';
import { genesisChildSupplies } from '../hierarchy/genesis-supply.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, type SignedSnapshot } from '../shard/snapshot.js';
import {
  decodeAggregateSig, decodeEnvelope, decodeTxBatch, encodeAggregateSig, encodeEnvelope, encodeTxBatch, GossipKind,
  type AggregateSigMessage,
} from './encoding.js';
import { decodeFetchRequest, encodeFetchRequest, fetchProtocol, FetchKind, type FetchRequest } from './fetch.js';
import type { P2PNode } from './p2p.js';
import { PeerRequestError } from './admission.js';
import { validatorPeers, type ValidatorPeers } from './identity.js';
import { decodeReceiptBatch, verifyReceiptBatch, type ReceiptBatch } from '../shard/receipts.js';
import { chainGroup } from '../shard/receipt-chain.js';
import { triadTopic, txTopic } from './topics.js';
import { decodeSubmitResults, encodeSubmitResults, MAX_SUBMIT_REQUEST_BYTES, submitProtocol } from './submit.js';
import type { CheckedBatch, SubmitResult } from '../shard/shard.js';
import { ACCEPT, ignore, makeTopicValidator, reject, RejectLog, type PayloadChecks, type ValidationOutcome } from './validation.js';
import { verifyShardSnapshot } from '../replica/keys.js';

/** checkTxBatch's decision; an accepted batch's `checked` (signature verdicts) goes along to onTxBatch / onSubmit. */
export type TxBatchVerdict = ValidationOutcome & { checked?: CheckedBatch };

export interface AggregationTiming {
  /** How long a lowest-level round waits for missing children (and for T's previous final) after its
   * first input; each level up waits one more of these plus a fetch timeout and a lease. */
  childTimeoutMs: number;
  /** Rotation lease: the next signer / publisher in turn takes over after this long. */
  leaseMs: number;
  /** Period of the timer that drives timeouts and leases. */
  tickMs: number;
  /** Period of catch-up polling (latest global snapshot of a peer). 0 disables. */
  syncIntervalMs: number;
  /** Timeout of one fetch request. */
  fetchTimeoutMs: number;
}

/** What the network needs from a level sublevel (e.g. `db.sublevel('global', { valueEncoding: 'view' })`). */
export interface GlobalStore {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, value: Uint8Array): Promise<void>;
  iterator(opts: { reverse?: boolean; limit?: number }): AsyncIterable<[string, Uint8Array]>;
}

export interface TriadNetworkOptions {
  p2p: P2PNode;
  genesis: Genesis;
  shard: ShardId;
  validatorKey: KeyPair;
  store?: GlobalStore;
  logger?: Logger;
  timing?: Partial<AggregationTiming>;
  /** Transaction batches arriving on this shard's tx topic (after `checkTxBatch`, with its `checked`). */
  onTxBatch?: (txs: Uint8Array[], from: string, checked?: CheckedBatch) => void;
  /** Gossip validation of a tx batch (e.g. size and signature checks); default: accept any decodable batch. */
  checkTxBatch?: (txs: Uint8Array[]) => TxBatchVerdict | Promise<TxBatchVerdict>;
  /** Direct submissions (/smt/<net>/submit/1) of this shard's transactions by other nodes, after
   * `checkTxBatch` (refused if it rejects): the shard's verdict per transaction goes back to the forwarding node. */
  onSubmit?: (txs: Uint8Array[], checked?: CheckedBatch) => Promise<SubmitResult[]>;
  /** Cross-shard receipt batches pushed to this shard's tx topic (after `checkReceipts`). */
  onReceipts?: (batch: Uint8Array, from: string) => void;
  checkReceipts?: (batch: Uint8Array) => ValidationOutcome;
  /** Serves fetch kind `receipts`: this shard's receipts to `dst` from `fromSeq` (encoded batch), if any. */
  serveReceipts?: (dst: ShardId, fromSeq: bigint, peer?: string) => Promise<Uint8Array | undefined>;
  /** Rounds older than the latest global epoch minus this are dropped; messages about them are Ignored as stale. */
  keepEpochs?: number;
  /** Where this validator records what it signed (src/hierarchy/sign-guard.ts); memory-only if absent. */
  signStore?: SignRecordStore;
}

export interface GlobalEvent {
  global: GlobalSnapshot;
  root: Uint8Array;
  /** ms from this node's publishSnapshot for the epoch to the global snapshot being final here, if known. */
  latencyMs?: number;
}

export interface NetworkStats {
  latestGlobalEpoch: number;
  gossipBytesIn: number;
  gossipBytesOut: number;
  messagesIn: number;
  messagesOut: number;
  rejected: number;
  ignored: number;
  fetchesServed: number;
  fetchesMade: number;
  /** Fetched answers that failed verification (or errored), after which another peer was asked. */
  fetchesRefused: number;
  /** Rounds this validator did not sign because it had signed another aggregate for them (sign guard). */
  signaturesRefused: number;
  peers: number;
}

interface Candidate {
  aggregate: TriadAggregate;
  sigs: Map<number, MemberSignature>;
}

interface Round {
  path: TriadPath;
  epoch: number;
  lowest: boolean;
  inputs: [ChildInput | null, ChildInput | null, ChildInput | null];
  firstInputAt: number;
  fetchState: 'none' | 'running' | 'done';
  computed: TriadAggregate | null;
  computedAt: number;
  failed: boolean;
  signedAttempts: Set<number>;
  candidates: Map<string, Candidate>;
  final: FinalAggregate | null;
  finalAt: number;
  finalSeenPublished: boolean;
  iPublished: boolean;
  lastChildFetch: number;
}

const GLOBAL_KEY_DIGITS = 16;
const SYNC_ATTEMPTS = 3;
const SUBMIT_TIMEOUT_MS = 5000;
const globalKey = (epoch: number): string => epoch.toString().padStart(GLOBAL_KEY_DIGITS, '0');

export class TriadNetwork {
  readonly genesis: Genesis;
  readonly shard: ShardId;
  readonly topics: { tx: string; triads: string[] };
  private readonly p2p: P2PNode;
  private readonly key: KeyPair;
  private readonly store?: GlobalStore;
  private readonly signStore?: SignRecordStore;
  private guard!: SignGuard;
  private readonly log?: Logger;
  private readonly timing: AggregationTiming;
  private readonly keepEpochs: number;
  private readonly onTxBatch?: (txs: Uint8Array[], from: string, checked?: CheckedBatch) => void;
  private readonly checkTxBatch?: (txs: Uint8Array[]) => TxBatchVerdict | Promise<TxBatchVerdict>;
  private readonly onSubmit?: (txs: Uint8Array[], checked?: CheckedBatch) => Promise<SubmitResult[]>;
  /** Accepted tx messages (gossipsub hands the validator and the handler the same data object) -> checkTxBatch's verdicts. */
  private readonly checkedTx = new WeakMap<Uint8Array, CheckedBatch>();
  private readonly onReceipts?: (batch: Uint8Array, from: string) => void;
  private readonly checkReceipts?: (batch: Uint8Array) => ValidationOutcome;
  private readonly serveReceipts?: (dst: ShardId, fromSeq: bigint, peer?: string) => Promise<Uint8Array | undefined>;
  private readonly peers: ValidatorPeers; // genesis validators' peer ids (identity.ts)
  private readonly ancestors: TriadPath[]; // nearest first, ending with the apex
  private readonly ancestorSet: Set<string>;
  private readonly rounds = new Map<string, Round>(); // `${path}@${epoch}`
  private readonly finals = new Map<string, Map<number, FinalAggregate>>(); // path -> epoch -> final
  private readonly snapshots = new Map<string, SignedSnapshot>(); // `${shard}@${epoch}`
  private readonly globals = new Map<number, GlobalSnapshot>();
  private readonly sealedAt = new Map<number, number>();
  private readonly listeners = new Set<(e: GlobalEvent) => void>();
  private latestGlobal = -1;
  private timer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing = false;
  private readonly syncTries = new Map<number, number>(); // epoch -> failed catch-up fetches
  private peerCursor = 0;
  private closed = false;
  private readonly counters = { gossipBytesIn: 0, gossipBytesOut: 0, messagesIn: 0, messagesOut: 0, rejected: 0, ignored: 0, fetchesServed: 0, fetchesMade: 0, fetchesRefused: 0, signaturesRefused: 0 };

  private constructor(opts: TriadNetworkOptions) {
    if (opts.genesis.depth < 1) throw new RangeError('the hierarchy needs depth >= 1 (3 or more shards)');
    this.genesis = opts.genesis;
    this.shard = opts.shard;
    this.p2p = opts.p2p;
    this.key = opts.validatorKey;
    this.store = opts.store;
    this.signStore = opts.signStore;
    this.log = opts.logger;
    const epochMs = opts.genesis.epochMs;
    this.timing = {
      childTimeoutMs: Math.max(200, Math.floor(epochMs / 2)),
      leaseMs: Math.max(100, Math.floor(epochMs / 4)),
      tickMs: 50,
      syncIntervalMs: Math.max(1000, 2 * epochMs),
      fetchTimeoutMs: 2000,
      ...opts.timing,
    };
    this.keepEpochs = opts.keepEpochs ?? 32;
    this.onTxBatch = opts.onTxBatch;
    this.checkTxBatch = opts.checkTxBatch;
    this.onSubmit = opts.onSubmit;
    this.onReceipts = opts.onReceipts;
    this.checkReceipts = opts.checkReceipts;
    this.serveReceipts = opts.serveReceipts;
    this.peers = validatorPeers(opts.genesis);
    this.ancestors = ancestorsOf(opts.shard);
    this.ancestorSet = new Set(this.ancestors);
    const net = opts.genesis.networkId;
    this.topics = { tx: txTopic(net, opts.shard), triads: this.ancestors.map((t) => triadTopic(net, t)) };
  }

  /** Topics a node of `shard` uses (for gossipsub topic scoring: pass as `scoredTopics`). */
  static topicsFor(genesis: Genesis, shard: ShardId): string[] {
    return [txTopic(genesis.networkId, shard), ...ancestorsOf(shard).map((t) => triadTopic(genesis.networkId, t))];
  }

  static async start(opts: TriadNetworkOptions): Promise<TriadNetwork> {
    const n = new TriadNetwork(opts);
    await n.init();
    return n;
  }

  private async init(): Promise<void> {
    this.guard = await SignGuard.open(this.signStore);
    await this.loadStore();
    const net = this.genesis.networkId;
    const rejectLog = this.log ? new RejectLog(this.log, 'gossip message rejected') : undefined;
    const onOutcome = (o: ValidationOutcome, topic: string, from: string): void => {
      if (o.action === 'reject') {
        this.counters.rejected++;
        rejectLog?.note(o, topic, from);
      } else if (o.action === 'ignore') this.counters.ignored++;
    };
    // own tx topic
    this.p2p.setTopicValidator(this.topics.tx, makeTopicValidator(net, {
      [GossipKind.txBatch]: async (payload, ctx) => {
        const txs = decodeTxBatch(payload);
        if (!this.checkTxBatch) return ACCEPT;
        const v = await this.checkTxBatch(txs);
        if (v.action === 'accept' && v.checked) this.checkedTx.set(ctx.data, v.checked);
        return v;
      },
      [GossipKind.receipts]: (payload) => {
        if (!this.onReceipts) return ignore('unknown', 'no receipt consumer');
        // the source's snapshot signature before anything decides to keep the batch (e.g. as
        // "not final yet"): a forged batch is Rejected here, never queued
        const o = this.checkReceiptSource(payload);
        if (o.action !== 'accept') return o;
        return this.checkReceipts ? this.checkReceipts(payload) : ACCEPT;
      },
    }, onOutcome));
    this.p2p.subscribe(this.topics.tx, (data, info) => {
      this.countIn(data);
      const env = decodeEnvelope(data);
      if (env.kind === GossipKind.receipts) this.onReceipts?.(env.payload, info.from);
      else this.onTxBatch?.(decodeTxBatch(env.payload), info.from, this.checkedTx.get(data));
    });
    for (const t of this.ancestors) {
      const topic = triadTopic(net, t);
      this.p2p.setTopicValidator(topic, makeTopicValidator(net, this.triadChecks(t), onOutcome));
      this.p2p.subscribe(topic, (data) => this.onTriadMessage(t, data));
    }
    await this.p2p.handle(fetchProtocol(net), (req, peer) => this.serveFetch(req, peer));
    if (this.onSubmit) {
      const submit = this.onSubmit;
      await this.p2p.handle(submitProtocol(net), async (req) => {
        const txs = decodeTxBatch(req);
        const o: TxBatchVerdict = this.checkTxBatch ? await this.checkTxBatch(txs) : ACCEPT;
        if (o.action === 'reject') throw new PeerRequestError('refused', `submission refused: ${o.code}${o.message ? `: ${o.message}` : ''}`);
        // accepted, or no room to verify all of it now: the per-transaction verdicts (e.g. overloaded) go back
        return encodeSubmitResults(await submit(txs, o.checked));
      }, MAX_SUBMIT_REQUEST_BYTES);
    }
    this.timer = setInterval(() => this.tick(), this.timing.tickMs);
    this.timer.unref();
    if (this.timing.syncIntervalMs > 0) {
      this.syncTimer = setInterval(() => void this.syncNow(), this.timing.syncIntervalMs);
      this.syncTimer.unref();
      // a (re)started node catches up as soon as its first peers are likely connected
      setTimeout(() => void this.syncNow(), Math.min(1000, this.timing.syncIntervalMs)).unref();
    }
  }

  // ---- public API ----

  /** After each seal: publish this shard's signed snapshot to its triad and feed it to the local round. */
  async publishSnapshot(ss: SignedSnapshot): Promise<void> {
    const s = ss.snapshot;
    if (s.shard !== this.shard || s.network !== this.genesis.networkId) throw new RangeError(`snapshot of ${s.network}/${s.shard} is not this node's`);
    this.sealedAt.set(s.epoch, Date.now());
    this.acceptSnapshot(ss);
    await this.publish(this.ancestors[0]!, GossipKind.snapshot, encodeSignedSnapshot(ss));
  }

  /**
   * Routing fallback: publishes a batch of signed transactions on the home shard's tx topic, only
   * if the home's validator peer (genesis) is among that topic's subscribers; resolves to the
   * number of recipients. Throws when it is not: nobody else's subscription counts as reaching home.
   */
  async publishTxs(shard: ShardId, txs: Uint8Array[]): Promise<number> {
    const topic = txTopic(this.genesis.networkId, shard);
    const home = this.peers.byShard.get(shard);
    if (!home || !this.p2p.topicPeers(topic).includes(home)) throw new Error(`home-unreachable: the validator of shard ${shard} is not connected`);
    const data = encodeEnvelope({ kind: GossipKind.txBatch, network: this.genesis.networkId, payload: encodeTxBatch(txs) });
    this.countOut(data);
    return this.p2p.publish(topic, data);
  }

  /**
   * Hands `txs` (all of shard `home`) to home's validator over /smt/<net>/submit/1 and returns its
   * verdict per transaction. Only the peer id the genesis binds to `home` is asked (never "whoever
   * subscribes to tx/<home>"); undefined when it cannot be reached or does not answer in time (the
   * caller then falls back to gossip on home's topic, answering "forwarded", or "unroutable").
   */
  async submitTo(home: ShardId, txs: Uint8Array[]): Promise<SubmitResult[] | undefined> {
    const net = this.genesis.networkId;
    const peer = this.peers.byShard.get(home);
    if (!peer || peer === this.p2p.peerId || !this.p2p.connectedPeers().includes(peer)) return undefined;
    try {
      const b = await this.p2p.request(peer, submitProtocol(net), encodeTxBatch(txs), { timeoutMs: SUBMIT_TIMEOUT_MS });
      return decodeSubmitResults(b, txs.length);
    } catch (err) {
      this.log?.debug({ peer, home, err: (err as Error).message }, 'direct submission failed');
      return undefined;
    }
  }

  latestGlobalEpoch(): number {
    return this.latestGlobal;
  }

  /** Cross-shard delivery (push): a receipt batch for `dst`, published on dst's tx topic. */
  async publishReceipts(dst: ShardId, batch: Uint8Array): Promise<number> {
    const data = encodeEnvelope({ kind: GossipKind.receipts, network: this.genesis.networkId, payload: batch });
    this.countOut(data);
    return this.p2p.publish(txTopic(this.genesis.networkId, dst), data);
  }

  /**
   * Cross-shard delivery (pull): asks for `src`'s receipts to `dst` from `from` (a seq, or the
   * destination's verified frontier: seq and chain head there): src's validator first (only it
   * serves them), then other validators in turn (at most `maxPeers` asked). An answer counts only if
   * it verifies (verifyReceiptBatch: src's signature, the outbox proof, every group; given the
   * frontier's head, also the chain of the new groups up to the proven head); a forged or damaged
   * one is logged and the next peer asked. Returns the encoded batch or undefined.
   */
  async fetchReceipts(src: ShardId, dst: ShardId, from: bigint | { next: bigint; head: Uint8Array }, maxPeers = 4): Promise<Uint8Array | undefined> {
    const fromSeq = typeof from === 'bigint' ? from : from.next;
    const req = encodeFetchRequest({ kind: FetchKind.receipts, path: src + dst, epoch: Number(fromSeq) });
    for (const peer of this.askOrder(this.peers.byShard.get(src), maxPeers)) {
      try {
        this.counters.fetchesMade++;
        const b = await this.p2p.request(peer, fetchProtocol(this.genesis.networkId), req, { timeoutMs: this.timing.fetchTimeoutMs });
        if (b.length === 0) continue;
        try {
          const batch = decodeReceiptBatch(b);
          if (batch.snapshot.snapshot.shard !== src) throw new Error(`a batch of ${batch.snapshot.snapshot.shard}, asked for ${src}`);
          verifyReceiptBatch(batch, this.genesis, dst);
          if (typeof from !== 'bigint') checkReceiptChain(batch, from);
          return b;
        } catch (err) {
          this.counters.fetchesRefused++;
          this.log?.warn({ peer, src, err: (err as Error).message }, 'receipt fetch: answer refused (does not verify)');
        }
      } catch (err) {
        this.counters.fetchesRefused++;
        this.log?.debug({ peer, src, err: (err as Error).message }, 'receipt fetch failed');
      }
    }
    return undefined;
  }

  /** Connected validator peers to ask, `first` (if connected) ahead of the others in rotation. */
  private askOrder(first: string | undefined, max: number): string[] {
    const connected = this.p2p.connectedPeers().filter((p) => this.peers.ids.has(p) && p !== this.p2p.peerId);
    const rest = connected.filter((p) => p !== first);
    const start = rest.length ? this.peerCursor++ % rest.length : 0;
    const rotated = [...rest.slice(start), ...rest.slice(0, start)];
    return (first && connected.includes(first) ? [first, ...rotated] : rotated).slice(0, max);
  }

  latestGlobalSnapshot(): GlobalSnapshot | undefined {
    return this.globals.get(this.latestGlobal);
  }

  /** The global snapshot of `epoch`, from memory or the store. */
  async globalAt(epoch: number): Promise<GlobalSnapshot | undefined> {
    const g = this.globals.get(epoch);
    if (g || !this.store) return g;
    const b = await this.store.get(globalKey(epoch));
    return b ? decodeFinalAggregate(b) : undefined;
  }

  finalAggregate(path: string, epoch: number): FinalAggregate | undefined {
    return this.finals.get(path)?.get(epoch);
  }

  snapshotOf(shard: string, epoch: number): SignedSnapshot | undefined {
    return this.snapshots.get(`${shard}@${epoch}`);
  }

  onGlobal(listener: (e: GlobalEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): NetworkStats {
    // author rejections happen in the libp2p layer, before our topic validators: counted with ours
    const a = this.p2p.admissionStats();
    return { latestGlobalEpoch: this.latestGlobal, ...this.counters, rejected: this.counters.rejected + a.rejectedAuthors, peers: this.p2p.connectedPeers().length };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.syncTimer);
    for (const t of this.topics.triads) this.p2p.unsubscribe(t);
    this.p2p.unsubscribe(this.topics.tx);
  }

  // ---- gossip in ----

  /** A pushed receipt batch's source: a validator shard of this network other than us, whose
   * snapshot signature verifies. Cheap next to the batch's proofs; the shard checks the rest. */
  private checkReceiptSource(payload: Uint8Array): ValidationOutcome {
    const b = decodeReceiptBatch(payload); // DecodeError -> Rejected as undecodable
    const s = b.snapshot.snapshot;
    if (s.network !== this.genesis.networkId) return reject('wrong-network');
    const key = this.genesis.validators.get(s.shard);
    if (!key || s.shard.length !== this.genesis.depth || s.shard === this.shard) return reject('invalid', `receipts from ${JSON.stringify(s.shard)}`);
    return verifyShardSnapshot(this.genesis, b.snapshot) ? ACCEPT : reject('bad-signature', `receipt batch: snapshot ${s.shard}@${s.epoch} is not signed by its validator`);
  }

  private stale(epoch: number): boolean {
    return epoch < this.latestGlobal - this.keepEpochs;
  }

  private triadChecks(t: TriadPath): PayloadChecks {
    const depth = this.genesis.depth;
    const lowest = t.length === depth - 1;
    const checks: PayloadChecks = {
      [GossipKind.aggregateSig]: (payload) => {
        const m = decodeAggregateSig(payload);
        if (m.aggregate.network !== this.genesis.networkId) return reject('wrong-network');
        if (m.aggregate.path !== t) return reject('wrong-topic', `aggregate of ${JSON.stringify(m.aggregate.path)}`);
        if (this.stale(m.aggregate.epoch)) return ignore('stale'); // before the signature: stale costs no verification
        return verifyMemberSignature(m.aggregate, m.signature, this.genesis) ? ACCEPT : reject('bad-signature');
      },
      [GossipKind.finalAggregate]: (payload) => {
        const fa = decodeFinalAggregate(payload);
        const p = fa.aggregate.path;
        const here = p === '' ? t === '' : parentOf(p) === t;
        if (!here) return reject('wrong-topic', `final of ${JSON.stringify(p)}`);
        if (this.stale(fa.aggregate.epoch)) return ignore('stale'); // before the 2-of-3 chain: stale costs no verification
        const r = verifyFinalAggregate(fa, this.genesis);
        return r.ok ? ACCEPT : reject('invalid', r.reason);
      },
    };
    if (lowest) {
      checks[GossipKind.snapshot] = (payload) => {
        const ss = decodeSignedSnapshot(payload);
        const s = ss.snapshot;
        if (s.network !== this.genesis.networkId) return reject('wrong-network');
        if (s.shard.length !== depth || parentOf(s.shard) !== t) return reject('wrong-topic', `snapshot of ${JSON.stringify(s.shard)}`);
        if (this.stale(s.epoch)) return ignore('stale'); // before the signature
        return verifyShardSnapshot(this.genesis, ss) ? ACCEPT : reject('bad-signature');
      };
    }
    return checks;
  }

  private onTriadMessage(t: TriadPath, data: Uint8Array): void {
    this.countIn(data);
    const env = decodeEnvelope(data); // validated already
    switch (env.kind) {
      case GossipKind.snapshot:
        this.acceptSnapshot(decodeSignedSnapshot(env.payload));
        break;
      case GossipKind.aggregateSig:
        this.acceptSig(t, decodeAggregateSig(env.payload));
        break;
      case GossipKind.finalAggregate: {
        const fa = decodeFinalAggregate(env.payload);
        this.recordFinal(fa);
        const r = this.rounds.get(`${fa.aggregate.path}@${fa.aggregate.epoch}`);
        if (r) r.finalSeenPublished = true;
        break;
      }
    }
  }

  private acceptSnapshot(ss: SignedSnapshot): void {
    const s = ss.snapshot;
    if (this.stale(s.epoch)) return;
    this.snapshots.set(`${s.shard}@${s.epoch}`, ss);
    const t = parentOf(s.shard);
    if (!this.ancestorSet.has(t)) return;
    this.addInput(t, s.epoch, Number(s.shard[s.shard.length - 1]), { kind: 'snapshot', snapshot: s });
  }

  private acceptSig(t: TriadPath, m: AggregateSigMessage): void {
    const e = m.aggregate.epoch;
    if (this.stale(e)) return;
    const r = this.round(t, e);
    this.addSig(r, m.aggregate, m.signature);
  }

  // ---- rounds ----

  private round(path: TriadPath, epoch: number): Round {
    const k = `${path}@${epoch}`;
    let r = this.rounds.get(k);
    if (!r) {
      r = {
        path, epoch, lowest: path.length === this.genesis.depth - 1, inputs: [null, null, null], firstInputAt: 0,
        fetchState: 'none', computed: null, computedAt: 0, failed: false, signedAttempts: new Set(), candidates: new Map(),
        final: null, finalAt: 0, finalSeenPublished: false, iPublished: false, lastChildFetch: 0,
      };
      this.rounds.set(k, r);
    }
    return r;
  }

  private addInput(t: TriadPath, epoch: number, pos: number, input: ChildInput): void {
    const r = this.round(t, epoch);
    if (r.computed || r.final || r.inputs[pos]) return;
    r.inputs[pos] = input;
    if (r.firstInputAt === 0) r.firstInputAt = Date.now();
    this.tryCompute(r);
  }

  private prevFinal(path: string, epoch: number): FinalAggregate | undefined {
    const m = this.finals.get(path);
    if (!m) return undefined;
    let best: FinalAggregate | undefined;
    for (const [e, f] of m) if (e < epoch && (!best || e > best.aggregate.epoch)) best = f;
    return best;
  }

  /**
   * How long round r waits for its children. A child triad that is itself waiting for a missing
   * child finalises only after its own timeout (and a fetch attempt), so each level up waits that
   * much longer; otherwise a parent would carry a child that is merely late, not missing.
   */
  private roundTimeout(r: Round): number {
    const height = this.genesis.depth - 1 - r.path.length;
    return this.timing.childTimeoutMs * (1 + height) + (this.timing.fetchTimeoutMs + this.timing.leaseMs) * height;
  }

  private tryCompute(r: Round): void {
    if (r.computed || r.final || r.failed || r.firstInputAt === 0 || this.closed) return;
    const now = Date.now();
    const all = r.inputs.every((c) => c !== null);
    const prevReady = r.epoch === 0 || this.finals.get(r.path)?.has(r.epoch - 1) === true;
    const waited = now - r.firstInputAt >= this.roundTimeout(r);
    if (!(all && prevReady)) {
      if (!waited) return;
      if (!all && r.fetchState === 'none') {
        r.fetchState = 'running';
        void this.fetchMissingInputs(r).finally(() => { r.fetchState = 'done'; this.tryCompute(r); });
        return;
      }
      if (r.fetchState === 'running') return;
    }
    const prev = this.prevFinal(r.path, r.epoch);
    try {
      r.computed = computeAggregate({ network: this.genesis.networkId, path: r.path, epoch: r.epoch, children: r.inputs, prev: prev?.aggregate ?? null, genesisSupply: genesisChildSupplies(this.genesis, r.path) });
      r.computedAt = now;
    } catch (e) {
      if (!(e instanceof AggregateInputError)) throw e;
      r.failed = true;
      this.log?.warn({ path: r.path, epoch: r.epoch, err: e.message }, 'cannot compute aggregate');
      return;
    }
    this.log?.debug({ path: r.path, epoch: r.epoch, carried: r.computed.children.filter((c) => c.carried).length }, 'aggregate computed');
    this.maybeSign(r);
  }

  private maybeSign(r: Round): void {
    const agg = r.computed;
    if (!agg || r.final) return;
    const pos = Number(this.shard[r.path.length]);
    const member = r.path + String(pos);
    const attempt = attemptOf(this.shard, member, r.epoch, this.genesis.depth);
    if (attempt === undefined || r.signedAttempts.has(attempt)) return;
    if (attempt > 0) {
      if (Date.now() - r.computedAt < attempt * this.timing.leaseMs) return;
      const cand = r.candidates.get(toHex(aggregateHash(agg)));
      if (cand?.sigs.has(pos)) return; // the member already signed through an earlier turn
    }
    r.signedAttempts.add(attempt);
    const h = aggregateHash(agg);
    const verdict = this.guard.check(r.path, r.epoch, h);
    if (verdict === 'conflict' || verdict === 'below-low-water') {
      // Signed another view of this round before a restart (or the round is older than what we keep):
      // signing now could finalise two different aggregates.
      this.counters.signaturesRefused++;
      this.log?.warn({ path: r.path, epoch: r.epoch, verdict }, 'not signing: this validator signed another aggregate for this round before');
      return;
    }
    // Durable record first, signature second: a crash in between leaves a record and no signature.
    this.guard.record(r.path, r.epoch, h).then(() => {
      if (this.closed) return;
      const sig = signAggregate(agg, pos, attempt, this.key.secretKey);
      this.addSig(r, agg, sig);
      void this.publish(r.path, GossipKind.aggregateSig, encodeAggregateSig({ aggregate: agg, signature: sig }));
    }, (err: unknown) => this.log?.error({ path: r.path, epoch: r.epoch, err: (err as Error).message }, 'not signing: cannot record the signature'));
  }

  private addSig(r: Round, agg: TriadAggregate, sig: MemberSignature): void {
    const k = toHex(aggregateHash(agg));
    let c = r.candidates.get(k);
    if (!c) {
      c = { aggregate: agg, sigs: new Map() };
      r.candidates.set(k, c);
    }
    if (!c.sigs.has(sig.position)) c.sigs.set(sig.position, sig);
    if (c.sigs.size >= 2) this.tryFinalize(r, c);
  }

  /** The final aggregate of `path` whose aggregate hashes to `commitment`, if known. */
  private findFinal(path: string, epoch: number, commitment: Uint8Array): FinalAggregate | undefined {
    const f = this.finals.get(path)?.get(epoch);
    return f && bytesEqual(aggregateHash(f.aggregate), commitment) ? f : undefined;
  }

  private tryFinalize(r: Round, c: Candidate): void {
    if (r.final) return;
    const agg = c.aggregate;
    let children: (FinalAggregate | null)[] | null = null;
    if (!r.lowest) {
      children = [];
      const missing: number[] = [];
      for (let i = 0; i < 3; i++) {
        const ref = agg.children[i]!;
        if (isZeroHash(ref.commitment)) { children.push(null); continue; }
        const f = this.findFinal(r.path + String(i), ref.epoch, ref.commitment);
        if (!f) missing.push(i);
        children.push(f ?? null);
      }
      if (missing.length) {
        if (Date.now() - r.lastChildFetch > this.timing.fetchTimeoutMs) {
          r.lastChildFetch = Date.now();
          void this.fetchChildFinals(r.path, agg, missing);
        }
        return; // retried from tick
      }
    }
    const fa: FinalAggregate = { aggregate: agg, signatures: [...c.sigs.values()].sort((a, b) => a.position - b.position), children };
    r.final = fa;
    r.finalAt = Date.now();
    this.recordFinal(fa);
  }

  /** Indexes a verified final aggregate (and its attached children), and feeds the parent round. */
  private recordFinal(fa: FinalAggregate): void {
    const a = fa.aggregate;
    let m = this.finals.get(a.path);
    if (!m) this.finals.set(a.path, (m = new Map()));
    if (!m.has(a.epoch)) m.set(a.epoch, fa);
    const live = !this.stale(a.epoch);
    // top-down: a round adopts its final before its children are indexed, so indexing them
    // does not start a computation (and a signature) the final has made pointless
    if (live && this.ancestorSet.has(a.path)) {
      const r = this.round(a.path, a.epoch);
      if (!r.final) { r.final = fa; r.finalAt = Date.now(); }
    }
    for (const c of fa.children ?? []) if (c) this.recordFinal(c);
    if (!live) return;
    if (a.path === '') this.recordGlobal(fa);
    else {
      const parent = parentOf(a.path);
      if (this.ancestorSet.has(parent)) this.addInput(parent, a.epoch, Number(a.path[a.path.length - 1]), { kind: 'aggregate', aggregate: a });
    }
  }

  private recordGlobal(g: GlobalSnapshot): void {
    const e = g.aggregate.epoch;
    if (this.globals.has(e)) return;
    this.globals.set(e, g);
    if (e > this.latestGlobal) {
      this.latestGlobal = e;
      // rounds this old are stale (never signed again): their records can go
      const low = e - this.keepEpochs - 1;
      if (low > this.guard.lowWaterEpoch) void this.guard.pruneBelow(low).catch((err) => this.log?.warn({ err: (err as Error).message }, 'cannot prune sign records'));
    }
    void this.store?.put(globalKey(e), encodeFinalAggregate(g)).catch((err) => this.log?.error({ err, epoch: e }, 'cannot store global snapshot'));
    const sealed = this.sealedAt.get(e);
    const ev: GlobalEvent = { global: g, root: aggregateHash(g.aggregate), latencyMs: sealed === undefined ? undefined : Date.now() - sealed };
    this.log?.info({ epoch: e, root: toHex(ev.root), latencyMs: ev.latencyMs }, 'global snapshot final');
    for (const l of this.listeners) {
      try { l(ev); } catch (err) { this.log?.warn({ err }, 'global listener failed'); }
    }
  }

  // ---- timers ----

  private tick(): void {
    if (this.closed) return;
    const now = Date.now();
    for (const r of this.rounds.values()) {
      if (!r.computed && !r.final) this.tryCompute(r);
      if (r.computed && !r.final) this.maybeSign(r);
      if (!r.final) for (const c of r.candidates.values()) if (c.sigs.size >= 2) this.tryFinalize(r, c);
      if (r.final && !r.finalSeenPublished && !r.iPublished) this.maybePublishFinal(r, now);
    }
    this.gc();
  }

  private maybePublishFinal(r: Round, now: number): void {
    const turn = turnAt(now - r.finalAt, this.timing.leaseMs);
    for (let k = 0; k <= turn; k++) {
      const pos = publisherOrder(r.path, r.epoch)[k]!;
      if (signerFor(r.path + String(pos), r.epoch, this.genesis.depth, 0) === this.shard) {
        r.iPublished = true;
        const topicPath = r.path === '' ? '' : parentOf(r.path);
        void this.publish(topicPath, GossipKind.finalAggregate, encodeFinalAggregate(r.final!));
        return;
      }
    }
  }

  private gc(): void {
    const floor = this.latestGlobal - this.keepEpochs;
    if (floor <= 0) return;
    for (const [k, r] of this.rounds) if (r.epoch < floor) this.rounds.delete(k);
    for (const [k, s] of this.snapshots) if (s.snapshot.epoch < floor) this.snapshots.delete(k);
    for (const m of this.finals.values()) {
      let latest = -1;
      for (const e of m.keys()) latest = Math.max(latest, e);
      // keep the latest final of every path: a child carried forward still points to it
      for (const e of [...m.keys()]) if (e < floor && e !== latest) m.delete(e);
    }
    for (const e of [...this.globals.keys()]) if (e < floor - 4 * this.keepEpochs) this.globals.delete(e);
    for (const e of [...this.sealedAt.keys()]) if (e < floor) this.sealedAt.delete(e);
  }

  // ---- gossip out ----

  private async publish(topicPath: string, kind: GossipKind, payload: Uint8Array): Promise<void> {
    if (this.closed) return;
    const data = encodeEnvelope({ kind, network: this.genesis.networkId, payload });
    this.countOut(data);
    try {
      await this.p2p.publish(triadTopic(this.genesis.networkId, topicPath), data);
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, topicPath, kind }, 'publish failed');
    }
  }

  private countIn(d: Uint8Array): void {
    this.counters.gossipBytesIn += d.length;
    this.counters.messagesIn++;
  }

  private countOut(d: Uint8Array): void {
    this.counters.gossipBytesOut += d.length;
    this.counters.messagesOut++;
  }

  // ---- catch-up ----

  private async serveFetch(req: Uint8Array, peer?: string): Promise<Uint8Array> {
    this.counters.fetchesServed++;
    const q = decodeFetchRequest(req);
    const none = new Uint8Array();
    switch (q.kind) {
      case FetchKind.snapshot: {
        const s = this.snapshots.get(`${q.path}@${q.epoch}`);
        return s ? encodeSignedSnapshot(s) : none;
      }
      case FetchKind.finalAggregate: {
        const f = this.finals.get(q.path)?.get(q.epoch);
        return f ? encodeFinalAggregate(f) : none;
      }
      case FetchKind.globalLatest: {
        const g = this.globals.get(this.latestGlobal);
        return g ? encodeFinalAggregate(g) : none;
      }
      case FetchKind.globalAt: {
        const g = await this.globalAt(q.epoch);
        return g ? encodeFinalAggregate(g) : none;
      }
      case FetchKind.receipts: {
        const d = this.genesis.depth;
        if (q.path.length !== 2 * d || q.path.slice(0, d) !== this.shard || !this.serveReceipts) return none;
        return (await this.serveReceipts(q.path.slice(d) as ShardId, BigInt(q.epoch), peer)) ?? none; // budgeted per asking peer (xshard.ts)
      }
    }
  }

  /**
   * Asks connected validators in turn (`prefer` first, at most `maxPeers`) until one returns a
   * record that `accept` verifies. An empty answer, an error or a record that fails verification
   * moves on to the next peer: no peer's answer counts unless it verifies.
   */
  private async fetchFirst<T>(q: FetchRequest, decode: (b: Uint8Array) => T, accept: (x: T) => boolean, maxPeers = 4, prefer?: string): Promise<T | undefined> {
    for (const peer of this.askOrder(prefer, maxPeers)) {
      try {
        this.counters.fetchesMade++;
        const b = await this.p2p.request(peer, fetchProtocol(this.genesis.networkId), encodeFetchRequest(q), { timeoutMs: this.timing.fetchTimeoutMs });
        if (b.length === 0) continue;
        const x = decode(b);
        if (accept(x)) return x;
        this.counters.fetchesRefused++;
        this.log?.warn({ peer, kind: q.kind, path: q.path, epoch: q.epoch }, 'peer served an invalid record');
      } catch (err) {
        this.counters.fetchesRefused++;
        this.log?.debug({ peer, err: (err as Error).message }, 'fetch failed');
      }
    }
    return undefined;
  }

  private verifiedFinal = (fa: FinalAggregate): boolean => verifyFinalAggregate(fa, this.genesis).ok;

  private async fetchMissingInputs(r: Round): Promise<void> {
    await Promise.all([0, 1, 2].map(async (i) => {
      if (r.inputs[i]) return;
      const child = r.path + String(i);
      if (r.lowest) {
        const ss = await this.fetchFirst({ kind: FetchKind.snapshot, path: child, epoch: r.epoch }, decodeSignedSnapshot, (x) =>
          x.snapshot.shard === child && x.snapshot.epoch === r.epoch && x.snapshot.network === this.genesis.networkId
          && verifyShardSnapshot(this.genesis, x), 3, this.peers.byShard.get(child as ShardId));
        if (ss && !r.inputs[i]) { this.snapshots.set(`${child}@${r.epoch}`, ss); r.inputs[i] = { kind: 'snapshot', snapshot: ss.snapshot }; }
      } else {
        const fa = await this.fetchFirst({ kind: FetchKind.finalAggregate, path: child, epoch: r.epoch }, decodeFinalAggregate, (x) =>
          x.aggregate.path === child && x.aggregate.epoch === r.epoch && this.verifiedFinal(x), 3);
        if (fa) this.recordFinal(fa); // feeds r.inputs[i] unless computed meanwhile
      }
    }));
  }

  private async fetchChildFinals(path: string, agg: TriadAggregate, missing: number[]): Promise<void> {
    await Promise.all(missing.map(async (i) => {
      const ref = agg.children[i]!;
      const child = path + String(i);
      const fa = await this.fetchFirst({ kind: FetchKind.finalAggregate, path: child, epoch: ref.epoch }, decodeFinalAggregate, (x) =>
        x.aggregate.path === child && bytesEqual(aggregateHash(x.aggregate), ref.commitment) && this.verifiedFinal(x));
      if (fa) this.recordFinal(fa);
    }));
  }

  /**
   * One catch-up pass (at start and every `syncIntervalMs`): a peer's latest global snapshot, then
   * the holes in the last `keepEpochs` epochs below the latest one held (in neither memory nor the
   * store: e.g. the epochs a restarted node was down for), newest first, at most 8 per pass and
   * SYNC_ATTEMPTS per epoch (an epoch nobody finalised is not asked for forever). Every record is
   * verified (apex, epoch asked for, the 2-of-3 chain down to the shards) before it is recorded.
   */
  async syncNow(): Promise<void> {
    if (this.syncing || this.closed) return;
    this.syncing = true;
    try {
      const latest = await this.fetchFirst({ kind: FetchKind.globalLatest, path: '', epoch: 0 }, decodeFinalAggregate, (x) => x.aggregate.path === '' && this.verifiedFinal(x), 3);
      if (latest && !this.globals.has(latest.aggregate.epoch)) this.recordFinal(latest);
      const top = this.latestGlobal;
      let budget = 8;
      for (let e = top - 1; e >= Math.max(0, top - this.keepEpochs) && budget > 0 && !this.closed; e--) {
        const tries = this.syncTries.get(e) ?? 0;
        if (tries >= SYNC_ATTEMPTS || this.globals.has(e) || (await this.globalAt(e))) continue;
        budget--;
        this.syncTries.set(e, tries + 1);
        const g = await this.fetchFirst({ kind: FetchKind.globalAt, path: '', epoch: e }, decodeFinalAggregate, (x) => x.aggregate.path === '' && x.aggregate.epoch === e && this.verifiedFinal(x), 3);
        if (g && !this.closed) {
          this.recordFinal(g);
          this.syncTries.delete(e);
          this.log?.info({ epoch: e }, 'missed global snapshot fetched');
        }
      }
      for (const e of this.syncTries.keys()) if (e < top - this.keepEpochs) this.syncTries.delete(e);
    } finally {
      this.syncing = false;
    }
  }

  private async loadStore(): Promise<void> {
    if (!this.store) return;
    for await (const [, v] of this.store.iterator({ reverse: true, limit: 1 })) {
      try {
        const g = decodeFinalAggregate(v);
        if (this.verifiedFinal(g)) this.recordFinal(g);
      } catch (err) {
        this.log?.warn({ err }, 'stored global snapshot unreadable');
      }
    }
  }
}

/**
 * The groups of `b` past the frontier chain from the frontier's head to the head the source proved
 * (the destination inbox's own check, src/shard/inbox.ts, done before the batch is taken). A batch
 * with nothing past the frontier, or starting beyond it (a gap: checked when the gap is filled),
 * passes. Throws on a mismatch.
 */
function checkReceiptChain(b: ReceiptBatch, front: { next: bigint; head: Uint8Array }): void {
  if (b.count <= front.next) return;
  let n = 0n;
  for (const g of b.groups) n += BigInt(g.n);
  if (b.count - n > front.next) return;
  const g0 = b.groups.findIndex((g) => g.first === front.next);
  if (g0 < 0) throw new Error(`receipts cut mid-group at seq ${front.next}`);
  let h = front.head;
  for (let k = g0; k < b.groups.length; k++) h = chainGroup(h, b.groups[k]!.row);
  if (!bytesEqual(h, b.head)) throw new Error(`receipts from seq ${front.next} do not chain to the proven head`);
}
