// The transport of the hierarchy (docs/NETWORK.md): libp2p topics, the protocol table of every
// message this layer carries (kind -> topic -> codec -> validator -> handler), the fetch protocol
// (served here, asked through fetch-client.ts), direct submission, receipts, and the node's store
// of global snapshots. The aggregation itself is src/hierarchy/round.ts (pure): this class feeds it
// decoded messages and ticks, and carries out what it asks for (publish, fetch, durable signing
// records, global snapshots to store and announce).
import type { Logger } from 'pino';
import { bytesEqual, toHex } from '../core/bytes.js';
import type { KeyPair } from '../core/ed25519.js';
import type { Genesis } from '../core/genesis.js';
import { ancestorsOf, parentOf, type ShardId, type TriadPath } from '../core/ids.js';
import { realScheduler, type Scheduler } from '../core/scheduler.js';
import {
  decodeFinalAggregate, encodeFinalAggregate, verifyFinalAggregate, verifyMemberSignature, type FinalAggregate,
} from '../hierarchy/finality.js';
import { defaultRoundTiming as defaultRoundTimingFor, RoundMachine, type FetchAnswer, type GlobalEvent, type RoundAction, type RoundFetch, type RoundTiming } from '../hierarchy/round.js';
import { SignGuard, type SignRecordStore } from '../hierarchy/sign-guard.js';
import type { GlobalSnapshot } from '../hierarchy/global.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, snapshotHash, type SignedSnapshot } from '../shard/snapshot.js';
import type { TriadAggregate } from '../hierarchy/aggregate.js';
import { verifyShardSnapshot } from '../replica/keys.js';
import {
  decodeAggregateSig, decodeLowestFinal, decodeRoundSigs, decodeTxBatch, encodeAggregateSig, encodeLowestFinal, encodeRoundSigs, encodeEnvelope, encodeTxBatch, GossipKind,
  type LowestFinalMessage,
} from './encoding.js';
import { decodeFetchRequest, encodeFetchRequest, fetchProtocol, FetchKind, type FetchRequest } from './fetch.js';
import { askAtOnce, askInTurn } from './fetch-client.js';
import type { P2PNode } from './p2p.js';
import { PeerRequestError } from './admission.js';
import { validatorPeers, type ValidatorPeers } from './identity.js';
import { installRoutes, route, uninstallRoutes, type AnyRoute } from './protocol.js';
import { decodeReceiptBatch, verifyReceiptBatch, type ReceiptBatch } from '../shard/receipts.js';
import { chainGroup } from '../shard/receipt-chain.js';
import { signersTopic, triadTopic, txTopic } from './topics.js';
import { signerFor } from '../hierarchy/rotation.js';
import { decodeSubmitResults, encodeSubmitResults, MAX_SUBMIT_REQUEST_BYTES, submitProtocol } from './submit.js';
import type { CheckedBatch, SubmitResult } from '../shard/shard.js';
import { ACCEPT, ignore, reject, RejectLog, type ValidationOutcome } from './validation.js';

export type { GlobalEvent } from '../hierarchy/round.js';

/** checkTxBatch's decision; an accepted batch's `checked` (signature verdicts) goes along to onTxBatch / onSubmit. */
export type TxBatchVerdict = ValidationOutcome & { checked?: CheckedBatch };

