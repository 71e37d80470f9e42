// A Prometheus histogram that takes a group of equal observations in one call: observe(value, n).
// prom-client's Histogram takes one call per observation (a closure, a label hash and a bucket
// lookup each), and the commit latency is one observation per committed transaction: tens of
// thousands a second on a loaded node, where a seal's transactions share a few acceptance times
// (one per submitted batch). Served by a prom-client Registry like its own histograms:
// <name>_bucket{le} (cumulative, then +Inf), <name>_sum, <name>_count, with the registry's default labels.
import type { Metric, Registry } from 'prom-client';

export class GroupedHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly upper: readonly number[];
  private readonly counts: number[]; // per bucket (not cumulative); the last one is +Inf
  private sum = 0;
  private count = 0;

  constructor(o: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    if (o.buckets.length === 0 || o.buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= o.buckets[i - 1]!))) throw new RangeError(`${o.name}: buckets must be finite and increasing`);
    this.name = o.name;
    this.help = o.help;
    this.upper = [...o.buckets];
    this.counts = new Array<number>(o.buckets.length + 1).fill(0);
    // The registry serves any metric with get() and reset() (its typings name only its own classes).
    for (const r of o.registers) r.registerMetric(this as unknown as Metric);
  }

  /** `n` observations of `value` (n >= 0 integer; value finite). */
  observe(value: number, n = 1): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: value is not a finite number: ${value}`);
    if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`${this.name}: count must be a non-negative integer, got ${n}`);
    let i = 0;
    while (i < this.upper.length && value > this.upper[i]!) i++;
    this.counts[i]! += n;
    this.sum += value * n;
    this.count += n;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: { metricName: string; labels: Record<string, string | number>; value: number }[] } {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    let acc = 0;
    this.upper.forEach((le, i) => {
      acc += this.counts[i]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le }, value: acc });
    });
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.count });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.count });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
