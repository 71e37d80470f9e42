// Cross-shard delivery on a node (docs/PROTOCOL.md): receipts travel only once the source epoch is final.
//
//  - finality: a source snapshot may be credited when the latest final global snapshot here includes
//    that source at the same or a later epoch (its snapshot chain then commits to it); for a
//    replicated source, only the very snapshot a final global includes (a deposed writer's
//    uncommitted epoch is validly signed too, but no global commits to it);
//  - push: when a global snapshot becomes final, this shard publishes, for every destination, the
//    receipts it has not pushed yet (this run), with one proof of that destination's outbox leaf
//    (count, chain head) against its own epoch included in that global, on the destination's tx
//    topic (gossip kind `receipts`);
//  - a pushed batch that is not final here yet (the push outran the global) is kept (a few per
//    source) and offered again when the next global arrives;
//  - pull: the destination asks the source (fetch kind `receipts`) from its inbox cursor whenever
//    a push was held above a gap or a not-final batch had to be dropped, when a pulled batch ended
//    before the source's final epoch (within an epoch, on a one-shot timer), and as a safety net
//    every few final epochs of the source (and once at the first global), looked at with each new
//    final global here (no timer runs while nothing waits). The safety net skips a source whose cumulative outflow, as included in
//    the final global (at or past that epoch), is still what it was at the epoch a pull last found
//    nothing left to take: every receipt moves value out of its source (a transfer of 0 is
//    refused), so there is nothing new; a source whose outflow is still 0 is never asked (27 shards:
//    702 pulls at start, most of them answered "nothing" or timed out under the start-up load).
//    The source serves from its latest final epoch. Everything is verified by the shard
//    (receiveReceipts), so a peer can only withhold, never forge; pull makes up for lost pushes.
//  - serving is bounded: one pull served at a time (a few more wait, the rest are refused), a budget
//    of pulls per asker, and per reply at most SERVE_BOUNDS (groups, bytes, epochs whose tx records
//    are loaded to rebuild old groups, out of a node-wide budget of records per second). Serving
//    runs outside the seal chain (Shard.receiptBatchBytes), so it never delays a seal; a refused or
//    cut-short pull is asked again by the destination.
import type { Logger } from 'pino';
import { isReplicated, type Genesis } from '../core/genesis.js';
import { bytesEqual } from '../core/bytes.js';
import { allShards, shardIndex, type ShardId } from '../core/ids.js';
import type { Shard } from '../shard/shard.js';
import { snapshotHash, type Snapshot } from '../shard/snapshot.js';
import { MAX_BATCH_RECEIPTS, ReceiptBatchError, type ReceiptBatch } from '../shard/receipts.js';
import { shardCommitments } from '../hierarchy/global.js';
import type { TriadNetwork } from '../gossip/network.js';
import { realScheduler, type Scheduler } from '../core/scheduler.js';
import { ACCEPT, reject, type ValidationOutcome } from '../gossip/validation.js';
import { KeyedBuckets, TokenBucket } from '../core/token-bucket.js';
import type { ServeBounds } from '../shard/shard.js';

const PUSH_LIMIT = MAX_BATCH_RECEIPTS; // receipts per gossip message (60 B each in a row: well under the 1 MiB cap)
/** Globals after a replicated source's epoch searched for the one that includes it (it may be carried in its own). */
const FINAL_LOOKAHEAD = 8;

/** Safety-net pull of a source every this many of its final epochs (pushes do the common case). */
const PULL_EVERY_EPOCHS = 5;
/** Batches per source kept to be offered again once their epoch is final here. */
const MAX_NOT_FINAL = 8;
/** Pulls waiting while one is served; more are refused at once (empty answer). */
const SERVE_QUEUE = 8;
/** Pulls an asker (its peer id, else the destination it asks for) may make: a burst, then per epoch. */
const SERVE_BURST = 8;
const SERVE_PER_EPOCH = 4;
/** Tx records loaded per second, node-wide, to rebuild old receipt groups for pulls (burst: twice). */
const REBUILD_RECORDS_PER_S = 20_000;
/** Per reply: the rebuilds it may cost and its size (a reply of MAX_BATCH_RECEIPTS one-receipt groups would be ~0.4 MB). */
const SERVE_BOUNDS = { maxGroups: 256, maxBytes: 256 << 10, maxLoads: 4 } as const;

