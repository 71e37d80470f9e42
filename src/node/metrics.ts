// All node metrics in one place (prom-client), on a registry per node so tests and several nodes in
// one process do not collide. Served at GET /metrics.
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';

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
}

export function createMetrics(opts: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}): NodeMetrics {
  const registry = new Registry();
  if (opts.labels) registry.setDefaultLabels(opts.labels);
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'smt_process_' });
  const registers = [registry];
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
  };
}
