// A replica that starts without its vote record (docs/REPLICAS.md "A replica that lost its vote
// file"): its whole data dir was lost, it wiped itself after diverging, or it is new; it cannot tell
// which. It may have voted, before the loss, in some term t for some candidate X; X wrote term >= t
// durably before asking for that vote, so X answers every later request with a term >= t. And it
// may have acknowledged epochs as durable that it no longer holds, so a commit counted on it may now
// live on one replica only. The rule, pure (no I/O, no clocks):
//  - until it has heard the current term of EVERY other replica (signed pull answers), it grants no
//    vote and does not stand for election, and persists nothing about votes; the highest term heard
//    is its floor F;
//  - if F > 0 (a writer was elected once, so something may have been committed), it also waits
//    until it holds everything a writer of a term >= F held when it answered (its head reaches that
//    writer's head): a voter missing committed epochs could elect a candidate missing them too;
//  - then it records (F, LOST_VOTE): "a vote may have been cast in term F", so decideVote refuses
//    every candidate in any term <= F, and votes normally above.
// A replica that kept its vote record but discarded its epochs (after diverging: the catch-up mark
// of vote-store.ts) applies only the second part, from the term of its record.
// Waiting for every other replica (not a majority) is what makes it safe: the one holding the lost
// vote could be any of them. Under the fault model (at most one faulty replica) the amnesiac one is
// the faulty one, so every other replica is up and answers, and a writer is (or will be) elected
// without its vote: the two others suffice, and the one that lacks committed epochs cannot win
// against the one that has them. With a second one down it only withholds its vote.
import type { VoteState } from './lease.js';

/** votedFor of a term in which this replica may have voted before it lost its vote record (never a replica index: at most 7 replicas). */
export const LOST_VOTE = 254;

export class VoteAmnesia {
  private readonly heardTerms = new Map<number, bigint>();
  private readonly self: number;
  private readonly n: number;
  private caughtUp = false;
  /** The term of the vote record it kept (catch-up only), or undefined: it has none. */
  readonly keptTerm: bigint | undefined;

  constructor(self: number, n: number, keptTerm?: bigint) {
    this.self = self;
    this.n = n;
    this.keptTerm = keptTerm;
  }

  /** The floor F: the term of its kept record, or the highest term every other replica answered with. */
  private floor(): bigint | undefined {
    return this.keptTerm ?? recoveredVoteState(this.heardTerms, this.self, this.n)?.term;
  }

  /** Replica `from` answered (signed) with its current term. */
  heard(from: number, term: bigint): void {
    if (from === this.self || from < 0 || from >= this.n) return;
    const t = this.heardTerms.get(from);
    if (t === undefined || term > t) this.heardTerms.set(from, term);
  }

  /** Replicas not heard from yet. */
  missing(): number[] {
    if (this.keptTerm !== undefined) return [];
    return Array.from({ length: this.n }, (_, i) => i).filter((i) => i !== this.self && !this.heardTerms.has(i));
  }

  /**
   * A writer's signed answer in `term` while it held epochs up to `writerHead`, and this replica's
   * head after taking what came with it. Holding the head of a writer of a term >= the floor means
   * holding every epoch committed so far (an elected writer holds them all).
   */
  writerAnswer(term: bigint, writerHead: number, ownHead: number): void {
    const floor = this.floor();
    if (floor !== undefined && term >= floor && ownHead >= writerHead) this.caughtUp = true;
  }

  /** Whether it still waits for a writer's epochs (floor known and above 0). */
  catchingUp(): boolean {
    const f = this.floor();
    return f !== undefined && f > 0n && !this.caughtUp;
  }

  /** The vote state to record once it may vote again (undefined before); with a kept record, the floor is that record's term. */
  recovered(): VoteState | undefined {
    const f = this.floor();
    if (f === undefined || (f > 0n && !this.caughtUp)) return undefined;
    return { term: f, votedFor: LOST_VOTE };
  }
}

/**
 * (F, LOST_VOTE) with F the highest term among every other replica's answers, or undefined while
 * any other replica is unheard. Pure.
 */
export function recoveredVoteState(heard: ReadonlyMap<number, bigint>, self: number, n: number): VoteState | undefined {
  let floor = 0n;
  for (let i = 0; i < n; i++) {
    if (i === self) continue;
    const t = heard.get(i);
    if (t === undefined) return undefined;
    if (t > floor) floor = t;
  }
  return { term: floor, votedFor: LOST_VOTE };
}
