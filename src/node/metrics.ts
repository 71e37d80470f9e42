// All node metrics in one place (prom-client), on a registry per node so tests and several nodes in
// one process do not collide. Served at GET /metrics.
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import { buildInfo } from './build-info.js';

export type SubmissionResult = 'accepted' | string; // 'accepted' or a RejectReason

export interface NodeMetrics {
  registry: Registry;
  submissions: Counter<'result'>;
  committedTxs: Counter;
  tps: Gauge;
  mempool: Gauge;
  epoch: Gauge;
  sealSeconds: Histogram;
  commitLatency: Histogram;
  httpRequests: Counter<'route' | 'status'>;
  // network layer (depth >= 1 with --p2p); gossip gauges are refreshed from the network's counters at scrape time
  globalEpoch: Gauge;
  globalLatency: Histogram;
  peers: Gauge;
  gossipBytes: Gauge<'direction'>;
  gossipMessages: Gauge<'direction'>;
  gossipRejected: Gauge;
  gossipIgnored: Gauge;
}

export function createMetrics(opts: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}): NodeMetrics {
  const registry = new Registry();
  if (opts.labels) registry.setDefaultLabels(opts.labels);
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'smt_process_' });
  const registers = [registry];
  const b = buildInfo();
  new Gauge({ name: 'smt_build_info', help: 'Always 1; the labels say which build runs: software version, Node.js version, circuits key', labelNames: ['version', 'nodejs', 'circuits'], registers })
    .set({ version: b.version, nodejs: b.node, circuits: b.circuits.key }, 1);
  return {
    registry,
    submissions: new Counter({ name: 'smt_tx_submissions_total', help: 'Transactions submitted through the API, by result (accepted or reject reason)', labelNames: ['result'], registers }),
    committedTxs: new Counter({ name: 'smt_tx_committed_total', help: 'Transactions committed (sealed and durable) by this node since start', registers }),
    tps: new Gauge({ name: 'smt_tps', help: 'Committed transactions per second over the last sealed epoch', registers }),
    mempool: new Gauge({ name: 'smt_mempool_size', help: 'Transactions waiting in the mempool', registers }),
    epoch: new Gauge({ name: 'smt_epoch', help: 'Latest sealed epoch (-1 before the first seal)', registers }),
    sealSeconds: new Histogram({ name: 'smt_seal_seconds', help: 'Time to seal one epoch (apply, hash, sign, write one atomic batch)', registers, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] }),
    commitLatency: new Histogram({
      name: 'smt_commit_latency_seconds',
      help: 'Per committed transaction: time from its acceptance into the mempool to the end of the seal that made it durable',
      registers,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    }),
    httpRequests: new Counter({ name: 'smt_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers }),
    globalEpoch: new Gauge({ name: 'smt_global_epoch', help: 'Latest epoch with a final global snapshot known to this node (-1 before the first)', registers }),
    globalLatency: new Histogram({
      name: 'smt_global_latency_seconds',
      help: "Per epoch: time from this node's seal (snapshot published) to the global snapshot of that epoch being final here",
      registers,
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
    }),
    peers: new Gauge({ name: 'smt_p2p_peers', help: 'Connected libp2p peers', registers }),
    gossipBytes: new Gauge({ name: 'smt_gossip_bytes', help: 'Gossip payload bytes since start (envelopes delivered to/published by this node, excluding libp2p framing and relaying)', labelNames: ['direction'], registers }),
    gossipMessages: new Gauge({ name: 'smt_gossip_messages', help: 'Gossip messages since start', labelNames: ['direction'], registers }),
    gossipRejected: new Gauge({ name: 'smt_gossip_rejected', help: 'Gossip messages Rejected by our topic validators since start (bad signature, undecodable, wrong network/topic, oversized)', registers }),
    gossipIgnored: new Gauge({ name: 'smt_gossip_ignored', help: 'Gossip messages Ignored (stale) since start', registers }),
  };
}
