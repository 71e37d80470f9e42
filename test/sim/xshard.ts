// A deterministic in-process simulation of cross-shard transfers (no network): 3^D real Shard
// instances, each over its own LevelDB dir, and a seeded scheduler standing in for the network. It
// delivers receipt batches late, out of order, duplicated, proven against older snapshots, and
// restarts shards from their stores (the verified-but-uncredited queue is lost and must be pulled
// again). Used by test/xshard-sim.test.ts (properties) and scripts/bench-xshard.ts (latency).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, homeShard } from '../../src/core/address.js';
import { keyPairFromSeed, type KeyPair } from '../../src/core/ed25519.js';
import { allShards, shardIndex, type ShardId } from '../../src/core/ids.js';
import { totalSupply, type Genesis } from '../../src/core/genesis.js';
import { bytesEqual, toHex } from '../../src/core/bytes.js';
import { Shard, type ShardOptions } from '../../src/shard/shard.js';
import { encodeSignedTx, signTransfer } from '../../src/shard/tx.js';
import type { SignedSnapshot, Snapshot } from '../../src/shard/snapshot.js';
import { decodeReceiptBatch, encodeReceiptBatch } from '../../src/shard/receipts.js';
import { snapshotsAreConsistentCut, snapshotsConservation } from '../../src/hierarchy/conservation.js';
import { rng } from './rng.js';


export function simKey(label: string, i: number): KeyPair {
  const seed = new Uint8Array(32);
  seed.set(new TextEncoder().encode(label).subarray(0, 24));
  new DataView(seed.buffer).setUint32(28, i);
  return keyPairFromSeed(seed);
}

interface User {
  key: KeyPair;
  address: Uint8Array;
  home: number; // shard index
  nonce: bigint; // next nonce to use
}

export interface SimOptions {
  depth: number;
  usersPerShard: number;
  amount: bigint; // genesis allocation per user
  seed: number;
  shardOptions?: Partial<ShardOptions>;
}

export interface SimStats {
  submitted: number;
  accepted: number;
  crossAccepted: number;
  batchesDelivered: number;
  batchesRefused: number;
  restarts: number;
  cutsChecked: number;
  consistentCutsChecked: number;
  latencies: number[]; // debit-to-credit, in rounds (epoch ticks)
}

type Bag = { dst: number; bytes: Uint8Array }[];

export class XShardSim {
  readonly genesis: Genesis;
  readonly shardIds: ShardId[];
  readonly shards: Shard[] = [];
  readonly dirs: string[] = [];
  readonly validators: KeyPair[];
  readonly users: User[] = [];
  readonly fresh: Uint8Array[] = []; // recipients that start with no account
  readonly rand: () => number;
  readonly stats: SimStats = { submitted: 0, accepted: 0, crossAccepted: 0, batchesDelivered: 0, batchesRefused: 0, restarts: 0, cutsChecked: 0, consistentCutsChecked: 0, latencies: [] };
  /** Every sealed snapshot per shard index, by epoch. */
  readonly history: SignedSnapshot[][] = [];
  private readonly opts: SimOptions;
  private bag: Bag = [];
  private round = 0;
  private lastRoundTxs = 0n; // transactions the last sealAll applied
  /** (src,dst) -> seq -> round in which the debit was sealed (for latency). */
  private readonly debitRound = new Map<string, Map<bigint, number>>();

  private constructor(opts: SimOptions, genesis: Genesis, validators: KeyPair[]) {
    this.opts = opts;
    this.genesis = genesis;
    this.shardIds = allShards(opts.depth);
    this.validators = validators;
    this.rand = rng(opts.seed);
  }

