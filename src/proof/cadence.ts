// The proving cadence (pure): which epochs are proved, chosen from measured capacity.
//
// A plan is a list of segments {from, every}: from epoch `from` on (until the next segment), the
// epochs e with (e - from) % every === 0 are proved. Every node sharing a prover pool follows the
// pool's plan, so they all prove the same epochs; a change is announced for an epoch far enough
// ahead (CHANGE_LEAD) that every node has read it before it applies.
//
// The choice: one proved epoch's tree costs `leaves` leaf proofs and `inners` inner proofs of CPU;
// proving may use the cores left free by everything else on the machine (measured), at most one
// per pool worker. Where one tree's critical path (criticalPathMs) fits in PATH_EPOCHS epochs:
// every = ceil(tree CPU / (usable cores x epoch x HEADROOM)), and at least a critical path apart,
// so proved epochs do not overlap. Where it does not (short epochs), every epoch is eligible and
// the pool proves the newest one it can start (chooseCadence says why: that minimises the age of
// the newest proof).

export interface CadenceSegment {
  from: number;
  every: number;
}

export interface CapacityFigures {
  depth: number;
  epochMs: number;
  /** Measured (or, before any proof, assumed) CPU ms of one proof, per circuit. */
  leafCpuMs: number;
  innerCpuMs: number;
  /** Where the per-proof figures come from: 'measured' (this pool's proofs) or 'assumed' (reference figures). */
  source: 'measured' | 'assumed';
  /** Cores not used by anything but the pool's own provers (measured over the last interval). */
  freeCores: number;
  workers: number;
}

export interface CadenceChoice {
  every: number;
  why: string;
  treeCpuMs: number;
  usableCores: number;
  /** Planned ms between proved epochs (every epochs; when pipelined, one tree's CPU over the usable cores). */
  intervalMs: number;
  /** Expected age of the newest global proof just before the next one lands (its worst), in epochs. */
  expectedAgeEpochs: number;
}

/**
 * Share of the free cores proving is planned to use. Close to 1: the provers run niced (the nodes
 * keep priority) and an epoch the pool cannot prove in time is skipped (pool-queue.ts), so a plan
 * slightly too dense costs a skipped epoch, while a plan too sparse costs freshness on every epoch.
 */
export const HEADROOM = 0.9;
/** Largest cadence a plan may hold (a validated plan); chooseCadence stops at MAX_CHOSEN_EVERY. */
export const MAX_EVERY = 64;
/**
 * Largest cadence chosen from capacity: on a saturated machine the plan stays this dense and the
 * pool's skips thin it out as capacity allows, rather than the plan leaving proofs far apart after
 * capacity is back.
 */
export const MAX_CHOSEN_EVERY = 16;
/** Seal -> proof bound (epochs) the cadence keeps where one tree's critical path fits in it. */
export const PATH_EPOCHS = 2;

export function proofsPerTree(depth: number): { leaves: number; inners: number } {
  const leaves = 3 ** (depth - 1);
  return { leaves, inners: (leaves - 1) / 2 };
}

/**
 * Wall time of one epoch's proofs on `usableCores`: the leaves in rounds of at most
 * floor(usableCores) at once, then one inner proof per level above them (each level waits for the
 * one below); on less than one core everything stretches by 1 / usableCores.
 */
export function criticalPathMs(depth: number, leafCpuMs: number, innerCpuMs: number, usableCores: number): number {
  const { leaves } = proofsPerTree(depth);
  const parallel = Math.max(1, Math.floor(usableCores));
  const ms = Math.ceil(leaves / parallel) * leafCpuMs + (depth - 1) * innerCpuMs;
  return usableCores < 1 ? ms / usableCores : ms;
}

