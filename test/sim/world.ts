// One simulated network (docs/SIMULATION.md): 3^depth nodes, each a real Shard over a crashable
// in-memory store, wired to the hierarchy by the node's own wiring (attachNetwork: TriadNetwork with
// the pure round machine, cross-shard delivery), exchanging messages over SimNetwork on the virtual
// clock. Clients submit transfers (some cross-shard); a seeded nemesis injects faults; invariants
// are checked as events happen and at the end. Proving is not simulated. With `replicas: 3` every
// shard is a replica set of 3 processes, each running the real replica protocol
// (src/replica/replica.ts) over the simulated network.
import { createHash } from 'node:crypto';
import { addressFromPublicKey, homeShard } from '../../src/core/address.js';
import { keyPairFromSeed, type KeyPair } from '../../src/core/ed25519.js';
import { allShards, shardIndex, type ShardId } from '../../src/core/ids.js';
import { totalSupply, type Genesis } from '../../src/core/genesis.js';
import { toHex } from '../../src/core/bytes.js';
import { Shard, type SealedEvent } from '../../src/shard/shard.js';
import { snapshotHash } from '../../src/shard/snapshot.js';
import { Replica, type ReplicaPath } from '../../src/replica/replica.js';
import { TermFence } from '../../src/replica/fence.js';
import { defaultLeaseMs, electionTimeoutMs, voteTimeoutMs, type VoteState } from '../../src/replica/lease.js';
import { signerFor } from '../../src/hierarchy/rotation.js';
import type { SignRecordStore } from '../../src/hierarchy/sign-guard.js';
import { decodeSignedTx, encodeSignedTx, signTransfer, txIdHex } from '../../src/shard/tx.js';
import { globalConservation, snapshotsConservation } from '../../src/hierarchy/conservation.js';
import type { Snapshot } from '../../src/shard/snapshot.js';
import { attachNetwork } from '../../src/node/attach.js';
import { peerIdOfPublicKey } from '../../src/gossip/identity.js';
import type { TriadNetwork, GlobalEvent } from '../../src/gossip/network.js';
import type { Component } from '../../src/node/node.js';
import type { Scheduler } from '../../src/core/scheduler.js';
import { rng } from './rng.js';
import { SimProcess, VirtualClock, settle } from './clock.js';
import { SimNetwork, type LinkModel, type SimP2P } from './network.js';
import { CrashableLevel } from './store.js';

export const FAULT_KINDS = ['pause', 'crash', 'partition', 'partition-out', 'partition-in'] as const;
/** With replica sets: kill -9 of a shard's writer or of a follower (restarted later from its synced
 * writes), the writer cut off from its followers (held past its lease: an election), a follower
 * killed and restarted with its whole data dir lost (vote record included), and a pause (any replica). */
export const REPLICA_FAULT_KINDS = ['kill-writer', 'kill-follower', 'partition-writer', 'wipe-follower', 'pause'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number] | (typeof REPLICA_FAULT_KINDS)[number];

export interface SimConfig {
  seed: number;
  depth: number;
  epochMs: number;
  /** Epochs with faults (the nemesis acts during these). */
  faultEpochs: number;
  /** Epochs after every fault is healed (liveness is judged on these). */
  calmEpochs: number;
  usersPerShard: number;
  txPerEpoch: number;
  crossRatio: number;
  /** 'random': anything (liveness judged only after healing); 'one-per-triad': at most one member
   * of each lowest triad faulty at a time (liveness judged throughout); 'none'. */
  faults: 'random' | 'one-per-triad' | 'none';
  /** Replicas per shard: 1 (one process per shard) or an odd number (a replica set; faults: at most one replica of a shard at a time). */
  replicas: number;
  /** Fault kinds the nemesis picks from (default: all). */
  faultKinds?: FaultKind[];
  /** The link model; undefined: drawn from the seed. */
  link?: LinkModel;
  /** A global snapshot of every epoch must be final on every live node within this many epochs of its seal. */
  livenessEpochs: number;
  /** Trace lines kept for a failure report. */
  traceTail: number;
  /** Also trace the nodes' own log lines (debug level and up): for replaying one seed. */
  verbose?: boolean;
  /** A process started again after a crash (or a wipe) comes up this many ms later, drawn from [min, max]: opening its store and joining take seconds (a real process), during which it is down; [0, 0]: at once. */
  bootMs: [number, number];
  /** A fault planted in process 0 at 2.5 s, to show the error checks fail a seed (test/sim.test.ts): an unhandled rejection, an exception thrown by an event's callback, an error logged. */
  plant?: 'rejection' | 'throw' | 'error-log';
  /** Disk latency (default on): a seeded share of each process's store reads and writes (none on some seeds) completes 1-3 ms later on the virtual clock (a few stall 20-200 ms), in order, so async handlers awaiting the store overlap other events as they do on a real disk. */
  disk: boolean;
}

/** With 'one-per-triad': epochs after a member's fault ends before another member of its triad may fault. */
const RECOVER_EPOCHS = 2;

/** With replica sets: a partition of the writer from its followers lasts this long (past its 2-epoch lease and an election). */
const PARTITION_WRITER_EPOCHS = 5;

/** Of the slow disk operations, this share stalls 20-200 ms. */
const DISK_STALL_SHARE = 0.03;
/** A restarted process's disk is slow this long after it comes up (every operation; this share stalls). */
const RESTART_BUSY_MS = 2000;
const RESTART_STALL_SHARE = 0.2;

/** A restarted process receives gossip only this long (ms, drawn) after it is up (joining the topic meshes). */
const MESH_JOIN_MS = [1000, 3000] as const;

/** Epochs after the end of the run (no clients, no faults) within which every receipt must be credited. */
const DRAIN_EPOCHS = 12;

export const DEFAULTS: Omit<SimConfig, 'seed'> = {
  depth: 1, epochMs: 1000, faultEpochs: 10, calmEpochs: 10, usersPerShard: 4, txPerEpoch: 4, crossRatio: 0.5,
  faults: 'random', replicas: 1, livenessEpochs: 4, traceTail: 40, bootMs: [1000, 5000], disk: true,
};

export interface SimResult {
  seed: number;
  ok: boolean;
  violations: string[];
  traceHash: string;
  traceLines: number;
  tail: string[];
  stats: {
    epochs: number; globals: number; committed: number; cross: number; faults: number; messages: number; lost: number;
    /** seal -> global final latency per (node, epoch), ms (calm phase). */
    latencies: number[];
    steps: number;
    /** With replica sets: elections won, and new writers that started reporting a committed epoch below one already acknowledged committed (with the ms until they caught up). */
    elections?: number;
    underReports?: number[];
    /** With replica sets: rounds signed by a writer of a term after the first, of an epoch that began less than an epoch after its election (the signing rule before 2026-12-07 withheld these). */
    earlySigns?: number;
    /** With replica sets: epochs past the heal that no two members could sign (not judged), and the latest election after the faults ended (ms). */
    unsignable?: number;
    lastElectionMs?: number;
  };
}

interface User { key: KeyPair; address: Uint8Array; home: number; next: bigint }

interface SimNode {
  /** Process index. */
  i: number;
  /** Shard index, and replica index in its shard's set (0 without replicas). */
  si: number;
  r: number;
  /** In the trace: the shard id, with replicas `<shard>/<replica>`. */
  name: string;
  shard: ShardId;
  peerId: string;
  key: KeyPair;
  proc: SimProcess;
  shardDb: CrashableLevel;
  netDb: CrashableLevel<string, Uint8Array>;
  /** The vote record, written durably (a crash keeps it; only wipe-follower loses it). */
  votes: { state: VoteState | undefined; catchUp: boolean };
  rep?: Replica;
  /** The replica's epoch clock runs (it holds the write lease). */
  clockOn: boolean;
  s?: Shard;
  net?: TriadNetwork;
  p2p?: SimP2P;
  components: Component[];
  /** Virtual time at which this node recorded each global epoch. */
  globalAt: Map<number, number>;
  /** Started again after a crash or wipe, not up yet (the nemesis leaves it alone). */
  booting: boolean;
  /** Resolves when the process as it runs now crashes (the world's own reads of its store give up then: they would wait forever). */
  death: Promise<undefined>;
  die: () => void;
  /** Lost its data (wiped, or discarded it after diverging) and has not voted again since (amnesia.ts): another replica of its shard is not wiped meanwhile. */
  lostData: boolean;
  /** Virtual time at which the process last started (before its boot time). */
  startedAt: number;
  /** Data dirs this process has lost (wiped, or discarded after diverging): its sign guard's records went with each. */
  dataLives: number;
}

