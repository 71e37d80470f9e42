// A replica of a replicated shard (docs/REPLICAS.md): follows the writer of its term (pulls each
// sealed epoch, re-executes it, acks it by its next pull), stands for election when the writer goes
// quiet, and as writer seals under its lease and reports an epoch committed once it is durable on a
// majority. The rules themselves are pure (lease.ts, fence.ts, amnesia.ts); this is the protocol that
// drives them, free of HTTP and of Node's timers: time comes from a Scheduler (plus a monotonic clock),
// messages go through a ReplicaTransport, the vote record through a VoteRecord. The node runs it over
// HTTP on the wall clock (src/node/replica.ts); the simulator over its network on a virtual clock
// (test/sim). Every message is signed by its author's replica key; the bodies are the JSON objects
// of the replica API ({msg, sig} hex, entries and state answers in base64), whatever carries them.
import { EventEmitter } from 'node:events';
import type { Scheduler } from '../core/scheduler.js';
import { bytesEqual, fromHex, toHex } from '../core/bytes.js';
import type { KeyPair } from '../core/ed25519.js';
import { replicaKeys, type Genesis } from '../core/genesis.js';
import { snapshotHash } from '../shard/snapshot.js';
import { ReplicaDivergenceError, ReplicaMismatchError, type SealedEvent, type Shard } from '../shard/shard.js';
import { committedEpoch, decideVote, defaultLeaseMs, electionTimeoutMs, leaseEnd, majority, signRoundsFrom, voteTimeoutMs, type LeasePromise, type Position, type VoteState } from './lease.js';
import { TermFence } from './fence.js';
import { decodeEntries, decodeEntry, encodeEntries, encodeEntry } from './entry.js';
import {
  decodePull, decodePullAnswer, decodeVote, decodeVoteRequest, encodePull, encodePullAnswer, encodeVote, encodeVoteRequest,
  entryHash, signMessage, verifyMessage, NO_WRITER, type MessageTag, type PullAnswer,
} from './messages.js';
import { LOST_VOTE, VoteAmnesia } from './amnesia.js';
import { StateSyncServer } from './state-sync-serve.js';
import { decodeStateRequest } from './state-sync-codec.js';
import { verifyShardSnapshot } from './keys.js';
import type { Logger } from '../node/logger.js';

/** A seal this replica may not make now (its write lease lapsed): expected while it steps down, not a fault. */
export class SealDeclined extends Error {}

export type ReplicaRole = 'follower' | 'candidate' | 'writer' | 'stopped';

/** The replica API's requests (the HTTP paths of the node's API). */
export type ReplicaPath = '/v1/replica/pull' | '/v1/replica/vote' | '/v1/replica/state';

/** How a replica reaches the others: a request body to replica `to`, its answer body, or undefined (no answer, refused, timed out). */
export interface ReplicaTransport {
  post(to: number, path: ReplicaPath, body: unknown, timeoutMs: number): Promise<unknown>;
}

/** The durable vote record (term, votedFor): written (fsynced) before anything depends on it. */
export interface VoteRecord {
  /** Is there one? (None: a new replica, or one whose data was lost: amnesia.ts.) */
  has(): boolean;
  read(): VoteState;
  write(s: VoteState): void;
  /** The catch-up mark: set (durably) by a replica that discarded epochs after diverging (wipe.ts). */
  catchUp(): boolean;
  clearCatchUp(): void;
}

/** A request refused: HTTP status, code and message (the node answers with them; the simulator's request fails). */
export class ReplicaRequestError extends Error {
  override name = 'ReplicaRequestError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface ReplicaOptions {
  shard: Shard;
  genesis: Genesis;
  key: KeyPair;
  index: number;
  logger: Logger;
  transport: ReplicaTransport;
  votes: VoteRecord;
  /** Timers, and the wall clock (ms) of pull times and of canSignRound. */
  scheduler: Scheduler;
  /** A monotonic clock (ms) for leases and election deadlines (default: scheduler.now). */
  mono?: () => number;
  /** When this process started, on the `mono` clock (default: when the replica is made): a vote's lease promise made before a restart holds until a lease after it. */
  processStart?: number;
  /** Random numbers in [0, 1) for election timeouts (default Math.random). */
  random?: () => number;
  /** Requests from these replicas are refused (the node's deny list). */
  refuseFrom?: (replica: number) => boolean;
  /** Write lease (default `defaultLeaseMs`: 2 x epochMs, at least 1.5 s). */
  leaseMs?: number;
  /** Starts the epoch clock (called on becoming writer); its seal must go through sealAsWriter(). */
  startClock: () => { stop(): Promise<void> };
  /** This replica holds epochs its writer does not: its data must be discarded and resynced. */
  onResync: (why: string) => void;
}

