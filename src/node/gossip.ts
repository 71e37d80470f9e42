// The node's network layer (depth >= 1): libp2p + the triad aggregation (src/gossip), wired to the
// shard. Opens, in order: a small level DB for global snapshots and signing records (sign guard), the libp2p node, the TriadNetwork;
// returns them as components so SmtNode closes them in reverse (network, p2p, DB) before the shard.
// Everything persistent lives in the node's DATA dir: docker mounts the network dir read-only.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Level } from 'level';
import type { KeyPair } from '../core/ed25519.js';
import type { Genesis } from '../core/genesis.js';
import type { ShardId } from '../core/ids.js';
import { createP2PNode, type P2PNode } from '../gossip/p2p.js';
import type { PeerDenyList } from '../gossip/deny-list.js';
import { peerKeyFromValidator, validatorPeers } from '../gossip/identity.js';
import { TriadNetwork, type AggregationTiming, type GlobalStore } from '../gossip/network.js';
import { attachNetwork, type ReplicaHooks } from './attach.js';
import { proofTopic } from '../gossip/proof-messages.js';
import type { Shard } from '../shard/shard.js';
import type { Logger } from './logger.js';
import { addNetworkMetrics, type NodeMetrics } from './metrics.js';
import type { Component } from './node.js';

export { attachNetwork, txBatchChecker, txBatchVerdict } from './attach.js';

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

export async function startGossip(o: GossipOptions & { shard: Shard; genesis: Genesis; validatorKey: KeyPair; dataDir: string; logger: Logger; metrics: NodeMetrics; replica?: ReplicaHooks; denyList?: PeerDenyList }): Promise<GossipLayer> {
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
      ...(o.denyList ? { denyList: o.denyList } : {}),
      listen: listenMultiaddr(o.listen),
      peers: o.peers,
      networkId: genesis.networkId,
      logger: log.child({ module: 'p2p' }),
      scoredTopics: scoredTopicsFor(genesis, shard.id),
    });
    components.push({ name: 'p2p', close: () => p2p.close() });
    log.info({ peerId: p2p.peerId, addrs: p2p.multiaddrs(), peers: o.peers.length }, 'p2p listening');

    const attached = await attachNetwork({ shard, genesis, validatorKey: o.validatorKey, p2p, store, signStore: db.sublevel<string, Uint8Array>('signed', { valueEncoding: 'view' }), timing: o.timing, logger: log, metrics, ...(o.replica ? { replica: o.replica } : {}) });
    components.push(...attached.components);
    const netMetrics = addNetworkMetrics(metrics, attached.net, attached.xshard);
    attached.net.onGlobal((ev) => {
      netMetrics.globalEpoch.set(ev.global.aggregate.epoch);
      if (ev.latencyMs !== undefined) netMetrics.globalLatency.observe(ev.latencyMs / 1000);
    });
    return { p2p, net: attached.net, components };
  } catch (e) {
    for (const c of components.reverse()) await c.close().catch(() => {});
    throw e;
  }
}

/**
 * Every topic the node subscribes to, for gossipsub topic scoring (an invalid message on an
 * unscored topic costs its sender nothing): its tx topic (transactions and receipts), the triad
 * topics up to the apex, and the proofs topic.
 */
export function scoredTopicsFor(genesis: Genesis, shard: ShardId): string[] {
  return [...TriadNetwork.topicsFor(genesis, shard), proofTopic(genesis.networkId)];
}