export interface AggregationTiming extends RoundTiming {
  /** Longest interval between two ticks of the round machine (a safety net): it is ticked when it
   * asks to be (its next timeout, fetch wait or lease turn), not periodically. */
  tickMs: number;
  /** Timeout of one fetch request to one peer (receipts; round fetches stop at the round's fetchWaitMs). */
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
  /** Clock and timers (default: the wall clock); the simulator passes a virtual one. */
  scheduler?: Scheduler;
  /** Transaction batches arriving on this shard's tx topic (after `checkTxBatch`, with its `checked`). */
  onTxBatch?: (txs: Uint8Array[], from: string, checked?: CheckedBatch) => void;
  /** Gossip validation of a tx batch (e.g. size and signature checks); default: accept any decodable batch. */
  checkTxBatch?: (txs: Uint8Array[]) => TxBatchVerdict | Promise<TxBatchVerdict>;
  /** Direct submissions (/smt/<net>/submit/1) of this shard's transactions by other nodes, after
   * `checkTxBatch` (refused if it rejects): the shard's verdict per transaction goes back to the forwarding node. */
  onSubmit?: (txs: Uint8Array[], checked?: CheckedBatch) => Promise<SubmitResult[]>;
  /** Cross-shard receipt batches pushed to this shard's tx topic (after `checkReceipts`). */
  onReceipts?: (batch: ReceiptBatch, from: string) => void;
  checkReceipts?: (batch: ReceiptBatch) => ValidationOutcome;
  /** Serves fetch kind `receipts`: this shard's receipts to `dst` from `fromSeq` (encoded batch), if any. */
  serveReceipts?: (dst: ShardId, fromSeq: bigint, peer?: string) => Promise<Uint8Array | undefined>;
  /** Rounds older than the latest global epoch minus this are dropped; messages about them are Ignored as stale. */
  keepEpochs?: number;
  /** Where this validator records what it signed (src/hierarchy/sign-guard.ts); memory-only if absent. */
  signStore?: SignRecordStore;
  /** May this node sign aggregates of rounds of `epoch` now? (A replicated shard: only its writer, docs/REPLICAS.md.) Default: always. */
  canSign?: (epoch: number) => boolean;
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

const GLOBAL_KEY_DIGITS = 16;
const SUBMIT_TIMEOUT_MS = 5000;
const globalKey = (epoch: number): string => epoch.toString().padStart(GLOBAL_KEY_DIGITS, '0');

/** A receipt batch pushed on a tx topic, with its encoding (handed on as is). */
interface PushedReceipts { bytes: Uint8Array; batch: ReceiptBatch }

export class TriadNetwork {
  readonly genesis: Genesis;
  readonly shard: ShardId;
  readonly topics: { tx: string; triads: string[]; signers: string[] };
  private readonly p2p: P2PNode;
  private readonly o: TriadNetworkOptions;
  private readonly store?: GlobalStore;
  private guard!: SignGuard;
  private rounds!: RoundMachine;
  private readonly log?: Logger;
  private readonly timing: AggregationTiming;
  private readonly keepEpochs: number;
  private readonly sched: Scheduler;
  private readonly peers: ValidatorPeers; // genesis validators' peer ids (identity.ts)
  private readonly ancestors: TriadPath[]; // nearest first, ending with the apex
  private readonly signerPhases: SignerPhase[]; // the upper triads' signers topics this node listens on
  private readonly listeners = new Set<(e: GlobalEvent) => void>();
  private readonly snapshotListeners = new Set<(ss: SignedSnapshot) => void>();
  private readonly syncWaiters: (() => void)[] = [];
  private readonly stopTimers: (() => void)[] = [];
  private peerCursor = 0;
  private closed = false;
  private tickAt = Infinity;
  private tickIsFallback = false;
  private cancelTick: (() => void) | undefined;
  private readonly counters = { gossipBytesIn: 0, gossipBytesOut: 0, messagesIn: 0, messagesOut: 0, rejected: 0, ignored: 0, fetchesServed: 0, fetchesMade: 0, fetchesRefused: 0 };

  private constructor(opts: TriadNetworkOptions) {
    if (opts.genesis.depth < 1) throw new RangeError('the hierarchy needs depth >= 1 (3 or more shards)');
    this.o = opts;
    this.genesis = opts.genesis;
    this.shard = opts.shard;
    this.p2p = opts.p2p;
    this.store = opts.store;
    this.log = opts.logger;
    this.sched = opts.scheduler ?? realScheduler;
    const epochMs = opts.genesis.epochMs;
    this.timing = {
      ...defaultTiming(epochMs),
      ...opts.timing,
    };
    this.keepEpochs = opts.keepEpochs ?? 32;
    this.peers = validatorPeers(opts.genesis);
    this.ancestors = ancestorsOf(opts.shard);
    const net = opts.genesis.networkId;
    this.signerPhases = signerPhasesOf(opts.genesis, opts.shard);
    this.topics = {
      tx: txTopic(net, opts.shard), triads: this.ancestors.map((t) => triadTopic(net, t)),
      signers: this.signerPhases.map((x) => signersTopic(net, x.path, x.phase)),
    };
  }

  /** Topics a node of `shard` uses (for gossipsub topic scoring: pass as `scoredTopics`). */
  static topicsFor(genesis: Genesis, shard: ShardId): string[] {
    const net = genesis.networkId;
    return [txTopic(net, shard), ...ancestorsOf(shard).map((t) => triadTopic(net, t)), ...signerPhasesOf(genesis, shard).map((x) => signersTopic(net, x.path, x.phase))];
  }

  static async start(opts: TriadNetworkOptions): Promise<TriadNetwork> {
    const n = new TriadNetwork(opts);
    await n.init();
    return n;
  }