export interface ReplicaStatus {
  role: ReplicaRole;
  replica: number;
  replicas: number;
  term: string;
  writer: number | null;
  epoch: number;
  committed: number;
  lag: number;
  stopped?: string;
  /** State sync: the epoch this replica's state was synced at (it holds no history before it). */
  syncedAt?: number;
  /** It grants no vote for now: it lost its vote record, or discarded epochs it may have acknowledged (src/replica/amnesia.ts). */
  votesWithheld?: boolean;
}

const ZERO32 = new Uint8Array(32);
const ACK_WINDOW_MS = 10_000; // a pull's `at` this far from our clock is refused (replayed or skewed)
const MAX_ENTRIES = 64; // epochs per pull answer (a follower catching up)
const MAX_ENTRY_BYTES = 8 << 20;

export class Replica {
  /** 'committed' (SealedEvent): an epoch this writer sealed is durable on a majority; 'writer': this replica became the writer. */
  readonly events = new EventEmitter();
  private readonly o: ReplicaOptions;
  private readonly sched: Scheduler;
  private readonly mono: () => number;
  private readonly random: () => number;
  /** Pending sleeps: close() ends them (a virtual clock that stopped never would). */
  private readonly sleeps = new Set<() => void>();
  private readonly log: Logger;
  private readonly keys: Uint8Array[];
  private readonly n: number;
  private readonly leaseMs: number;
  private readonly fence = new TermFence();
  private role: ReplicaRole = 'follower';
  private vote: VoteState;
  private writer: number | null = null;
  private heardAt = -Infinity;
  /** The lease promise its last granted vote made (see handleVote). */
  private votePromise: LeasePromise = { until: 0, to: null };
  private readonly startedAt: number;
  private readonly startTerm: bigint;
  private electionDeadline: number;
  private readonly contacts = new Map<number, number>();
  private readonly durable = new Map<number, number>();
  private termStart = 0;
  private committed = -1;
  private writerHead = -1;
  private lastSentAt = 0;
  private probe = 0;
  private clock: { stop(): Promise<void> } | undefined;
  private running = true;
  private readonly loop: Promise<void>;
  private readonly waiters = new Set<() => void>();
  private uncommitted: SealedEvent[] = [];
  private stoppedReason: string | undefined;
  private readonly onSealed: (ev: SealedEvent) => void;
  /** Set while this replica has no vote record (new, or its data dir was lost). */
  private amnesia: VoteAmnesia | undefined;
  private readonly stateServer: StateSyncServer;
  private syncedAt: number | undefined;

  constructor(o: ReplicaOptions) {
    this.o = o;
    this.sched = o.scheduler;
    this.mono = o.mono ?? (() => o.scheduler.now());
    this.random = o.random ?? Math.random;
    this.log = o.logger.child({ module: 'replica', replica: o.index });
    this.keys = replicaKeys(o.genesis, o.shard.id);
    this.n = this.keys.length;
    // at least 1.5 s: a loaded machine stalls event loops for hundreds of ms
    this.leaseMs = o.leaseMs ?? defaultLeaseMs(o.genesis.epochMs);
    this.vote = o.votes.read();
    // no vote record, or epochs discarded after diverging: no vote until it is safe (amnesia.ts)
    this.amnesia = !o.votes.has() ? new VoteAmnesia(o.index, this.n) : o.votes.catchUp() ? new VoteAmnesia(o.index, this.n, this.vote.term) : undefined;
    this.stateServer = new StateSyncServer(o.shard);
    // a state-synced replica's sync point was its source's committed epoch: committed here too (a
    // writer elected before any ack of its own term must still offer it to replicas that sync)
    void o.shard.syncedAt().then((e) => {
      this.syncedAt = e;
      if (e !== undefined) this.committed = Math.max(this.committed, e);
    }, () => undefined);
    this.startedAt = o.processStart ?? this.mono();
    this.startTerm = this.vote.term;
    this.electionDeadline = this.mono() + this.electionTimeout();
    this.onSealed = (ev) => {
      if (this.role === 'writer') {
        this.uncommitted.push(ev);
        this.recomputeCommit();
      }
      for (const w of this.waiters) w();
      this.waiters.clear();
    };
    o.shard.events.on('sealed', this.onSealed);
    this.log.info({ term: this.vote.term.toString(), replicas: this.n, leaseMs: this.leaseMs }, 'replica started as follower');
    this.loop = this.run();
    this.beats = this.heartbeats();
  }

