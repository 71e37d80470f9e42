// The triad aggregation rounds of one node (docs/PROTOCOL.md, docs/NETWORK.md), as pure protocol
// code: events in (snapshots, signatures, finals, fetched records, ticks), actions out (publish,
// fetch, record a signature, store a global). No I/O and no timers: time comes from an injected
// clock and every effect leaves through the `out` port, so the same code runs under libp2p
// (src/gossip/network.ts) and under the simulator's virtual clock (test/sim/).
//
// Per triad T on the path from this node's shard to the apex, per epoch e (a "round"):
//   1. collect the three children (shard snapshots at the lowest level, child final aggregates
//      above); after the round's timeout from the first arrival, ask peers for missing ones and
//      wait at most `fetchWaitMs` for answers (the transport's request timeouts never hold a round),
//      then carry what is still missing forward (computeAggregate);
//   2. compute the aggregate (prev = T's final at e-1, waited for up to the same timeout) and sign
//      it if this shard is the rotation-chosen signer of its member subtree, once the signing
//      record is durable (sign guard); publish the signature on T's topic;
//   3. any aggregate with 2 of 3 member signatures is final; above the lowest level the children's
//      final aggregates are attached (fetched if missing);
//   4. the rotation-chosen publisher puts T's final on the parent's topic (the apex's on the apex
//      topic), the next in turn after a lease if nobody did; T's parent round takes it as input.
// The apex final of epoch e is the global snapshot of e.
import { bytesEqual, toHex } from '../core/bytes.js';
import type { Genesis } from '../core/genesis.js';
import { ancestorsOf, parentOf, type ShardId, type TriadPath } from '../core/ids.js';
import { aggregateHash, computeAggregate, AggregateInputError, isZeroHash, type ChildInput, type TriadAggregate } from './aggregate.js';
import { signAggregate, verifyFinalAggregate, verifyMemberSignature, type FinalAggregate, type MemberSignature } from './finality.js';
import { attemptOf, publisherOrder, signerFor, turnAt } from './rotation.js';
import type { SignVerdict } from './sign-guard.js';
import type { GlobalSnapshot } from './global.js';
import { genesisChildSupplies } from './genesis-supply.js';
import type { SignedSnapshot } from '../shard/snapshot.js';
import { verifyShardSnapshot } from '../replica/keys.js';
import { TermFence } from '../replica/fence.js';
import { snapshotHash } from '../shard/snapshot.js';

export interface RoundTiming {
  /** How long a lowest-level round waits for missing children (and for T's previous final) after its
   * first input; each level up waits one more of these plus a fetch wait and a lease. */
  childTimeoutMs: number;
  /** Rotation lease: the next publisher in turn takes over after this long. */
  leaseMs: number;
  /** How long a round waits for answers to its fetches of missing inputs before carrying them. */
  fetchWaitMs: number;
  /** Period of catch-up (a peer's latest global snapshot and the holes below it) while it is needed:
   * no new global snapshot for this long, or holes below the latest. Otherwise a pass runs every
   * SYNC_IDLE_FACTOR periods (gossip brings the globals; see startSync). 0 disables. */
  syncIntervalMs: number;
}

/** Defaults from the epoch length: every wait of a round is a fraction of an epoch. */
export function defaultRoundTiming(epochMs: number): RoundTiming {
  return {
    childTimeoutMs: Math.max(200, Math.floor(epochMs / 2)),
    leaseMs: Math.max(100, Math.floor(epochMs / 4)),
    fetchWaitMs: Math.max(100, Math.floor(epochMs / 4)),
    syncIntervalMs: Math.max(1000, 2 * epochMs),
  };
}

/** What to ask peers for (the fetch protocol's request kinds, src/gossip/fetch.ts). */
export type RoundFetch =
  | { kind: 'snapshot'; path: string; epoch: number }
  | { kind: 'finalAggregate'; path: string; epoch: number }
  | { kind: 'globalLatest' }
  | { kind: 'globalAt'; epoch: number }
  | { kind: 'roundSigs'; path: string; epoch: number };

/** Decoded answers the transport hands back for a fetch. */
export type FetchAnswer = { kind: 'snapshot'; snapshot: SignedSnapshot } | { kind: 'final'; final: FinalAggregate }
  | { kind: 'sigs'; sigs: { aggregate: TriadAggregate; signature: MemberSignature }[] };

export interface GlobalEvent {
  global: GlobalSnapshot;
  root: Uint8Array;
  /** ms from this node's publishSnapshot for the epoch to the global snapshot being final here, if known. */
  latencyMs?: number;
}

export type RoundAction =
  /** Gossip on the topic of triad `topic` ('' = apex). */
  | { type: 'publish'; topic: TriadPath; message: { kind: 'snapshot'; snapshot: SignedSnapshot } | { kind: 'aggregateSig'; aggregate: TriadAggregate; signature: MemberSignature } | { kind: 'final'; final: FinalAggregate } }
  /** Ask peers (`prefer`'s validators first, at most `maxPeers`) until `answer(id, …)` returns true; then
   * `fetchDone(id)`. `atOnce`: ask them all at the same time (the round has a deadline shorter than
   * a request timeout), else one after the other. */
  | { type: 'fetch'; id: number; request: RoundFetch; prefer?: ShardId[]; maxPeers: number; atOnce: boolean }
  /** Make the signing record durable (sign guard), then call `signRecorded(id)` (or `signFailed(id)`).
   * With `upgradeFrom`: the round's one upgrade from that signed aggregate (see `maybeUpgrade`). */
  | { type: 'record-sign'; id: number; path: TriadPath; epoch: number; hash: Uint8Array; upgradeFrom?: Uint8Array }
  /** Rounds this old are never signed again: their signing records may go. */
  | { type: 'prune-signs'; below: number }
  /** A global snapshot became final here: store it and tell listeners. */
  | { type: 'global'; event: GlobalEvent }
  /** A catch-up pass (tick-driven or `startSync`) has had all its answers. */
  | { type: 'sync-done' }
  /** Something worth a log line (never needed for correctness). */
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; msg: string; data: Record<string, unknown> };