  private async init(): Promise<void> {
    this.guard = await SignGuard.open(this.o.signStore);
    this.rounds = new RoundMachine({
      genesis: this.genesis, shard: this.shard, secretKey: this.o.validatorKey.secretKey, guard: this.guard,
      now: () => this.sched.now(), out: (a) => this.act(a), timing: this.timing, keepEpochs: this.keepEpochs,
      wake: (at) => this.wakeAt(at),
      ...(this.o.canSign ? { canSign: this.o.canSign } : {}),
    });
    await this.loadStore();
    const net = this.genesis.networkId;
    const rejectLog = this.log ? new RejectLog(this.log, 'gossip message rejected') : undefined;
    installRoutes(this.p2p, net, this.protocolTable(), (o, topic, from) => {
      if (o.action === 'reject') {
        this.counters.rejected++;
        rejectLog?.note(o, topic, from);
      } else if (o.action === 'ignore') this.counters.ignored++;
    }, (data) => this.countIn(data));
    await this.p2p.handle(fetchProtocol(net), (req, peer) => this.serveFetch(req, peer));
    if (this.o.onSubmit) {
      const submit = this.o.onSubmit;
      await this.p2p.handle(submitProtocol(net), async (req) => {
        const txs = decodeTxBatch(req);
        const o: TxBatchVerdict = this.o.checkTxBatch ? await this.o.checkTxBatch(txs) : ACCEPT;
        if (o.action === 'reject') throw new PeerRequestError('refused', `submission refused: ${o.code}${o.message ? `: ${o.message}` : ''}`);
        // accepted, or no room to verify all of it now: the per-transaction verdicts (e.g. overloaded) go back
        return encodeSubmitResults(await submit(txs, o.checked));
      }, MAX_SUBMIT_REQUEST_BYTES);
    }
    this.stopTimers.push(() => this.cancelTick?.());
    this.wakeAt(this.sched.now());
  }

  /**
   * The round machine's timer: one pending tick, at the time it asked for (at most tickMs away).
   * Before, it ticked every 50 ms: 20 wake-ups a second per node with nothing to do in most.
   */
  private wakeAt(at: number): void {
    if (this.closed) return;
    const now = this.sched.now();
    const fallback = at > now + this.timing.tickMs;
    const t = fallback ? now + this.timing.tickMs : Math.max(at, now);
    // re-armed only when the time changes; a pending safety-net tick stays where it is
    if (this.cancelTick && (t === this.tickAt || (fallback && this.tickIsFallback))) return;
    this.cancelTick?.();
    this.tickAt = t;
    this.tickIsFallback = fallback;
    this.cancelTick = this.sched.after(Math.ceil(t - now), () => {
      this.tickAt = Infinity;
      this.cancelTick = undefined;
      if (!this.closed) this.rounds.tick(); // which asks for the next one
    });
  }

