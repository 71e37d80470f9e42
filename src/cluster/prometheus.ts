// Prometheus scrape configuration for a network's nodes (pure): one job, every node's /metrics. The
// nodes label their own series with `network` and `shard`, so the targets need no relabelling. Used
// for monitoring/prometheus.yml (compose service names), and by the tests with loopback targets.
import { stringify } from 'yaml';

export const PROMETHEUS_PORT = 9090;
export const GRAFANA_PORT = 3000;
export const SCRAPE_INTERVAL = '5s';

export interface ScrapeTarget {
  /** host:port of the node's HTTP API (which serves /metrics). */
  address: string;
  shard: string;
}

export function prometheusConfig(targets: ScrapeTarget[], opts: { interval?: string } = {}): Record<string, unknown> {
  if (targets.length === 0) throw new Error('prometheus config: no scrape targets');
  return {
    global: { scrape_interval: opts.interval ?? SCRAPE_INTERVAL, evaluation_interval: '15s' },
    scrape_configs: [
      {
        job_name: 'smt',
        metrics_path: '/metrics',
        static_configs: targets.map((t) => ({ targets: [t.address], labels: { node: t.shard === '' ? 'root' : t.shard } })),
      },
    ],
  };
}

export function prometheusYaml(targets: ScrapeTarget[], header = '', opts: { interval?: string } = {}): string {
  return header + stringify(prometheusConfig(targets, opts), { lineWidth: 0, version: '1.1' });
}