export class CrossShardDelivery {
  private readonly shard: Shard;
  private readonly genesis: Genesis;
  private readonly log: Logger | undefined;
  private readonly others: ShardId[];
  private net: TriadNetwork | undefined;
  private readonly pushed = new Map<ShardId, bigint>(); // dst -> next seq to push (this run)
  private readonly pulledAt = new Map<ShardId, number>(); // src -> its final epoch at the last pull
  private readonly drained = new Map<ShardId, { epoch: number; totalOutflow: bigint }>(); // src -> its served snapshot when a pull last left nothing to take
  /** This shard's cumulative outflow (as final) when a push round last left nothing unpushed to any destination. */
  private pushedAllAt: bigint | undefined;
  private readonly wantPull = new Set<ShardId>();
  private readonly notFinal = new Map<ShardId, ReceiptBatch[]>(); // src -> batches refused as not final yet, oldest first
  /** A pending pull round that something waits for (wantPull), if one is armed. */
  private cancelPull: (() => void) | undefined;
  private pullIntervalMs = 1000;
  private closed = false;
  private pulling = false;
  private retrying = false;
  private retryAgain = false;
  private pushing = false;
  private serving = false;
  private readonly serveQueue: (() => void)[] = [];
  private readonly askers: KeyedBuckets;
  private readonly bounds: ServeBounds;
  readonly counters = { pushedBatches: 0, pushedReceipts: 0, pulls: 0, pullsSkipped: 0, received: 0, queued: 0, refused: 0, served: 0, serveRefused: 0 };

  private readonly scheduler: Scheduler;

  /** A replicated shard's replica: only its writer pushes (followers still pull, queue and serve). */
  private readonly isWriter: () => boolean;

  constructor(o: { shard: Shard; genesis: Genesis; logger?: Logger; scheduler?: Scheduler; isWriter?: () => boolean }) {
    this.isWriter = o.isWriter ?? (() => true);
    this.scheduler = o.scheduler ?? realScheduler;
    const now = (): number => this.scheduler.now();
    this.shard = o.shard;
    this.genesis = o.genesis;
    this.log = o.logger?.child({ module: 'xshard' });
    this.others = allShards(o.genesis.depth).filter((s) => s !== o.shard.id);
    this.askers = new KeyedBuckets({ capacity: SERVE_BURST, refillPerSecond: (SERVE_PER_EPOCH * 1000) / o.genesis.epochMs, maxKeys: 1024, now });
    this.bounds = { ...SERVE_BOUNDS, budget: new TokenBucket({ capacity: 2 * REBUILD_RECORDS_PER_S, refillPerSecond: REBUILD_RECORDS_PER_S, now }) };
  }

  /**
   * Binds the network; the shard only credits final source epochs from now on. A pull round runs
   * with each new final global here (the safety net counts final epochs, so it has nothing new to
   * decide between two globals) and, when a source is wanted at once (wantPull), within
   * `pullIntervalMs`: no timer runs while nothing waits (a 1 s interval woke every idle node).
   */
  attach(net: TriadNetwork, pullIntervalMs = Math.max(250, this.genesis.epochMs)): void {
    this.net = net;
    this.pullIntervalMs = pullIntervalMs;
    this.shard.setReceiptFinality((s) => this.isFinal(s));
    net.onGlobal(() => {
      void this.push();
      void this.retryNotFinal();
      void this.pull();
    });
  }

  close(): void {
    this.closed = true;
    this.cancelPull?.();
    this.cancelPull = undefined;
  }

  /** Pull `src` from its cursor soon (a gap, a dropped batch, more to come). */
  private want(src: ShardId): void {
    this.wantPull.add(src);
    this.armPull();
  }

  private armPull(): void {
    if (this.cancelPull || this.closed || !this.net) return;
    this.cancelPull = this.scheduler.after(this.pullIntervalMs, () => {
      this.cancelPull = undefined;
      void this.pull();
    });
  }

  /**
   * This replica just became its shard's writer: pull every source from its inbox frontier now.
   * What it credits next continues the cursors of the replicated entries it applied (the inbox's
   * committed cursors), so nothing is credited twice; receipts it had not queued as a follower
   * come from the sources (pull), so nothing is lost. Pushes restart from the newest final epoch.
   */
  tookOver(): void {
    for (const s of this.others) this.wantPull.add(s);
    this.pushed.clear();
    this.pushedAllAt = undefined;
    void this.pull();
  }

  /** Epoch of `shard` included in the latest final global snapshot here, -1 if none. */
  finalEpochOf(shard: ShardId): number {
    return this.finalOf(shard)?.epoch ?? -1;
  }

  /** `shard` as included in the latest final global snapshot here (epoch, cumulative outflow), if ever. */
  private finalOf(shard: ShardId): { epoch: number; totalOutflow: bigint } | undefined {
    const g = this.net?.latestGlobalSnapshot();
    if (!g) return undefined;
    const c = shardCommitments(g, this.genesis.depth)[shardIndex(shard)];
    return !c || c.commitment.every((b) => b === 0) ? undefined : c;
  }

