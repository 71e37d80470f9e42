// All node metrics in one place (prom-client), on a registry per node so tests and several nodes in
// one process do not collide. Served at GET /metrics.
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { buildInfo } from './build-info.js';
import { GroupedHistogram } from './grouped-histogram.js';

export type SubmissionResult = 'accepted' | string; // 'accepted' or a RejectReason

export interface NodeMetrics {
  registry: Registry;
  submissions: Counter<'result'>;
  committedTxs: Counter;
  tps: Gauge;
  mempool: Gauge;
  epoch: Gauge;
  sealSeconds: Histogram;
  commitLatency: GroupedHistogram;
  httpRequests: Counter<'route' | 'status'>;
  httpSeconds: Histogram<'route'>;
  /** Starts the standard process and Node.js metrics (the /metrics route calls it before each scrape; see createMetrics). */
  startDefaults(): void;
}

const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** Seconds over which smt_tps and /v1/health's tps average committed transactions: this many epochs. */
export const TPS_WINDOW_EPOCHS = 5;

export function createMetrics(opts: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}): NodeMetrics {
  const registry = new Registry();
  if (opts.labels) registry.setDefaultLabels(opts.labels);
  // The standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes, ...) that dashboards
  // expect, from the first scrape on: they include an event-loop delay monitor, a 10 ms timer that
  // wakes the process 100 times a second (about 6 ms of CPU a second in an idle process, 0.05 of a
  // core over nine idle nodes), and a GC observer, which a node nobody scrapes need not run. The
  // lag and GC figures then cover the time since the first scrape (each scrape resets the lag
  // histogram anyway: it covers the time since the previous one).
  let defaults = opts.defaultMetrics === false;
  const startDefaults = (): void => {
    if (defaults) return;
    defaults = true;
    collectDefaultMetrics({ register: registry });
    // Every GC pause of the main isolate: prom-client's nodejs_gc_duration_seconds observes only the
    // first entry of each observer callback (entries come in batches: most pauses are lost), in
    // buckets too coarse (1, 10, 100 ms) for the pauses that hold a seal or a round under load.
    const gcPause = new Histogram({ name: 'smt_gc_pause_seconds', help: 'Main-isolate GC pauses by kind (major, minor, incremental, weakcb), every one', labelNames: ['kind'], registers: [registry], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcPause.observe({ kind: GC_KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other' }, e.duration / 1000);
    }).observe({ entryTypes: ['gc'] });
  };
  const registers = [registry];
  const b = buildInfo();
  new Gauge({ name: 'smt_build_info', help: 'Always 1; the labels say which build runs: software version, Node.js version, circuits key', labelNames: ['version', 'nodejs', 'circuits'], registers })
    .set({ version: b.version, nodejs: b.node, circuits: b.circuits.key }, 1);
  return {
    registry,
    submissions: new Counter({ name: 'smt_tx_submissions_total', help: 'Transactions submitted through the API, by result (accepted or reject reason)', labelNames: ['result'], registers }),
    committedTxs: new Counter({ name: 'smt_tx_committed_total', help: 'Transactions committed (sealed and durable) by this node since start', registers }),
    tps: new Gauge({ name: 'smt_tps', help: `Committed transactions per second over the last ${TPS_WINDOW_EPOCHS} sealed epochs (the tps of /v1/health)`, registers }),
    mempool: new Gauge({ name: 'smt_mempool_size', help: 'Transactions waiting in the mempool', registers }),
    epoch: new Gauge({ name: 'smt_epoch', help: 'Latest sealed epoch (-1 before the first seal)', registers }),
    sealSeconds: new Histogram({ name: 'smt_seal_seconds', help: 'Time to seal one epoch (apply, hash, sign, write one atomic batch)', registers, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] }),
    // one call per group of transactions sharing an acceptance time, not one per transaction
    commitLatency: new GroupedHistogram({
      name: 'smt_commit_latency_seconds',
      help: 'Per committed transaction: time from its acceptance into the mempool to the end of the seal that made it durable',
      registers,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    }),
    httpRequests: new Counter({ name: 'smt_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers }),
    httpSeconds: new Histogram({ name: 'smt_http_request_duration_seconds', help: 'HTTP request handling time by route (from the request to the end of the response)', labelNames: ['route'], registers, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] }),
    startDefaults,
  };
}

/**
 * A counter of something a component already counts (a running total since start): read at scrape
 * time, so the component keeps one plain number and Prometheus still sees a counter.
 */
function totalCounter<L extends string>(registry: Registry, name: string, help: string, read: () => Array<[Partial<Record<L, string>>, number]>, labelNames: L[] = []): Counter<L> {
  return new Counter<L>({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read()) this.inc(labels as never, Math.max(0, v));
    },
  });
}

