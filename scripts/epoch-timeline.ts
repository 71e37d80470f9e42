// Where the seal -> global final time of each epoch went, from the nodes' own log lines (pure: the
// caller reads the logs). Per epoch: when each shard's seal started and ended against the epoch's
// scheduled seal time, and when each node saw the global snapshot final. The global of an epoch
// needs every shard's snapshot (a lowest triad waits for all three children), so its time splits
// into the wait for the LAST seal and the aggregation after it (two triad levels of gossip,
// signing and verification at depth 2).

/** One node's log lines that matter here (pino JSON: `time` in unix ms). */
export interface SealLine { shard: string; epoch: number; time: number; sealMs: number; phases?: Record<string, number> }
export interface FinalLine { shard: string; epoch: number; time: number; latencyMs?: number }

/** Parses pino JSON lines: 'sealed' and 'global snapshot final' records; other lines are skipped. */
export function parseNodeLog(shard: string, text: string): { seals: SealLine[]; finals: FinalLine[] } {
  const seals: SealLine[] = [];
  const finals: FinalLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"sealed"') && !line.includes('"global snapshot final"')) continue;
    let j: { msg?: string; epoch?: number; time?: number; sealMs?: number; latencyMs?: number; phases?: Record<string, number> };
    try {
      j = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof j.epoch !== 'number' || typeof j.time !== 'number') continue;
    if (j.msg === 'sealed' && typeof j.sealMs === 'number') seals.push({ shard, epoch: j.epoch, time: j.time, sealMs: j.sealMs, ...(j.phases ? { phases: j.phases } : {}) });
    else if (j.msg === 'global snapshot final') finals.push({ shard, epoch: j.epoch, time: j.time, ...(typeof j.latencyMs === 'number' ? { latencyMs: j.latencyMs } : {}) });
  }
  return { seals, finals };
}

export interface EpochTimeline {
  epoch: number;
  /** ms after the scheduled seal time: the last shard's seal ended (the global cannot form before). */
  lastSealDone: number;
  lastShard: string;
  /** The last shard's seal: how late it started (its timer, or an event loop busy elsewhere) and how long it took. */
  lastSealStartedLate: number;
  lastSealMs: number;
  lastSealPhases?: Record<string, number>;
  /** The median shard's seal end (ms after the scheduled time). */
  medianSealDone: number;
  /** First node to hold the global, after the last seal; then until the last node holds it. */
  aggregationMs: number;
  spreadMs: number;
  /** The longest own-seal -> global wait of any node this epoch (what smt_global_latency_seconds observes). */
  worstNodeLatencyMs: number;
}

/** One timeline per epoch in [from, to] that has all `shards` seals and at least one final. */
export function epochTimelines(seals: SealLine[], finals: FinalLine[], o: { genesisTime: number; epochMs: number; shards: number; from: number; to: number }): EpochTimeline[] {
  const out: EpochTimeline[] = [];
  const sealsBy = new Map<number, SealLine[]>();
  for (const s of seals) if (s.epoch >= o.from && s.epoch <= o.to) sealsBy.set(s.epoch, [...(sealsBy.get(s.epoch) ?? []), s]);
  const finalsBy = new Map<number, FinalLine[]>();
  for (const f of finals) if (f.epoch >= o.from && f.epoch <= o.to) finalsBy.set(f.epoch, [...(finalsBy.get(f.epoch) ?? []), f]);
  for (let e = o.from; e <= o.to; e++) {
    const ss = sealsBy.get(e) ?? [];
    const fs = finalsBy.get(e) ?? [];
    if (ss.length !== o.shards || fs.length === 0) continue;
    const due = o.genesisTime + (e + 1) * o.epochMs;
    const byDone = [...ss].sort((a, b) => a.time - b.time);
    const last = byDone.at(-1)!;
    const doneOf = new Map(ss.map((s) => [s.shard, s.time]));
    const firstFinal = Math.min(...fs.map((f) => f.time));
    const lastFinal = Math.max(...fs.map((f) => f.time));
    out.push({
      epoch: e,
      lastSealDone: last.time - due,
      lastShard: last.shard,
      lastSealStartedLate: last.time - last.sealMs - due,
      lastSealMs: last.sealMs,
      ...(last.phases ? { lastSealPhases: last.phases } : {}),
      medianSealDone: byDone[Math.floor(byDone.length / 2)]!.time - due,
      aggregationMs: firstFinal - last.time,
      spreadMs: lastFinal - firstFinal,
      worstNodeLatencyMs: Math.max(...fs.map((f) => f.time - (doneOf.get(f.shard) ?? f.time))),
    });
  }
  return out;
}

const q = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

/** p50 / p90 / max of a timeline field over the epochs. */
export function spread(ts: EpochTimeline[], f: (t: EpochTimeline) => number): { p50: number; p90: number; max: number } {
  const xs = ts.map(f);
  return { p50: Math.round(q(xs, 0.5)), p90: Math.round(q(xs, 0.9)), max: Math.round(Math.max(...xs)) };
}