  /**
   * Every gossip message this layer carries: kind, topic, codec, validator, handler. Validators
   * Reject what is malformed, forged or on the wrong topic, and Ignore what is stale before any
   * signature is checked (staleness costs nothing to decide).
   */
  private protocolTable(): AnyRoute[] {
    const g = this.genesis;
    const net = g.networkId;
    const checkedTx = new WeakMap<Uint8Array[], CheckedBatch>(); // accepted batch -> checkTxBatch's verdicts
    const routes: AnyRoute[] = [
      route<Uint8Array[]>({
        topic: this.topics.tx, kind: GossipKind.txBatch, decode: (p) => decodeTxBatch(p),
        validate: async (txs) => {
          if (!this.o.checkTxBatch) return ACCEPT;
          const v = await this.o.checkTxBatch(txs);
          if (v.action === 'accept' && v.checked) checkedTx.set(txs, v.checked);
          return v;
        },
        handle: (txs, from) => this.o.onTxBatch?.(txs, from, checkedTx.get(txs)),
      }),
      route<PushedReceipts>({
        topic: this.topics.tx, kind: GossipKind.receipts, decode: (p) => ({ bytes: p, batch: decodeReceiptBatch(p) }),
        validate: (m) => {
          if (!this.o.onReceipts) return ignore('unknown', 'no receipt consumer');
          // the source's snapshot signature before anything decides to keep the batch (e.g. as
          // "not final yet"): a forged batch is Rejected here, never queued
          const o = this.checkReceiptSource(m.batch);
          if (o.action !== 'accept') return o;
          return this.o.checkReceipts ? this.o.checkReceipts(m.batch) : ACCEPT;
        },
        handle: (m, from) => this.o.onReceipts?.(m.batch, from),
      }),
    ];
    // Member signatures: a lowest triad's on its topic (its three members all sign); an upper
    // triad's on its signers topic of the epoch's phase, where only the three shards that sign for
    // its members in that phase listen (they form the final and publish it to everyone; the other
    // nodes below the triad need only that final).
    const sigRoute = (topic: string, t: TriadPath, phase?: number): AnyRoute => route({
      topic, kind: GossipKind.aggregateSig, decode: decodeAggregateSig,
      validate: (m) => {
        if (m.aggregate.network !== net) return reject('wrong-network');
        if (m.aggregate.path !== t) return reject('wrong-topic', `aggregate of ${JSON.stringify(m.aggregate.path)}`);
        if (phase !== undefined && m.aggregate.epoch % 3 !== phase) return reject('wrong-topic', `epoch ${m.aggregate.epoch} on the signers topic of phase ${phase}`);
        if (this.rounds.stale(m.aggregate.epoch)) return ignore('stale'); // before the signature: stale costs no verification
        return verifyMemberSignature(m.aggregate, m.signature, g) ? ACCEPT : reject('bad-signature');
      },
      handle: (m) => this.rounds.signature(t, m.aggregate, m.signature),
    });
    routes.push(sigRoute(triadTopic(net, this.ancestors[0]!), this.ancestors[0]!));
    for (const x of this.signerPhases) routes.push(sigRoute(signersTopic(net, x.path, x.phase), x.path, x.phase));
    for (const t of this.ancestors) {
      const topic = triadTopic(net, t);
      routes.push(
        route({
          topic, kind: GossipKind.finalAggregate, decode: decodeFinalAggregate,
          validate: (fa) => {
            const p = fa.aggregate.path;
            const here = p === '' ? t === '' : parentOf(p) === t;
            if (!here) return reject('wrong-topic', `final of ${JSON.stringify(p)}`);
            if (this.rounds.stale(fa.aggregate.epoch)) return ignore('stale'); // before the 2-of-3 chain: stale costs no verification
            const r = verifyFinalAggregate(fa, g);
            return r.ok ? ACCEPT : reject('invalid', r.reason);
          },
          handle: (fa) => this.rounds.final(fa),
        }),
      );
    }
    // A shard's signed snapshot goes to its lowest triad's topic (its 2 siblings take it as a round
    // input); the nodes outside the triad get the triad's snapshots inside its final (kind
    // lowestFinal, on the apex topic, below): one message per triad instead of one per snapshot.
    const apex = triadTopic(net, '');
    const lowest = this.ancestors[0]!;
    routes.push(route({
      topic: this.topics.triads[0]!, kind: GossipKind.snapshot, decode: decodeSignedSnapshot,
      validate: (ss) => {
        const s = ss.snapshot;
        if (s.network !== net) return reject('wrong-network');
        if (s.shard.length !== g.depth || !g.validators.has(s.shard)) return reject('invalid', `snapshot of ${JSON.stringify(s.shard)}`);
        if (parentOf(s.shard) !== lowest) return reject('wrong-topic', `snapshot of ${s.shard}`);
        if (this.rounds.stale(s.epoch)) return ignore('stale'); // before the signature
        return verifyShardSnapshot(g, ss) ? ACCEPT : reject('bad-signature');
      },
      handle: (ss) => this.takeSnapshot(ss),
    }));
    if (g.depth >= 2) {
      routes.push(route<LowestFinalMessage>({
        topic: apex, kind: GossipKind.lowestFinal, decode: decodeLowestFinal,
        validate: (m) => this.checkLowestFinal(m),
        handle: (m) => {
          this.rounds.final(m.final);
          for (const ss of m.snapshots) {
            const s = ss.snapshot;
            // this triad's own: delivered on its topic already, unless that send was lost
            if (parentOf(s.shard) === lowest && this.rounds.snapshotOf(s.shard, s.epoch)) continue;
            this.takeSnapshot(ss);
          }
        },
      }));
    }
    return routes;
  }