  async isFinal(s: Snapshot): Promise<boolean> {
    const fe = this.finalEpochOf(s.shard);
    if (fe < s.epoch) return false;
    if (!isReplicated(this.genesis, s.shard)) return true; // one validator, one snapshot per epoch
    // A replicated shard can have two validly signed snapshots of one epoch: the committed one and a
    // deposed writer's that never committed (it holds transfers the shard's history does not). Only
    // the one a final global includes may be credited: look for that epoch in the globals from its
    // own on (it may have been carried in its own epoch's global), a few at most.
    const h = snapshotHash(s);
    const net = this.net;
    if (!net) return false;
    const idx = shardIndex(s.shard);
    const latest = net.latestGlobalSnapshot();
    const last = latest?.aggregate.epoch ?? -1;
    for (let e = s.epoch; e <= Math.min(last, s.epoch + FINAL_LOOKAHEAD); e++) {
      const g = e === last ? latest : await net.globalAt(e);
      const c = g ? shardCommitments(g, this.genesis.depth)[idx] : undefined;
      if (c && c.epoch === s.epoch) return bytesEqual(c.commitment, h);
    }
    return false;
  }

  /** Gossip check of a pushed (decoded) batch: this network, every receipt addressed to this shard. */
  check = (b: ReceiptBatch): ValidationOutcome => {
    if (b.snapshot.snapshot.network !== this.genesis.networkId) return reject('wrong-network');
    if (b.groups.some((g) => g.dst !== this.shard.id)) return reject('wrong-topic', 'receipts for another shard');
    return ACCEPT;
  };

  /** A pushed batch: verified and queued by the shard; refused or early ones are pulled again later. */
  onPushed = (batch: ReceiptBatch, from: string): void => {
    void this.offer(batch, from);
  };

  private async offer(batch: ReceiptBatch, from: string): Promise<void> {
    const src = batch.snapshot.snapshot.shard;
    this.counters.received++;
    try {
      const r = await this.shard.receiveReceipts(batch);
      this.counters.queued += r.queued;
      if (r.gap > 0) this.want(src); // held above a gap: pull from the cursor
    } catch (e) {
      this.counters.refused++;
      if (e instanceof ReceiptBatchError) {
        if (e.reason === 'not-final') {
          // a push often outruns the global that makes it final here: offer it again when a later
          // global arrives (a few per source); pull only if one has to be dropped
          let l = this.notFinal.get(src);
          if (!l) this.notFinal.set(src, (l = []));
          l.push(batch);
          if (l.length > MAX_NOT_FINAL) {
            l.shift();
            this.want(src);
          }
        } else this.log?.warn({ from, src, reason: e.reason, msg: e.message }, 'receipt batch refused');
      } else this.log?.debug({ err: (e as Error).message }, 'receipt batch not taken');
    }
  }