export interface RoundMachineOptions {
  genesis: Genesis;
  shard: ShardId;
  /** Signs an aggregate hash with this node's validator key (pure). */
  secretKey: Uint8Array;
  /** The sign guard's verdict for (path, epoch, hash) and its low-water mark (sign-guard.ts). */
  guard: { check(path: string, epoch: number, hash: Uint8Array): SignVerdict; readonly lowWaterEpoch: number };
  now: () => number;
  out: (a: RoundAction) => void;
  timing?: Partial<RoundTiming>;
  /** Rounds older than the latest global epoch minus this are dropped (default 32). */
  keepEpochs?: number;
  /** May this node sign rounds of `epoch` now? A replicated shard signs only through its writer,
   * and only rounds no earlier writer can have signed (docs/REPLICAS.md). Default: always. */
  canSign?: (epoch: number) => boolean;
  /**
   * Event-driven timers: after every event and tick, called with the earliest clock time at which
   * tick() has something to do (a round's timeout, a fetch wait, a publisher's lease turn, a
   * signature pull, the next catch-up pass; Infinity: only an event can move anything). A driver
   * that passes it ticks then (plus a slow safety-net tick) instead of every few tens of ms.
   * Without it nothing changes: the driver calls tick() periodically.
   */
  wake?: (at: number) => void;
}

/**
 * The sign guard's low-water mark moves this many epochs at a time: its write is fsync'd
 * (sign-guard.ts), one per step instead of one per epoch (a third of a node's fsyncs at idle). The
 * records it drops are of stale rounds, which are never signed anyway (`stale`, gc); they are
 * kept up to this many epochs longer (a few hashes each).
 */
export const PRUNE_SIGNS_EVERY = 16;

/** While signing waits for `canSign` (a replica not yet allowed to sign), how often tick() asks again. */
const CAN_SIGN_POLL_MS = 50;

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
  /** none -> fetching (until all answered or fetchWaitMs passed) -> done */
  fetchState: 'none' | 'fetching' | 'done';
  fetchUntil: number;
  fetchesOpen: number;
  computed: TriadAggregate | null;
  /** The `prev` the aggregate was computed on (an upgrade recomputes on the same one). */
  computedPrev: TriadAggregate | null;
  computedAt: number;
  /** aggregateHash(computed), once computed (asked for on every tick until the round is final). */
  computedHash: Uint8Array | null;
  /** Hash of the aggregate this node signed first in this run (null: none). */
  signedHash: Uint8Array | null;
  /** The one upgrade (maybeUpgrade): none yet -> fetching the inputs it lacks -> signing -> done. */
  upgrade: 'none' | 'fetching' | 'done';
  upgradeFetchAt: number;
  upgradeFetches: number;
  signedAt: number;
  /** Pulls of the other members' signatures (their gossip can be lost), and when the last one went. */
  sigPulls: number;
  lastSigPull: number;
  failed: boolean;
  signing: boolean;
  candidates: Map<string, Candidate>;
  final: FinalAggregate | null;
  finalAt: number;
  finalSeenPublished: boolean;
  iPublished: boolean;
  lastChildFetch: number;
}

type FetchPurpose =
  | { what: 'input'; round: Round; pos: number }
  | { what: 'prev'; round: Round }
  | { what: 'upgrade-input'; round: Round; pos: number }
  | { what: 'sigs'; round: Round }
  | { what: 'child-final'; path: string; commitment: Uint8Array }
  | { what: 'global'; epoch?: number };


const SYNC_ATTEMPTS = 3;
/** Fetch rounds an upgrade makes for snapshots it lacks before it gives up (one fetch wait apart). */
const UPGRADE_FETCHES = 3;
/** Pulls of a signed, not yet final round's signatures from the other members' signers. */
const SIG_PULLS = 3;
/** At most this many signatures in one roundSigs answer (3 positions, a first and an upgrade each). */
const MAX_ROUND_SIGS = 6;
const SYNC_HOLES_PER_PASS = 8;
/** With globals arriving by gossip and no holes, a catch-up pass runs only every this many sync
 * intervals (a safety net; at 1 s epochs every 32 s instead of every 2 s). */
export const SYNC_IDLE_FACTOR = 16;

export class RoundMachine {
  readonly genesis: Genesis;
  readonly shard: ShardId;
  readonly timing: RoundTiming;
  readonly keepEpochs: number;
  /** Triads from this shard's lowest one up to the apex. */
  readonly ancestors: TriadPath[];
  private readonly ancestorSet: Set<string>;
  private readonly secretKey: Uint8Array;
  private readonly guard: RoundMachineOptions['guard'];
  private readonly now: () => number;
  private readonly out: (a: RoundAction) => void;
  private readonly canSign: ((epoch: number) => boolean) | undefined;
  private readonly wakeFn: ((at: number) => void) | undefined;
  /** When tick() last ran: deadlines at or before it were handled by it (or wait for an event). */
  private lastTickAt = -Infinity;
  /** Rounds with 2 signatures on one aggregate that wait for attached children's finals (tryFinalize). */
  private readonly childWait = new Set<Round>();
  private retryingChildren = false;
  /** Replicated shards' snapshots: never two of one (shard, epoch), never a deposed term's (replica/fence.ts). */
  private readonly fence = new TermFence();
  /** Snapshots the fence refused (a deposed writer's, or a second one of an epoch). */
  snapshotsFenced = 0;
  private readonly rounds = new Map<string, Round>(); // `${path}@${epoch}`
  /**
   * The rounds whose deadline may still be finite, for settle(): a round whose final is published
   * (seen or by this node) never acts by the clock again, and settle() runs on every event, over
   * 32 epochs of rounds (~1% of nine idle nodes' CPU when it walked them all).
   */
  private readonly open = new Set<Round>();
  private readonly finals = new Map<string, Map<number, FinalAggregate>>(); // path -> epoch -> final
  private readonly snapshots = new Map<string, SignedSnapshot>(); // `${shard}@${epoch}`
  private readonly globals = new Map<number, GlobalSnapshot>();
  /** Epochs whose global snapshot the node's store holds (restored at start), beyond `globals`. */
  private readonly stored = new Set<number>();
  private readonly sealedAt = new Map<number, number>();
  private latestGlobal = -1;
  private readonly fetches = new Map<number, FetchPurpose>();
  private nextId = 1;
  private readonly signs = new Map<number, { round: Round; aggregate: TriadAggregate; position: number; attempt: number; upgrade: boolean }>();
  private readonly syncTries = new Map<number, number>();
  private syncOpen = 0;
  private nextSyncAt: number;
  /** When the latest pass started, and when a global snapshot not held before was last recorded. */
  private lastSyncAt = -Infinity;
  private lastNewGlobalAt = -Infinity;
  /** The latest global epoch the last gc() ran for (gc's work changes only when it moves). */
  private gcFor = Number.NaN;
  /** Rounds this validator did not sign because it had signed another aggregate for them. */
  signaturesRefused = 0;
  /** Rounds in which this validator signed a second, richer aggregate (maybeUpgrade). */
  upgrades = 0;
  /** Own signatures not published on their own because the round's final (out already) carries what counts. */
  signaturesWithheld = 0;