  private readonly beats: Promise<void>;

  /** A follower's heartbeat to its writer (its ack and lease contact), apart from the pulls: applying a batch of entries can take longer than a lease. */
  private async heartbeats(): Promise<void> {
    while (this.running) {
      await this.sleep(this.leaseMs / 5);
      // without a vote record: hear every other replica's term (amnesia.ts)
      for (const i of this.amnesia?.missing() ?? []) await this.pullFrom(i, 0).catch(() => undefined);
      const w = this.writer;
      if (this.role !== 'follower' || w === null || w === this.o.index) continue;
      try {
        await this.pullFrom(w, 0);
      } catch (e) {
        this.log.debug({ err: e }, 'heartbeat failed');
      }
    }
  }

  status(): ReplicaStatus {
    const epoch = this.o.shard.latestEpoch();
    return {
      role: this.role, replica: this.o.index, replicas: this.n, term: this.vote.term.toString(), writer: this.role === 'writer' ? this.o.index : this.writer,
      epoch, committed: this.committedEpoch(), lag: this.role === 'writer' ? 0 : Math.max(0, this.writerHead - epoch),
      ...(this.stoppedReason ? { stopped: this.stoppedReason } : {}),
      ...(this.syncedAt !== undefined ? { syncedAt: this.syncedAt } : {}),
      ...(this.amnesia ? { votesWithheld: true } : {}),
    };
  }

  /** Epochs up to this one are durable on a majority (as far as this replica knows). */
  committedEpoch(): number {
    return Math.min(this.committed, this.o.shard.latestEpoch());
  }

  isWriter(): boolean {
    return this.role === 'writer';
  }

  /** Writer under a live lease: it may seal and sign now. */
  holdsLease(): boolean {
    return this.role === 'writer' && this.leaseValid();
  }

  /**
   * May this replica sign triad aggregation rounds of `epoch` for its shard (docs/REPLICAS.md
   * "Which key signs for a replicated member")? Only the writer, under a live lease, and in a term
   * after the first only rounds of epochs that began at or after it became writer
   * (`signRoundsFrom`): an earlier writer signed (if at all) while its lease held, which ended
   * before this one was elected, and a round of epoch e is signed only after e has ended; so with
   * clocks less than an epoch apart no round is signed by two replicas of one shard (their sign
   * guards are separate), and the shard's slot never counts for two different aggregates of one round.
   */
  canSignRound(epoch: number): boolean {
    if (this.role !== 'writer' || !this.leaseValid()) return false;
    const g = this.o.genesis;
    return g.genesisTime + epoch * g.epochMs >= this.signFrom;
  }
  /** Wall-clock ms from which rounds' epochs may be signed by this writer (see canSignRound). */
  private signFrom = Infinity;

  /** The epoch clock's seal while writer: only under a live lease. */
  async sealAsWriter(): Promise<void> {
    if (this.role !== 'writer' || !this.leaseValid()) {
      this.sched.after(0, () => void this.stepDown('write lease lost: no majority heard from within the lease'));
      throw new SealDeclined('no write lease');
    }
    await this.o.shard.sealEpoch();
  }

  /** Answers another replica's request (a body of the replica API); throws ReplicaRequestError to refuse it. */
  async handle(path: ReplicaPath, body: unknown): Promise<unknown> {
    if (path === '/v1/replica/pull') return this.handlePull(body);
    if (path === '/v1/replica/vote') return this.handleVote(body);
    const r = this.admit(body, decodeStateRequest, 'a state-sync request', 'replica-state', (m) => m.replica);
    return { data: Buffer.from(await this.stateServer.answer(r, this.committedEpoch())).toString('base64') };
  }

  /** The writer this replica follows (itself if writer), or null while none is known. */
  writerIndex(): number | null {
    return this.role === 'writer' ? this.o.index : this.writer;
  }

  /** This replica's current term. */
  term(): bigint {
    return this.vote.term;
  }

  async close(): Promise<void> {
    this.running = false;
    for (const w of this.waiters) w();
    for (const w of this.sleeps) w();
    this.o.shard.events.off('sealed', this.onSealed);
    await this.clock?.stop();
    this.clock = undefined;
    await this.loop;
    await this.beats;
  }