export interface NetworkStatsSource {
  stats(): {
    latestGlobalEpoch: number; gossipBytesIn: number; gossipBytesOut: number; messagesIn: number; messagesOut: number;
    rejected: number; ignored: number; fetchesServed: number; fetchesMade: number; fetchesRefused: number; signaturesRefused: number; peers: number;
  };
}

export interface CrossShardCounters {
  pushedBatches: number; pushedReceipts: number; pulls: number; received: number; queued: number; refused: number;
}

export interface NetworkMetrics {
  globalEpoch: Gauge;
  globalLatency: Histogram;
}

/** Metrics of the network layer, registered only on nodes that run it (absent, not 0, elsewhere). */
export function addNetworkMetrics(m: NodeMetrics, net: NetworkStatsSource, xshard?: { counters: CrossShardCounters }): NetworkMetrics {
  const registry = m.registry;
  const registers = [registry];
  const st = (): ReturnType<NetworkStatsSource['stats']> => net.stats();
  totalCounter(registry, 'smt_gossip_bytes_total', 'Gossip payload bytes (envelopes delivered to/published by this node, excluding libp2p framing and relaying)', () => { const s = st(); return [[{ direction: 'in' }, s.gossipBytesIn], [{ direction: 'out' }, s.gossipBytesOut]]; }, ['direction']);
  totalCounter(registry, 'smt_gossip_messages_total', 'Gossip messages delivered to/published by this node', () => { const s = st(); return [[{ direction: 'in' }, s.messagesIn], [{ direction: 'out' }, s.messagesOut]]; }, ['direction']);
  totalCounter(registry, 'smt_gossip_rejected_total', 'Gossip messages Rejected (bad signature, undecodable, wrong network/topic, oversized, non-validator author): the sender is penalised', () => [[{}, st().rejected]]);
  totalCounter(registry, 'smt_gossip_ignored_total', 'Gossip messages Ignored without penalty (stale, duplicate, not yet verifiable)', () => [[{}, st().ignored]]);
  totalCounter(registry, 'smt_fetch_requests_total', 'Fetch requests (catch-up, receipts) served to peers and made to peers; refused = answers that failed verification, after which another peer was asked', () => { const s = st(); return [[{ kind: 'served' }, s.fetchesServed], [{ kind: 'made' }, s.fetchesMade], [{ kind: 'refused' }, s.fetchesRefused]]; }, ['kind']);
  totalCounter(registry, 'smt_signatures_refused_total', 'Aggregation rounds this validator did not sign because it had signed another aggregate for them (sign guard)', () => [[{}, st().signaturesRefused]]);
  new Gauge({ name: 'smt_p2p_peers', help: 'Connected libp2p peers', registers, collect() { this.set(st().peers); } });
  if (xshard) {
    const c = xshard.counters;
    totalCounter(registry, 'smt_xshard_batches_total', 'Cross-shard receipt batches: pushed by this (source) node, received by this (destination) node, refused on arrival', () => [[{ event: 'pushed' }, c.pushedBatches], [{ event: 'received' }, c.received], [{ event: 'refused' }, c.refused]], ['event']);
    totalCounter(registry, 'smt_xshard_receipts_total', 'Cross-shard receipts pushed by this (source) node, and received receipts queued for crediting here', () => [[{ event: 'pushed' }, c.pushedReceipts], [{ event: 'queued' }, c.queued]], ['event']);
    totalCounter(registry, 'smt_xshard_pulls_total', 'Receipt pulls this (destination) node made to catch up on a source shard', () => [[{}, c.pulls]]);
  }
  const globalEpoch = new Gauge({ name: 'smt_global_epoch', help: 'Latest epoch with a final global snapshot known to this node (-1 before the first)', registers });
  globalEpoch.set(st().latestGlobalEpoch);
  return {
    globalEpoch,
    globalLatency: new Histogram({
      name: 'smt_global_latency_seconds',
      help: "Per epoch: time from this node's seal (snapshot published) to the global snapshot of that epoch being final here",
      registers,
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
    }),
  };
}