  static async create(opts: SimOptions): Promise<XShardSim> {
    const ids = allShards(opts.depth);
    const validators = ids.map((_, i) => simKey('sim-validator', i));
    const perShard = new Array<number>(ids.length).fill(0);
    const users: User[] = [];
    for (let i = 0; perShard.some((n) => n < opts.usersPerShard); i++) {
      const key = simKey('sim-user', i);
      const address = addressFromPublicKey(key.publicKey);
      const home = shardIndex(homeShard(address, opts.depth));
      if (perShard[home]! >= opts.usersPerShard) continue;
      perShard[home]!++;
      users.push({ key, address, home, nonce: 0n });
    }
    const genesis: Genesis = {
      networkId: 'smt-sim', depth: opts.depth, epochMs: 1000, genesisTime: 0,
      allocations: users.map((u) => ({ address: u.address, amount: opts.amount })),
      validators: new Map(ids.map((s, i) => [s, validators[i]!.publicKey])),
    };
    const sim = new XShardSim(opts, genesis, validators);
    sim.users.push(...users);
    for (let i = 0; i < 6; i++) sim.fresh.push(addressFromPublicKey(simKey('sim-fresh', i).publicKey));
    for (let i = 0; i < ids.length; i++) {
      sim.dirs.push(mkdtempSync(join(tmpdir(), 'smt-xsim-')));
      sim.shards.push(await sim.open(i));
      sim.history.push([]);
    }
    return sim;
  }

  private open(i: number): Promise<Shard> {
    return Shard.open({
      dataDir: this.dirs[i]!, genesis: this.genesis, shard: this.shardIds[i]!, validatorKey: this.validators[i]!,
      verifyWorkers: 0, sync: false, ...this.opts.shardOptions,
    });
  }