  constructor(o: RoundMachineOptions) {
    if (o.genesis.depth < 1) throw new RangeError('the hierarchy needs depth >= 1 (3 or more shards)');
    this.genesis = o.genesis;
    this.shard = o.shard;
    this.secretKey = o.secretKey;
    this.guard = o.guard;
    this.now = o.now;
    this.out = o.out;
    this.canSign = o.canSign;
    this.wakeFn = o.wake;
    this.timing = { ...defaultRoundTiming(o.genesis.epochMs), ...o.timing };
    this.keepEpochs = o.keepEpochs ?? 32;
    this.ancestors = ancestorsOf(o.shard);
    this.ancestorSet = new Set(this.ancestors);
    // a (re)started node catches up as soon as its first peers are likely connected
    this.nextSyncAt = this.now() + Math.min(1000, this.timing.syncIntervalMs);
  }

  // ---- state the transport serves and the API reads ----

  latestGlobalEpoch(): number {
    return this.latestGlobal;
  }

  latestGlobalSnapshot(): GlobalSnapshot | undefined {
    return this.globals.get(this.latestGlobal);
  }

  globalInMemory(epoch: number): GlobalSnapshot | undefined {
    return this.globals.get(epoch);
  }

  finalAggregate(path: string, epoch: number): FinalAggregate | undefined {
    return this.finals.get(path)?.get(epoch);
  }

  snapshotOf(shard: string, epoch: number): SignedSnapshot | undefined {
    return this.snapshots.get(`${shard}@${epoch}`);
  }

  /** Messages about epochs this old are Ignored (and never verified). */
  stale(epoch: number): boolean {
    return epoch < this.latestGlobal - this.keepEpochs;
  }

  // ---- events ----

  /**
   * Global snapshots read back from the store at start (verified by the caller), any order: the
   * latest becomes the round chain's head; the others only count as held (catch-up skips them).
   */
  restore(globals: GlobalSnapshot[], storedEpochs: number[] = []): void {
    for (const e of storedEpochs) this.stored.add(e);
    let latest: GlobalSnapshot | undefined;
    for (const g of globals) {
      this.stored.add(g.aggregate.epoch);
      if (!latest || g.aggregate.epoch > latest.aggregate.epoch) latest = g;
    }
    if (latest) this.recordFinal(latest, false);
    this.settle();
  }

  /** This node sealed `ss`: publish it to the lowest triad and feed the local round. */
  ownSnapshot(ss: SignedSnapshot): void {
    const s = ss.snapshot;
    if (s.shard !== this.shard || s.network !== this.genesis.networkId) throw new RangeError(`snapshot of ${s.network}/${s.shard} is not this node's`);
    this.sealedAt.set(s.epoch, this.now());
    this.acceptSnapshot(ss);
    this.out({ type: 'publish', topic: this.ancestors[0]!, message: { kind: 'snapshot', snapshot: ss } });
    this.settle();
  }

  /** A gossiped (already validated) shard snapshot of a sibling. */
  snapshot(ss: SignedSnapshot): void {
    this.acceptSnapshot(ss);
    this.settle();
  }

  /** A gossiped (already validated) member signature on triad `t`'s topic. */
  signature(t: TriadPath, aggregate: TriadAggregate, sig: MemberSignature): void {
    if (this.stale(aggregate.epoch)) return;
    this.addSig(this.round(t, aggregate.epoch), aggregate, sig);
    this.settle();
  }

  /** A gossiped (already validated) final aggregate. */
  final(fa: FinalAggregate): void {
    this.recordFinal(fa);
    const r = this.rounds.get(`${fa.aggregate.path}@${fa.aggregate.epoch}`);
    if (r) r.finalSeenPublished = true;
    this.settle();
  }

  /**
   * One peer's answer to fetch `id`: true if it verified and was taken (stop asking), false to ask
   * the next peer. Answers to fetches this machine no longer waits for are dropped (true).
   */
  answer(id: number, a: FetchAnswer): boolean {
    try {
      return this.take(id, a);
    } finally {
      this.settle();
    }
  }

