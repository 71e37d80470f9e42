// The pure rules of the write lease (docs/REPLICAS.md "Lease and terms"): votes, terms, the
// writer's lease and the committed epoch. No I/O and no clocks: callers pass `now` (a monotonic
// millisecond clock of their own machine) and persist the state these functions return.

/** A replica's durable position: the term of its latest durable snapshot and that snapshot's epoch (-1: none). */
export interface Position {
  lastTerm: bigint;
  lastEpoch: number;
}

/** What a replica keeps durably (fsynced before it answers anything that depends on it). */
export interface VoteState {
  term: bigint;
  votedFor: number | null; // replica index granted a vote in `term`
}

export interface VoteRequest extends Position {
  term: bigint;
  candidate: number;
}

export type VoteDecision =
  | { grant: true; state: VoteState }
  | { grant: false; state: VoteState; reason: 'stale-term' | 'lease' | 'voted' | 'behind' };

/** Raft's up-to-date rule: is `a` at least as up to date as `b`? */
export function atLeastAsUpToDate(a: Position, b: Position): boolean {
  return a.lastTerm !== b.lastTerm ? a.lastTerm > b.lastTerm : a.lastEpoch >= b.lastEpoch;
}

/**
 * A voter's lease promise: until `until`, it votes for no candidate but `to` (null: a replica it
 * cannot name, e.g. whoever it may have promised before it restarted).
 */
export interface LeasePromise {
  until: number;
  to: number | null;
}

/**
 * A voter's answer. `promises`: its lease promises (to the writer it last heard from, to the
 * candidate it last voted for, and for a lease after it started); while one runs for another
 * replica, the voter refuses the candidate without even adopting its term, so a deposing election
 * cannot finish while the earlier writer may still seal.
 */
export function decideVote(state: VoteState, own: Position, req: VoteRequest, now: number, promises: readonly LeasePromise[]): VoteDecision {
  if (req.term < state.term) return { grant: false, state, reason: 'stale-term' };
  if (promises.some((p) => now < p.until && p.to !== req.candidate)) return { grant: false, state, reason: 'lease' };
  let s = state;
  if (req.term > s.term) s = { term: req.term, votedFor: null };
  if (s.votedFor !== null && s.votedFor !== req.candidate) return { grant: false, state: s, reason: 'voted' };
  if (!atLeastAsUpToDate(req, own)) return { grant: false, state: s, reason: 'behind' };
  return { grant: true, state: { term: s.term, votedFor: req.candidate } };
}

/** Votes (replica indexes, the candidate included) that make a majority of `n`. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The end of the writer's lease: `leaseMs` after the majority-th most recent contact (the writer's
 * own is `now`), each measured when the writer received it. Undefined: no majority ever.
 */
export function leaseEnd(contacts: ReadonlyMap<number, number>, self: number, n: number, now: number, leaseMs: number): number | undefined {
  const times = [now];
  for (const [r, t] of contacts) if (r !== self) times.push(t);
  times.sort((a, b) => b - a);
  const m = majority(n);
  return times.length >= m ? times[m - 1]! + leaseMs : undefined;
}

/**
 * The committed epoch: the highest epoch durable on a majority (the writer's own durable epoch
 * counts) that was sealed in the writer's own term (epoch >= `termStart`, the first epoch it
 * sealed); everything at or below it is committed. `previous` never goes down.
 */
export function committedEpoch(durable: ReadonlyMap<number, number>, self: number, selfDurable: number, n: number, termStart: number, previous: number): number {
  const es = [selfDurable];
  for (const [r, e] of durable) if (r !== self) es.push(e);
  es.sort((a, b) => b - a);
  const m = majority(n);
  if (es.length < m) return previous;
  const e = es[m - 1]!;
  return e >= termStart && e > previous ? e : previous;
}

/** The write lease unless configured: two epochs, at least 1.5 s. */
export function defaultLeaseMs(epochMs: number): number {
  return Math.max(2 * epochMs, 1500);
}

/** How long a candidate waits for each (pre-)vote answer: an epoch, at most 1 s. */
export function voteTimeoutMs(epochMs: number): number {
  return Math.min(1000, epochMs);
}

/** Election timeout of replica `index`: the lease, then a stagger by index, then a random part (`rand` in [0, 1)). */
export function electionTimeoutMs(leaseMs: number, epochMs: number, index: number, rand: number): number {
  return leaseMs + Math.round((index * epochMs) / 2 + rand * (epochMs / 4));
}

/**
 * Which triad rounds a writer may sign (docs/REPLICAS.md "Which key signs for a replicated
 * member"): those of epochs that begin at or after the returned wall-clock time (ms). Term 1 has no
 * earlier writer: every epoch. A later term, elected at `electedAt` on its own clock: epochs that
 * began at or after its election. An earlier writer signed a round of e only once a snapshot of e
 * was sealed (e had ended on the sealer's clock) and before this election (its lease had ended), so
 * with wall clocks less than an epoch apart no epoch it may have signed ends as late as
 * `electedAt + epochMs`, where the first epoch this writer signs ends at the earliest.
 */
export function signRoundsFrom(term: bigint, electedAt: number): number {
  return term <= 1n ? -Infinity : electedAt;
}
