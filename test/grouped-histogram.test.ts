// GroupedHistogram serves, through a prom-client Registry, exactly the text prom-client's own
// Histogram serves for the same observations: observe(v, n) is n observations of v (the sum up to
// float rounding).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { GroupedHistogram } from '../src/node/grouped-histogram.js';

const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

function registries(): { theirs: Registry; ours: Registry; h: Histogram; g: GroupedHistogram } {
  const theirs = new Registry();
  const ours = new Registry();
  for (const r of [theirs, ours]) r.setDefaultLabels({ network: 'n', shard: '01' });
  const help = 'a latency';
  return { theirs, ours, h: new Histogram({ name: 'x_seconds', help, buckets: BUCKETS, registers: [theirs] }), g: new GroupedHistogram({ name: 'x_seconds', help, buckets: BUCKETS, registers: [ours] }) };
}

/** Equal texts, except that _sum may differ by float rounding (v * n here, n additions there). */
function sameText(ours: string, theirs: string): void {
  const sumOf = (t: string): number => Number(/_sum\{[^}]*\} (\S+)/.exec(t)?.[1] ?? 'NaN');
  const strip = (t: string): string => t.replace(/(_sum\{[^}]*\}) \S+/, '$1 S');
  assert.equal(strip(ours), strip(theirs));
  const a = sumOf(ours);
  const b = sumOf(theirs);
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `sum ${a} vs ${b}`);
}

test('observe(v, n) serves the same Prometheus text as n observations of v in prom-client, bucket edges included', async () => {
  const value = fc.oneof(fc.constantFrom(0, ...BUCKETS, 31), fc.double({ min: 0, max: 60, noNaN: true }));
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(value, fc.integer({ min: 0, max: 20 })), { maxLength: 30 }), async (groups) => {
      const { theirs, ours, h, g } = registries();
      for (const [v, n] of groups) {
        for (let i = 0; i < n; i++) h.observe(v);
        g.observe(v, n);
      }
      sameText(await ours.metrics(), await theirs.metrics());
    }),
    { numRuns: 100 },
  );
});

test('reset() forgets what was observed, as prom-client reset does; bad values and counts are refused and change nothing', async () => {
  const { theirs, ours, h, g } = registries();
  g.observe(0.3, 5);
  for (let i = 0; i < 5; i++) h.observe(0.3);
  for (const r of [theirs, ours]) r.resetMetrics();
  g.observe(0.7, 1);
  h.observe(0.7);
  sameText(await ours.metrics(), await theirs.metrics());
  for (const [v, n] of [[NaN, 1], [Infinity, 1], [0.1, -1], [0.1, 1.5]] as const) assert.throws(() => g.observe(v, n), TypeError);
  sameText(await ours.metrics(), await theirs.metrics());
  assert.throws(() => new GroupedHistogram({ name: 'y', help: 'y', buckets: [1, 1], registers: [] }), RangeError);
});
