// A replica that starts without its vote record (docs/REPLICAS.md "A replica that lost its vote
// file"): its whole data dir was lost, or it is new; it cannot tell which. It may have voted, before
// the loss, in some term t for some candidate X; X wrote term >= t durably before asking for that
// vote, so X answers every later request with a term >= t. The rule, pure (no I/O, no clocks):
//  - until it has heard the current term of EVERY other replica (signed pull answers), it grants no
//    vote and does not stand for election, and persists nothing about votes;
//  - then its floor F is the highest term heard; it records (F, LOST_VOTE): "a vote may have been
//    cast in term F", so decideVote refuses every candidate in any term <= F, and votes normally above.
// Waiting for every other replica (not a majority) is what makes it safe: the one holding the lost
// vote could be any of them. Under the fault model (at most one faulty replica) the amnesiac one is
// the faulty one, so every other replica is up and answers; with a second one down it only withholds
// its vote, which the two others do not need.
import type { VoteState } from './lease.js';

/** votedFor of a term in which this replica may have voted before it lost its vote record (never a replica index: at most 7 replicas). */
export const LOST_VOTE = 254;

export class VoteAmnesia {
  private readonly heardTerms = new Map<number, bigint>();
  private readonly self: number;
  private readonly n: number;

  constructor(self: number, n: number) {
    this.self = self;
    this.n = n;
  }

  /** Replica `from` answered (signed) with its current term. */
  heard(from: number, term: bigint): void {
    if (from === this.self || from < 0 || from >= this.n) return;
    const t = this.heardTerms.get(from);
    if (t === undefined || term > t) this.heardTerms.set(from, term);
  }

  /** Replicas not heard from yet. */
  missing(): number[] {
    return Array.from({ length: this.n }, (_, i) => i).filter((i) => i !== this.self && !this.heardTerms.has(i));
  }

  /** The vote state to record once every other replica was heard (undefined before). */
  recovered(): VoteState | undefined {
    return recoveredVoteState(this.heardTerms, this.self, this.n);
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
