// The node's network layer (depth >= 1): libp2p + the triad aggregation (src/gossip), wired to the
// shard. Opens, in order: a small level DB for global snapshots and signing records (sign guard), the libp2p node, the TriadNetwork;
// returns them as components so SmtNode closes them in reverse (network, p2p, DB) before the shard.
// Everything persistent lives in the node's DATA dir: docker mounts the network dir read-only.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Level } from 'level';
import type { KeyPair } from '../core/ed25519.js';
import type { Genesis } from '../core/genesis.js';
import { addressFromPublicKey, homeShard } from '../core/address.js';
import { ancestorsOf, type ShardId } from '../core/ids.js';
import { DecodeError } from '../core/bytes.js';
import { createP2PNode, type P2PNode } from '../gossip/p2p.js';
import { peerKeyFromValidator, validatorPeers } from '../gossip/identity.js';
import { TriadNetwork, type AggregationTiming, type GlobalStore, type TxBatchVerdict } from '../gossip/network.js';
import type { SignRecordStore } from '../hierarchy/sign-guard.js';
import type { Scheduler } from '../core/scheduler.js';
import { proofTopic } from '../gossip/proof-messages.js';
import { ignore, reject, ACCEPT } from '../gossip/validation.js';
import { decodeSignedTx, MAX_TX_BYTES } from '../shard/tx.js';
import type { CheckedBatch, Shard, SealedEvent } from '../shard/shard.js';
import type { Logger } from './logger.js';
import { addNetworkMetrics, type NodeMetrics } from './metrics.js';
import type { Component } from './node.js';
import { CrossShardDelivery } from './xshard.js';

export interface GossipOptions {
  /** Listen address, `host:port` (port 0 = ephemeral) or a multiaddr. */
  listen: string;
  /** Peers to keep connected (multiaddrs, with or without /p2p/<id>). */
  peers: string[];
  timing?: Partial<AggregationTiming>;
}

export interface GossipLayer {
  p2p: P2PNode;
  net: TriadNetwork;
  components: Component[]; // in opening order
}

/** Where the node keeps its global snapshots and signing records: `<data>/net/` (its libp2p identity
 * is its validator key; a `peer.key` left there by an older version is not used). */
export function gossipDir(dataDir: string): string {
  return join(dataDir, 'net');
}

/** `host:port` -> `/ip4|ip6|dns4/host/tcp/port`; a multiaddr is passed through. */
export function listenMultiaddr(s: string): string {
  if (s.startsWith('/')) return s;
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535) throw new Error(`--p2p must be host:port or a multiaddr, got ${JSON.stringify(s)}`);
  const host = m[1]!.replace(/^\[|\]$/g, '');
  const proto = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? 'ip4' : host.includes(':') ? 'ip6' : 'dns4';
  return `/${proto}/${host}/tcp/${m[2]}`;
}

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

export async function startGossip(o: GossipOptions & { shard: Shard; genesis: Genesis; validatorKey: KeyPair; dataDir: string; logger: Logger; metrics: NodeMetrics }): Promise<GossipLayer> {
  const { shard, genesis, logger: log, metrics } = o;
  const components: Component[] = [];
  const dir = gossipDir(o.dataDir);
  mkdirSync(dir, { recursive: true });
  try {
    const db = new Level<string, Uint8Array>(join(dir, 'global'), { valueEncoding: 'view' });
    await db.open();
    components.push({ name: 'global-db', close: () => db.close() });
    const store: GlobalStore = db.sublevel<string, Uint8Array>('global', { valueEncoding: 'view' });

    // The node's libp2p identity is its validator key: its peer id is the one the genesis binds to
    // this shard, and only the genesis validators' peer ids are admitted (src/gossip/identity.ts).
    const peers = validatorPeers(genesis);
    const privateKey = await peerKeyFromValidator(o.validatorKey).catch((e: Error) => {
      throw new Error(`the validator key of shard ${shard.id} cannot serve as the node's libp2p identity: ${e.message}`);
    });
    const p2p = await createP2PNode({
      privateKey,
      allowedPeers: peers.ids,
      listen: listenMultiaddr(o.listen),
      peers: o.peers,
      networkId: genesis.networkId,
      logger: log.child({ module: 'p2p' }),
      scoredTopics: scoredTopicsFor(genesis, shard.id),
    });
    components.push({ name: 'p2p', close: () => p2p.close() });
    log.info({ peerId: p2p.peerId, addrs: p2p.multiaddrs(), peers: o.peers.length }, 'p2p listening');

    const attached = await attachNetwork({ shard, genesis, validatorKey: o.validatorKey, p2p, store, signStore: db.sublevel<string, Uint8Array>('signed', { valueEncoding: 'view' }), timing: o.timing, logger: log, metrics });
    components.push(...attached.components);
    return { p2p, net: attached.net, components };
  } catch (e) {
    for (const c of components.reverse()) await c.close().catch(() => {});
    throw e;
  }
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
  const xshard = new CrossShardDelivery({ shard, genesis, logger: log, scheduler: o.scheduler });
  const net = await TriadNetwork.start({
    onReceipts: xshard.onPushed, checkReceipts: xshard.check, serveReceipts: xshard.serve,
    p2p, genesis, shard: shard.id, validatorKey: o.validatorKey, store: o.store, logger: netLog, timing: o.timing, scheduler: o.scheduler,
    signStore: o.signStore,
    checkTxBatch: txBatchChecker(genesis, shard),
    // Another node hands us our shard's transactions and waits for our verdicts.
    onSubmit: (txs, checked) => shard.submit(txs, checked),
    onTxBatch: (txs, from, checked) => {
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
  const onSealed = (ev: SealedEvent): void => {
    const e = ev.snapshot.snapshot.epoch;
    net.publishSnapshot(ev.snapshot).catch((err) => netLog?.warn({ err: (err as Error).message, epoch: e }, 'cannot publish snapshot'));
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

  if (metrics) {
    const netMetrics = addNetworkMetrics(metrics, net, xshard);
    net.onGlobal((ev) => {
      netMetrics.globalEpoch.set(ev.global.aggregate.epoch);
      if (ev.latencyMs !== undefined) netMetrics.globalLatency.observe(ev.latencyMs / 1000);
    });
  }
  return { net, xshard, components };
}

/**
 * Every topic the node subscribes to, for gossipsub topic scoring (an invalid message on an
 * unscored topic costs its sender nothing): its tx topic (transactions and receipts), the triad
 * topics up to the apex, and the proofs topic.
 */
export function scoredTopicsFor(genesis: Genesis, shard: ShardId): string[] {
  return [...TriadNetwork.topicsFor(genesis, shard), proofTopic(genesis.networkId)];
}

function siblingsOf(s: ShardId): ShardId[] {
  if (ancestorsOf(s).length === 0) return [];
  const base = s.slice(0, -1);
  return ['0', '1', '2'].map((d) => (base + d) as ShardId).filter((x) => x !== s);
}