export function chooseCadence(f: CapacityFigures): CadenceChoice {
  const { leaves, inners } = proofsPerTree(f.depth);
  const treeCpuMs = leaves * f.leafCpuMs + inners * f.innerCpuMs;
  // never plan on less than a tenth of a core: a saturated machine still proves, rarely
  const usableCores = Math.max(0.1, Math.min(f.workers, f.freeCores));
  const byCpu = Math.ceil(treeCpuMs / (usableCores * f.epochMs * HEADROOM));
  const pathMs = criticalPathMs(f.depth, f.leafCpuMs, f.innerCpuMs, usableCores);
  const pathEpochs = pathMs / f.epochMs;
  const head =
    `one proved epoch = ${leaves} leaf x ${Math.round(f.leafCpuMs)} ms + ${inners} inner x ${Math.round(f.innerCpuMs)} ms CPU (${f.source}) = ${Math.round(treeCpuMs)} ms; ` +
    `usable cores ${usableCores.toFixed(2)} (free ${f.freeCores.toFixed(2)}, ${f.workers} workers)`;
  if (pathMs <= PATH_EPOCHS * f.epochMs) {
    // Proved epochs closer than one tree's critical path overlap: each shares the cores with the
    // next and arrives later (at 4 s epochs with ~1.7 free cores, proving every epoch gave a worst
    // seal -> proof of 2.07 epochs, while one tree alone takes ~1.3). Where a tree fits in
    // PATH_EPOCHS epochs, proved epochs are kept a critical path apart so each proof lands within them.
    const byPath = Math.ceil(pathEpochs);
    const every = Math.min(MAX_CHOSEN_EVERY, Math.max(1, byCpu, byPath));
    const why =
      `${head} x ${HEADROOM} x ${f.epochMs} ms epochs => every ${Math.min(byCpu, every)}` +
      (byPath > byCpu ? `; one tree's critical path ${Math.round(pathMs)} ms => every ${every}` : '') +
      (every === MAX_CHOSEN_EVERY ? ' (the most chosen; skips thin it further)' : '');
    return { every, why, treeCpuMs, usableCores, expectedAgeEpochs: round1(every + pathEpochs), intervalMs: every * f.epochMs };
  }
  // A tree takes longer than PATH_EPOCHS epochs: proofs must pipeline. A fixed cadence N proves an
  // epoch every N epochs, N rounded up from the CPU rule with headroom, so the pool idles up to an
  // epoch per tree and an epoch it cannot start in time doubles the gap. Instead every epoch is
  // eligible and the pool starts the NEWEST sealed epoch whenever a worker frees (it skips every
  // older unstarted one: pool-queue.ts), so proved epochs are one tree's CPU over the usable
  // cores apart, no more. The newest proof is oldest just before the next lands: about one such
  // interval plus one tree's critical path.
  const intervalMs = Math.max(f.epochMs, treeCpuMs / usableCores);
  const expectedAgeEpochs = round1((intervalMs + pathMs) / f.epochMs);
  const fixed = Math.min(MAX_CHOSEN_EVERY, Math.max(1, byCpu));
  const why =
    `${head}; one tree's critical path ${Math.round(pathMs)} ms > ${PATH_EPOCHS} epochs of ${f.epochMs} ms, so proofs pipeline => every 1: ` +
    `the pool starts the newest epoch whenever a worker frees (one about every ${Math.round(intervalMs)} ms; newest proof at most ~${expectedAgeEpochs} epochs old, ` +
    `against ~${round1(fixed + pathEpochs)} with a fixed every ${fixed})`;
  return { every: 1, why, treeCpuMs, usableCores, expectedAgeEpochs, intervalMs };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** Epochs ahead of the clock a cadence change is announced for: nodes read the plan every couple of seconds. */
export function changeLead(epochMs: number): number {
  return Math.max(3, Math.ceil(6000 / epochMs));
}

export class CadencePlan {
  readonly segments: CadenceSegment[];

  constructor(segments: CadenceSegment[]) {
    if (segments.length === 0) throw new RangeError('a cadence plan needs a segment');
    for (const [i, s] of segments.entries()) {
      if (!Number.isSafeInteger(s.from) || !Number.isSafeInteger(s.every) || s.every < 1 || s.every > MAX_EVERY) throw new RangeError(`bad cadence segment ${JSON.stringify(s)}`);
      if (i > 0 && s.from <= segments[i - 1]!.from) throw new RangeError('cadence segments must start at increasing epochs');
    }
    this.segments = segments.map((s) => ({ ...s }));
  }

  static fixed(every: number): CadencePlan {
    return new CadencePlan([{ from: 0, every }]);
  }

  private segmentAt(e: number): CadenceSegment {
    let s = this.segments[0]!;
    for (const x of this.segments) if (x.from <= e) s = x;
    return s;
  }

  /** The cadence in force at epoch e. */
  everyAt(e: number): number {
    return this.segmentAt(e).every;
  }

  isProved(e: number): boolean {
    if (e < 0) return false;
    const s = this.segmentAt(e);
    return e >= s.from ? (e - s.from) % s.every === 0 : e % s.every === 0;
  }

  /** The latest proved epoch <= e (-1 if none). */
  provedAtOrBefore(e: number): number {
    for (let x = e; x >= 0 && x > e - 2 * MAX_EVERY; x--) if (this.isProved(x)) return x;
    return -1;
  }

  /** The proved epoch before proved epoch e (-1 if none). */
  previousProved(e: number): number {
    return this.provedAtOrBefore(e - 1);
  }

  /** Rotation round of proved epoch e: distinct for successive proved epochs of one segment. */
  round(e: number): number {
    const s = this.segmentAt(e);
    return Math.floor((e - Math.min(s.from, e)) / s.every) + s.from;
  }

  /**
   * The plan with cadence `every` from the first epoch at or after `at` where the current segment
   * would prove anyway (so the current proved rhythm continues up to the switch); old segments that
   * no epoch still in use needs are dropped (keeps the last 8).
   */
  withChange(every: number, at: number): CadencePlan {
    const cur = this.segmentAt(at);
    if (cur.every === every) return this;
    let from = at;
    while (!this.isProved(from)) from++;
    const kept = this.segments.filter((s) => s.from < from).slice(-7);
    return new CadencePlan([...kept, { from, every }]);
  }

  toJSON(): CadenceSegment[] {
    return this.segments;
  }
}