  genesisSupply(): bigint {
    return totalSupply(this.genesis);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  /** Submits `n` random transfers; `crossRatio` of them to an address homed on another shard. */
  async submitRandom(n: number, crossRatio: number): Promise<void> {
    const byShard = new Map<number, Uint8Array[]>();
    const meta = new Map<number, { u: User; cross: boolean }[]>();
    for (let k = 0; k < n; k++) {
      const u = this.pick(this.users);
      const cross = this.shards.length > 1 && this.rand() < crossRatio;
      const cands = [...this.users.map((x) => x.address), ...this.fresh].filter((a) => (homeShard(a, this.opts.depth) !== this.shardIds[u.home]) === cross);
      if (cands.length === 0) continue;
      const to = this.pick(cands);
      const amount = 1n + BigInt(Math.floor(this.rand() * Number(this.opts.amount / 20n)));
      const fee = BigInt(Math.floor(this.rand() * 3));
      const bytes = encodeSignedTx(signTransfer({ network: this.genesis.networkId, from: u.key.publicKey, to, amount, fee, nonce: u.nonce, ts: 0n }, u.key.secretKey));
      u.nonce++; // optimistic; rolled back below if refused
      if (!byShard.has(u.home)) { byShard.set(u.home, []); meta.set(u.home, []); }
      byShard.get(u.home)!.push(bytes);
      meta.get(u.home)!.push({ u, cross });
    }
    for (const [i, txs] of byShard) {
      const res = await this.shards[i]!.submit(txs);
      this.stats.submitted += txs.length;
      const m = meta.get(i)!;
      // a refused tx leaves a nonce hole: recompute each sender's next nonce from the shard's view
      const senders = new Set<User>();
      res.forEach((r, k) => {
        if (r.ok) { this.stats.accepted++; if (m[k]!.cross) this.stats.crossAccepted++; }
        else senders.add(m[k]!.u);
      });
      for (const u of senders) u.nonce = (await this.shards[i]!.account(u.address)).pendingNonce;
    }
  }

  /** Seals every shard (random order) and records the debits' rounds. */
  async sealAll(): Promise<void> {
    this.round++;
    let roundTxs = 0n;
    const order = this.shards.map((_, i) => i).sort(() => this.rand() - 0.5);
    for (const i of order) {
      const before = new Map<ShardId, bigint>();
      for (const d of this.shardIds) if (d !== this.shardIds[i]) before.set(d, await this.countReceipts(i, d));
      const ss = await this.shards[i]!.sealEpoch();
      this.history[i]!.push(ss);
      roundTxs += ss.snapshot.txCount;
      for (const [d, from] of before) {
        const now = await this.countReceipts(i, d);
        const key = `${i}>${shardIndex(d)}`;
        let m = this.debitRound.get(key);
        if (!m) this.debitRound.set(key, (m = new Map()));
        for (let s = from; s < now; s++) m.set(s, this.round);
      }
    }
    this.lastRoundTxs = roundTxs;
    // latency: receipts whose cursor passed them in this round
    for (const [key, m] of this.debitRound) {
      const [src, dst] = key.split('>').map(Number) as [number, number];
      const next = this.shards[dst]!.inboxCursor(src).next;
      for (const [seq, r] of m) if (seq < next) { this.stats.latencies.push(this.round - r); m.delete(seq); }
    }
  }

  private readonly counts = new Map<string, bigint>();
  /** Receipts emitted so far by `src` to `dst` (incremental: reads only the new ones). */
  private async countReceipts(src: number, dst: ShardId): Promise<bigint> {
    const key = `${src}>${dst}`;
    const from = this.counts.get(key) ?? 0n;
    const n = from + BigInt((await this.shards[src]!.receipts(dst, from, 1 << 30)).length);
    this.counts.set(key, n);
    return n;
  }

  /**
   * Sources publish batches (after their seal: "pushed") into the bag: from 0 or from the
   * destination's cursor, in random slices, proven against the latest or an older snapshot.
   */
  async publish(): Promise<void> {
    for (let s = 0; s < this.shards.length; s++) {
      const hist = this.history[s]!;
      if (hist.length === 0) continue;
      for (let d = 0; d < this.shards.length; d++) {
        if (d === s) continue;
        const from = this.rand() < 0.2 ? 0n : this.shards[d]!.inboxCursor(s).next;
        const at = this.rand() < 0.3 ? hist[Math.floor(this.rand() * hist.length)]!.snapshot.epoch : undefined;
        const limit = this.rand() < 0.5 ? 1 + Math.floor(this.rand() * 4) : 1000;
        const b = await this.shards[s]!.receiptBatch(this.shardIds[d]!, from, limit, at);
        if (b && b.groups.length > 0) this.bag.push({ dst: d, bytes: encodeReceiptBatch(b) });
      }
    }
  }

  /** Delivers a random part of the bag in random order; some deliveries are kept to repeat later. */
  async deliver(fraction = 0.6): Promise<void> {
    const keep: Bag = [];
    const go: Bag = [];
    for (const m of this.bag) (this.rand() < fraction ? go : keep).push(m);
    go.sort(() => this.rand() - 0.5);
    for (const m of go) {
      try {
        await this.shards[m.dst]!.receiveReceipts(decodeReceiptBatch(m.bytes));
        this.stats.batchesDelivered++;
      } catch {
        this.stats.batchesRefused++;
      }
      if (this.rand() < 0.2) keep.push(m); // duplicate later
    }
    this.bag = keep;
  }

  async restart(i: number): Promise<void> {
    await this.shards[i]!.close();
    this.shards[i] = await this.open(i);
    this.stats.restarts++;
  }

  /** One scheduler step: traffic, seals, publication, delivery, maybe a restart. */
  async step(txs: number, crossRatio: number): Promise<void> {
    await this.submitRandom(txs, crossRatio);
    await this.sealAll();
    await this.publish();
    await this.deliver();
    if (this.rand() < 0.25) await this.restart(Math.floor(this.rand() * this.shards.length));
  }

  /** Delivers everything until no receipt is in flight and no deferred transfer is left (bounded). Returns the rounds it took. */
  async drain(maxRounds = 20): Promise<number> {
    for (let r = 0; r < maxRounds; r++) {
      // done when nothing is in flight and the last round applied nothing (a receipt cap defers
      // transfers to later epochs: they are still in the mempools)
      if ((await this.inFlight()) === 0n && this.lastRoundTxs === 0n) return r;
      await this.publish();
      await this.deliver(1);
      await this.sealAll();
    }
    throw new Error(`receipts still in flight after ${maxRounds} drain rounds`);
  }

  latest(): Snapshot[] {
    return this.history.map((h) => h[h.length - 1]!.snapshot);
  }

  async inFlight(): Promise<bigint> {
    if (this.history.some((h) => h.length === 0)) return 0n;
    return snapshotsConservation(this.latest(), this.genesisSupply()).inFlight;
  }

  /**
   * Conservation at cuts: the latest snapshots (always a consistent cut here) and `samples` random
   * mixes of older epochs. Returns a message for the first violation, or undefined.
   */
  checkCuts(samples: number): string | undefined {
    const g = this.genesisSupply();
    const cuts: Snapshot[][] = [this.latest()];
    for (let k = 0; k < samples; k++) cuts.push(this.history.map((h) => this.pick(h).snapshot));
    for (const [n, cut] of cuts.entries()) {
      const c = snapshotsConservation(cut, g);
      this.stats.cutsChecked++;
      // the identity holds for every set; in-flight >= 0 needs a consistent cut
      if (c.supply + c.inFlight + c.burnedFees !== g) return `cut ${n}: supply ${c.supply} + inFlight ${c.inFlight} + fees ${c.burnedFees} != ${g}`;
      const consistent = snapshotsAreConsistentCut(cut);
      if (n === 0 && !consistent) return 'the latest snapshots are not a consistent cut';
      if (consistent) {
        this.stats.consistentCutsChecked++;
        if (!c.holds) return `consistent cut ${n} (epochs ${cut.map((s) => s.epoch)}): in flight ${c.inFlight} < 0`;
      }
    }
    return undefined;
  }

  /** Exactly once, after drain(): every receipt credited once, cursors = receipt counts, balances add up. */
  async checkExactlyOnce(): Promise<string | undefined> {
    let balances = 0n;
    for (let d = 0; d < this.shards.length; d++) {
      const dst = this.shards[d]!;
      balances += dst.sumBalances();
      const snap = this.history[d]![this.history[d]!.length - 1]!.snapshot;
      if (snap.supply !== dst.sumBalances()) return `shard ${d}: snapshot supply ${snap.supply} != balances ${dst.sumBalances()}`;
      for (let s = 0; s < this.shards.length; s++) {
        if (s === d) continue;
        const rs = await this.shards[s]!.receipts(this.shardIds[d]!, 0n, 1 << 30);
        const cur = dst.inboxCursor(s);
        if (cur.next !== BigInt(rs.length)) return `${s}->${d}: cursor ${cur.next}, ${rs.length} receipts emitted`;
        for (const r of rs) {
          const c = await dst.creditStatus(this.shardIds[s]!, r.seq, r.txid);
          if (!c || c.seq !== r.seq || c.src !== s || c.srcEpoch !== r.epoch || !bytesEqual(c.txid, r.txid)) return `${s}->${d}: receipt seq ${r.seq} (${toHex(r.txid)}) not credited as such`;
        }
      }
    }
    for (const u of [...this.users.map((x) => x.address), ...this.fresh]) {
      const a = await this.shards[shardIndex(homeShard(u, this.opts.depth))]!.account(u);
      if (a.balance < 0n) return `negative balance ${a.balance}`;
    }
    const fees = this.latest().reduce((x, s) => x + s.totalFees, 0n);
    if (balances + fees !== this.genesisSupply()) return `balances ${balances} + fees ${fees} != genesis ${this.genesisSupply()}`;
    return undefined;
  }

  async close(): Promise<void> {
    for (const s of this.shards) await s.close();
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
