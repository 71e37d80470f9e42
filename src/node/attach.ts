// The node's wiring of a shard to the hierarchy, whatever the transport: the TriadNetwork (round
// machine + transport), the cross-shard delivery, the gossip check of forwarded transactions, and
// the seal hook. The node (gossip.ts, over libp2p) and the simulator (test/sim, over its in-process
// network) both use it. Nothing here loads the proof code (the simulator runs in worker threads).
import type { Logger } from 'pino';
import type { KeyPair } from '../core/ed25519.js';
import type { Genesis } from '../core/genesis.js';
import type { Scheduler } from '../core/scheduler.js';
import { addressFromPublicKey, homeShard } from '../core/address.js';
import { ancestorsOf, type ShardId } from '../core/ids.js';
import { DecodeError } from '../core/bytes.js';
import type { P2PNode } from '../gossip/p2p.js';
import { TriadNetwork, type AggregationTiming, type GlobalStore, type TxBatchVerdict } from '../gossip/network.js';
import type { SignRecordStore } from '../hierarchy/sign-guard.js';
import { ignore, reject, ACCEPT } from '../gossip/validation.js';
import { decodeSignedTx, MAX_TX_BYTES } from '../shard/tx.js';
import type { CheckedBatch, Shard, SealedEvent } from '../shard/shard.js';
import type { NodeMetrics } from './metrics.js';
import type { Component } from './node.js';
import { CrossShardDelivery } from './xshard.js';
import { PeerRequestError } from '../gossip/admission.js';

/**
 * Gossip check of a forwarded transaction batch: each one decodes, is of this network and homed
 * here (cheap, first), then the shard checks the batch (mempool room and committed nonce window and
 * funds without a signature check, then the signatures on its worker threads, bounded). Reject (the
 * sender's score drops, nothing relayed, nothing admitted) if any signature is bad: an honest
 * forwarder verifies signatures before it forwards (other refusals, e.g. funds, are not its fault).
 * Ignore (no penalty) if the shard had no room to verify all of it. An accepted batch's verdicts
 * travel with it to submission.
 */
export function txBatchChecker(genesis: Genesis, shard: Pick<Shard, 'id' | 'check' | 'canVerify'>): (txs: Uint8Array[]) => Promise<TxBatchVerdict> {
  return async (txs) => {
    // no room in the verification queue: drop it before spending anything on it
    if (!shard.canVerify(txs.length)) return ignore('busy', `verification queue full (batch of ${txs.length})`);
    for (const b of txs) {
      if (b.length > MAX_TX_BYTES) return reject('oversized', `transaction of ${b.length} bytes`);
      let t;
      try {
        t = decodeSignedTx(b).tx;
      } catch (e) {
        if (e instanceof DecodeError) return reject('undecodable', e.message);
        throw e;
      }
      if (t.network !== genesis.networkId) return reject('wrong-network');
      if (homeShard(addressFromPublicKey(t.from), genesis.depth) !== shard.id) return reject('wrong-topic', 'transaction of another shard');
    }
    return txBatchVerdict(await shard.check(txs));
  };
}

/** The gossip outcome of a checked batch (see txBatchChecker). */
export function txBatchVerdict(c: CheckedBatch): TxBatchVerdict {
  if (c.badSignatures > 0) return reject('bad-signature', `${c.badSignatures} of ${c.results.length} transactions`);
  if (c.capacity > 0) return { ...ignore('busy', `no room to verify ${c.capacity} of ${c.results.length} transactions`), checked: c };
  return { ...ACCEPT, checked: c };
}

export interface AttachOptions {
  shard: Shard;
  genesis: Genesis;
  validatorKey: KeyPair;
  p2p: P2PNode;
  store?: GlobalStore;
  signStore?: SignRecordStore;
  timing?: Partial<AggregationTiming>;
  /** Clock and timers (default: the wall clock); the simulator passes its virtual one. */
  scheduler?: Scheduler;
  logger?: Logger;
  metrics?: NodeMetrics;
  /** A replicated shard's replica (docs/REPLICAS.md): what this node may do depends on whether it holds the write lease. */
  replica?: ReplicaHooks;
}

/**
 * What the network layer needs from a replica of a replicated shard. Only the writer publishes its
 * snapshots (once committed: durable on a majority), signs aggregates, takes submissions and
 * pushes receipts; every replica gossips, stores and serves finals, globals and receipts.
 */
export interface ReplicaHooks {
  isWriter(): boolean;
  /** May this replica sign aggregation rounds of `epoch` (ReplicaService.canSignRound)? */
  canSign(epoch: number): boolean;
  /** Calls `f` for each epoch this writer sealed once it is committed (durable on a majority); returns an unsubscribe. */
  onCommitted(f: (ev: SealedEvent) => void): () => void;
  /** Calls `f` when this replica becomes the writer; returns an unsubscribe. */
  onWriter(f: () => void): () => void;
}