  /**
   * A lowest final with snapshots (kind lowestFinal, apex topic): a lowest triad's final, and each
   * snapshot one of its children's of the same epoch, the very one the aggregate commits to (not
   * carried), in increasing position; then the final's 2-of-3 chain and the snapshots' signatures.
   * Staleness and every binding are checked before any signature.
   */
  private checkLowestFinal(m: LowestFinalMessage): ValidationOutcome {
    const g = this.genesis;
    const a = m.final.aggregate;
    if (a.network !== g.networkId) return reject('wrong-network');
    if (a.path === '' || a.path.length !== g.depth - 1) return reject('wrong-topic', `final of ${JSON.stringify(a.path)} with snapshots`);
    if (this.rounds.stale(a.epoch)) return ignore('stale');
    let last = -1;
    for (const ss of m.snapshots) {
      const s = ss.snapshot;
      if (s.network !== g.networkId || s.shard.length !== g.depth || parentOf(s.shard) !== a.path || s.epoch !== a.epoch) {
        return reject('invalid', `snapshot ${s.shard}@${s.epoch} with the final of ${a.path}@${a.epoch}`);
      }
      const pos = Number(s.shard[s.shard.length - 1]);
      if (pos <= last) return reject('invalid', 'snapshots not in increasing position');
      last = pos;
      const c = a.children[pos]!;
      if (c.carried || c.epoch !== a.epoch || !bytesEqual(c.commitment, snapshotHash(s))) return reject('invalid', `snapshot of ${s.shard} is not the one the final includes`);
    }
    const r = verifyFinalAggregate(m.final, g);
    if (!r.ok) return reject('invalid', r.reason);
    return m.snapshots.every((ss) => verifyShardSnapshot(g, ss)) ? ACCEPT : reject('bad-signature');
  }

  /** A validated snapshot, gossiped or brought by a lowest final: its lowest triad's to the round
   * machine (round input, HLC rules), every one to the listeners (the proving layer's trees). */
  private takeSnapshot(ss: SignedSnapshot): void {
    if (parentOf(ss.snapshot.shard) === this.ancestors[0]) this.rounds.snapshot(ss);
    for (const l of this.snapshotListeners) {
      try { l(ss); } catch (err) { this.log?.warn({ err }, 'snapshot listener failed'); }
    }
  }

  // ---- the round machine's actions ----

  private act(a: RoundAction): void {
    if (this.closed) return;
    switch (a.type) {
      case 'publish': {
        const m = a.message;
        const net = this.genesis.networkId;
        if (m.kind === 'final' && m.final.aggregate.path !== '' && m.final.aggregate.path.length === this.genesis.depth - 1) {
          // a lowest triad's final, with the snapshots it includes, to every node (apex topic): its
          // parent round's members take the final, every proving layer the snapshots
          void this.publish(triadTopic(net, ''), GossipKind.lowestFinal, encodeLowestFinal({ final: m.final, snapshots: this.includedSnapshots(m.final.aggregate) }));
          return;
        }
        const [kind, payload] = m.kind === 'snapshot' ? [GossipKind.snapshot, encodeSignedSnapshot(m.snapshot)] as const
          : m.kind === 'aggregateSig' ? [GossipKind.aggregateSig, encodeAggregateSig({ aggregate: m.aggregate, signature: m.signature })] as const
            : [GossipKind.finalAggregate, encodeFinalAggregate(m.final)] as const;
        // an upper triad's member signature: to the phase's signers only (see protocolTable)
        const upperSig = m.kind === 'aggregateSig' && a.topic.length < this.genesis.depth - 1;
        void this.publish(upperSig ? signersTopic(net, a.topic, m.aggregate.epoch % 3) : triadTopic(net, a.topic), kind, payload);
        return;
      }
      case 'fetch':
        void this.fetchFor(a.id, a.request, a.maxPeers, a.atOnce, a.prefer);
        return;
      case 'record-sign':
        this.guard.record(a.path, a.epoch, a.hash, a.upgradeFrom).then(
          () => { if (!this.closed) this.rounds.signRecorded(a.id); },
          (err: unknown) => this.rounds.signFailed(a.id, (err as Error).message),
        );
        return;
      case 'prune-signs':
        if (a.below > this.guard.lowWaterEpoch) void this.guard.pruneBelow(a.below).catch((err) => this.log?.warn({ err: (err as Error).message }, 'cannot prune sign records'));
        return;
      case 'global': {
        const ev = a.event;
        const e = ev.global.aggregate.epoch;
        void this.store?.put(globalKey(e), encodeFinalAggregate(ev.global)).catch((err) => {
          // a put still pending when the node closes (a replica's resync) fails harmlessly: the global is fetched again
          if (this.closed) this.log?.debug({ err: (err as Error).message, epoch: e }, 'global snapshot not stored: closing');
          else this.log?.error({ err, epoch: e }, 'cannot store global snapshot');
        });
        this.log?.info({ epoch: e, root: toHex(ev.root), latencyMs: ev.latencyMs }, 'global snapshot final');
        for (const l of this.listeners) {
          try { l(ev); } catch (err) { this.log?.warn({ err }, 'global listener failed'); }
        }
        return;
      }
      case 'sync-done':
        for (const w of this.syncWaiters.splice(0)) w();
        return;
      case 'log':
        this.log?.[a.level](a.data, a.msg);
        return;
    }
  }