interface SentTx { id: string; from: number; to: Uint8Array; toHome: number; amount: bigint; fee: bigint; nonce: bigint; user: User }

/** The simulator's stand-in for the replica API's HTTP (the same JSON bodies, over a request protocol). */
const REPLICA_PROTOCOL = '/smt/sim/replica/1';

/** A scheduler on whole milliseconds, as the wall clock is (the replica protocol divides its lease into fractions and encodes times as integers). */
function wholeMs(s: Scheduler): Scheduler {
  return { now: () => Math.floor(s.now()), every: (ms, fn) => s.every(Math.ceil(ms), fn), after: (ms, fn) => s.after(Math.ceil(ms), fn) };
}

export function simKey(label: string, i: number): KeyPair {
  const seed = new Uint8Array(32);
  seed.set(new TextEncoder().encode(label).subarray(0, 24));
  new DataView(seed.buffer).setUint32(28, i);
  return keyPairFromSeed(seed);
}

export class World {
  readonly cfg: SimConfig;
  readonly clock = new VirtualClock();
  readonly rand: () => number;
  readonly net: SimNetwork;
  readonly genesis: Genesis;
  readonly nodes: SimNode[] = [];
  readonly users: User[] = [];
  readonly violations: string[] = [];
  private readonly trace = createHash('sha256');
  private traceLines = 0;
  private readonly tail: string[] = [];
  private readonly roots = new Map<number, string>(); // epoch -> first global root seen
  private readonly sealTime = new Map<number, number>(); // epoch -> its due seal time (epoch clock)
  private readonly faultWindows = new Map<number, [number, number][]>(); // node -> [from, to) of its faults
  private readonly sealed = new Map<string, string>(); // `${shard}@${epoch}` -> snapshot hash
  private readonly sent = new Map<string, SentTx>();
  private readonly acked = new Map<string, { shard: number; epoch: number }>();
  private readonly conserved = new Set<number>();
  private readonly latestSnap = new Map<number, Snapshot>(); // shard -> its latest sealed (with replicas: committed) snapshot
  private faults = 0;
  // replica sets: what the writers reported, checked across replicas and terms
  private readonly committedHash = new Map<string, { hash: string; term: bigint; by: string }>(); // `${shard}@${epoch}`
  private readonly maxCommitted = new Map<number, number>(); // shard -> highest epoch a writer reported committed
  private readonly scanned = new Map<number, Promise<number>>(); // shard -> epochs up to this one recorded as committed
  private readonly finalized = new Map<string, { hash: string; global: number }>(); // `${shard}@${epoch}` -> snapshot a final global includes
  private readonly writers = new Map<string, number>(); // `${shard}:${term}` -> replica that became writer
  private readonly fence = new TermFence(100_000);
  private elections = 0;
  /** Per shard: every election won, in order (when, which term). */
  private readonly electionLog = new Map<number, { at: number; term: bigint }[]>();
  /** `${shard index}|${path}@${epoch}` -> who recorded a signature for that round (`<name>#<data dirs lost>`). */
  private readonly roundSigners = new Map<string, string>();
  private earlySigns = 0;
  private unsignable = 0;
  private lastElectionMs = 0;
  private readonly underReports: number[] = [];
  private readonly lagging = new Map<number, { since: number; below: number }>(); // process -> a writer under-reporting since
  /** Time by which every fault has ended (liveness judged from here in 'random' mode). */
  healAt = 0;
  /** Disk latency: its own random stream (draws do not shift the nemesis's; mesh joins draw from it too), the share of slow operations this seed, and whether it is on (off for the final checks, after the clock stops). */
  private readonly diskRand: () => number;
  private readonly slowShare: number;
  private diskOn = false;
  /** Unhandled rejections and uncaught exceptions while this world runs: node code that would kill its process. */
  private readonly onUnhandled = (err: unknown): void => {
    const e = err as Error;
    this.violation(`unhandled ${e?.name ?? 'error'} (a real node process would die of it): ${String(e?.stack ?? e).split('\n').slice(0, 6).join(' | ')}`);
  };
  readonly latencies: number[] = [];

