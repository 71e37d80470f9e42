// The proving layer's figures: Prometheus metrics and, per proved epoch, the timeline of its steps
// (what /v1/proof/status shows and `npm run bench:proof` merges over the nodes).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Genesis } from '../../core/genesis.js';

/**
 * How old the newest global proof held here is: epochs the wall clock has sealed since its epoch,
 * and seconds since its epoch's nominal seal (genesisTime + (e+1) * epochMs). Null before the first.
 */
export interface Freshness {
  latestGlobalProofEpoch: number;
  ageEpochs: number | null;
  ageSeconds: number | null;
}

export function freshnessOf(g: Pick<Genesis, 'genesisTime' | 'epochMs'>, latest: number, now = Date.now()): Freshness {
  if (latest < 0) return { latestGlobalProofEpoch: -1, ageEpochs: null, ageSeconds: null };
  const clock = Math.floor((now - g.genesisTime) / g.epochMs) - 1;
  return { latestGlobalProofEpoch: latest, ageEpochs: Math.max(0, clock - latest), ageSeconds: Math.max(0, Math.round((now - (g.genesisTime + (latest + 1) * g.epochMs)) / 100) / 10) };
}

export interface ProvingMetrics {
  made: Counter<'kind'>;
  seconds: Histogram<'kind'>;
  latency: Histogram;
  epoch: Gauge;
  head: Gauge;
  ageEpochs: Gauge;
  ageSeconds: Gauge;
}

export function makeProvingMetrics(registry: Registry, freshness: () => Freshness): ProvingMetrics {
  const registers = [registry];
  const m: ProvingMetrics = {
    made: new Counter({ name: 'smt_proofs_made_total', help: 'Groth16 triad proofs made by this node, by circuit', labelNames: ['kind'], registers }),
    seconds: new Histogram({ name: 'smt_prove_seconds', help: 'Time to make one triad proof (witness + Groth16, in the niced prover process)', labelNames: ['kind'], registers, buckets: [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20] }),
    latency: new Histogram({ name: 'smt_global_proof_latency_seconds', help: "Per proved epoch: time from this node's seal of the epoch to the epoch's global state proof being held here", registers, buckets: [0.5, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 60] }),
    epoch: new Gauge({ name: 'smt_global_proof_epoch', help: 'Latest epoch with a global state proof held by this node (-1 before the first)', registers }),
    head: new Gauge({ name: 'smt_commitment_tree_epoch', help: 'Latest epoch whose commitment tree this node has built', registers }),
    // computed when scraped: the age grows between proofs
    ageEpochs: new Gauge({ name: 'smt_global_proof_age_epochs', help: 'Age of the newest global state proof held here, in epochs the clock has sealed since its epoch (-1 before the first)', registers, collect() {
      this.set(freshness().ageEpochs ?? -1);
    } }),
    ageSeconds: new Gauge({ name: 'smt_global_proof_age_seconds', help: "Age of the newest global state proof held here: seconds since its epoch's nominal seal (-1 before the first)", registers, collect() {
      this.set(freshness().ageSeconds ?? -1);
    } }),
  };
  m.epoch.set(-1);
  return m;
}

const TIMELINE_KEEP = 12; // epochs with proof work (a proof started or held here) whose timelines /v1/proof/status shows
const TIMELINE_KEEP_IDLE = 12; // and recent epochs without (skipped, or not reached yet)

/**
 * Per proved epoch, what happened here and when, in ms after the epoch's nominal seal time
 * (genesisTime + (e+1) * epochMs), for finding where the seal-to-global-proof latency goes.
 * Steps: sealed (own snapshot), tree (all snapshots here, tree built), `<path>@queued`,
 * `<path>@start` / `<path>@verified` (children checked) / `<path>@made` for proofs made here (with
 * the child's witness and prove ms), `<path>` = proof held (made or received; apex = "apex"),
 * global = global proof held.
 */
export type EpochTimeline = Record<string, number>;

/** Whether a timeline shows proof work: a proof started here, or any proof or the global proof held. */
function hasProofWork(t: EpochTimeline): boolean {
  return Object.keys(t).some((k) => k.endsWith('@start') || k === 'global' || (!k.includes('@') && k !== 'sealed' && k !== 'tree'));
}

export class Timelines {
  private readonly byEpoch = new Map<number, EpochTimeline>();
  private readonly genesisTime: number;
  private readonly epochMs: number;
  private readonly proved: (e: number) => boolean;

  constructor(genesisTime: number, epochMs: number, proved: (e: number) => boolean) {
    this.genesisTime = genesisTime;
    this.epochMs = epochMs;
    this.proved = proved;
  }

  /** Records step `name` of proved epoch e's timeline (ms after its nominal seal), first time only; `value` overrides. */
  mark(e: number, name: string, value?: number, at = Date.now()): void {
    if (!this.proved(e)) return;
    let t = this.byEpoch.get(e);
    if (!t) {
      this.byEpoch.set(e, (t = {}));
      // With every epoch eligible most are skipped: they must not push the proved ones out.
      const keys = [...this.byEpoch.keys()].sort((a, b) => a - b);
      const worked = keys.filter((k) => hasProofWork(this.byEpoch.get(k)!));
      const idle = keys.filter((k) => k !== e && !hasProofWork(this.byEpoch.get(k)!));
      for (const k of [...worked.slice(0, -TIMELINE_KEEP), ...idle.slice(0, -TIMELINE_KEEP_IDLE)]) this.byEpoch.delete(k);
    }
    if (t[name] !== undefined) return;
    if (value !== undefined) t[name] = Math.round(value);
    else t[name] = at - (this.genesisTime + (e + 1) * this.epochMs);
  }

  toJSON(): Record<string, EpochTimeline> {
    return Object.fromEntries(this.byEpoch);
  }
}