  /** The signed snapshots a lowest aggregate includes (not carried), those this node holds. */
  private includedSnapshots(agg: TriadAggregate): SignedSnapshot[] {
    const out: SignedSnapshot[] = [];
    agg.children.forEach((c, i) => {
      if (c.carried || c.epoch !== agg.epoch) return;
      const ss = this.rounds.snapshotOf(agg.path + String(i), agg.epoch);
      if (ss && bytesEqual(snapshotHash(ss.snapshot), c.commitment)) out.push(ss);
    });
    return out;
  }

  /** Carries out the round machine's fetch `id`: peers in turn until the machine takes an answer. */
  private async fetchFor(id: number, q: RoundFetch, maxPeers: number, atOnce: boolean, prefer?: ShardId[]): Promise<void> {
    const req: FetchRequest = q.kind === 'globalLatest' ? { kind: FetchKind.globalLatest, path: '', epoch: 0 }
      : q.kind === 'globalAt' ? { kind: FetchKind.globalAt, path: '', epoch: q.epoch }
        : { kind: q.kind === 'snapshot' ? FetchKind.snapshot : q.kind === 'roundSigs' ? FetchKind.roundSigs : FetchKind.finalAggregate, path: q.path, epoch: q.epoch };
    const first = (prefer ?? []).map((s) => this.peers.byShard.get(s)).filter((p): p is string => p !== undefined);
    try {
      await (atOnce ? askAtOnce : askInTurn)({
        p2p: this.p2p, protocol: fetchProtocol(this.genesis.networkId), peers: this.askOrder(first, maxPeers),
        request: encodeFetchRequest(req), timeoutMs: this.timing.fetchTimeoutMs, stats: this.counters, cancelled: () => this.closed,
        // the preferred peer alone unless it fails, answers nothing usable or is silent for a
        // quarter of the round's fetch wait (fetch-client.ts): one stream per fetch, not one per peer
        hedgeMs: Math.floor(this.timing.fetchWaitMs / 4), after: (ms, fn) => this.sched.after(ms, fn),
        take: (b) => {
          const ans: FetchAnswer = q.kind === 'snapshot' ? { kind: 'snapshot', snapshot: decodeSignedSnapshot(b) }
            : q.kind === 'roundSigs' ? { kind: 'sigs', sigs: decodeRoundSigs(b) } : { kind: 'final', final: decodeFinalAggregate(b) };
          return this.rounds.answer(id, ans);
        },
        onRefused: (peer, why) => this.log?.debug({ peer, kind: req.kind, path: req.path, epoch: req.epoch, why }, 'fetch: no usable answer'),
      });
    } finally {
      if (!this.closed) this.rounds.fetchDone(id);
    }
  }

  // ---- public API ----

  /** After each seal: publish this shard's signed snapshot (its lowest triad's topic) and feed it to the local round. */
  async publishSnapshot(ss: SignedSnapshot): Promise<void> {
    this.rounds.ownSnapshot(ss);
  }

  /**
   * Routing fallback: publishes a batch of signed transactions on the home shard's tx topic, only
   * if the home's validator peer (genesis) is among that topic's subscribers; resolves to the
   * number of recipients. Throws when it is not: nobody else's subscription counts as reaching home.
   */
  async publishTxs(shard: ShardId, txs: Uint8Array[]): Promise<number> {
    const topic = txTopic(this.genesis.networkId, shard);
    // any replica of a replicated home shard: its writer takes the batch, its followers ignore it
    const homes = this.peers.replicasOf.get(shard) ?? [];
    const subscribed = this.p2p.topicPeers(topic);
    if (!homes.some((h) => subscribed.includes(h))) throw new Error(`home-unreachable: no validator of shard ${shard} is connected`);
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
    // a replicated home shard: its replicas in turn (a follower refuses, only the writer takes them)
    const connected = this.p2p.connectedPeers();
    const peers = (this.peers.replicasOf.get(home) ?? []).filter((p) => p !== this.p2p.peerId && connected.includes(p));
    for (const peer of peers) {
      try {
        const b = await this.p2p.request(peer, submitProtocol(net), encodeTxBatch(txs), { timeoutMs: SUBMIT_TIMEOUT_MS });
        return decodeSubmitResults(b, txs.length);
      } catch (err) {
        this.log?.debug({ peer, home, err: (err as Error).message }, 'direct submission failed');
      }
    }
    return undefined;
  }