  constructor(cfg: SimConfig) {
    this.cfg = cfg;
    this.rand = rng(cfg.seed);
    const link: LinkModel = cfg.link ?? {
      baseMs: 2 + Math.floor(this.rand() * 60), jitterMs: 1 + Math.floor(this.rand() * 40),
      loss: this.rand() < 0.5 ? 0 : this.rand() * 0.05, dup: this.rand() < 0.5 ? 0 : this.rand() * 0.05,
    };
    this.net = new SimNetwork(this.clock, rng(Math.floor(this.rand() * 2 ** 32)), link);
    this.net.trace = (l) => this.log(l);
    this.diskRand = rng(cfg.seed * 7919 + 104_729);
    this.slowShare = !cfg.disk || this.diskRand() < 0.2 ? 0 : 0.05 + this.diskRand() * 0.45;
    this.clock.onError = this.onUnhandled;
    const ids = allShards(cfg.depth);
    const keys = ids.map((_, i) => simKey('sim-validator', i));
    const R = cfg.replicas;
    if (R < 1 || R % 2 === 0) throw new Error(`replicas must be odd and at least 1, got ${R}`);
    const kinds: readonly string[] = R > 1 ? REPLICA_FAULT_KINDS : FAULT_KINDS;
    for (const k of cfg.faultKinds ?? []) if (!kinds.includes(k)) throw new Error(`fault kind ${k} is not one of ${kinds.join(', ')}${R > 1 ? ' (with replicas)' : ''}`);
    // replica r of shard i (replica 0: the shard's validator key)
    const repKeys = ids.map((_, i) => Array.from({ length: R }, (_, r) => (r === 0 ? keys[i]! : simKey('sim-replica', i * R + r))));
    const per = new Array<number>(ids.length).fill(0);
    for (let i = 0; per.some((n) => n < cfg.usersPerShard); i++) {
      const key = simKey('sim-user', i);
      const address = addressFromPublicKey(key.publicKey);
      const home = shardIndex(homeShard(address, cfg.depth));
      if (per[home]! >= cfg.usersPerShard) continue;
      per[home]!++;
      this.users.push({ key, address, home, next: 0n });
    }
    this.genesis = {
      networkId: 'smt-sim', depth: cfg.depth, epochMs: cfg.epochMs, genesisTime: 0,
      allocations: this.users.map((u) => ({ address: u.address, amount: 1_000_000n })),
      validators: new Map(ids.map((s, i) => [s, keys[i]!.publicKey])),
      ...(R > 1 ? { replicas: new Map(ids.map((s, i) => [s, repKeys[i]!.map((k) => k.publicKey)])) } : {}),
    };
    ids.forEach((s, si) => {
      for (let r = 0; r < R; r++) {
        const name = R > 1 ? `${s}/${r}` : s;
        this.nodes.push({
          i: this.nodes.length, si, r, name, shard: s, peerId: peerIdOfPublicKey(repKeys[si]![r]!.publicKey), key: repKeys[si]![r]!, proc: new SimProcess(name),
          components: [], globalAt: new Map(), booting: false, lostData: false, startedAt: 0, dataLives: 0, death: new Promise(() => {}), die: () => {}, votes: { state: undefined, catchUp: false }, clockOn: false,
          shardDb: CrashableLevel.make<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }),
          netDb: CrashableLevel.make<string, Uint8Array>({ valueEncoding: 'view' }),
        });
      }
    });
    this.log(`seed ${cfg.seed} depth ${cfg.depth} link ${JSON.stringify(link)} faults ${cfg.faults}${R > 1 ? ` replicas ${R}` : ''}`);
  }

  log(line: string): void {
    const l = `${String(this.clock.now).padStart(6)} ${line}`;
    this.trace.update(l + '\n');
    this.traceLines++;
    this.tail.push(l);
    if (this.tail.length > this.cfg.traceTail) this.tail.shift();
  }

  violation(what: string): void {
    if (this.violations.length < 10) this.violations.push(`t=${this.clock.now}: ${what}`);
    this.log(`VIOLATION ${what}`);
  }

  // ---- nodes ----

  private get replicated(): boolean {
    return this.cfg.replicas > 1;
  }

  /** The processes of shard `si` (its replicas, or its one node). */
  private replicasOf(si: number): SimNode[] {
    const R = this.cfg.replicas;
    return this.nodes.slice(si * R, si * R + R);
  }

  private async boot(n: SimNode): Promise<void> {
    n.death = new Promise((resolve) => { n.die = () => resolve(undefined); });
    const sched = this.clock.schedulerFor(n.proc);
    this.disk(n, n.shardDb);
    this.disk(n, n.netDb);
    const s = await Shard.open({
      dataDir: `sim:${n.name}`, genesis: this.genesis, shard: n.shard, validatorKey: n.key, verifyWorkers: 0,
      db: n.shardDb as never, clock: () => this.clock.now, sync: true, ...(this.replicated ? { replica: n.r } : {}),
    });
    const p2p = this.net.attach(n.peerId, n.proc);
    // a restarted process is in the gossip meshes only after a heartbeat or more (GRAFT): until
    // then it hears only what it asks for (globals, receipts), as a real restarted node does
    if (this.clock.now > 0) p2p.meshAt = this.clock.now + MESH_JOIN_MS[0] + Math.floor(this.diskRand() * (MESH_JOIN_MS[1] - MESH_JOIN_MS[0]));
    const rep = this.replicated ? this.startReplica(n, s, p2p) : undefined;
    const { net, components } = await attachNetwork({
      shard: s, genesis: this.genesis, validatorKey: n.key, p2p, scheduler: sched, logger: this.nodeLogger(n),
      store: n.netDb.sublevel<string, Uint8Array>('global', { valueEncoding: 'view' }),
      signStore: this.watchSigns(n, n.netDb.sublevel<string, Uint8Array>('signed', { valueEncoding: 'view' })),
      ...(rep ? {
        replica: {
          isWriter: () => rep.isWriter(),
          canSign: (e: number) => rep.canSignRound(e),
          onCommitted: (f: (ev: SealedEvent) => void) => (rep.events.on('committed', f), () => void rep.events.off('committed', f)),
          onWriter: (f: () => void) => (rep.events.on('writer', f), () => void rep.events.off('writer', f)),
        },
      } : {}),
    });
    n.s = s;
    n.net = net;
    n.p2p = p2p;
    n.rep = rep;
    n.components = components;
    s.events.on('sealed', (ev: SealedEvent) => this.onSealed(n, ev));
    net.onGlobal((ev) => this.onGlobal(n, ev));
    // the epoch clock: seal every due epoch (back to back after a pause or restart), then wait
    // (a replica's only while it holds the write lease: startClock below)
    const tick = (): void => {
      if (!this.replicated || n.clockOn) void this.sealDue(n);
      const next = (Math.floor(this.clock.now / this.cfg.epochMs) + 1) * this.cfg.epochMs + 1 + (n.i * 7) % 50;
      this.clock.at(next, tick, n.proc);
    };
    this.clock.at(Math.max(this.clock.now, this.cfg.epochMs) + 1 + (n.i * 7) % 50, tick, n.proc);
  }

  /** The replica protocol of process `n`: its messages over the simulated network, its vote record durable in `n.votes`. */
  private startReplica(n: SimNode, s: Shard, p2p: SimP2P): Replica {
    const peers = this.replicasOf(n.si).map((m) => m.peerId);
    const enc = (x: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(x));
    const dec = (b: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(b));
    const gen = n.proc.gen;
    const rep: Replica = new Replica({
      shard: s, genesis: this.genesis, key: n.key, index: n.r, logger: this.nodeLogger(n),
      scheduler: wholeMs(this.clock.schedulerFor(n.proc)), processStart: n.startedAt, random: rng(this.cfg.seed * 1000 + n.i * 17 + n.proc.gen),
      votes: {
        has: () => n.votes.state !== undefined, read: () => n.votes.state ?? { term: 0n, votedFor: null }, write: (v) => void (n.votes.state = v),
        catchUp: () => n.votes.catchUp, clearCatchUp: () => void (n.votes.catchUp = false),
      },
      transport: {
        post: async (to, path, body, timeoutMs) => dec(await p2p.request(peers[to]!, REPLICA_PROTOCOL, enc({ path, body }), { timeoutMs })),
      },
      startClock: () => {
        n.clockOn = true;
        // catch up at once, as EpochTimer.start does
        this.clock.at(this.clock.now, () => void this.sealDue(n), n.proc);
        return { stop: async () => { n.clockOn = false; } };
      },
      onResync: (why) => {
        // the CLI closes the node, wipes its data dir (not the vote record) and starts it again
        this.clock.at(this.clock.now, () => {
          if (n.proc.gen !== gen) return;
          this.log(`resync ${n.name}: ${why}`);
          this.crash(n);
          n.lostData = true;
          n.dataLives++;
          n.votes.catchUp = true; // set before anything is discarded, as wipeDataDir does
          n.shardDb = CrashableLevel.make<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' });
          n.netDb = CrashableLevel.make<string, Uint8Array>({ valueEncoding: 'view' });
          n.proc.state = 'up';
          void this.boot(n);
        });
      },
    });
    void p2p.handle(REPLICA_PROTOCOL, async (req) => {
      const { path, body } = dec(req) as { path: ReplicaPath; body: unknown };
      return enc(await rep.handle(path, body));
    });
    rep.events.on('committed', (ev: SealedEvent) => this.onCommitted(n, rep, ev));
    rep.events.on('writer', () => this.onWriter(n, rep));
    return rep;
  }

  /**
   * A logger (the pino methods the node uses) for process `n` as it runs now: error and fatal
   * (pino level >= 50) are violations (a node logs them only for what must not happen; chaos checks
   * the same); with `verbose`, every line from debug up also goes into the trace. A crashed
   * process's code logs nothing more (its output went with it).
   */
  private nodeLogger(n: SimNode): never {
    const gen = n.proc.gen;
    const text = (level: string, o: unknown, msg?: string): string => {
      const data = typeof o === 'string' ? '' : JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? toHex(v).slice(0, 16) : v instanceof Error ? `${v.name}: ${v.message}` : v));
      return `log ${n.name} ${level} ${typeof o === 'string' ? o : msg ?? ''} ${data}`;
    };
    const line = (level: string) => (o: unknown, msg?: string): void => {
      if (n.proc.gen !== gen) return;
      if (level === 'error' || level === 'fatal') this.violation(`node ${n.name} logged at ${level} level: ${text(level, o, msg)}`);
      else if (this.cfg.verbose) this.log(text(level, o, msg));
    };
    const none = (): void => {};
    const l: Record<string, unknown> = { debug: this.cfg.verbose ? line('debug') : none, info: this.cfg.verbose ? line('info') : none, warn: this.cfg.verbose ? line('warn') : none, error: line('error'), fatal: line('fatal'), trace: none };
    l.child = () => l;
    return l as never;
  }

  /**
   * Disk latency for `db` of process `n` as it runs now: a seeded share of operations completes
   * 1-3 ms later (a few of them 20-200 ms: a stall, as a loaded machine or a compaction gives),
   * each no earlier than the one before (a disk's order); the rest complete at once unless an
   * earlier one is still pending. For RESTART_BUSY_MS after a restart every operation is slow and
   * a fifth stall. A crashed process's operations never complete.
   */
  private disk(n: SimNode, db: { io: CrashableLevel['io'] }): void {
    const gen = n.proc.gen;
    let tail = 0;
    // a restarted process's first seconds: recovering its log, compacting, catching up: every
    // operation is slow and many stall
    const busyUntil = this.clock.now > 0 ? this.clock.now + RESTART_BUSY_MS : 0;
    db.io = () => {
      if (!this.diskOn) return undefined;
      if (n.proc.gen !== gen) return new Promise<void>(() => {});
      const busy = this.clock.now < busyUntil;
      const d = this.diskRand() >= (busy ? 1 : this.slowShare) ? 0 : this.diskRand() < (busy ? RESTART_STALL_SHARE : DISK_STALL_SHARE) ? 20 + Math.floor(this.diskRand() * 180) : 1 + Math.floor(this.diskRand() * 3);
      const at = Math.max(tail, d > 0 ? this.clock.now + d : 0);
      if (at <= this.clock.now) return undefined;
      tail = at;
      return new Promise<void>((resolve) => void this.clock.at(at, resolve, n.proc));
    };
  }

  private sealing = new Set<number>();
  private async sealDue(n: SimNode): Promise<void> {
    if (this.sealing.has(n.i) || !n.s) return;
    this.sealing.add(n.i);
    const gen = n.proc.gen;
    try {
      const due = Math.floor(this.clock.now / this.cfg.epochMs) - 1;
      if (n.rep) {
        const rep = n.rep;
        // a replica seals only through its write lease (sealAsWriter refuses without one)
        while (n.s && n.proc.gen === gen && n.clockOn && n.s.latestEpoch() < due) await rep.sealAsWriter();
      } else {
        while (n.s && n.proc.gen === gen && n.s.latestEpoch() < due) await n.s.sealEpoch();
      }
    } catch (e) {
      this.log(`seal refused ${n.name}: ${(e as Error).message}`);
    } finally {
      if (n.proc.gen === gen) this.sealing.delete(n.i);
    }
  }

  private onSealed(n: SimNode, ev: SealedEvent): void {
    const e = ev.snapshot.snapshot.epoch;
    const h = toHex(ev.snapshot.signature).slice(0, 16);
    if (this.replicated) {
      // a writer's seal or a follower's re-execution: only what a writer reports committed counts (onCommitted)
      this.log(`seal ${n.name}@${e} term ${ev.snapshot.snapshot.replica?.term ?? 0n} txs ${ev.txCount} hash ${toHex(snapshotHash(ev.snapshot.snapshot)).slice(0, 16)}`);
      return;
    }
    const k = `${n.shard}@${e}`;
    const prev = this.sealed.get(k);
    if (prev !== undefined && prev !== h) this.violation(`shard ${n.shard} sealed epoch ${e} twice, differently (a synced seal lost?)`);
    this.sealed.set(k, h);
    this.sealTime.set(e, (e + 1) * this.cfg.epochMs);
    this.latestSnap.set(n.si, ev.snapshot.snapshot);
    this.ack(n, ev);
    this.log(`seal ${n.shard}@${e} txs ${ev.txCount} sig ${h}`);
  }

  /** The transactions of `ev` are acknowledged committed (to a client: sealed, or with replicas durable on a majority). */
  private ack(n: SimNode, ev: SealedEvent): void {
    const e = ev.snapshot.snapshot.epoch;
    for (const id of ev.txids) {
      const a = this.acked.get(id);
      if (a && (a.shard !== n.si || a.epoch !== e)) this.violation(`tx ${id.slice(0, 12)} committed twice: ${a.shard}@${a.epoch} and ${n.si}@${e}`);
      this.acked.set(id, { shard: n.si, epoch: e });
    }
  }

  /**
   * A writer reports an epoch committed (durable on a majority): no other snapshot of that epoch
   * may ever be reported committed (whatever the term), and what it publishes must pass the
   * TermFence of a consumer that saw everything committed so far.
   */
  private onCommitted(n: SimNode, rep: Replica, ev: SealedEvent): void {
    const snap = ev.snapshot.snapshot;
    const e = snap.epoch;
    const term = snap.replica?.term ?? 0n;
    const hash = toHex(snapshotHash(snap));
    // what the writer publishes: through a TermFence that saw everything published before
    const v = this.fence.accept({ shard: n.shard, epoch: e, term, hash });
    if (!v.ok) this.violation(`TermFence refuses ${n.name}'s committed snapshot: ${v.message}`);
    if (e > (this.maxCommitted.get(n.si) ?? -1)) this.maxCommitted.set(n.si, e);
    this.log(`commit ${n.name}@${e} term ${term} txs ${ev.txCount} committed ${rep.committedEpoch()}`);
    // committing e commits every epoch below it in the writer's history (older terms' epochs too,
    // which get no event of their own): in order, per shard
    const s = n.s;
    const death = n.death;
    const prev = this.scanned.get(n.si) ?? Promise.resolve(-1);
    this.scanned.set(n.si, prev.then(async (from) => {
      for (let k = from + 1; k < e; k++) {
        const ent = s ? await Promise.race([s.replicaEntry(k), death]) : undefined;
        if (!ent) continue;
        const txids = ent.txs.map((b) => txIdHex(decodeSignedTx(b).tx));
        this.committedOne(n, ent.signed.snapshot, txids, 'older epoch');
      }
      this.committedOne(n, snap, ev.txids, 'own term');
      return Math.max(from, e);
    }));
  }

  /** Snapshot `snap` of n's shard is committed (with transactions `txids`): unique per (shard, epoch); its transactions acknowledged. */
  private committedOne(n: SimNode, snap: Snapshot, txids: string[], how: string): void {
    const e = snap.epoch;
    const term = snap.replica?.term ?? 0n;
    const hash = toHex(snapshotHash(snap));
    const k = `${n.shard}@${e}`;
    const prev = this.committedHash.get(k);
    if (prev && prev.hash !== hash) this.violation(`shard ${n.shard} epoch ${e} committed twice, differently: ${prev.hash.slice(0, 16)} (term ${prev.term}, ${prev.by}) and ${hash.slice(0, 16)} (term ${term}, ${n.name}, ${how})`);
    if (prev) return;
    this.committedHash.set(k, { hash, term, by: n.name });
    const f = this.finalized.get(k);
    if (f && f.hash !== hash) this.violation(`final global ${f.global} includes ${k} ${f.hash.slice(0, 16)}, but ${n.name} committed ${hash.slice(0, 16)} (term ${term})`);
    this.sealTime.set(e, (e + 1) * this.cfg.epochMs);
    const latest = this.latestSnap.get(n.si);
    if (!latest || latest.epoch <= e) this.latestSnap.set(n.si, snap);
    for (const id of txids) {
      const a = this.acked.get(id);
      if (a && (a.shard !== n.si || a.epoch !== e)) this.violation(`tx ${id.slice(0, 12)} committed twice: ${a.shard}@${a.epoch} and ${n.si}@${e}`);
      this.acked.set(id, { shard: n.si, epoch: e });
    }
  }

  /** A replica won an election: at most one writer per term. */
  private onWriter(n: SimNode, rep: Replica): void {
    const term = rep.term();
    const k = `${n.si}:${term}`;
    const prev = this.writers.get(k);
    if (prev !== undefined && prev !== n.r) this.violation(`two writers of shard ${n.shard} in term ${term}: replicas ${prev} and ${n.r}`);
    // leases never overlap: an earlier writer's lease ended before a later one was elected (what
    // canSignRound and the seal's lease check rest on)
    for (const o of this.nodes) {
      if (o !== n && o.si === n.si && o.rep?.holdsLease()) this.violation(`shard ${n.shard}: replica ${n.r} became writer of term ${term} while replica ${o.r} (term ${o.rep.term()}) still held its write lease`);
    }
    this.writers.set(k, n.r);
    this.elections++;
    let log = this.electionLog.get(n.si);
    if (!log) this.electionLog.set(n.si, (log = []));
    log.push({ at: this.clock.now, term });
    const acked = this.maxCommitted.get(n.si) ?? -1;
    const c = rep.committedEpoch();
    // a new writer's committed epoch moves only with an epoch of its own term: until then it may
    // report less than a transfer's client was already told (the API answers `pending`)
    if (c < acked) this.lagging.set(n.i, { since: this.clock.now, below: acked });
    this.log(`writer ${n.name} term ${term} head ${n.s?.latestEpoch()} committed ${c}${c < acked ? ` (below ${acked}, acknowledged committed)` : ''}`);
  }

  /**
   * With replica sets: the sign guard's records of process `n` as it writes them (each before its
   * signature leaves). No round is ever signed for a shard by two of its replicas, nor by one
   * replica before and after it lost its data dir, sign guard included (docs/REPLICAS.md "Which key
   * signs for a replicated member"): their guards are separate, so two such signatures could be of
   * two different aggregates.
   */
  private watchSigns(n: SimNode, store: SignRecordStore): SignRecordStore {
    if (!this.replicated) return store;
    const who = `${n.name}#${n.dataLives}`;
    return {
      put: (k, v, o) => {
        const m = /^[ru]:(\d+):(.*)$/.exec(k);
        if (m) this.onSignRecord(n, who, m[2]!, Number(m[1]));
        return store.put(k, v, o);
      },
      batch: (ops, o) => store.batch(ops, o), // pruning only (deletions and the low-water mark): no new record
      iterator: () => store.iterator(),
    };
  }

  private onSignRecord(n: SimNode, who: string, path: string, epoch: number): void {
    const k = `${n.si}|${path}@${epoch}`;
    const first = this.roundSigners.get(k);
    if (first === undefined) this.roundSigners.set(k, who);
    else if (first !== who) this.violation(`round ${path || 'apex'}@${epoch} signed for shard ${n.shard} by ${first} and by ${who} (two replicas, or one before and after losing its sign guard)`);
    const term = n.rep?.term() ?? 0n;
    let won: { at: number; term: bigint } | undefined;
    for (const x of this.electionLog.get(n.si) ?? []) if (x.term === term) won = x;
    if (term > 1n && won && this.epochStart(epoch) < won.at + this.cfg.epochMs) this.earlySigns++;
  }

  /**
   * With replica sets: can triad `p`'s round of epoch `e` become final under the signing rule
   * (docs/REPLICAS.md "Which key signs for a replicated member")? At least two of its members'
   * signers must belong to shards whose writer may sign it; above the lowest level the round also
   * needs an input, a child triad's final of `e`.
   */
  private roundFinalisable(p: string, e: number): boolean {
    const D = this.cfg.depth;
    if (p.length < D - 1 && ![0, 1, 2].some((i) => this.roundFinalisable(p + String(i), e))) return false;
    let able = 0;
    for (let i = 0; i < 3; i++) if (this.maySign(shardIndex(signerFor(p + String(i), e, D, 0)), e)) able++;
    return able >= 2;
  }

  /**
   * The rule as documented, independently of Replica.canSignRound: the writer shard `si` has when
   * epoch e's rounds run (the last elected by half an epoch after e ended) may sign them if it was
   * elected in term 1 or at or before e began. Lease losses are no excuse: after the faults end a
   * writer keeps its lease.
   */
  private maySign(si: number, e: number): boolean {
    let w: { at: number; term: bigint } | undefined;
    for (const x of this.electionLog.get(si) ?? []) if (x.at <= this.epochStart(e + 1) + this.cfg.epochMs / 2) w = x;
    return w !== undefined && (w.term <= 1n || w.at <= this.epochStart(e));
  }

  private epochStart(e: number): number {
    return this.genesis.genesisTime + e * this.cfg.epochMs;
  }

  /**
   * With replica sets: the latest a shard may elect its writer after the faults end (faultsEndBy):
   * every replica is up by then, and a restarted replica's lease promise to everyone runs at most
   * `leaseMs` longer; after that, the most up-to-date replica that may vote stands within the
   * longest election timeout, and its pre-vote and vote take at most a vote timeout each. One
   * attempt may fail (a split vote: every-fault seed 34; or a lost vote message) and costs as much
   * again.
   */
  private electionBoundMs(): number {
    const { epochMs, replicas } = this.cfg;
    const leaseMs = defaultLeaseMs(epochMs);
    return leaseMs + 2 * (electionTimeoutMs(leaseMs, epochMs, replicas - 1, 1) + 2 * voteTimeoutMs(epochMs));
  }

  /** Every epoch: replicas agree on what they report committed; under-reporting writers caught up. */
  private async checkReplicas(): Promise<void> {
    // no two replicas of a shard may sign one round: canSignRound is the sign guard's permission
    const now = Math.floor(this.clock.now / this.cfg.epochMs);
    for (let si = 0; si < this.genesis.validators.size; si++) {
      const up = this.replicasOf(si).filter((m) => m.rep && m.proc.state === 'up' && !m.proc.paused(this.clock.now));
      for (let e = Math.max(0, now - 3); e < now; e++) {
        const signers = up.filter((m) => m.rep!.canSignRound(e));
        if (signers.length > 1) this.violation(`replicas ${signers.map((m) => `${m.name} (term ${m.rep!.term()})`).join(' and ')} may both sign rounds of epoch ${e}`);
      }
    }
    for (const n of this.nodes) {
      const rep = n.rep;
      const s = n.s;
      if (!rep || !s || n.proc.state !== 'up') continue;
      const l = this.lagging.get(n.i);
      if (l) {
        if (!rep.isWriter() || rep.committedEpoch() >= l.below) {
          this.lagging.delete(n.i);
          if (rep.isWriter()) {
            this.underReports.push(this.clock.now - l.since);
            this.log(`writer ${n.name} reports committed ${rep.committedEpoch()} >= ${l.below} after ${this.clock.now - l.since} ms`);
          }
        }
      }
      const c = rep.committedEpoch();
      if (c < 0) continue;
      const known = this.committedHash.get(`${n.shard}@${c}`);
      const own = await s.snapshot(c);
      if (n.s !== s || !known || !own) continue;
      const h = toHex(snapshotHash(own.snapshot));
      if (h !== known.hash) this.violation(`replica ${n.name} reports epoch ${c} committed holding ${h.slice(0, 16)}, but ${known.by} committed ${known.hash.slice(0, 16)} (term ${known.term})`);
    }
  }

  private onGlobal(n: SimNode, ev: GlobalEvent): void {
    const e = ev.global.aggregate.epoch;
    const root = toHex(ev.root);
    const first = this.roots.get(e);
    if (first === undefined) this.roots.set(e, root);
    else if (first !== root) this.violation(`two final roots for global epoch ${e}: ${first.slice(0, 16)} and ${root.slice(0, 16)} (node ${n.name})`);
    if (!this.conserved.has(e)) {
      this.conserved.add(e);
      const c = globalConservation(ev.global.aggregate, totalSupply(this.genesis));
      if (!c.holds) this.violation(`global ${e}: supply not conserved (supply ${c.supply}, in flight ${c.inFlight}, fees ${c.burnedFees}, genesis ${c.genesisSupply})`);
    }
    if (!n.globalAt.has(e)) n.globalAt.set(e, this.clock.now);
    // with replica sets at depth 1: the global's children are the shards' snapshots, and each must be
    // one its shard committed (a deposed writer's uncommitted epoch must never become final)
    if (this.replicated && this.cfg.depth === 1) {
      ev.global.aggregate.children.forEach((c, si) => {
        if (c.epoch < 0 || c.commitment.every((b) => b === 0)) return;
        const shard = this.replicasOf(si)[0]!.shard;
        const k = `${shard}@${c.epoch}`;
        const hash = toHex(c.commitment);
        if (this.finalized.has(k)) return;
        this.finalized.set(k, { hash, global: e });
        const known = this.committedHash.get(k);
        if (known && known.hash !== hash) this.violation(`final global ${e} includes ${k} ${hash.slice(0, 16)}, but ${known.by} committed ${known.hash.slice(0, 16)} (term ${known.term})`);
      });
    }
    const sealed = this.sealTime.get(e);
    if (sealed !== undefined && sealed >= this.healAt + 2 * this.cfg.epochMs) this.latencies.push(this.clock.now - sealed);
    this.log(`global ${n.name} ${e} ${root.slice(0, 16)}`);
  }

  private crash(n: SimNode): void {
    n.proc.gen++;
    n.proc.state = 'down';
    n.die();
    n.p2p && void n.p2p.close();
    // nothing is closed cleanly: the process is gone; its stores keep only what was synced
    n.s = undefined;
    n.net = undefined;
    n.rep = undefined;
    n.clockOn = false;
    this.lagging.delete(n.i);
    this.sealing.delete(n.i);
  }

  /**
   * Every fault ends (a restarted process is up) by this time: a whole epoch before the calm phase,
   * with replica sets 3 epochs before: faults overlap there, so a shard may have lost its writer
   * and elects one once its replicas are back (hearing a replica that lost its data, election
   * timeouts, a new writer signing rounds from the next epoch) before liveness is judged.
   */
  private faultsEndBy(): number {
    return this.healAt - (this.replicated ? 3 : 1) * this.cfg.epochMs;
  }

  /**
   * A process crashed now (or wiped) is started again about `dur` ms from now and comes up a boot
   * delay (`bootMs`) after that, as a real process does; by faultsEndBy (the boot cut short if need be).
   */
  private restartPlan(dur: number): { start: number; up: number } {
    const limit = this.faultsEndBy();
    const [lo, hi] = this.cfg.bootMs;
    const boot = Math.min(lo + Math.floor(this.rand() * (hi - lo + 1)), Math.max(0, limit - this.clock.now));
    const start = Math.max(this.clock.now, Math.min(this.clock.now + dur, limit - boot));
    return { start, up: start + boot };
  }

  /** Process `n` (down) is started again now and comes up at `up`: from its synced writes, or `wiped` (empty). */
  private startAgain(n: SimNode, up: number, wiped: boolean): void {
    n.booting = true;
    n.startedAt = this.clock.now;
    this.log(`start ${n.name}${wiped ? ' wiped' : ''}: up in ${up - this.clock.now} ms`);
    this.clock.at(up, () => {
      n.booting = false;
      if (wiped) {
        n.proc.state = 'up';
        this.log(`restart ${n.name} wiped`);
        void this.boot(n);
      } else void this.restart(n);
    });
  }

  private async restart(n: SimNode): Promise<void> {
    const a = await n.shardDb.afterCrash();
    const b = await n.netDb.afterCrash();
    n.shardDb = a.db;
    n.netDb = b.db;
    n.proc.state = 'up';
    this.log(`restart ${n.name} (lost ${a.lost} shard writes, ${b.lost} network writes not synced)`);
    await this.boot(n);
  }

  // ---- clients ----

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  /** The node a client of shard `si` submits to: its node, or with replicas the replica that holds the write lease (a follower would forward to it). */
  private entryNode(si: number): SimNode | undefined {
    if (!this.replicated) return this.nodes[si];
    return this.replicasOf(si).find((m) => m.rep?.isWriter());
  }

  /** A client submits a transfer to its home node (as the API would: Shard.submit). */
  private submitOne(): void {
    const u = this.pick(this.users);
    const n = this.entryNode(u.home);
    const cross = this.genesis.validators.size > 1 && this.rand() < this.cfg.crossRatio;
    const cands = this.users.filter((x) => x !== u && (x.home !== u.home) === cross);
    if (cands.length === 0) return;
    const to = this.pick(cands);
    const amount = 1n + BigInt(Math.floor(this.rand() * 1000));
    const fee = BigInt(Math.floor(this.rand() * 3));
    const t = { network: this.genesis.networkId, from: u.key.publicKey, to: to.address, amount, fee, nonce: u.next, ts: 0n };
    const bytes = encodeSignedTx(signTransfer(t, u.key.secretKey));
    const id = txIdHex(t);
    if (!n) return; // no writer right now (an election): the client tries another transfer later
    this.clock.at(this.clock.now + 1 + Math.floor(this.rand() * 20), () => {
      const s = n.s;
      if (!s) return; // the client's node is down: the client tries another transfer later
      void s.submit([bytes]).then(async ([r]) => {
        if (r?.ok) {
          this.sent.set(id, { id, from: u.home, to: to.address, toHome: to.home, amount, fee, nonce: t.nonce, user: u });
          if (u.next === t.nonce) u.next++;
        } else if (n.s === s) {
          u.next = (await s.account(u.address)).pendingNonce;
        }
      });
    }, n.proc);
  }

  // ---- the nemesis ----

  private faulty = new Set<number>();

  /**
   * A node's fault ended. With 'one-per-triad' its triad stays "busy" for RECOVER_EPOCHS more
   * (no fault on another member yet): a restarted or healed member needs a round or two to be
   * back in the rounds, and a fault on a second member before then is two faulty members in one
   * round, which 2 of 3 does not promise to survive.
   */
  private release(n: SimNode): void {
    if (this.replicated) {
      // the next fault may hit the shard while this replica still boots or catches up (as a
      // supervisor restarts a process and moves on)
      this.faulty.delete(n.si);
      return;
    }
    if (this.cfg.faults !== 'one-per-triad') this.faulty.delete(n.i);
    else this.clock.at(this.clock.now + RECOVER_EPOCHS * this.cfg.epochMs, () => this.faulty.delete(n.i));
  }

  private eligible(): SimNode[] {
    if (this.cfg.faults === 'one-per-triad') {
      const busy = new Set([...this.faulty].map((i) => this.nodes[i]!.shard.slice(0, -1)));
      return this.nodes.filter((n) => !busy.has(n.shard.slice(0, -1)) && !this.faulty.has(n.i));
    }
    return this.nodes.filter((n) => !this.faulty.has(n.i));
  }

  private nemesis(): void {
    if (this.cfg.faults === 'none' || this.clock.now >= this.faultsEndBy() - this.cfg.epochMs) return;
    if (this.replicated) return this.replicaNemesis();
    const cands = this.eligible();
    if (cands.length === 0 || this.rand() > 0.35) return;
    const n = this.pick(cands);
    const dur = 1000 + Math.floor(this.rand() * 6000);
    const kind = this.pick(this.cfg.faultKinds ?? FAULT_KINDS);
    // a crashed node is down until it is started again and has booted (its fault window)
    const plan = kind === 'crash' ? this.restartPlan(dur) : undefined;
    const end = plan ? plan.up : Math.min(this.clock.now + dur, this.faultsEndBy());
    this.faults++;
    this.faulty.add(n.i);
    let w = this.faultWindows.get(n.i);
    if (!w) this.faultWindows.set(n.i, (w = []));
    w.push([this.clock.now, plan ? end + MESH_JOIN_MS[1] : end]); // a restarted node hears gossip once in the meshes
    this.log(`fault ${kind} ${n.shard} for ${end - this.clock.now} ms`);
    const others = this.nodes.filter((m) => m !== n).map((m) => m.peerId);
    switch (kind) {
      case 'pause':
        n.proc.resumeAt = end;
        this.clock.at(end, () => { this.release(n); this.log(`resume ${n.shard}`); });
        return;
      case 'crash':
        this.crash(n);
        this.clock.at(plan!.start, () => this.startAgain(n, plan!.up, false));
        this.clock.at(end, () => this.release(n));
        return;
      default:
        for (const o of others) {
          if (kind !== 'partition-in') this.net.block(n.peerId, o);
          if (kind !== 'partition-out') this.net.block(o, n.peerId);
        }
        this.clock.at(end, () => {
          for (const o of others) { this.net.unblock(n.peerId, o); this.net.unblock(o, n.peerId); }
          this.release(n);
          this.log(`heal ${n.shard}`);
        });
    }
  }

  /**
   * With replica sets: one fault started on a shard at a time (pause, partition, or the time a
   * replica is down until it is started again), the next one possibly while the last one's replica
   * still boots or catches up, so at times two or all three are out at once. Only a replica that is
   * up is picked; a follower is wiped only while no replica of its shard is still recovering from
   * an earlier loss of its data (two lost disks before re-replication lose commits in any design).
   */
  private replicaNemesis(): void {
    const shards = [...new Set(this.nodes.map((n) => n.si))].filter((si) => !this.faulty.has(si));
    if (shards.length === 0 || this.rand() > 0.35) return;
    const si = this.pick(shards);
    const kind = this.pick(this.cfg.faultKinds ?? REPLICA_FAULT_KINDS);
    const set = this.replicasOf(si);
    for (const m of set) if (m.lostData && m.rep && !m.rep.status().votesWithheld) m.lostData = false;
    const up = set.filter((m) => m.s && m.proc.state === 'up' && !m.booting);
    if (up.length === 0 || (kind === 'wipe-follower' && set.some((m) => m.lostData))) return;
    // a kill or wipe too late to come up with a whole boot delay is not injected (no instant restarts)
    if ((kind === 'wipe-follower' || kind === 'kill-writer' || kind === 'kill-follower') && this.faultsEndBy() - this.clock.now < 1000 + this.cfg.bootMs[0]) return;
    const writer = up.find((m) => m.rep?.isWriter());
    const followers = up.filter((m) => m !== writer);
    const n = kind === 'kill-writer' || kind === 'partition-writer' ? writer ?? this.pick(up) : kind === 'pause' ? this.pick(up) : followers.length ? this.pick(followers) : this.pick(up);
    const dur = kind === 'partition-writer' ? PARTITION_WRITER_EPOCHS * this.cfg.epochMs : 1000 + Math.floor(this.rand() * 6000);
    const plan = kind === 'wipe-follower' || kind === 'kill-writer' || kind === 'kill-follower' ? this.restartPlan(dur) : undefined;
    const end = plan ? plan.up : Math.min(this.clock.now + dur, this.faultsEndBy());
    this.faults++;
    this.faulty.add(si);
    let w = this.faultWindows.get(n.i);
    if (!w) this.faultWindows.set(n.i, (w = []));
    w.push([this.clock.now, end]);
    this.log(`fault ${kind} ${n.name}${n === writer ? ' (writer)' : ''} for ${end - this.clock.now} ms${plan ? ` (started again after ${plan.start - this.clock.now})` : ''}`);
    switch (kind) {
      case 'pause':
        n.proc.resumeAt = end;
        this.clock.at(end, () => { this.release(n); this.log(`resume ${n.name}`); });
        return;
      case 'wipe-follower':
        // kill -9, then the whole data dir is lost, vote record included: a new, empty replica
        this.crash(n);
        n.lostData = true;
        n.dataLives++;
        n.votes.state = undefined;
        n.votes.catchUp = false;
        n.shardDb = CrashableLevel.make<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' });
        n.netDb = CrashableLevel.make<string, Uint8Array>({ valueEncoding: 'view' });
        this.clock.at(plan!.start, () => { this.release(n); this.startAgain(n, plan!.up, true); });
        return;
      case 'partition-writer': {
        // the writer cut off from its followers both ways (replica messages and gossip alike)
        const peers = set.filter((m) => m !== n).map((m) => m.peerId);
        for (const o of peers) { this.net.block(n.peerId, o); this.net.block(o, n.peerId); }
        this.clock.at(end, () => {
          for (const o of peers) { this.net.unblock(n.peerId, o); this.net.unblock(o, n.peerId); }
          this.release(n);
          this.log(`heal ${n.name}`);
        });
        return;
      }
      default: // kill-writer, kill-follower
        this.crash(n);
        this.clock.at(plan!.start, () => { this.release(n); this.startAgain(n, plan!.up, false); });
    }
  }

  // ---- the run ----

  async run(): Promise<SimResult> {
    process.on('unhandledRejection', this.onUnhandled);
    process.on('uncaughtException', this.onUnhandled);
    try {
      return await this.runPhases();
    } catch (err) {
      // the run itself failed (e.g. an event storm): a violation of this seed, with its trace
      this.violation(`the run threw: ${String((err as Error)?.stack ?? err).split('\n').slice(0, 6).join(' | ')}`);
      return this.result();
    }
  }

  private async runPhases(): Promise<SimResult> {
    const { epochMs } = this.cfg;
    for (const n of this.nodes) await this.boot(n);
    this.diskOn = true; // from here the clock runs (a delayed operation needs it)
    const plant = this.cfg.plant;
    if (plant) {
      const n0 = this.nodes[0]!;
      this.clock.at(2_500, () => {
        if (plant === 'rejection') void Promise.reject(new TypeError('planted rejection'));
        else if (plant === 'throw') throw new RangeError('planted exception');
        else (this.nodeLogger(n0) as { error(o: object, m: string): void }).error({ planted: true }, 'planted error');
      }, n0.proc);
    }
    const totalEpochs = this.cfg.faultEpochs + this.cfg.calmEpochs;
    const faultEnd = (this.cfg.faultEpochs + 1) * epochMs;
    this.healAt = faultEnd;
    // clients and the nemesis act on the world's own schedule (no process owns them)
    for (let e = 0; e < totalEpochs; e++) {
      const t0 = (e + 1) * epochMs;
      const clientsUntil = totalEpochs - this.cfg.livenessEpochs - 2;
      if (e < clientsUntil) for (let k = 0; k < this.cfg.txPerEpoch; k++) this.clock.at(t0 + Math.floor(this.rand() * epochMs), () => this.submitOne());
      if (t0 < faultEnd) for (let k = 0; k < 3; k++) this.clock.at(t0 + Math.floor(this.rand() * epochMs), () => this.nemesis());
      if (this.replicated) this.clock.at(t0 + epochMs / 2, () => void this.checkReplicas());
    }
    let end = (totalEpochs + 1) * epochMs + 500;
    await this.clock.runUntil(end);
    // drain: no more clients or faults; every receipt must be credited within DRAIN_EPOCHS
    let drained = 0;
    for (; drained < DRAIN_EPOCHS && this.inFlight() !== 0n; drained++) {
      end += epochMs;
      await this.clock.runUntil(end);
    }
    if (this.inFlight() !== 0n) this.violation(`cross-shard receipts worth ${this.inFlight()} still not credited ${DRAIN_EPOCHS} epochs after the last transfer and fault`);
    this.log(`drained in ${drained} epochs`);
    // the final checks read the stores with the clock stopped: operations still waiting on the disk
    // complete first, and from here on every operation completes at once
    this.diskOn = false;
    await this.clock.runUntil(this.clock.now + 4);
    await this.finalChecks();
    return this.result();
  }

  private result(): SimResult {
    const result: SimResult = {
      seed: this.cfg.seed, ok: this.violations.length === 0, violations: this.violations, traceHash: this.trace.copy().digest('hex').slice(0, 32),
      traceLines: this.traceLines, tail: this.tail,
      stats: {
        epochs: this.cfg.faultEpochs + this.cfg.calmEpochs, globals: this.roots.size, committed: this.acked.size, cross: [...this.sent.values()].filter((t) => t.toHome !== t.from).length,
        faults: this.faults, messages: this.net.stats.delivered, lost: this.net.stats.lost, latencies: this.latencies, steps: this.clock.steps,
        ...(this.replicated ? { elections: this.elections, underReports: this.underReports, earlySigns: this.earlySigns, unsignable: this.unsignable, lastElectionMs: this.lastElectionMs } : {}),
      },
    };
    return result;
  }

  /** Emitted and not yet credited, over the nodes' latest snapshots (0 once everything landed). */
  private inFlight(): bigint {
    if (this.latestSnap.size < this.genesis.validators.size) return 0n;
    return snapshotsConservation([...this.latestSnap.values()], totalSupply(this.genesis)).inFlight;
  }

  private async finalChecks(): Promise<void> {
    const { epochMs, livenessEpochs } = this.cfg;
    const live = this.nodes.filter((n) => n.s && n.net);
    // liveness: every epoch sealed after the faults healed (all of them for one-per-triad, on the
    // nodes that stayed up) is final on every live node within livenessEpochs of its seal
    const lastSealed = Math.max(-1, ...[...this.sealTime.keys()]);
    const perTriad = this.cfg.faults === 'one-per-triad';
    const unsignable: number[] = [];
    for (const [e, t] of [...this.sealTime].sort((a, b) => a[0] - b[0])) {
      if (!perTriad && t < this.healAt + 2 * epochMs) continue;
      if (e > lastSealed - livenessEpochs - 1) continue;
      // with replica sets, an epoch no two members of the apex (or of every triad below it) may
      // sign is never final: writers elected late (bounded in finalReplicaChecks) sign only later epochs
      if (this.replicated && !this.roundFinalisable('', e)) {
        unsignable.push(e);
        continue;
      }
      for (const n of live) {
        // a node that was itself faulty around the epoch cannot be on time; the others must be
        if (perTriad && (this.faultWindows.get(n.i) ?? []).some(([a, b]) => a < t + (livenessEpochs + 1) * epochMs && b > t - 2 * epochMs)) continue;
        const at = n.globalAt.get(e);
        if (at === undefined) this.violation(`liveness: epoch ${e} (sealed at ${t}) has no final global snapshot on node ${n.name}`);
        else if (at - t > livenessEpochs * epochMs) this.violation(`liveness: epoch ${e} final on node ${n.name} ${at - t} ms after its seal (bound ${livenessEpochs} epochs)`);
      }
    }
    this.unsignable = unsignable.length;
    if (unsignable.length) this.log(`liveness: epochs ${unsignable.join(',')} not judged: fewer than two members of a triad had a writer that may sign them`);
    if (this.replicated) await this.finalReplicaChecks();
    // committed transactions: each acknowledged commit is in its shard exactly once, where it was
    // acknowledged (with replicas: on every live replica that reports its epoch committed, and on at least one)
    for (const [id, a] of this.acked) {
      const holders = this.replicasOf(a.shard).filter((m) => m.s && (!m.rep || m.rep.committedEpoch() >= a.epoch));
      if (this.replicated && holders.length === 0 && this.replicasOf(a.shard).some((m) => m.s)) this.violation(`acknowledged tx ${id.slice(0, 12)} (${a.shard}@${a.epoch}): no live replica reports its epoch committed`);
      for (const m of holders) {
        const st = await m.s!.txStatus(Buffer.from(id, 'hex'));
        if (st.status !== 'committed' || st.epoch !== a.epoch) this.violation(`acknowledged tx ${id.slice(0, 12)} (${a.shard}@${a.epoch}) is ${st.status}${st.status === 'committed' ? ` at ${st.epoch}` : ''} on ${m.name}`);
      }
    }
    // nonces gapless, balances exact (every transfer debited once, every cross-shard credit once)
    const expect = new Map<string, bigint>(this.users.map((u) => [toHex(u.address), 1_000_000n]));
    const nonces = new Map<User, bigint[]>();
    for (const t of this.sent.values()) {
      if (!this.acked.has(t.id)) continue;
      const fromHex = toHex(t.user.address);
      expect.set(fromHex, expect.get(fromHex)! - t.amount - t.fee);
      expect.set(toHex(t.to), (expect.get(toHex(t.to)) ?? 0n) + t.amount);
      let l = nonces.get(t.user);
      if (!l) nonces.set(t.user, (l = []));
      l.push(t.nonce);
    }
    const allUp = this.nodes.every((n) => n.s);
    for (const u of this.users) {
      const s = this.stateNode(u.home)?.s;
      if (!s) continue;
      const acc = await s.account(u.address);
      const ns = (nonces.get(u) ?? []).sort((a, b) => (a < b ? -1 : 1));
      if (ns.some((x, i) => x !== BigInt(i)) || acc.nonce !== BigInt(ns.length)) this.violation(`nonces of ${toHex(u.address).slice(0, 12)}: committed ${ns.join(',')} but account nonce ${acc.nonce}`);
      if (allUp && acc.balance !== expect.get(toHex(u.address))) {
        this.violation(`balance of ${toHex(u.address).slice(0, 12)} on ${u.home}: ${acc.balance}, expected ${expect.get(toHex(u.address))} (a transfer debited or credited other than once)`);
        if (this.cfg.verbose) {
          for (const t of this.sent.values()) {
            if (t.user !== u && toHex(t.to) !== toHex(u.address)) continue;
            const a = this.acked.get(t.id);
            const st = a ? await this.stateNode(t.from)?.s?.txStatus(Buffer.from(t.id, 'hex')) : undefined;
            this.log(`  tx ${t.id.slice(0, 12)} ${t.from}->${t.toHome} amount ${t.amount} fee ${t.fee} nonce ${t.nonce} ${t.user === u ? 'out' : 'in'} acked ${a ? `${a.shard}@${a.epoch}` : 'no'} ${st?.status ?? ''}`);
          }
          for (let si = 0; si < this.genesis.validators.size; si++) if (si !== u.home) this.log(`  inbox ${u.home} from ${si}: next ${this.stateNode(u.home)?.s?.inboxCursor(si).next}`);
        }
      }
    }
    this.log(`end: ${this.roots.size} global epochs, ${this.acked.size} commits, ${this.violations.length} violations`);
  }

  /** Whose state stands for shard `si` at the end: its node, or its writer (else the live replica with the highest committed epoch). */
  private stateNode(si: number): SimNode | undefined {
    if (!this.replicated) return this.nodes[si];
    const up = this.replicasOf(si).filter((m) => m.s && m.rep);
    return up.find((m) => m.rep!.isWriter()) ?? up.sort((a, b) => b.rep!.committedEpoch() - a.rep!.committedEpoch())[0];
  }

  /**
   * With replica sets, at the end: every replica agrees with the committed snapshots on every epoch
   * it reports committed; each shard has a writer again and committed epochs up to within the
   * liveness bound of the end.
   */
  private async finalReplicaChecks(): Promise<void> {
    await Promise.all(this.scanned.values());
    await this.checkReplicas();
    for (const [k, f] of this.finalized) {
      const known = this.committedHash.get(k);
      if (!known) this.violation(`final global ${f.global} includes ${k} ${f.hash.slice(0, 16)}, which no writer committed`);
    }
    const lastDue = Math.floor(this.clock.now / this.cfg.epochMs) - 1;
    for (let si = 0; si < this.genesis.validators.size; si++) {
      const set = this.replicasOf(si);
      const shard = set[0]!.shard;
      const c = this.maxCommitted.get(si) ?? -1;
      if (c < lastDue - this.cfg.livenessEpochs) this.violation(`liveness: shard ${shard} committed epochs only up to ${c} by the end (epoch ${lastDue} due; bound ${this.cfg.livenessEpochs} epochs)`);
      if (!set.some((m) => m.rep?.isWriter())) this.violation(`liveness: shard ${shard} has no writer at the end`);
      const last = this.electionLog.get(si)?.at(-1);
      const late = last ? last.at - this.faultsEndBy() : 0;
      this.lastElectionMs = Math.max(this.lastElectionMs, late);
      if (late > this.electionBoundMs()) this.violation(`liveness: shard ${shard} elected its writer (term ${last!.term}) ${late} ms after the faults ended (bound ${this.electionBoundMs()} ms)`);
      for (const m of set) {
        if (!m.s || !m.rep) continue;
        const synced = await m.s.syncedAt();
        for (let e = (synced ?? -1) + 1; e <= m.rep.committedEpoch(); e++) {
          const own = await m.s.snapshot(e);
          const known = this.committedHash.get(`${shard}@${e}`);
          if (own && known && toHex(snapshotHash(own.snapshot)) !== known.hash) this.violation(`replica ${m.name} holds another snapshot of committed epoch ${e} than ${known.by} committed`);
        }
      }
    }
  }

  async close(): Promise<void> {
    this.diskOn = false;
    for (const n of this.nodes) {
      // the protocol's loops may wait on events of a clock that no longer runs: stop them, do not wait
      if (n.rep) void n.rep.close().catch(() => {});
      // (bounded: after a run that threw, a close may wait on a disk operation no clock completes)
      for (const c of [...n.components].reverse()) await Promise.race([c.close().catch(() => {}), new Promise((r) => setTimeout(r, 200).unref())]);
    }
    // what the run left settling may still reject: it counts for this seed, then the handlers go
    await settle();
    process.off('unhandledRejection', this.onUnhandled);
    process.off('uncaughtException', this.onUnhandled);
  }
}

/** Runs one seed. */
export async function runSeed(seed: number, over: Partial<SimConfig> = {}): Promise<SimResult> {
  const w = new World({ ...DEFAULTS, ...over, seed });
  let r: SimResult;
  try {
    r = await w.run();
  } finally {
    await w.close();
  }
  // a rejection that surfaced while closing counts for this seed too
  return { ...r, ok: r.violations.length === 0 };
}