  /**
   * Offers the held batches that are final now. One pass at a time: globals arrive in bursts (a
   * restarted replica fetches dozens at once) and two passes over one queue, each awaiting
   * finality, would both take its head (a wiped follower crashed on the second's empty shift).
   */
  private async retryNotFinal(): Promise<void> {
    if (this.retrying) {
      this.retryAgain = true;
      return;
    }
    this.retrying = true;
    try {
      do {
        this.retryAgain = false;
        for (const [src, l] of [...this.notFinal]) {
          // at most the batches held now: one refused again goes to the back for a later global
          for (let n = l.length; n > 0 && l.length > 0; n--) {
            const b = l[0]!;
            if (!(await this.isFinal(b.snapshot.snapshot))) break;
            if (l[0] === b) l.shift();
            await this.offer(b, 'retry');
          }
          if (l.length === 0 && this.notFinal.get(src) === l) this.notFinal.delete(src);
        }
      } while (this.retryAgain);
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'held receipt batches not offered again');
    } finally {
      this.retrying = false;
    }
  }

  /**
   * Serves a pull: receipts to `dst` from `fromSeq`, proven against this shard's latest final epoch,
   * within the serving bounds; undefined (an empty answer) when refused, over budget, or failed (the
   * reason is logged here, never sent). `peer`: the asker's peer id, when the network layer knows it.
   */
  serve = async (dst: ShardId, fromSeq: bigint, peer?: string): Promise<Uint8Array | undefined> => {
    if (dst === this.shard.id || !this.others.includes(dst) || fromSeq < 0n) return undefined;
    if (!this.askers.get(peer ?? `dst:${dst}`).take() || (this.serving && this.serveQueue.length >= SERVE_QUEUE)) {
      this.counters.serveRefused++;
      return undefined;
    }
    // one at a time: a finished serve hands its turn to the next waiting one
    if (this.serving) await new Promise<void>((resolve) => this.serveQueue.push(resolve));
    else this.serving = true;
    try {
      // a follower may not hold the newest final epoch yet: serve from what it holds
      const fe = Math.min(this.finalEpochOf(this.shard.id), this.shard.latestEpoch());
      // nothing final yet: answer "I am the source, nothing to give" (no receipts, latest snapshot)
      const b = fe < 0 ? await this.shard.receiptBatchBytes(dst, 1n << 62n) : await this.shard.receiptBatchBytes(dst, fromSeq, PUSH_LIMIT, fe, this.bounds);
      if (b) this.counters.served++;
      else this.counters.serveRefused++;
      return b?.bytes; // an empty batch still tells the asker "I am the source"
    } catch (err) {
      this.log?.warn({ dst, fromSeq: String(fromSeq), peer, err: (err as Error).message }, 'receipt pull not served');
      return undefined;
    } finally {
      const next = this.serveQueue.shift();
      if (next) next();
      else this.serving = false;
    }
  };

  private async push(): Promise<void> {
    const net = this.net;
    if (!net || this.pushing || !this.isWriter()) return;
    this.pushing = true;
    try {
      const own = this.finalOf(this.shard.id);
      if (!own) return;
      const fe = own.epoch;
      // every receipt moves value out (a transfer of 0 is refused): an unchanged cumulative outflow
      // since a round that left nothing unpushed means no receipt to push, so no batch (a snapshot
      // read, an outbox proof) is built per destination on every global
      if (this.pushedAllAt === own.totalOutflow) return;
      let all = true;
      for (const dst of this.others) {
        // First push of this run: from the newest final epoch's receipts only (older ones were pushed
        // before a restart, or are pulled by a destination that finds a gap).
        if (!this.pushed.has(dst)) this.pushed.set(dst, await this.shard.outboxCountAt(dst, fe - 1));
        // a batch ends at an epoch's count: several when more than PUSH_LIMIT are due (bounded)
        let done = false;
        for (let k = 0; k < 8; k++) {
          const b = await this.shard.receiptBatchBytes(dst, this.pushed.get(dst) ?? 0n, PUSH_LIMIT, fe, this.bounds);
          if (!b) break; // over the serving bounds: the rest next time
          if (b.receipts === 0) {
            done = true;
            break;
          }
          try {
            await net.publishReceipts(dst, b.bytes);
            this.counters.pushedBatches++;
            this.counters.pushedReceipts += b.receipts;
          } catch (err) {
            this.log?.debug({ dst, err: (err as Error).message }, 'receipt push failed (the destination will pull)');
          }
          this.pushed.set(dst, b.count);
          if (b.epoch >= fe) {
            done = true;
            break;
          }
        }
        if (!done) all = false;
      }
      if (all) this.pushedAllAt = own.totalOutflow;
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'receipt push round failed');
    } finally {
      this.pushing = false;
    }
  }

  /** One pull round over the sources (at each global, or when one is wanted; tests run it directly). */
  async pull(): Promise<void> {
    const net = this.net;
    if (!net || this.pulling) return;
    this.pulling = true;
    try {
      for (const src of this.others) {
        const f = this.finalOf(src);
        if (!f) continue;
        const fe = f.epoch;
        const last = this.pulledAt.get(src);
        if (!this.wantPull.has(src) && last !== undefined && fe - last < PULL_EVERY_EPOCHS) continue;
        // a source whose cumulative outflow is still 0 has never emitted a receipt: as if a pull had left nothing
        const d = this.drained.get(src) ?? { epoch: -1, totalOutflow: 0n };
        if (!this.wantPull.has(src) && fe >= d.epoch && f.totalOutflow === d.totalOutflow) {
          // safety net only, and the source (final here past the epoch a pull left nothing to take at) has sent nothing to anyone since
          this.pulledAt.set(src, fe);
          this.counters.pullsSkipped++;
          continue;
        }
        this.wantPull.delete(src);
        this.counters.pulls++;
        const front = this.shard.inboxFrontier(shardIndex(src)); // past what is already verified and waiting
        const b = await net.fetchReceipts(src, this.shard.id, front); // answers that do not chain from here are refused
        if (!b) {
          // the source is unreachable: retry in a couple of epochs, not every tick
          this.pulledAt.set(src, fe - PULL_EVERY_EPOCHS + 2);
          continue;
        }
        this.pulledAt.set(src, fe);
        // nothing left to take up to the served epoch: the source's signed leaf count for this shard is where the inbox stands
        const served = b.snapshot.snapshot;
        if (b.groups.length === 0 && b.count === front.next) this.drained.set(src, { epoch: served.epoch, totalOutflow: served.totalOutflow });
        else this.drained.delete(src);
        if (b.groups.length === 0) continue;
        await this.offer(b, 'pull');
        if (b.snapshot.snapshot.epoch < fe) this.wantPull.add(src); // served up to an earlier epoch: more to come
      }
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'receipt pull round failed');
    } finally {
      this.pulling = false;
      if (this.wantPull.size > 0) this.armPull(); // more to come, or wanted while this round ran
    }
  }
}
