// One simulated network (docs/SIMULATION.md): 3^depth nodes, each a real Shard over a crashable
// in-memory store, wired to the hierarchy by the node's own wiring (attachNetwork: TriadNetwork with
// the pure round machine, cross-shard delivery), exchanging messages over SimNetwork on the virtual
// clock. Clients submit transfers (some cross-shard); a seeded nemesis injects faults; invariants
// are checked as events happen and at the end. Proving is not simulated.
import { createHash } from 'node:crypto';
import { addressFromPublicKey, homeShard } from '../../src/core/address.js';
import { keyPairFromSeed, type KeyPair } from '../../src/core/ed25519.js';
import { allShards, shardIndex, type ShardId } from '../../src/core/ids.js';
import { totalSupply, type Genesis } from '../../src/core/genesis.js';
import { toHex } from '../../src/core/bytes.js';
import { Shard, type SealedEvent } from '../../src/shard/shard.js';
import { encodeSignedTx, signTransfer, txIdHex } from '../../src/shard/tx.js';
import { globalConservation, snapshotsConservation } from '../../src/hierarchy/conservation.js';
import type { Snapshot } from '../../src/shard/snapshot.js';
import { attachNetwork } from '../../src/node/attach.js';
import { validatorPeers } from '../../src/gossip/identity.js';
import type { TriadNetwork, GlobalEvent } from '../../src/gossip/network.js';
import type { Component } from '../../src/node/node.js';
import { rng } from './rng.js';
import { SimProcess, VirtualClock } from './clock.js';
import { SimNetwork, type LinkModel, type SimP2P } from './network.js';
import { CrashableLevel } from './store.js';

export const FAULT_KINDS = ['pause', 'crash', 'partition', 'partition-out', 'partition-in'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

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
}

/** With 'one-per-triad': epochs after a member's fault ends before another member of its triad may fault. */
const RECOVER_EPOCHS = 2;

/** Epochs after the end of the run (no clients, no faults) within which every receipt must be credited. */
const DRAIN_EPOCHS = 12;

export const DEFAULTS: Omit<SimConfig, 'seed'> = {
  depth: 1, epochMs: 1000, faultEpochs: 10, calmEpochs: 10, usersPerShard: 4, txPerEpoch: 4, crossRatio: 0.5,
  faults: 'random', livenessEpochs: 4, traceTail: 40,
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
  };
}

interface User { key: KeyPair; address: Uint8Array; home: number; next: bigint }

interface SimNode {
  i: number;
  shard: ShardId;
  peerId: string;
  key: KeyPair;
  proc: SimProcess;
  shardDb: CrashableLevel;
  netDb: CrashableLevel<string, Uint8Array>;
  s?: Shard;
  net?: TriadNetwork;
  p2p?: SimP2P;
  components: Component[];
  /** Virtual time at which this node recorded each global epoch. */
  globalAt: Map<number, number>;
  restarting: boolean;
}