  latestGlobalEpoch(): number {
    return this.rounds.latestGlobalEpoch();
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
   * one is logged and the next peer asked. Returns the decoded batch or undefined.
   */
  async fetchReceipts(src: ShardId, dst: ShardId, from: bigint | { next: bigint; head: Uint8Array }, maxPeers = 4): Promise<ReceiptBatch | undefined> {
    const fromSeq = typeof from === 'bigint' ? from : from.next;
    let got: ReceiptBatch | undefined;
    await askInTurn({
      p2p: this.p2p, protocol: fetchProtocol(this.genesis.networkId), peers: this.askOrder([this.peers.byShard.get(src)].filter((p): p is string => p !== undefined), maxPeers),
      request: encodeFetchRequest({ kind: FetchKind.receipts, path: src + dst, epoch: Number(fromSeq) }), timeoutMs: this.timing.fetchTimeoutMs, stats: this.counters,
      take: (b) => {
        const batch = decodeReceiptBatch(b);
        if (batch.snapshot.snapshot.shard !== src) throw new Error(`a batch of ${batch.snapshot.snapshot.shard}, asked for ${src}`);
        verifyReceiptBatch(batch, this.genesis, dst);
        if (typeof from !== 'bigint') checkReceiptChain(batch, from);
        got = batch;
        return true;
      },
      onRefused: (peer, why) => this.log?.warn({ peer, src, err: why }, 'receipt fetch: no usable answer'),
    });
    return got;
  }

  /** Connected validator peers to ask, `first` (if connected) ahead of the others in rotation. */
  /** Connected validator peers to ask: `first` (those connected, in order), then the others in rotation; at most `max`. */
  private askOrder(first: readonly string[], max: number): string[] {
    const connected = this.p2p.connectedPeers().filter((p) => this.peers.ids.has(p) && p !== this.p2p.peerId);
    const head = first.filter((p, i) => connected.includes(p) && first.indexOf(p) === i);
    const rest = connected.filter((p) => !head.includes(p));
    const start = rest.length ? this.peerCursor++ % rest.length : 0;
    const rotated = [...rest.slice(start), ...rest.slice(0, start)];
    return [...head, ...rotated].slice(0, max);
  }

  latestGlobalSnapshot(): GlobalSnapshot | undefined {
    return this.rounds.latestGlobalSnapshot();
  }

  /** The global snapshot of `epoch`, from memory or the store. */
  async globalAt(epoch: number): Promise<GlobalSnapshot | undefined> {
    const g = this.rounds.globalInMemory(epoch);
    if (g || !this.store) return g;
    const b = await this.store.get(globalKey(epoch));
    return b ? decodeFinalAggregate(b) : undefined;
  }

  finalAggregate(path: string, epoch: number): FinalAggregate | undefined {
    return this.rounds.finalAggregate(path, epoch);
  }

  snapshotOf(shard: string, epoch: number): SignedSnapshot | undefined {
    return this.rounds.snapshotOf(shard, epoch);
  }

  /** Every shard's gossiped snapshot, once validated (signature, network, not stale); not this node's own. */
  onSnapshot(listener: (ss: SignedSnapshot) => void): () => void {
    this.snapshotListeners.add(listener);
    return () => this.snapshotListeners.delete(listener);
  }

  onGlobal(listener: (e: GlobalEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One catch-up pass now (see RoundMachine.startSync); resolves when its answers are in. */
  syncNow(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.syncWaiters.push(resolve);
      this.rounds.startSync(); // false: a pass is running, and its end resolves this too
    });
  }

  stats(): NetworkStats {
    // sender rejections happen in the libp2p layer, before our topic validators: counted with ours
    const a = this.p2p.admissionStats();
    return {
      latestGlobalEpoch: this.rounds.latestGlobalEpoch(), ...this.counters, signaturesRefused: this.rounds.signaturesRefused,
      rejected: this.counters.rejected + a.rejectedSenders, peers: this.p2p.connectedPeers().length,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const stop of this.stopTimers.splice(0)) stop();
    for (const w of this.syncWaiters.splice(0)) w();
    uninstallRoutes(this.p2p, [...this.topics.triads, ...this.topics.signers, this.topics.tx]);
  }

  // ---- gossip in ----

  /** A pushed receipt batch's source: a validator shard of this network other than us, whose
   * snapshot signature verifies. Cheap next to the batch's proofs; the shard checks the rest. */
  private checkReceiptSource(b: ReceiptBatch): ValidationOutcome {
    const s = b.snapshot.snapshot;
    if (s.network !== this.genesis.networkId) return reject('wrong-network');
    const key = this.genesis.validators.get(s.shard);
    if (!key || s.shard.length !== this.genesis.depth || s.shard === this.shard) return reject('invalid', `receipts from ${JSON.stringify(s.shard)}`);
    return verifyShardSnapshot(this.genesis, b.snapshot) ? ACCEPT : reject('bad-signature', `receipt batch: snapshot ${s.shard}@${s.epoch} is not signed by its validator`);
  }

  // ---- gossip out ----

  private async publish(topic: string, kind: GossipKind, payload: Uint8Array): Promise<void> {
    if (this.closed) return;
    const data = encodeEnvelope({ kind, network: this.genesis.networkId, payload });
    this.countOut(data);
    try {
      await this.p2p.publish(topic, data);
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, topic, kind }, 'publish failed');
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

  // ---- catch-up: serving ----

  private async serveFetch(req: Uint8Array, peer?: string): Promise<Uint8Array> {
    this.counters.fetchesServed++;
    const q = decodeFetchRequest(req);
    const none = new Uint8Array();
    switch (q.kind) {
      case FetchKind.snapshot: {
        const s = this.rounds.snapshotOf(q.path, q.epoch);
        return s ? encodeSignedSnapshot(s) : none;
      }
      case FetchKind.finalAggregate: {
        const f = this.rounds.finalAggregate(q.path, q.epoch);
        return f ? encodeFinalAggregate(f) : none;
      }
      case FetchKind.globalLatest: {
        const g = this.rounds.latestGlobalSnapshot();
        return g ? encodeFinalAggregate(g) : none;
      }
      case FetchKind.globalAt: {
        const g = await this.globalAt(q.epoch);
        return g ? encodeFinalAggregate(g) : none;
      }
      case FetchKind.roundSigs: {
        const sigs = this.rounds.roundSignatures(q.path, q.epoch);
        return sigs.length ? encodeRoundSigs(sigs) : none;
      }
      case FetchKind.receipts: {
        const d = this.genesis.depth;
        if (q.path.length !== 2 * d || q.path.slice(0, d) !== this.shard || !this.o.serveReceipts) return none;
        return (await this.o.serveReceipts(q.path.slice(d) as ShardId, BigInt(q.epoch), peer)) ?? none; // budgeted per asking peer (xshard.ts)
      }
    }
  }

  /** The latest stored global snapshot becomes the round chain's head; the catch-up window's epochs count as held. */
  private async loadStore(): Promise<void> {
    if (!this.store) return;
    const globals: GlobalSnapshot[] = [];
    const held: number[] = [];
    for await (const [k, v] of this.store.iterator({ reverse: true, limit: this.keepEpochs + 1 })) {
      if (globals.length === 0) {
        try {
          const g = decodeFinalAggregate(v);
          if (verifyFinalAggregate(g, this.genesis).ok) globals.push(g);
        } catch (err) {
          this.log?.warn({ err }, 'stored global snapshot unreadable');
        }
      } else if (/^\d+$/.test(k)) held.push(Number(k));
    }
    this.rounds.restore(globals, held);
  }
}

/** An upper triad and a phase (epoch mod 3) in which a shard signs for its member subtree there. */
export interface SignerPhase { path: TriadPath; phase: number }

/**
 * The signers topics `shard` listens on: for every ancestor triad above its lowest one, the phases
 * in which it is the rotation's signer for its member subtree. The rotation (publisherOrder) depends
 * on the epoch mod 3 only, so each phase has three fixed signers per triad, and they are also the
 * triad's publishers in turn.
 */
export function signerPhasesOf(genesis: Pick<Genesis, 'depth'>, shard: ShardId): SignerPhase[] {
  const out: SignerPhase[] = [];
  for (const t of ancestorsOf(shard).slice(1)) {
    const member = shard.slice(0, t.length + 1);
    for (let phase = 0; phase < 3; phase++) if (signerFor(member, phase, genesis.depth, 0) === shard) out.push({ path: t, phase });
  }
  return out;
}

function defaultTiming(epochMs: number): AggregationTiming {
  return { ...defaultRoundTimingFor(epochMs), tickMs: 1000, fetchTimeoutMs: 2000 };
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