  private take(id: number, a: FetchAnswer): boolean {
    const p = this.fetches.get(id);
    if (!p) return true;
    const net = this.genesis.networkId;
    switch (p.what) {
      case 'input': {
        const r = p.round;
        const child = r.path + String(p.pos);
        if (r.lowest) {
          if (a.kind !== 'snapshot') return false;
          const s = a.snapshot.snapshot;
          if (s.shard !== child || s.epoch !== r.epoch || s.network !== net || !verifyShardSnapshot(this.genesis, a.snapshot)) return false;
          if (!this.fenced(a.snapshot)) return false;
          if (!r.inputs[p.pos] && !r.computed && !r.final) {
            this.snapshots.set(`${child}@${r.epoch}`, a.snapshot);
            r.inputs[p.pos] = { kind: 'snapshot', snapshot: s };
          }
          return true;
        }
        if (a.kind !== 'final' || a.final.aggregate.path !== child || a.final.aggregate.epoch !== r.epoch || !this.verified(a.final)) return false;
        this.recordFinal(a.final); // feeds r.inputs[pos] unless computed meanwhile
        return true;
      }
      case 'prev': {
        const r = p.round;
        if (a.kind !== 'final' || a.final.aggregate.path !== r.path || a.final.aggregate.epoch !== r.epoch - 1 || !this.verified(a.final)) return false;
        this.recordFinal(a.final);
        return true;
      }
      case 'sigs': {
        const r = p.round;
        if (a.kind !== 'sigs') return false;
        let valid = 0;
        for (const m of a.sigs) {
          if (m.aggregate.network !== net || m.aggregate.path !== r.path || m.aggregate.epoch !== r.epoch || !verifyMemberSignature(m.aggregate, m.signature, this.genesis)) continue;
          valid++;
          if (!r.final) this.addSig(r, m.aggregate, m.signature);
        }
        return valid > 0;
      }
      case 'upgrade-input': {
        const r = p.round;
        const child = r.path + String(p.pos);
        if (a.kind !== 'snapshot') return false;
        const s = a.snapshot.snapshot;
        if (s.shard !== child || s.epoch !== r.epoch || s.network !== net || !verifyShardSnapshot(this.genesis, a.snapshot)) return false;
        this.snapshots.set(`${child}@${r.epoch}`, a.snapshot);
        return true;
      }
      case 'child-final': {
        if (a.kind !== 'final' || a.final.aggregate.path !== p.path || !bytesEqual(aggregateHash(a.final.aggregate), p.commitment) || !this.verified(a.final)) return false;
        this.recordFinal(a.final);
        return true;
      }
      case 'global': {
        if (a.kind !== 'final' || a.final.aggregate.path !== '' || (p.epoch !== undefined && a.final.aggregate.epoch !== p.epoch)) return false;
        // the global this node holds for that epoch (the usual answer to "latest"): nothing to record, nothing to verify
        const held = this.globals.get(a.final.aggregate.epoch);
        if (held && bytesEqual(aggregateHash(held.aggregate), aggregateHash(a.final.aggregate))) return true;
        if (!this.verified(a.final)) return false;
        if (!this.globals.has(a.final.aggregate.epoch)) {
          this.recordFinal(a.final);
          if (p.epoch !== undefined) {
            this.syncTries.delete(p.epoch);
            this.out({ type: 'log', level: 'info', msg: 'missed global snapshot fetched', data: { epoch: p.epoch } });
          }
        }
        return true;
      }
    }
  }

  /** Fetch `id` is over (answered, or every peer asked). */
  fetchDone(id: number): void {
    const p = this.fetches.get(id);
    if (!p) return;
    this.fetches.delete(id);
    if (p.what === 'input' || p.what === 'prev') {
      const r = p.round;
      if (--r.fetchesOpen <= 0 && r.fetchState === 'fetching') {
        r.fetchState = 'done';
        this.tryCompute(r);
      }
    } else if (p.what === 'upgrade-input') {
      if (p.round.upgrade === 'fetching') {
        p.round.upgrade = 'none';
        this.maybeUpgrade(p.round);
      }
    } else if (p.what === 'global') {
      if (p.epoch === undefined) this.syncHoles(); // the latest is known (or not): now the holes below it
      if (--this.syncOpen === 0) this.out({ type: 'sync-done' });
    }
    this.settle();
  }

  /** The signing record of `id` is durable: sign and publish. */
  signRecorded(id: number): void {
    const s = this.signs.get(id);
    if (!s) return;
    this.signs.delete(id);
    const { round: r, aggregate: agg } = s;
    r.signing = false;
    if (s.upgrade) {
      r.upgrade = 'done';
      this.upgrades++;
      this.out({ type: 'log', level: 'info', msg: 'upgraded signature: signed the richer aggregate another member signed', data: { path: r.path, epoch: r.epoch } });
    } else if (!r.signedHash) {
      r.signedHash = aggregateHash(agg);
      r.signedAt = this.now();
    }
    const wasFinal = r.final !== null;
    const sig = signAggregate(agg, s.position, s.attempt, this.secretKey);
    this.addSig(r, agg, sig);
    // Nobody needs the signature on its own when the round's final is out: it became final from the
    // others' signatures while this one's record was written, or this signature made it final and
    // this node has just published that final, which carries it.
    const inFinal = r.final !== null && (wasFinal || (r.iPublished && r.final.signatures.some((x) => x.position === sig.position && bytesEqual(x.signature, sig.signature))));
    if (inFinal) this.signaturesWithheld++;
    else this.out({ type: 'publish', topic: r.path, message: { kind: 'aggregateSig', aggregate: agg, signature: sig } });
    this.settle();
  }

  /** The signing record of `id` could not be written: this round is not signed. */
  signFailed(id: number, err: string): void {
    const s = this.signs.get(id);
    this.signs.delete(id);
    if (s) this.out({ type: 'log', level: 'warn', msg: 'not signing: cannot record the signature', data: { path: s.round.path, epoch: s.round.epoch, err } });
  }

  /**
   * Drives timeouts, leases and catch-up: call every few tens of ms, or (with the `wake` option)
   * when the machine asks for it.
   */
  tick(): void {
    const now = this.now();
    this.lastTickAt = now;
    for (const r of this.rounds.values()) {
      if (!r.computed && !r.final) this.tryCompute(r);
      if (r.computed && !r.final) this.maybeSign(r);
      if (r.signedHash && !r.final) this.maybeUpgrade(r);
      if (r.signedHash && !r.final) this.maybePullSigs(r, now);
      if (!r.final) for (const c of r.candidates.values()) if (c.sigs.size >= 2) this.tryFinalize(r, c);
      if (r.final && !r.finalSeenPublished && !r.iPublished) this.maybePublishFinal(r, now);
    }
    if (this.timing.syncIntervalMs > 0 && now >= this.nextSyncAt && this.syncNeeded(now)) this.beginSync();
    if (this.gcFor !== this.latestGlobal) {
      this.gcFor = this.latestGlobal;
      this.gc();
    }
    this.settle();
  }

  /**
   * Tells the driver (`wake`) when tick() next has something to do. Deadlines at or before the last
   * tick are left out: that tick handled them, or only an event can move them (an event handles
   * its own round at once: an input completes it, a signature finalises it, and so on).
   */
  private settle(): void {
    if (!this.wakeFn) return;
    const after = this.lastTickAt;
    let at = Infinity;
    for (const r of this.open) {
      if (r.final && (r.finalSeenPublished || r.iPublished)) {
        this.open.delete(r); // done for good: the flags are never cleared, a final never unset
        continue;
      }
      const d = this.deadlineOf(r);
      if (d > after && d < at) at = d;
    }
    const s = this.syncDeadline();
    if (s > after && s < at) at = s;
    this.wakeFn(at);
  }

