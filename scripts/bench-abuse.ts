// Abuse benchmark: what an outside peer or HTTP client costs a node, and whether honest transfers still
// commit meanwhile. For each attack module in scripts/abuse/ (or those named in BENCH_ABUSE=a,b):
// start a fresh 3-shard loopback cluster, run an honest probe (one transfer per sender per epoch),
// measure the target node's CPU seconds before and after the attack, and print
//   CPU-seconds per 1,000 abusive requests, RSS growth, honest transfers' submit -> commit epochs.
// Last line: one JSON object. BENCH_SMT_ROOT=<checkout> runs the nodes of another checkout (e.g. an
// older commit, for "before" figures) with this checkout's attack code.
//
//   npm run bench:abuse                     all attacks
//   BENCH_ABUSE=receipts-stall npm run bench:abuse
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpuSeconds, honestProbe, rssMb, sleep, startCluster, type SecCluster } from '../test/security/harness.js';

/** One attack, run by the bench against a fresh cluster. */
export interface AbuseModule {
  name: string;
  /** One line: what the attacker does. */
  what: string;
  /** The shard whose node is attacked (its CPU is measured). */
  target: string;
  /** Prepares the cluster (e.g. builds history) before the idle measurement; not counted as the attack. */
  setup?(c: SecCluster): Promise<void>;
  /** Runs the attack for about `seconds`; resolves to the number of abusive requests/messages sent. */
  run(c: SecCluster, seconds: number): Promise<number>;
  /** Environment for the nodes (e.g. SMT_NO_PROVE: '0' for proof attacks). */
  prove?: boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const only = process.env.BENCH_ABUSE?.split(',').filter(Boolean);
const smtRoot = process.env.BENCH_SMT_ROOT;

const files = readdirSync(join(here, 'abuse')).filter((f) => f.endsWith('.ts')).sort();
const results: Record<string, unknown>[] = [];
for (const f of files) {
  const mod = (await import(pathToFileURL(join(here, 'abuse', f)).href)).default as AbuseModule;
  if (only && !only.includes(mod.name)) continue;
  console.log(`\n== ${mod.name}: ${mod.what}`);
  const c = await startCluster({ prove: mod.prove, smtBin: smtRoot ? join(smtRoot, 'bin', 'smt.mjs') : undefined });
  try {
    await sleep(2 * c.genesis.epochMs); // settle after the first global
    await mod.setup?.(c);
    const pid = c.pidOf(mod.target);
    const idle0 = cpuSeconds(pid);
    await sleep(seconds * 1000);
    const idleCpu = cpuSeconds(pid) - idle0; // the node's own cost over the same time, with the probe off
    const probe = honestProbe(c);
    const rss0 = rssMb(pid);
    const cpu0 = cpuSeconds(pid);
    const t0 = Date.now();
    const requests = await mod.run(c, seconds);
    const wall = (Date.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const rss1 = rssMb(pid);
    const p = await probe.stop();
    const extra = Math.max(0, cpu - idleCpu * (wall / seconds));
    const row = {
      attack: mod.name, target: mod.target, requests, wallS: +wall.toFixed(1), nodeCpuS: +cpu.toFixed(2), idleCpuS: +idleCpu.toFixed(2),
      cpuSPer1000: requests > 0 ? +((1000 * extra) / requests).toFixed(3) : null, rssMbDelta: +(rss1 - rss0).toFixed(1),
      honestSent: p.sent, honestCommitted: p.committed, honestMaxEpochs: p.maxEpochs, honestMissing: p.missing.length,
    };
    results.push(row);
    console.log(`requests ${requests} in ${row.wallS} s; node CPU ${row.nodeCpuS} s (idle ${row.idleCpuS} s per ${seconds} s) => ${row.cpuSPer1000} CPU-s per 1,000 beyond idle; RSS ${row.rssMbDelta >= 0 ? '+' : ''}${row.rssMbDelta} MB`);
    console.log(`honest transfers: ${p.committed}/${p.sent} committed, submit -> commit max ${p.maxEpochs} epochs (${p.missing.length} missing)`);
  } finally {
    await c.teardown();
  }
}
console.log(JSON.stringify({ bench: 'abuse', seconds, nodes: smtRoot ?? 'this checkout', results }));