  // ------------------------------------------------------------------ the loop

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.role === 'writer') {
          await this.sleep(Math.max(20, this.leaseMs / 8));
          if (this.role === 'writer' && !this.leaseValid()) await this.stepDown('write lease lost: no majority heard from within the lease');
        } else if (this.role === 'stopped') {
          await this.sleep(500);
        } else if (this.mono() >= this.electionDeadline && !this.amnesia) {
          await this.election();
        } else {
          await this.followOnce();
        }
      } catch (e) {
        this.log.warn({ err: e }, 'replica loop step failed');
        await this.sleep(100);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.sleeps.delete(done);
        cancel();
        resolve();
      };
      this.sleeps.add(done);
      const cancel = this.sched.after(ms, done);
    });
  }

  private electionTimeout(): number {
    return electionTimeoutMs(this.leaseMs, this.o.genesis.epochMs, this.o.index, this.random());
  }

  private position(): Position {
    const epoch = this.o.shard.latestEpoch();
    return { lastTerm: this.headTerm(), lastEpoch: epoch };
  }

  private headTerm(): bigint {
    return this.headSnapshotTerm ?? 0n;
  }
  private headSnapshotTerm: bigint | undefined;

  private async refreshHeadTerm(): Promise<void> {
    const s = await this.o.shard.snapshot();
    this.headSnapshotTerm = s?.snapshot.replica?.term ?? 0n;
  }

  private setVote(s: VoteState): void {
    if (s.term === this.vote.term && s.votedFor === this.vote.votedFor) return;
    if (this.amnesia && this.amnesia.keptTerm === undefined) return void (this.vote = s); // no record: nothing recorded until it recovers (amnesia.ts)
    this.o.votes.write(s); // durable before anything depends on it
    this.vote = s;
  }

  /** A higher term seen anywhere: adopt it and follow (a writer steps down). */
  private async adoptTerm(term: bigint, writer: number | null): Promise<void> {
    if (term <= this.vote.term) return;
    this.setVote({ term, votedFor: null });
    this.writer = writer;
    if (this.role === 'writer' || this.role === 'candidate') await this.stepDown(`term ${term} seen`);
  }

  private leaseValid(): boolean {
    const end = leaseEnd(this.contacts, this.o.index, this.n, this.mono(), this.leaseMs * 0.9);
    return end !== undefined && end > this.mono();
  }

  private async stepDown(why: string): Promise<void> {
    if (this.role !== 'writer' && this.role !== 'candidate') return;
    const was = this.role;
    this.role = 'follower';
    this.signFrom = Infinity;
    if (this.writer === this.o.index) this.writer = null;
    this.uncommitted = [];
    const c = this.clock;
    this.clock = undefined;
    await c?.stop();
    this.o.shard.dropPending();
    this.electionDeadline = this.mono() + this.electionTimeout();
    this.log.warn({ term: this.vote.term.toString(), was, why }, 'stepped down to follower');
  }

  /** Pre-vote, then (if a majority would vote for it) the election proper. */
  private async election(): Promise<void> {
    await this.refreshHeadTerm();
    // A pre-vote first (Raft's): a replica that cannot win (behind, or cut off while the writer's
    // lease holds) never raises its term, so it cannot depose a healthy writer when it returns.
    const pre = await this.askVotes(true, this.vote.term + 1n);
    if (pre.size + 1 < majority(this.n)) {
      this.electionDeadline = this.mono() + this.electionTimeout();
      return;
    }
    // a vote it granted or a writer it heard while the pre-vote ran postponed the election: it
    // promised that replica a lease (the simulator's seed 40: it stood 91 ms after voting)
    if (this.role !== 'follower' || this.mono() < this.electionDeadline) return;
    const term = this.vote.term + 1n;
    this.setVote({ term, votedFor: this.o.index });
    this.role = 'candidate';
    this.writer = null;
    this.log.info({ term: term.toString(), lastEpoch: this.position().lastEpoch }, 'standing for election');
    const grants = await this.askVotes(false, term);
    if (this.role === 'candidate' && this.vote.term === term && grants.size + 1 >= majority(this.n)) {
      this.becomeWriter(grants);
    } else if (this.role === 'candidate') {
      this.role = 'follower';
      this.electionDeadline = this.mono() + this.electionTimeout();
      this.log.info({ term: term.toString(), votes: grants.size + 1 }, 'election lost or split');
    }
  }

  /** The replicas that grant (pre-)votes for `term`, with when each answer arrived. */
  private async askVotes(prevote: boolean, term: bigint): Promise<Map<number, number>> {
    const own = this.position();
    const at = this.nextAt();
    const msg = encodeVoteRequest({ network: this.o.genesis.networkId, shard: this.o.shard.id, prevote, candidate: this.o.index, term, lastTerm: own.lastTerm, lastEpoch: own.lastEpoch, at });
    const body = this.signed('replica-vote-request', msg);
    const grants = new Map<number, number>();
    // a grant counts as a lease contact from when it was asked: never later than the voter's
    // promise began, whatever the answer's delay
    const asked = this.mono();
    await Promise.all(this.others().map(async (i) => {
      const res = await this.post(i, '/v1/replica/vote', body, voteTimeoutMs(this.o.genesis.epochMs));
      if (!res) return;
      const m = this.open('replica-vote', res, i, decodeVote);
      if (!m || m.voter !== i || m.reqAt !== at || m.candidate !== this.o.index) return;
      if (m.granted && m.term === term) grants.set(i, asked);
      else if (m.term > this.vote.term && !prevote) await this.adoptTerm(m.term, null);
    }));
    return grants;
  }

  private becomeWriter(grants: Map<number, number>): void {
    this.role = 'writer';
    this.writer = this.o.index;
    this.contacts.clear();
    for (const [i, t] of grants) this.contacts.set(i, t);
    this.durable.clear();
    this.uncommitted = [];
    this.o.shard.setTerm(this.vote.term);
    this.termStart = this.o.shard.latestEpoch() + 1;
    this.signFrom = signRoundsFrom(this.vote.term, this.sched.now());
    this.clock = this.o.startClock();
    this.log.warn({ term: this.vote.term.toString(), fromEpoch: this.termStart, votes: grants.size + 1 }, 'became writer');
    this.events.emit('writer');
  }

  private recomputeCommit(): void {
    const c = committedEpoch(this.durable, this.o.index, this.o.shard.latestEpoch(), this.n, this.termStart, this.committed);
    if (c <= this.committed) return;
    this.committed = c;
    const done = this.uncommitted.filter((ev) => ev.snapshot.snapshot.epoch <= c);
    this.uncommitted = this.uncommitted.filter((ev) => ev.snapshot.snapshot.epoch > c);
    for (const ev of done) this.events.emit('committed', ev);
  }

  // ------------------------------------------------------------------ following

  private async followOnce(): Promise<void> {
    const target = this.writer !== null && this.writer !== this.o.index ? this.writer : this.nextProbe();
    await this.pullFrom(target, MAX_ENTRIES);
  }

  private async pullFrom(target: number, want: number): Promise<void> {
    const shard = this.o.shard;
    const head = shard.latestEpoch();
    const snap = head >= 0 ? await shard.snapshot(head) : undefined;
    const at = this.nextAt();
    // Without a vote record, until it has heard every other replica it may not know the term it
    // voted in before the loss: it pulls as of term 0, answered but never counted as an ack (a
    // writer counts pulls of its own term only). Else a writer of an older term it hears first
    // could commit on its ack epochs that the writer it voted for commits differently (the
    // simulator, restarts at once: two commits of one epoch).
    const reqTerm = this.amnesia && this.amnesia.missing().length > 0 ? 0n : this.vote.term;
    const msg = encodePull({ network: this.o.genesis.networkId, shard: shard.id, replica: this.o.index, term: reqTerm, have: head, haveHash: snap ? snapshotHash(snap.snapshot) : ZERO32, at, want });
    const res = await this.post(target, '/v1/replica/pull', this.signed('replica-pull', msg), want === 0 ? this.leaseMs / 2 : this.leaseMs / 3 + 2000);
    if (!res) {
      this.log.debug({ target }, 'pull: no answer');
      if (want > 0) await this.sleep(Math.min(200, this.o.genesis.epochMs / 4));
      return;
    }
    const a = this.open('replica-pull-answer', res, target, decodePullAnswer);
    if (!a || a.replica !== target || a.reqAt !== at) {
      this.log.debug({ target, a: a ? { replica: a.replica, reqAt: a.reqAt, at } : null }, 'pull: answer refused');
      return;
    }
    this.log.debug({ target, term: a.term.toString(), isWriter: a.isWriter, writer: a.writer, head: a.head }, 'pull answer');
    this.heardTerm(target, a.term);
    if (a.term > this.vote.term) await this.adoptTerm(a.term, a.isWriter ? target : a.writer === NO_WRITER ? null : a.writer);
    if (a.term < this.vote.term || this.role !== 'follower') return;
    if (!a.isWriter) {
      if (a.writer !== NO_WRITER && a.writer !== this.o.index && a.writer < this.n) this.writer = a.writer;
      else if (want > 0) await this.sleep(Math.min(100, this.o.genesis.epochMs / 8));
      return;
    }
    this.writer = target;
    this.heardAt = this.mono();
    this.electionDeadline = this.heardAt + this.electionTimeout();
    this.writerHead = a.head;
    // The writer's committed epoch speaks for this replica's own epochs only as far as the writer
    // checked they are its own (our head's hash, hence the chain below it): never for epochs a
    // deposed writer sealed here alone, which may hold transfers the new history does not. A writer
    // checks our head only for a pull of its own term: an answer to a pull of an older term (a
    // deposed writer's first pull after it heals) says nothing about our head (diverged is false
    // unchecked), so its committed epoch is not ours (the simulator's seed 59: a healed deposed
    // writer reported its uncommitted epoch 3 committed until its next pull found it diverged).
    if (!a.diverged && head <= a.head && reqTerm === a.term) this.committed = Math.max(this.committed, Math.min(a.committed, head));
    if (a.diverged) return this.resync(`this replica's epoch ${head} is not the writer's (a deposed writer's epoch that never committed)`);
    if (want === 0) return this.caughtUpWith(a);
    const raw = typeof (res as { entries?: unknown }).entries === 'string' ? new Uint8Array(Buffer.from((res as { entries: string }).entries, 'base64')) : undefined;
    if (!raw) return;
    if (!bytesEqual(entryHash(raw), a.entryHash)) return;
    for (const e of decodeEntries(raw)) {
      if (this.role !== 'follower' || !(await this.applyFrom(target, a.term, e))) return;
    }
    this.caughtUpWith(a);
  }

  /** Without a vote record: a writer's answer taken; it may vote again once it holds the writer's epochs (amnesia.ts). */
  private caughtUpWith(a: PullAnswer): void {
    if (!this.amnesia) return;
    this.amnesia.writerAnswer(a.term, a.head, this.o.shard.latestEpoch());
    this.recoverVote();
  }

  /** Checks and applies one entry of writer `target`; false once it cannot go on. */
  private async applyFrom(target: number, term: bigint, e: ReturnType<typeof decodeEntry>): Promise<boolean> {
    const shard = this.o.shard;
    const s = e.signed.snapshot;
    if (!verifyShardSnapshot(this.o.genesis, e.signed) || s.shard !== shard.id || s.network !== this.o.genesis.networkId) return this.stop(`writer ${target} sent an entry of epoch ${s.epoch} whose snapshot is not validly signed`), false;
    if ((s.replica?.term ?? 0n) > term) return false;
    const verdict = this.fence.check({ shard: s.shard, epoch: s.epoch, term: s.replica?.term ?? 0n, hash: toHex(snapshotHash(s)) });
    if (!verdict.ok) return this.stop(`writer ${target}: ${verdict.message}`), false;
    try {
      await shard.applyEntry(e);
      // progress from the writer is as good as hearing from it: no election while catching up
      this.heardAt = this.mono();
      this.electionDeadline = this.heardAt + this.electionTimeout();
      this.fence.accept({ shard: s.shard, epoch: s.epoch, term: s.replica?.term ?? 0n, hash: toHex(snapshotHash(s)) });
      return true;
    } catch (err) {
      if (err instanceof ReplicaDivergenceError) return this.resync(err.message), false;
      if (err instanceof ReplicaMismatchError) return this.stop(`following writer ${target}: ${err.message}`), false;
      throw err;
    }
  }

  private nextProbe(): number {
    const others = this.others();
    return others[this.probe++ % others.length]!;
  }

  private stop(why: string): void {
    this.role = 'stopped';
    this.stoppedReason = why;
    this.log.error({ why }, 'REPLICA STOPPED FOLLOWING: re-execution does not match the writer (or its entry is invalid); investigate before restarting');
  }

  /** A signed answer of replica `from` in `term`: without a vote record, it records (F, LOST_VOTE) once every other replica was heard (amnesia.ts). */
  private heardTerm(from: number, term: bigint): void {
    if (!this.amnesia) return;
    this.amnesia.heard(from, term);
    this.recoverVote();
  }

  private recoverVote(): void {
    const r = this.amnesia?.recovered();
    if (!r) return;
    if (this.amnesia!.keptTerm !== undefined) {
      // it kept its vote record: that stays as it is; only the catch-up mark goes
      this.amnesia = undefined;
      this.o.votes.clearCatchUp();
      this.log.warn({ term: this.vote.term.toString() }, 'holds the writer\'s epochs again after discarding its own: votes again');
      return;
    }
    this.amnesia = undefined;
    const s = { term: r.term > this.vote.term ? r.term : this.vote.term, votedFor: LOST_VOTE };
    this.o.votes.write(s);
    this.vote = s;
    this.log.warn({ term: s.term.toString() }, 'no vote record at start: heard every other replica (and holds the writer\'s epochs); votes only in terms above this one');
  }

  private resync(why: string): void {
    this.role = 'stopped';
    this.stoppedReason = `resyncing: ${why}`;
    this.log.warn({ why }, 'this replica diverged from the writer: discarding its data and resyncing');
    this.o.onResync(why);
  }

  // ------------------------------------------------------------------ serving

  private async handlePull(body: unknown): Promise<unknown> {
    const req = this.admit(body, decodePull, 'a pull request', 'replica-pull', (r) => r.replica);
    if (req.term > this.vote.term) await this.adoptTerm(req.term, null);
    const shard = this.o.shard;
    let diverged = false;
    let entry: Uint8Array | undefined;
    if (this.role === 'writer' && req.term === this.vote.term) {
      if (Math.abs(req.at - this.sched.now()) > ACK_WINDOW_MS) throw new ReplicaRequestError(409, 'stale', 'pull request replayed or from a skewed clock');
      this.contacts.set(req.replica, this.mono());
      const head = shard.latestEpoch();
      if (req.have >= 0 && req.have <= head) {
        const s = await shard.snapshot(req.have);
        diverged = !s || !bytesEqual(snapshotHash(s.snapshot), req.haveHash);
      }
      // a state-synced writer holds no entry up to its sync point: the follower must sync state too
      if (this.syncedAt !== undefined && req.have < this.syncedAt) diverged = true;
      if (!diverged && req.have <= head) {
        if (req.have > (this.durable.get(req.replica) ?? -1)) this.durable.set(req.replica, req.have);
        this.recomputeCommit();
      }
      if (!diverged && req.want > 0 && req.have >= shard.latestEpoch() && this.running) await this.waitForSeal(this.leaseMs / 3);
      // a follower behind gets up to MAX_ENTRIES epochs (MAX_ENTRY_BYTES) in one answer
      const list: Uint8Array[] = [];
      let bytes = 0;
      for (let e = req.have + 1; !diverged && e <= shard.latestEpoch() && list.length < Math.min(req.want, MAX_ENTRIES) && bytes < MAX_ENTRY_BYTES; e++) {
        const ent = await shard.replicaEntry(e);
        if (!ent) break;
        const b = encodeEntry(ent);
        list.push(b);
        bytes += b.length;
      }
      if (list.length > 0) entry = encodeEntries(list);
    }
    const a: PullAnswer = {
      network: this.o.genesis.networkId, shard: shard.id, replica: this.o.index, term: this.vote.term,
      writer: this.role === 'writer' ? this.o.index : this.writer ?? NO_WRITER, isWriter: this.role === 'writer',
      committed: this.committedEpoch(), head: shard.latestEpoch(), diverged, reqAt: req.at, entryHash: entry ? entryHash(entry) : ZERO32,
    };
    return { ...this.signed('replica-pull-answer', encodePullAnswer(a)), entries: entry ? Buffer.from(entry).toString('base64') : null };
  }

  private async handleVote(body: unknown): Promise<unknown> {
    const req = this.admit(body, decodeVoteRequest, 'a vote request', 'replica-vote-request', (r) => r.candidate);
    if (this.amnesia) {
      // no vote record: no vote, and nothing changes, until every other replica was heard (amnesia.ts)
      const v = { network: this.o.genesis.networkId, shard: this.o.shard.id, voter: this.o.index, candidate: req.candidate, term: this.vote.term, granted: false, reqAt: req.at };
      return this.signed('replica-vote', encodeVote(v));
    }
    await this.refreshHeadTerm();
    const now = this.mono();
    const writer = this.role === 'writer';
    const promises: LeasePromise[] = [
      // to the writer it heard from last (itself while its own lease holds)
      writer ? { until: this.leaseValid() ? Infinity : 0, to: this.o.index } : this.writer === null ? { until: 0, to: null } : { until: this.heardAt + this.leaseMs, to: this.writer },
      // a candidate counts a granted vote as a lease contact from when it asked, so the grant
      // promises as much as hearing from a writer does
      this.votePromise,
      // a lease it may have promised before this process started (the promise is not on disk;
      // in term 0 it never heard a writer nor granted a vote)
      { until: this.startTerm > 0n ? this.startedAt + this.leaseMs : 0, to: null },
    ];
    const d = decideVote(this.vote, this.position(), req, now, promises);
    if (req.prevote) {
      // nothing changes: would this replica vote so? (a vote already cast in the current term
      // does not stop a pre-vote for the next one)
      const would = d.grant || (!d.grant && d.reason === 'voted' && req.term > this.vote.term);
      const v = { network: this.o.genesis.networkId, shard: this.o.shard.id, voter: this.o.index, candidate: req.candidate, term: would ? req.term : this.vote.term, granted: would, reqAt: req.at };
      return this.signed('replica-vote', encodeVote(v));
    }
    const higher = d.state.term > this.vote.term;
    this.setVote(d.state);
    if (higher) {
      this.writer = null;
      if (this.role === 'writer' || this.role === 'candidate') await this.stepDown(`vote request of term ${d.state.term}`);
    }
    if (d.grant) {
      this.electionDeadline = now + this.electionTimeout();
      this.votePromise = { until: now + this.leaseMs, to: req.candidate };
    }
    this.log.info({ candidate: req.candidate, term: req.term.toString(), grant: d.grant, ...(d.grant ? {} : { reason: d.reason }) }, 'vote');
    const v = { network: this.o.genesis.networkId, shard: this.o.shard.id, voter: this.o.index, candidate: req.candidate, term: this.vote.term, granted: d.grant, reqAt: req.at };
    return this.signed('replica-vote', encodeVote(v));
  }

  /** A signed message from another replica of this shard, decoded and checked, or the HTTP error that refuses it. */
  private admit<T extends { network: string; shard: string }>(body: unknown, decode: (m: Uint8Array) => T, what: string, tag: MessageTag, sender: (r: T) => number): T {
    const { msg, sig } = parseSigned(body);
    let req: T;
    try {
      req = decode(msg);
    } catch {
      throw new ReplicaRequestError(400, 'bad-request', `not ${what}`);
    }
    this.checkPeer(req.network, req.shard, sender(req), tag, msg, sig);
    if (this.o.refuseFrom?.(sender(req))) throw new ReplicaRequestError(503, 'unavailable', 'sender is deny-listed');
    return req;
  }

  private checkPeer(network: string, shard: string, replica: number, tag: MessageTag, msg: Uint8Array, sig: Uint8Array): void {
    if (network !== this.o.genesis.networkId || shard !== this.o.shard.id) throw new ReplicaRequestError(400, 'bad-request', 'another network or shard');
    if (replica >= this.n || replica === this.o.index) throw new ReplicaRequestError(403, 'not-replica', 'not a replica of this shard');
    if (!verifyMessage(tag, msg, sig, this.keys[replica]!)) throw new ReplicaRequestError(403, 'bad-signature', 'not signed by that replica');
  }

  private waitForSeal(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.waiters;
      const cancel = this.sched.after(ms, done);
      function done(): void {
        cancel();
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }

  // ------------------------------------------------------------------ transport

  private others(): number[] {
    return Array.from({ length: this.n }, (_, i) => i).filter((i) => i !== this.o.index);
  }

  private nextAt(): number {
    this.lastSentAt = Math.max(this.sched.now(), this.lastSentAt + 1);
    return this.lastSentAt;
  }

  private signed(tag: MessageTag, msg: Uint8Array): { msg: string; sig: string } {
    return { msg: toHex(msg), sig: toHex(signMessage(tag, msg, this.o.key)) };
  }

  private open<T>(tag: MessageTag, res: unknown, from: number, decode: (b: Uint8Array) => T): T | undefined {
    try {
      const { msg, sig } = parseSigned(res);
      if (!verifyMessage(tag, msg, sig, this.keys[from]!)) return undefined;
      return decode(msg);
    } catch {
      return undefined;
    }
  }

  private post(to: number, path: ReplicaPath, body: unknown, timeoutMs: number): Promise<unknown> {
    return this.o.transport.post(to, path, body, Math.round(timeoutMs)).catch(() => undefined);
  }
}

function parseSigned(body: unknown): { msg: Uint8Array; sig: Uint8Array } {
  const b = body as { msg?: unknown; sig?: unknown } | null;
  if (typeof b !== 'object' || b === null || typeof b.msg !== 'string' || typeof b.sig !== 'string') throw new ReplicaRequestError(400, 'bad-request', 'body must be {"msg": "<hex>", "sig": "<hex>"}');
  try {
    return { msg: fromHex(b.msg), sig: fromHex(b.sig, 64) };
  } catch {
    throw new ReplicaRequestError(400, 'bad-request', 'msg and sig must be hex');
  }
}