  /** The earliest time at which tick() acts on round r by the clock alone (mirrors tick's steps). */
  private deadlineOf(r: Round): number {
    const t = this.timing;
    if (r.final) {
      if (r.finalSeenPublished || r.iPublished) return Infinity;
      // maybePublishFinal: the first turn at which this node is the publisher
      const order = publisherOrder(r.path, r.epoch);
      for (let k = 0; k < 3; k++) if (signerFor(r.path + String(order[k]), r.epoch, this.genesis.depth, 0) === this.shard) return r.finalAt + k * t.leaseMs;
      return Infinity;
    }
    let d = Infinity;
    if (!r.computed) {
      // tryCompute: the round's timeout from its first input, then the end of its fetch wait
      if (!r.failed && r.firstInputAt !== 0 && !(r.lowest && !r.inputs[this.ownPos(r)])) {
        if (r.fetchState === 'none') d = r.firstInputAt + this.roundTimeout(r);
        else if (r.fetchState === 'fetching') d = r.fetchUntil;
      }
    } else if (!r.signing && !r.signedHash && this.canSign && attemptOf(this.shard, r.path + String(this.ownPos(r)), r.epoch, this.genesis.depth) !== undefined && !this.canSign(r.epoch)) {
      // maybeSign waits for canSign (a replica's writer lease): asked again shortly
      d = this.now() + CAN_SIGN_POLL_MS;
    }
    if (r.signedHash) {
      // maybePullSigs
      if (r.sigPulls < SIG_PULLS) d = Math.min(d, Math.max(r.signedAt, r.lastSigPull) + t.childTimeoutMs);
      // maybeUpgrade: the next fetch round for the snapshots an upgrade lacks
      if (r.upgrade === 'none' && r.upgradeFetches > 0 && r.upgradeFetches < UPGRADE_FETCHES) d = Math.min(d, r.upgradeFetchAt + t.fetchWaitMs);
    }
    // tryFinalize: fetching the attached children's finals again
    if (this.childWait.has(r)) d = Math.min(d, r.lastChildFetch + t.fetchWaitMs + 1);
    return d;
  }

  /** When tick() next starts a catch-up pass (see syncNeeded); Infinity while one runs. */
  private syncDeadline(): number {
    const period = this.timing.syncIntervalMs;
    if (period <= 0 || this.syncOpen > 0) return Infinity;
    const due = this.hasHoles() ? -Infinity : Math.min(this.lastNewGlobalAt + period, this.lastSyncAt + SYNC_IDLE_FACTOR * period);
    return Math.max(this.nextSyncAt, due);
  }

  /**
   * Whether a catch-up pass is due now (nextSyncAt has passed): when this node has heard no new
   * global snapshot for a sync interval (cut off from gossip, restarted, stalled), when the window
   * below its latest global has holes still worth asking for, or as a safety net every
   * SYNC_IDLE_FACTOR intervals. A node that gossip keeps up to date asks its peers rarely.
   */
  private syncNeeded(now: number): boolean {
    const period = this.timing.syncIntervalMs;
    if (now - this.lastNewGlobalAt >= period || now - this.lastSyncAt >= SYNC_IDLE_FACTOR * period) return true;
    return this.hasHoles();
  }

  /** Epochs below the latest global in the catch-up window that are not held and still worth asking for. */
  private hasHoles(): boolean {
    const top = this.latestGlobal;
    for (let e = top - 1; e >= Math.max(0, top - this.keepEpochs); e--) {
      if (!this.globals.has(e) && !this.stored.has(e) && (this.syncTries.get(e) ?? 0) < SYNC_ATTEMPTS) return true;
    }
    return false;
  }

  // ---- rounds ----

  private fetch(purpose: FetchPurpose, request: RoundFetch, maxPeers: number, prefer?: ShardId | ShardId[]): void {
    const id = this.nextId++;
    this.fetches.set(id, purpose);
    // everything but catch-up serves a round that will not wait a whole request timeout
    const atOnce = purpose.what !== 'global';
    this.out({ type: 'fetch', id, request, maxPeers, prefer: prefer === undefined ? undefined : Array.isArray(prefer) ? prefer : [prefer], atOnce });
  }

  private verified(fa: FinalAggregate): boolean {
    return verifyFinalAggregate(fa, this.genesis).ok;
  }

  /** The TermFence on a replicated shard's snapshot (version 2): true if it may be taken. */
  private fenced(ss: SignedSnapshot): boolean {
    const s = ss.snapshot;
    if (!s.replica) return true;
    const v = this.fence.accept({ shard: s.shard, epoch: s.epoch, term: s.replica.term, hash: toHex(snapshotHash(s)) });
    if (v.ok) return true;
    this.snapshotsFenced++;
    this.out({ type: 'log', level: 'warn', msg: 'snapshot refused by the term fence', data: { shard: s.shard, epoch: s.epoch, term: s.replica.term.toString(), reason: v.reason, why: v.message } });
    return false;
  }

  private acceptSnapshot(ss: SignedSnapshot): void {
    const s = ss.snapshot;
    if (this.stale(s.epoch)) return;
    if (!this.fenced(ss)) return;
    this.snapshots.set(`${s.shard}@${s.epoch}`, ss);
    const t = parentOf(s.shard);
    if (!this.ancestorSet.has(t)) return;
    this.addInput(t, s.epoch, Number(s.shard[s.shard.length - 1]), { kind: 'snapshot', snapshot: s });
    // a late snapshot may be what a signed round's upgrade lacked (it waited for a tick before)
    const r = this.rounds.get(`${t}@${s.epoch}`);
    if (r?.signedHash && !r.final) this.maybeUpgrade(r);
  }

  private round(path: TriadPath, epoch: number): Round {
    const k = `${path}@${epoch}`;
    let r = this.rounds.get(k);
    if (!r) {
      r = {
        path, epoch, lowest: path.length === this.genesis.depth - 1, inputs: [null, null, null], firstInputAt: 0,
        fetchState: 'none', fetchUntil: 0, fetchesOpen: 0, computed: null, computedPrev: null, computedAt: 0, computedHash: null, signedHash: null,
        upgrade: 'none', upgradeFetchAt: -Infinity, upgradeFetches: 0, signedAt: 0, sigPulls: 0, lastSigPull: -Infinity, failed: false, signing: false,
        candidates: new Map(), final: null, finalAt: 0, finalSeenPublished: false, iPublished: false, lastChildFetch: -Infinity,
      };
      this.rounds.set(k, r);
      this.open.add(r);
    }
    return r;
  }