interface SentTx { id: string; from: number; to: Uint8Array; toHome: number; amount: bigint; fee: bigint; nonce: bigint; user: User }

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
  private readonly latestSnap = new Map<number, Snapshot>(); // node -> its latest sealed snapshot
  private faults = 0;
  /** Time by which every fault has ended (liveness judged from here in 'random' mode). */
  healAt = 0;
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
    const ids = allShards(cfg.depth);
    const keys = ids.map((_, i) => simKey('sim-validator', i));
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
    };
    const peers = validatorPeers(this.genesis);
    ids.forEach((s, i) => this.nodes.push({
      i, shard: s, peerId: peers.byShard.get(s)!, key: keys[i]!, proc: new SimProcess(s), components: [], globalAt: new Map(), restarting: false,
      shardDb: CrashableLevel.make<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }),
      netDb: CrashableLevel.make<string, Uint8Array>({ valueEncoding: 'view' }),
    }));
    this.log(`seed ${cfg.seed} depth ${cfg.depth} link ${JSON.stringify(link)} faults ${cfg.faults}`);
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

  private async boot(n: SimNode): Promise<void> {
    const sched = this.clock.schedulerFor(n.proc);
    const s = await Shard.open({
      dataDir: `sim:${n.shard}`, genesis: this.genesis, shard: n.shard, validatorKey: n.key, verifyWorkers: 0,
      db: n.shardDb as never, clock: () => this.clock.now, sync: true,
    });
    const p2p = this.net.attach(n.peerId, n.proc);
    const { net, components } = await attachNetwork({
      shard: s, genesis: this.genesis, validatorKey: n.key, p2p, scheduler: sched, logger: this.cfg.verbose ? this.nodeLogger(n) : undefined,
      store: n.netDb.sublevel<string, Uint8Array>('global', { valueEncoding: 'view' }),
      signStore: n.netDb.sublevel<string, Uint8Array>('signed', { valueEncoding: 'view' }),
    });
    n.s = s;
    n.net = net;
    n.p2p = p2p;
    n.components = components;
    s.events.on('sealed', (ev: SealedEvent) => this.onSealed(n, ev));
    net.onGlobal((ev) => this.onGlobal(n, ev));
    // the epoch clock: seal every due epoch (back to back after a pause or restart), then wait
    const tick = (): void => {
      void this.sealDue(n);
      const next = (Math.floor(this.clock.now / this.cfg.epochMs) + 1) * this.cfg.epochMs + 1 + (n.i * 7) % 50;
      this.clock.at(next, tick, n.proc);
    };
    this.clock.at(Math.max(this.clock.now, this.cfg.epochMs) + 1 + (n.i * 7) % 50, tick, n.proc);
  }

  /** A logger (the pino methods the node uses) writing into the trace. */
  private nodeLogger(n: SimNode): never {
    const line = (level: string) => (o: unknown, msg?: string): void => {
      const data = typeof o === 'string' ? '' : JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? toHex(v).slice(0, 16) : v));
      this.log(`log ${n.shard} ${level} ${typeof o === 'string' ? o : msg ?? ''} ${data}`);
    };
    const l: Record<string, unknown> = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), trace: () => {} };
    l.child = () => l;
    return l as never;
  }

  private sealing = new Set<number>();
  private async sealDue(n: SimNode): Promise<void> {
    if (this.sealing.has(n.i) || !n.s) return;
    this.sealing.add(n.i);
    const gen = n.proc.gen;
    try {
      const due = Math.floor(this.clock.now / this.cfg.epochMs) - 1;
      while (n.s && n.proc.gen === gen && n.s.latestEpoch() < due) await n.s.sealEpoch();
    } finally {
      if (n.proc.gen === gen) this.sealing.delete(n.i);
    }
  }

  private onSealed(n: SimNode, ev: SealedEvent): void {
    const e = ev.snapshot.snapshot.epoch;
    const h = toHex(ev.snapshot.signature).slice(0, 16);
    const k = `${n.shard}@${e}`;
    const prev = this.sealed.get(k);
    if (prev !== undefined && prev !== h) this.violation(`shard ${n.shard} sealed epoch ${e} twice, differently (a synced seal lost?)`);
    this.sealed.set(k, h);
    this.sealTime.set(e, (e + 1) * this.cfg.epochMs);
    this.latestSnap.set(n.i, ev.snapshot.snapshot);
    for (const id of ev.txids) {
      const a = this.acked.get(id);
      if (a && (a.shard !== n.i || a.epoch !== e)) this.violation(`tx ${id.slice(0, 12)} committed twice: ${a.shard}@${a.epoch} and ${n.i}@${e}`);
      this.acked.set(id, { shard: n.i, epoch: e });
    }
    this.log(`seal ${n.shard}@${e} txs ${ev.txCount} sig ${h}`);
  }

  private onGlobal(n: SimNode, ev: GlobalEvent): void {
    const e = ev.global.aggregate.epoch;
    const root = toHex(ev.root);
    const first = this.roots.get(e);
    if (first === undefined) this.roots.set(e, root);
    else if (first !== root) this.violation(`two final roots for global epoch ${e}: ${first.slice(0, 16)} and ${root.slice(0, 16)} (node ${n.shard})`);
    if (!this.conserved.has(e)) {
      this.conserved.add(e);
      const c = globalConservation(ev.global.aggregate, totalSupply(this.genesis));
      if (!c.holds) this.violation(`global ${e}: supply not conserved (supply ${c.supply}, in flight ${c.inFlight}, fees ${c.burnedFees}, genesis ${c.genesisSupply})`);
    }
    if (!n.globalAt.has(e)) n.globalAt.set(e, this.clock.now);
    const sealed = this.sealTime.get(e);
    if (sealed !== undefined && sealed >= this.healAt + 2 * this.cfg.epochMs) this.latencies.push(this.clock.now - sealed);
    this.log(`global ${n.shard} ${e} ${root.slice(0, 16)}`);
  }

  private crash(n: SimNode): void {
    n.proc.gen++;
    n.proc.state = 'down';
    n.p2p && void n.p2p.close();
    // nothing is closed cleanly: the process is gone; its stores keep only what was synced
    n.s = undefined;
    n.net = undefined;
    this.sealing.delete(n.i);
  }

  private async restart(n: SimNode): Promise<void> {
    const a = await n.shardDb.afterCrash();
    const b = await n.netDb.afterCrash();
    n.shardDb = a.db;
    n.netDb = b.db;
    n.proc.state = 'up';
    this.log(`restart ${n.shard} (lost ${a.lost} shard writes, ${b.lost} network writes not synced)`);
    await this.boot(n);
  }

  // ---- clients ----

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  /** A client submits a transfer to its home node (as the API would: Shard.submit). */
  private submitOne(): void {
    const u = this.pick(this.users);
    const n = this.nodes[u.home]!;
    const cross = this.nodes.length > 1 && this.rand() < this.cfg.crossRatio;
    const cands = this.users.filter((x) => x !== u && (x.home !== u.home) === cross);
    if (cands.length === 0) return;
    const to = this.pick(cands);
    const amount = 1n + BigInt(Math.floor(this.rand() * 1000));
    const fee = BigInt(Math.floor(this.rand() * 3));
    const t = { network: this.genesis.networkId, from: u.key.publicKey, to: to.address, amount, fee, nonce: u.next, ts: 0n };
    const bytes = encodeSignedTx(signTransfer(t, u.key.secretKey));
    const id = txIdHex(t);
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
    if (this.cfg.faults === 'none' || this.clock.now >= this.healAt - 2 * this.cfg.epochMs) return;
    const cands = this.eligible();
    if (cands.length === 0 || this.rand() > 0.35) return;
    const n = this.pick(cands);
    const dur = 1000 + Math.floor(this.rand() * 6000);
    const end = Math.min(this.clock.now + dur, this.healAt - this.cfg.epochMs);
    const kind = this.pick(this.cfg.faultKinds ?? FAULT_KINDS);
    this.faults++;
    this.faulty.add(n.i);
    let w = this.faultWindows.get(n.i);
    if (!w) this.faultWindows.set(n.i, (w = []));
    w.push([this.clock.now, end]);
    this.log(`fault ${kind} ${n.shard} for ${end - this.clock.now} ms`);
    const others = this.nodes.filter((m) => m !== n).map((m) => m.peerId);
    switch (kind) {
      case 'pause':
        n.proc.resumeAt = end;
        this.clock.at(end, () => { this.release(n); this.log(`resume ${n.shard}`); });
        return;
      case 'crash':
        this.crash(n);
        this.clock.at(end, () => { this.release(n); void this.restart(n); });
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

  // ---- the run ----

  async run(): Promise<SimResult> {
    const { epochMs } = this.cfg;
    for (const n of this.nodes) await this.boot(n);
    const totalEpochs = this.cfg.faultEpochs + this.cfg.calmEpochs;
    const faultEnd = (this.cfg.faultEpochs + 1) * epochMs;
    this.healAt = faultEnd;
    // clients and the nemesis act on the world's own schedule (no process owns them)
    for (let e = 0; e < totalEpochs; e++) {
      const t0 = (e + 1) * epochMs;
      const clientsUntil = totalEpochs - this.cfg.livenessEpochs - 2;
      if (e < clientsUntil) for (let k = 0; k < this.cfg.txPerEpoch; k++) this.clock.at(t0 + Math.floor(this.rand() * epochMs), () => this.submitOne());
      if (t0 < faultEnd) for (let k = 0; k < 3; k++) this.clock.at(t0 + Math.floor(this.rand() * epochMs), () => this.nemesis());
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
    await this.finalChecks();
    const result: SimResult = {
      seed: this.cfg.seed, ok: this.violations.length === 0, violations: this.violations, traceHash: this.trace.copy().digest('hex').slice(0, 32),
      traceLines: this.traceLines, tail: this.tail,
      stats: {
        epochs: totalEpochs, globals: this.roots.size, committed: this.acked.size, cross: [...this.sent.values()].filter((t) => t.toHome !== t.from).length,
        faults: this.faults, messages: this.net.stats.delivered, lost: this.net.stats.lost, latencies: this.latencies, steps: this.clock.steps,
      },
    };
    return result;
  }

  /** Emitted and not yet credited, over the nodes' latest snapshots (0 once everything landed). */
  private inFlight(): bigint {
    if (this.latestSnap.size < this.nodes.length) return 0n;
    return snapshotsConservation([...this.latestSnap.values()], totalSupply(this.genesis)).inFlight;
  }

  private async finalChecks(): Promise<void> {
    const { epochMs, livenessEpochs } = this.cfg;
    const live = this.nodes.filter((n) => n.s && n.net);
    // liveness: every epoch sealed after the faults healed (all of them for one-per-triad, on the
    // nodes that stayed up) is final on every live node within livenessEpochs of its seal
    const lastSealed = Math.max(-1, ...[...this.sealTime.keys()]);
    const perTriad = this.cfg.faults === 'one-per-triad';
    for (const [e, t] of [...this.sealTime].sort((a, b) => a[0] - b[0])) {
      if (!perTriad && t < this.healAt + 2 * epochMs) continue;
      if (e > lastSealed - livenessEpochs - 1) continue;
      for (const n of live) {
        // a node that was itself faulty around the epoch cannot be on time; the others must be
        if (perTriad && (this.faultWindows.get(n.i) ?? []).some(([a, b]) => a < t + (livenessEpochs + 1) * epochMs && b > t - 2 * epochMs)) continue;
        const at = n.globalAt.get(e);
        if (at === undefined) this.violation(`liveness: epoch ${e} (sealed at ${t}) has no final global snapshot on node ${n.shard}`);
        else if (at - t > livenessEpochs * epochMs) this.violation(`liveness: epoch ${e} final on node ${n.shard} ${at - t} ms after its seal (bound ${livenessEpochs} epochs)`);
      }
    }
    // committed transactions: each acknowledged commit is in its shard exactly once, where it was acknowledged
    for (const [id, a] of this.acked) {
      const s = this.nodes[a.shard]!.s;
      if (!s) continue;
      const st = await s.txStatus(Buffer.from(id, 'hex'));
      if (st.status !== 'committed' || st.epoch !== a.epoch) this.violation(`acknowledged tx ${id.slice(0, 12)} (${a.shard}@${a.epoch}) is ${st.status}${st.status === 'committed' ? ` at ${st.epoch}` : ''}`);
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
      const s = this.nodes[u.home]!.s;
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
            const st = a ? await this.nodes[t.from]!.s!.txStatus(Buffer.from(t.id, 'hex')) : undefined;
            this.log(`  tx ${t.id.slice(0, 12)} ${t.from}->${t.toHome} amount ${t.amount} fee ${t.fee} nonce ${t.nonce} ${t.user === u ? 'out' : 'in'} acked ${a ? `${a.shard}@${a.epoch}` : 'no'} ${st?.status ?? ''}`);
          }
          for (const m of this.nodes) if (m.i !== u.home) this.log(`  inbox ${u.home} from ${m.i}: next ${this.nodes[u.home]!.s!.inboxCursor(m.i).next}`);
        }
      }
    }
    this.log(`end: ${this.roots.size} global epochs, ${this.acked.size} commits, ${this.violations.length} violations`);
  }

  async close(): Promise<void> {
    for (const n of this.nodes) {
      for (const c of [...n.components].reverse()) await c.close().catch(() => {});
    }
  }
}

/** Runs one seed. */
export async function runSeed(seed: number, over: Partial<SimConfig> = {}): Promise<SimResult> {
  const w = new World({ ...DEFAULTS, ...over, seed });
  try {
    return await w.run();
  } finally {
    await w.close();
  }
}