/**
 * Wires a shard to the hierarchy over `p2p`: the TriadNetwork (round machine + transport), the
 * cross-shard delivery, and the seal hook that publishes each snapshot and applies the clock rules
 * to the siblings' snapshots. The node (startGossip) and the simulator (test/sim) both use it.
 */
export async function attachNetwork(o: AttachOptions): Promise<{ net: TriadNetwork; xshard: CrossShardDelivery; components: Component[] }> {
  const { shard, genesis, p2p, metrics } = o;
  const log = o.logger;
  const components: Component[] = [];
  const netLog = log?.child({ module: 'gossip' });
  const replica = o.replica;
  const xshard = new CrossShardDelivery({ shard, genesis, logger: log, scheduler: o.scheduler, ...(replica ? { isWriter: () => replica.isWriter() } : {}) });
  const net = await TriadNetwork.start({
    onReceipts: xshard.onPushed, checkReceipts: xshard.check, serveReceipts: xshard.serve,
    p2p, genesis, shard: shard.id, validatorKey: o.validatorKey, store: o.store, logger: netLog, timing: o.timing, scheduler: o.scheduler,
    signStore: o.signStore,
    ...(replica ? { canSign: (e: number) => replica.canSign(e) } : {}),
    checkTxBatch: txBatchChecker(genesis, shard),
    // Another node hands us our shard's transactions and waits for our verdicts (a follower
    // refuses: its mempool is never sealed; the forwarder asks the next replica).
    onSubmit: (txs, checked) => {
      if (replica && !replica.isWriter()) throw new PeerRequestError('refused', 'not the writer of this replicated shard');
      return shard.submit(txs, checked);
    },
    onTxBatch: (txs, from, checked) => {
      if (replica && !replica.isWriter()) return; // the writer, on the same topic, takes it
      // Forwarded to us by another node: submit like any API batch (signatures checked by the validator).
      void shard.submit(txs, checked).then((rs) => {
        let ok = 0;
        for (const r of rs) if (r.ok) ok++;
        if (ok > 0) metrics?.submissions.inc({ result: 'accepted' }, ok);
        if (ok < rs.length) metrics?.submissions.inc({ result: 'rejected-forwarded' }, rs.length - ok);
        netLog?.debug({ from, txs: txs.length, accepted: ok }, 'forwarded batch submitted');
      }, (err) => netLog?.warn({ err: (err as Error).message }, 'forwarded batch not submitted'));
    },
  });
  components.push({ name: 'network', close: () => net.close() });
  xshard.attach(net);
  components.push({ name: 'xshard', close: async () => xshard.close() });

  // After each seal: publish our snapshot, and apply the clock receive rules to our triad
  // siblings' snapshots of the previous epoch (they arrive while we run the current one).
  const siblings = siblingsOf(shard.id);
  const publish = (ev: SealedEvent): void => {
    const e = ev.snapshot.snapshot.epoch;
    net.publishSnapshot(ev.snapshot).catch((err) => netLog?.warn({ err: (err as Error).message, epoch: e }, 'cannot publish snapshot'));
  };
  // A replicated shard's writer publishes an epoch only once it is committed: a deposed writer's
  // uncommitted epoch never leaves it (docs/REPLICAS.md "Nothing leaves before commit").
  if (replica) {
    const offCommitted = replica.onCommitted(publish);
    const offWriter = replica.onWriter(() => xshard.tookOver());
    components.push({ name: 'replica-publisher', close: async () => { offCommitted(); offWriter(); } });
  }
  const onSealed = (ev: SealedEvent): void => {
    const e = ev.snapshot.snapshot.epoch;
    if (!replica) publish(ev);
    for (const s of siblings) {
      const ss = net.snapshotOf(s, e - 1);
      if (!ss) continue;
      shard.observeLamport(ss.snapshot.lamport);
      try {
        shard.observeHlc(ss.snapshot.hlc);
      } catch (err) {
        netLog?.warn({ shard: s, err: (err as Error).message }, 'sibling HLC refused');
      }
    }
  };
  shard.events.on('sealed', onSealed);
  components.push({ name: 'snapshot-publisher', close: async () => void shard.events.off('sealed', onSealed) });

  return { net, xshard, components };
}

function siblingsOf(s: ShardId): ShardId[] {
  if (ancestorsOf(s).length === 0) return [];
  const base = s.slice(0, -1);
  return ['0', '1', '2'].map((d) => (base + d) as ShardId).filter((x) => x !== s);
}