  private addInput(t: TriadPath, epoch: number, pos: number, input: ChildInput): void {
    const r = this.round(t, epoch);
    if (r.computed || r.final || r.inputs[pos]) return;
    r.inputs[pos] = input;
    if (r.firstInputAt === 0) r.firstInputAt = this.now();
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
   * child finalises only after its own timeout (and a fetch wait), so each level up waits that
   * much longer; otherwise a parent would carry a child that is merely late, not missing.
   */
  private roundTimeout(r: Round): number {
    const height = this.genesis.depth - 1 - r.path.length;
    return this.timing.childTimeoutMs * (1 + height) + (this.timing.fetchWaitMs + this.timing.leaseMs) * height;
  }

  private tryCompute(r: Round): void {
    if (r.computed || r.final || r.failed || r.firstInputAt === 0) return;
    // A shard never computes (so never signs) a lowest aggregate that carries itself: it always has
    // its own snapshot in the end, and the upgrade rule's safety rests on this (maybeUpgrade).
    if (r.lowest && !r.inputs[this.ownPos(r)]) return;
    const now = this.now();
    const all = r.inputs.every((c) => c !== null);
    const prevReady = r.epoch === 0 || this.finals.get(r.path)?.has(r.epoch - 1) === true;
    const waited = now - r.firstInputAt >= this.roundTimeout(r);
    if (!(all && prevReady)) {
      if (!waited) return;
      if (r.fetchState === 'none') {
        // Ask peers for what is missing: children, and T's previous final (computing on an older
        // one than the other members would give an aggregate nobody else signs).
        r.fetchState = 'fetching';
        r.fetchUntil = now + this.timing.fetchWaitMs;
        if (!prevReady) {
          r.fetchesOpen++;
          this.fetch({ what: 'prev', round: r }, { kind: 'finalAggregate', path: r.path, epoch: r.epoch - 1 }, 3);
        }
        for (let i = 0; i < 3; i++) {
          if (r.inputs[i]) continue;
          const child = r.path + String(i);
          if (r.lowest && i === this.ownPos(r)) continue;
          r.fetchesOpen++;
          if (r.lowest) this.fetch({ what: 'input', round: r, pos: i }, { kind: 'snapshot', path: child, epoch: r.epoch }, 3, child as ShardId);
          else this.fetch({ what: 'input', round: r, pos: i }, { kind: 'finalAggregate', path: child, epoch: r.epoch }, 3);
        }
        return;
      }
      // answers still due, but a round never waits on the transport past fetchWaitMs
      if (r.fetchState === 'fetching' && now < r.fetchUntil) return;
    }
    const prev = this.prevFinal(r.path, r.epoch);
    try {
      r.computed = computeAggregate({ network: this.genesis.networkId, path: r.path, epoch: r.epoch, children: r.inputs, prev: prev?.aggregate ?? null, genesisSupply: genesisChildSupplies(this.genesis, r.path) });
      r.computedPrev = prev?.aggregate ?? null;
      r.computedAt = now;
      r.computedHash = aggregateHash(r.computed);
    } catch (e) {
      if (!(e instanceof AggregateInputError)) throw e;
      r.failed = true;
      this.out({ type: 'log', level: 'warn', msg: 'cannot compute aggregate', data: { path: r.path, epoch: r.epoch, err: e.message } });
      return;
    }
    this.out({ type: 'log', level: 'debug', msg: 'aggregate computed', data: { path: r.path, epoch: r.epoch, carried: r.computed.children.filter((c) => c.carried).length } });
    this.maybeSign(r);
  }

  private maybeSign(r: Round): void {
    const agg = r.computed;
    if (!agg || r.final || r.signing) return;
    const pos = Number(this.shard[r.path.length]);
    const member = r.path + String(pos);
    const attempt = attemptOf(this.shard, member, r.epoch, this.genesis.depth);
    if (attempt === undefined) return;
    if (this.canSign && !this.canSign(r.epoch)) return; // asked again on the next tick
    const h = r.computedHash ?? aggregateHash(agg);
    const cand = r.candidates.get(toHex(h));
    if (cand?.sigs.has(pos)) return; // signed already (or another turn did)
    const verdict = this.guard.check(r.path, r.epoch, h);
    if (verdict === 'conflict' || verdict === 'below-low-water') {
      // Signed another view of this round before a restart (or the round is older than what we keep):
      // signing now could finalise two different aggregates.
      r.signing = true; // never ask again for this round
      this.signaturesRefused++;
      this.out({ type: 'log', level: 'warn', msg: 'not signing: this validator signed another aggregate for this round before', data: { path: r.path, epoch: r.epoch, verdict } });
      return;
    }
    // Durable record first, signature second: a crash in between leaves a record and no signature.
    r.signing = true;
    const id = this.nextId++;
    this.signs.set(id, { round: r, aggregate: agg, position: pos, attempt, upgrade: false });
    this.out({ type: 'record-sign', id, path: r.path, epoch: r.epoch, hash: h });
  }

  /**
   * A round this node signed that is still not final one round timeout later asks the other
   * members' signers for the signatures they hold: gossip is not retransmitted, and with the third
   * member down one lost signature would leave the epoch without a global snapshot forever.
   */
  private maybePullSigs(r: Round, now: number): void {
    const wait = this.timing.childTimeoutMs;
    if (r.sigPulls >= SIG_PULLS || now - r.signedAt < wait || now - r.lastSigPull < wait) return;
    r.sigPulls++;
    r.lastSigPull = now;
    const me = this.ownPos(r);
    const signers: ShardId[] = [];
    for (let i = 0; i < 3; i++) if (i !== me) signers.push(signerFor(r.path + String(i), r.epoch, this.genesis.depth, 0));
    this.fetch({ what: 'sigs', round: r }, { kind: 'roundSigs', path: r.path, epoch: r.epoch }, 2, signers);
  }

  /** The member signatures this node holds for round (path, epoch), a final's alone if it has one (fetch kind roundSigs). */
  roundSignatures(path: string, epoch: number): { aggregate: TriadAggregate; signature: MemberSignature }[] {
    const r = this.rounds.get(`${path}@${epoch}`);
    const out: { aggregate: TriadAggregate; signature: MemberSignature }[] = [];
    const f = r?.final ?? this.finals.get(path)?.get(epoch);
    if (f) for (const sig of f.signatures) out.push({ aggregate: f.aggregate, signature: sig });
    else if (r) for (const c of r.candidates.values()) for (const sig of c.sigs.values()) out.push({ aggregate: c.aggregate, signature: sig });
    return out.slice(0, MAX_ROUND_SIGS);
  }

  /** This node's member position in triad r (the digit of its shard below r.path). */
  private ownPos(r: Round): number {
    return Number(this.shard[r.path.length]);
  }

  /**
   * The second signature (docs/PROTOCOL.md "Second signature"). Two live members that computed
   * different views of a round at the timeout (one had a late snapshot, the other carried it)
   * each sign their own, and with the third member down neither gets 2 of 3. A member m that
   * signed F may sign ONE more aggregate U of the lowest triad, iff:
   *  (a) another member i signed U (m saw the signature),
   *  (b) F carries the third member t (t is neither m nor i),
   *  (c) U's present children strictly include F's (same commitments where F has them), and
   *  (d) m recomputes U itself from the snapshots (fetched if needed) on F's `prev`.
   * With (e), a shard never signs a lowest aggregate that carries itself (tryCompute), no two
   * different aggregates of a round can both be final; the argument is in docs/PROTOCOL.md.
   * Only at the lowest level, where (e) holds by construction, and only from what this run
   * signed (after a restart the sign guard's record alone remains, and it refuses any other hash).
   */
  private maybeUpgrade(r: Round): void {
    if (!r.lowest || r.final || r.upgrade !== 'none' || r.signing || !r.signedHash || !r.computed) return;
    const f = r.computed;
    if (!bytesEqual(r.computedHash ?? aggregateHash(f), r.signedHash)) return;
    const me = this.ownPos(r);
    for (const [k, c] of r.candidates) {
      if (k === toHex(r.signedHash)) continue;
      const u = c.aggregate;
      const byOther = [...c.sigs.keys()].some((i) => i !== me && f.children[3 - me - i]!.carried);
      if (!byOther || !richer(u, f) || !bytesEqual(u.prevAggregateHash, f.prevAggregateHash)) continue;
      // the snapshots U has and F carried: from the round's store, else from the member that signed U
      const inputs: (ChildInput | null)[] = [];
      const missing: number[] = [];
      for (let j = 0; j < 3; j++) {
        if (u.children[j]!.carried) { inputs.push(null); continue; }
        const ss = r.inputs[j] ? null : this.snapshots.get(`${r.path}${j}@${r.epoch}`);
        if (!r.inputs[j] && !ss) missing.push(j);
        inputs.push(r.inputs[j] ?? (ss ? { kind: 'snapshot', snapshot: ss.snapshot } : null));
      }
      if (missing.length) {
        const now = this.now();
        if (now - r.upgradeFetchAt < this.timing.fetchWaitMs || r.upgradeFetches >= UPGRADE_FETCHES) return;
        r.upgradeFetchAt = now;
        r.upgradeFetches++;
        r.upgrade = 'fetching';
        const signer = [...c.sigs.keys()].find((i) => i !== me)!;
        for (const j of missing) {
          this.fetch({ what: 'upgrade-input', round: r, pos: j }, { kind: 'snapshot', path: r.path + String(j), epoch: r.epoch }, 3, (r.path + String(signer)) as ShardId);
        }
        return;
      }
      let mine: TriadAggregate;
      try {
        mine = computeAggregate({ network: this.genesis.networkId, path: r.path, epoch: r.epoch, children: inputs as [ChildInput | null, ChildInput | null, ChildInput | null], prev: r.computedPrev, genesisSupply: genesisChildSupplies(this.genesis, r.path) });
      } catch (e) {
        if (!(e instanceof AggregateInputError)) throw e;
        continue;
      }
      if (toHex(aggregateHash(mine)) !== k) continue; // not what this node computes: never signed
      const attempt = attemptOf(this.shard, r.path + String(me), r.epoch, this.genesis.depth);
      if (attempt === undefined) return;
      r.signing = true;
      r.upgrade = 'done'; // one upgrade per round, whatever the guard answers
      const id = this.nextId++;
      this.signs.set(id, { round: r, aggregate: u, position: me, attempt, upgrade: true });
      this.out({ type: 'record-sign', id, path: r.path, epoch: r.epoch, hash: aggregateHash(u), upgradeFrom: r.signedHash });
      return;
    }
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
    else if (r.signedHash && !r.final) this.maybeUpgrade(r);
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
        const now = this.now();
        if (now - r.lastChildFetch > this.timing.fetchWaitMs) {
          r.lastChildFetch = now;
          for (const i of missing) {
            const ref = agg.children[i]!;
            const child = r.path + String(i);
            this.fetch({ what: 'child-final', path: child, commitment: ref.commitment }, { kind: 'finalAggregate', path: child, epoch: ref.epoch }, 4);
          }
        }
        this.childWait.add(r); // retried when a final is recorded, and fetched again after fetchWaitMs (tick)
        return;
      }
    }
    const fa: FinalAggregate = { aggregate: agg, signatures: [...c.sigs.values()].sort((a, b) => a.position - b.position), children };
    r.final = fa;
    r.finalAt = this.now();
    this.childWait.delete(r);
    // the publisher of the first turn puts it out now, not at the next tick (up to one tick per level)
    this.maybePublishFinal(r, r.finalAt);
    this.recordFinal(fa);
  }

  /** Indexes a verified final aggregate (and its attached children), and feeds the parent round. */
  private recordFinal(fa: FinalAggregate, announce = true): void {
    const a = fa.aggregate;
    let m = this.finals.get(a.path);
    if (!m) this.finals.set(a.path, (m = new Map()));
    if (!m.has(a.epoch)) m.set(a.epoch, fa);
    const live = !this.stale(a.epoch);
    // top-down: a round adopts its final before its children are indexed, so indexing them
    // does not start a computation (and a signature) the final has made pointless
    if (live && this.ancestorSet.has(a.path)) {
      const r = this.round(a.path, a.epoch);
      if (!r.final) { r.final = fa; r.finalAt = this.now(); }
    }
    for (const c of fa.children ?? []) if (c) this.recordFinal(c, announce);
    if (!live) return;
    if (a.path === '') this.recordGlobal(fa, announce);
    else {
      const parent = parentOf(a.path);
      if (this.ancestorSet.has(parent)) this.addInput(parent, a.epoch, Number(a.path[a.path.length - 1]), { kind: 'aggregate', aggregate: a });
    }
    // what waited for this final goes on now rather than at a later tick: the next round of the
    // same triad (its `prev`), and rounds whose 2 signatures wait for attached children's finals
    const next = this.ancestorSet.has(a.path) ? this.rounds.get(`${a.path}@${a.epoch + 1}`) : undefined;
    if (next && !next.computed && !next.final) this.tryCompute(next);
    if (this.childWait.size > 0 && !this.retryingChildren) {
      this.retryingChildren = true;
      try {
        for (const w of [...this.childWait]) {
          if (!w.final) for (const c of w.candidates.values()) if (c.sigs.size >= 2 && !w.final) this.tryFinalize(w, c);
          if (w.final) this.childWait.delete(w);
        }
      } finally {
        this.retryingChildren = false;
      }
    }
  }

  private recordGlobal(g: GlobalSnapshot, announce: boolean): void {
    const e = g.aggregate.epoch;
    if (this.globals.has(e)) return;
    this.globals.set(e, g);
    if (!this.stored.has(e)) this.lastNewGlobalAt = this.now();
    if (e > this.latestGlobal) {
      this.latestGlobal = e;
      // rounds this old are stale (never signed again): their records can go, PRUNE_SIGNS_EVERY epochs at a time
      const low = e - this.keepEpochs - 1;
      if (low >= this.guard.lowWaterEpoch + PRUNE_SIGNS_EVERY) this.out({ type: 'prune-signs', below: low });
    }
    if (!announce) return;
    const sealed = this.sealedAt.get(e);
    this.out({ type: 'global', event: { global: g, root: aggregateHash(g.aggregate), latencyMs: sealed === undefined ? undefined : this.now() - sealed } });
  }

  private maybePublishFinal(r: Round, now: number): void {
    const turn = turnAt(now - r.finalAt, this.timing.leaseMs);
    for (let k = 0; k <= turn; k++) {
      const pos = publisherOrder(r.path, r.epoch)[k]!;
      if (signerFor(r.path + String(pos), r.epoch, this.genesis.depth, 0) === this.shard) {
        r.iPublished = true;
        this.out({ type: 'publish', topic: r.path === '' ? '' as TriadPath : parentOf(r.path), message: { kind: 'final', final: r.final! } });
        return;
      }
    }
  }

  /**
   * One catch-up pass (at start, then every `syncIntervalMs` while syncNeeded): a peer's latest global snapshot, then
   * the holes in the last `keepEpochs` epochs below the latest one held (e.g. the epochs a
   * restarted node was down for), newest first, at most SYNC_HOLES_PER_PASS per pass and
   * SYNC_ATTEMPTS per epoch (an epoch nobody finalised is not asked for forever). Every answer is
   * verified (apex, epoch asked for, the 2-of-3 chain down to the shards) before it is recorded.
   * False if a pass is still running; `sync-done` is put out when this one has all its answers.
   */
  startSync(): boolean {
    const started = this.beginSync();
    this.settle();
    return started;
  }

  private beginSync(): boolean {
    if (this.syncOpen > 0) return false;
    this.lastSyncAt = this.now();
    this.nextSyncAt = this.lastSyncAt + this.timing.syncIntervalMs;
    this.syncOpen++;
    this.fetch({ what: 'global' }, { kind: 'globalLatest' }, 3);
    return true;
  }

  private syncHoles(): void {
    const top = this.latestGlobal;
    let budget = SYNC_HOLES_PER_PASS;
    for (let e = top - 1; e >= Math.max(0, top - this.keepEpochs) && budget > 0; e--) {
      const tries = this.syncTries.get(e) ?? 0;
      if (tries >= SYNC_ATTEMPTS || this.globals.has(e) || this.stored.has(e)) continue;
      budget--;
      this.syncTries.set(e, tries + 1);
      this.syncOpen++;
      this.fetch({ what: 'global', epoch: e }, { kind: 'globalAt', epoch: e }, 3);
    }
    for (const e of this.syncTries.keys()) if (e < top - this.keepEpochs) this.syncTries.delete(e);
  }

  private gc(): void {
    const floor = this.latestGlobal - this.keepEpochs;
    if (floor <= 0) return;
    for (const [k, r] of this.rounds) {
      if (r.epoch >= floor) continue;
      this.rounds.delete(k);
      this.open.delete(r);
    }
    for (const r of this.childWait) if (r.epoch < floor || r.final) this.childWait.delete(r);
    for (const [k, s] of this.snapshots) if (s.snapshot.epoch < floor) this.snapshots.delete(k);
    for (const m of this.finals.values()) {
      let latest = -1;
      for (const e of m.keys()) latest = Math.max(latest, e);
      // keep the latest final of every path: a child carried forward still points to it
      for (const e of [...m.keys()]) if (e < floor && e !== latest) m.delete(e);
    }
    for (const e of [...this.globals.keys()]) if (e < floor - 4 * this.keepEpochs) this.globals.delete(e);
    for (const e of this.stored) if (e < floor) this.stored.delete(e); // below the catch-up window
    for (const e of [...this.sealedAt.keys()]) if (e < floor) this.sealedAt.delete(e);
  }
}

/** U's present (not carried) children strictly include F's, with the same commitments. */
function richer(u: TriadAggregate, f: TriadAggregate): boolean {
  let more = false;
  for (let j = 0; j < 3; j++) {
    const a = u.children[j]!, b = f.children[j]!;
    if (!b.carried && (a.carried || !bytesEqual(a.commitment, b.commitment))) return false;
    if (b.carried && !a.carried) more = true;
  }
  return more;
}
