// Admission of proofs from gossip and from peers (docs/PROOFS.md, "Accepting a proof"). The circuits
// check no signatures and anyone can prove invented inputs with the public testnet setup, so a proof
// is accepted (stored, served, relayed) only when its public signals are what this node computed
// from signed state: the commitment tree it built from signature-checked snapshots, agreeing with
// the final global snapshot for the apex, and a global proof's link to a global proof held here.
// Outcomes: reject = invalid or contradicts signed state (the sender is penalised); ignore 'unknown'
// = not decidable yet (held, bounded, until the state arrives; no penalty); ignore 'stale' = too old
// to check here. A triad proof this node does not fold is checked by its signals only, except the
// random few it spot-checks (SpotChecks). Proofs at the apex (the apex triad proof, the global proof)
// are paired on arrival only where they could stop a turn (pairsApex); elsewhere they are taken
// unpaired, bound to signed state, and paired at first use (holdings.ts usableGlobal / usableTriad).
// Pure parts: src/proof/admission.ts.
import { DecodeError, toHex } from '../../core/bytes.js';
import { genesisHash } from '../../core/genesis.js';
import { epochOutOfRange, futureMarginEpochs, HoldQueue, proofEpoch, sameProof, signalsMismatch, SpotChecks, treeVsGlobal } from '../../proof/admission.js';
import { pathEnc } from '../../proof/commitment.js';
import { FROM_TOPIC } from '../../proof/encoding.js';
import { globalProofHash, verifyGlobalProof, type GlobalStateProof } from '../../proof/global.js';
import { circuitKindOf } from '../../proof/tree.js';
import { checkOpening, sig, type TriadProof } from '../../proof/triad-proof.js';
import { verify } from '../../proof/verifier.js';
import { decodeProofMessage, type ProofMessage } from '../../gossip/proof-messages.js';
import { ACCEPT, ignore, reject, type ValidationOutcome } from '../../gossip/validation.js';
import type { ProvingContext } from './context.js';
import { MAX_VARIANTS, type ProofHoldings } from './holdings.js';
import type { CommitmentTrees } from './trees.js';
import { notesProof, pairsApex, takesProof } from './schedule.js';

const HOLD_MAX = { perKey: 2, total: 64 }; // proofs waiting for signed state: per (kind, path, epoch), in all

export interface Wanted {
  type: 'triad' | 'global';
  path: string;
  epoch: number;
}

export class ProofAdmission {
  private readonly c: ProvingContext;
  private readonly trees: CommitmentTrees;
  private readonly held: ProofHoldings;
  readonly futureMargin: number;
  private readonly holdMs: number;
  readonly holds = new HoldQueue(HOLD_MAX.perKey, HOLD_MAX.total);
  /** Which of the proofs this node leaves unpaired it pairs all the same (docs/PROOFS.md "Spot checks"). */
  readonly spot = new SpotChecks();
  private readonly genesisHex: string;
  /** A proof turned away undecided: to be fetched from peers once this node can decide it. */
  want: (w: Wanted) => void = () => {};
  /** Apex triad proofs and global proofs from the topic accepted unpaired here (pairsApex false: paired at first use, holdings.ts). */
  readonly unpaired = new WeakSet<object>();
  /** apex / global: accepted unpaired (spot-checked ones included). */
  readonly lazy = { apex: 0, global: 0 };

  constructor(c: ProvingContext, trees: CommitmentTrees, held: ProofHoldings) {
    this.c = c;
    this.trees = trees;
    this.held = held;
    this.futureMargin = futureMarginEpochs(c.genesis.epochMs);
    // a proof that arrives before its tree waits about as long as a late snapshot takes to be fetched
    this.holdMs = Math.min(15_000, Math.max(5_000, 3 * c.genesis.epochMs));
    this.genesisHex = toHex(genesisHash(c.genesis));
  }

  /**
   * The proof topic's check of a proof message (decode, then admitTriad / admitGlobal, waiting a
   * bounded time for undecided ones). Accept = gossipsub relays it and delivers it.
   */
  async admitMessage(payload: Uint8Array): Promise<ValidationOutcome> {
    return this.admit(decodeProofMessage(payload, FROM_TOPIC));
  }

  /** admitMessage of a decoded message (the proofs topic's validator, src/node/proving/gossip.ts); `from`: the peer it came from. */
  async admit(m: ProofMessage, from?: string): Promise<ValidationOutcome> {
    if (!this.c.canVerify) return ignore('unknown', this.c.proofsOff ?? 'no verification keys here');
    return m.type === 'triad' ? this.admitTriad(m.proof, { wait: true, fromTopic: true, from }) : this.admitGlobal(m.proof, { wait: true, fromTopic: true, from });
  }

  /** Whether this node takes triad proof `path` of epoch e from the proofs topic (takesProof). */
  needs(path: string, e: number): boolean {
    if (path === '') return true;
    if (!this.c.prove) return false; // it never folds one
    return takesProof(this.c.shard.id, path, this.c.cadence.plan.round(e), this.c.depth, this.c.leafWindow * this.c.genesis.epochMs > this.c.leaseMs);
  }

  /** Whether this node pairs a proof at the apex of epoch e on arrival (pairsApex); the others pair it at first use. */
  pairsApexOf(e: number): boolean {
    return this.c.prove && pairsApex(this.c.shard.id, this.c.cadence.plan.round(e), this.c.depth);
  }

  /**
   * A proof at the apex from the topic, bound to signed state, at a node it stops nothing (!pairsApexOf):
   * taken unpaired, but for a spot check (docs/PROOFS.md "Apex proofs paired on use"); it is paired
   * where it is first used, before it is served or linked to.
   */
  private async takeUnpaired(x: object, kind: 'apex' | 'global', from: string | undefined, check: () => Promise<ValidationOutcome | null>): Promise<ValidationOutcome> {
    const o = await this.spotChecked(from, check, ACCEPT);
    if (o.action === 'accept') {
      this.unpaired.add(x);
      this.lazy[kind]++;
    }
    return o;
  }

  /** Whether this node notes triad proof `path` of epoch e from the topic without pairing it (notesProof). */
  private notes(path: string, e: number): boolean {
    return this.c.prove && notesProof(this.c.shard.id, path, this.c.cadence.plan.round(e), this.c.depth);
  }

  async admitTriad(p: TriadProof, o: { wait: boolean; verified?: boolean; fromTopic?: boolean; from?: string }): Promise<ValidationOutcome> {
    const depth = this.c.depth;
    if (p.path.length >= depth || p.kind !== circuitKindOf(depth, p.path)) return reject('invalid', 'triad path or circuit does not fit the network');
    if (sig.pathEnc(p.publicSignals) !== pathEnc(p.path)) return reject('invalid', 'public position is not the triad\'s');
    const e = proofEpoch(p.publicSignals);
    const range = epochOutOfRange(e, this.c.clockEpoch(), this.futureMargin);
    if (range !== null || e === undefined) return reject('invalid', range ?? 'epoch');
    const have = this.held.proofs.get(e)?.get(p.path);
    // the same signals as a proof held here: a duplicate, its points unchecked but for a spot check
    if (have && have.publicSignals.every((v, i) => v === p.publicSignals[i])) return this.spotChecked(o.fromTopic ? o.from : undefined, () => this.pairingFailure(p), ignore('duplicate'));
    if (!this.trees.ready) return ignore('unknown', 'starting');
    const b = await this.bindTriad(p, e);
    if (b.action === 'reject' || (b.action === 'ignore' && b.code === 'stale')) return b;
    // from the topic, only the nodes that fold it pair and keep a proof below the apex (needs()),
    // and the others spot-check a random few, so that bad points cost their sender its score too; the
    // parent's later-turn provers note it (a note only times their turn: at the turn they fetch it through admission)
    if (o.fromTopic && !this.needs(p.path, e)) {
      if (this.notes(p.path, e)) this.held.note(p.path, e);
      return this.spotChecked(o.from, () => this.pairingFailure(p), ignore('not-needed', `triad ${p.path}@${e} is folded by other provers; fetched from them when asked for`));
    }
    const key = `t/${p.path}@${e}`;
    if (b.action !== 'accept' && o.wait && !this.holds.hasRoom(key)) return this.turnAway(o.from, () => this.pairingFailure(p), { type: 'triad', path: p.path, epoch: e });
    // the apex, decidable now, at a node it stops nothing: opened natively here, paired at first use
    if (!o.verified && o.fromTopic && p.path === '' && b.action === 'accept' && !this.pairsApexOf(e)) {
      const why = checkOpening(this.trees.H, p);
      if (why) return reject('invalid', why);
      return this.takeUnpaired(p, 'apex', o.from, () => this.pairingFailure(p));
    }
    // the pairing check after the cheap comparisons: what contradicts signed state costs no pairing
    if (!o.verified) {
      const bad = await this.pairingFailure(p);
      if (bad) return bad;
    }
    if (b.action === 'accept' || !o.wait) return b;
    const after = await this.hold(key, () => this.bindTriad(p, e));
    if (after.action === 'ignore') this.want({ type: 'triad', path: p.path, epoch: e });
    return after.action === 'accept' && this.held.proofs.get(e)?.has(p.path) ? ignore('duplicate') : after;
  }

  /**
   * `unchecked`, the verdict on a proof this node leaves unpaired, unless it is drawn for a spot check
   * (sent by peer `from`) and `check` finds it bad: then that Rejection (docs/PROOFS.md "Spot checks").
   */
  private async spotChecked(from: string | undefined, check: () => Promise<ValidationOutcome | null>, unchecked: ValidationOutcome): Promise<ValidationOutcome> {
    if (from === undefined || !this.trees.ready || !this.spot.pick(from)) return unchecked;
    const bad = await check();
    if (!bad) return unchecked;
    this.spot.counters.failed++;
    return bad;
  }

  /**
   * A proof not decidable yet whose key has no room in the hold queue: turned away before its pairing
   * (it could only be Ignored after it: honest proofs are fetched from peers once decidable, `want`;
   * re-randomised copies of one valid proof of invented state used to cost a pairing each), but for
   * a spot check.
   */
  private turnAway(from: string | undefined, check: () => Promise<ValidationOutcome | null>, w: Wanted): Promise<ValidationOutcome> {
    this.want(w);
    return this.spotChecked(from, check, ignore('unknown', 'hold queue full'));
  }

  /** Null if triad proof p opens to its listed children and pairs, else the Rejection (points that do not decode included). */
  private async pairingFailure(p: TriadProof): Promise<ValidationOutcome | null> {
    const why = checkOpening(this.trees.H, p);
    if (why) return reject('invalid', why);
    let proof;
    try {
      proof = p.proof; // decompressed here when decoding was deferred (FROM_TOPIC)
    } catch (err) {
      if (err instanceof DecodeError) return reject('undecodable', err.message);
      throw err;
    }
    return (await verify(p.kind, p.publicSignals, proof)) ? null : reject('invalid', 'triad proof does not verify');
  }

  /** Whether triad proof p (of epoch e) is the one signed state decides. */
  private async bindTriad(p: TriadProof, e: number): Promise<ValidationOutcome> {
    const mine = this.trees.trees.get(e)?.triads.get(p.path);
    if (mine) {
      const why = signalsMismatch(mine, p.publicSignals);
      return why ? reject('invalid', why) : ACCEPT;
    }
    if (e > this.trees.head.epoch) return ignore('unknown', `commitment tree of epoch ${e} not built here yet (built up to ${this.trees.head.epoch})`);
    // Older than the trees held: it must be the commitment an accepted proof above it folded
    // (checkOpening then ties every other signal to that commitment).
    const c = sig.commitment(p.publicSignals);
    if (p.path === '') {
      const g = await this.held.store.global(e);
      if (g) return sig.commitment(g.proof.publicSignals) === c ? ACCEPT : reject('invalid', 'differs from the accepted global proof of its epoch');
    } else {
      const up = p.path.slice(0, -1);
      const parent = this.held.proofs.get(e)?.get(up) ?? (await this.held.store.triad(up, e));
      if (parent) return parent.children[Number(p.path[p.path.length - 1])] === c ? ACCEPT : reject('invalid', 'is not the child its accepted parent proof folded');
    }
    return ignore('stale', `no commitment tree or accepted proof above it for epoch ${e} here to check it against`);
  }

  async admitGlobal(g: GlobalStateProof, o: { wait: boolean; verified?: boolean; fromTopic?: boolean; from?: string }): Promise<ValidationOutcome> {
    if (g.depth !== this.c.depth) return reject('invalid', `global proof of depth ${g.depth}, the network has depth ${this.c.depth}`);
    if (sig.pathEnc(g.publicSignals) !== 1n) return reject('invalid', 'not the apex triad\'s signals');
    const e = proofEpoch(g.publicSignals);
    const range = epochOutOfRange(e, this.c.clockEpoch(), this.futureMargin);
    if (range !== null || e === undefined) return reject('invalid', range ?? 'epoch');
    if (!this.trees.ready) return ignore('unknown', 'starting');
    const held = await this.held.store.global(e);
    if (held) return this.variant(g, e, held.proof, o);
    const b = await this.bindGlobal(g, e);
    if (b.action === 'reject' || (b.action === 'ignore' && b.code === 'stale')) return b;
    const key = `g@${e}`;
    if (b.action !== 'accept' && o.wait && !this.holds.hasRoom(key)) return this.turnAway(o.from, () => this.globalFailure(g), { type: 'global', path: '', epoch: e });
    if (!o.verified && !this.pairedAsApex(g, e)) {
      // decidable now, at a node it stops nothing: taken unpaired, paired at first use; unless the apex
      // triad proof held here carries another proof (its prover publishes both with the same one)
      if (o.fromTopic && b.action === 'accept' && !this.pairsApexOf(e) && !this.otherThanApex(g, e)) return this.takeUnpaired(g, 'global', o.from, () => this.globalFailure(g));
      const bad = await this.globalFailure(g);
      if (bad) return bad;
    }
    if (b.action === 'accept' || !o.wait) return b;
    const after = await this.hold(key, () => this.bindGlobal(g, e));
    if (after.action === 'ignore') this.want({ type: 'global', path: '', epoch: e });
    return after.action === 'accept' && (await this.held.store.hasGlobal(e)) ? ignore('duplicate') : after;
  }

  /** The apex triad proof of epoch e held here (paired on arrival, or made here) is g's proof with g's signals: the same verdict, no second pairing. */
  private pairedAsApex(g: GlobalStateProof, e: number): boolean {
    const apex = this.held.proofs.get(e)?.get('');
    return apex !== undefined && !this.unpaired.has(apex) && apex.kind === circuitKindOf(this.c.depth, '') && sameProof(apex, g);
  }

  /** An apex triad proof of epoch e is held here and g is not its proof with its signals. */
  private otherThanApex(g: GlobalStateProof, e: number): boolean {
    const apex = this.held.proofs.get(e)?.get('');
    return apex !== undefined && !sameProof(apex, g);
  }

  /** Null if global proof g pairs, else the Rejection. */
  private async globalFailure(g: GlobalStateProof): Promise<ValidationOutcome | null> {
    try {
      return (await verifyGlobalProof(g)) ? null : reject('invalid', 'global proof does not verify');
    } catch (err) {
      if (err instanceof DecodeError) return reject('undecodable', err.message); // its points, decompressed here (FROM_TOPIC)
      throw err;
    }
  }

  /** Whether global proof g (of epoch e) is the one signed state decides, linked to a global proof held here. */
  private async bindGlobal(g: GlobalStateProof, e: number): Promise<ValidationOutcome> {
    const tree = this.trees.trees.get(e);
    if (tree) {
      const why = signalsMismatch(tree.triads.get('')!, g.publicSignals);
      if (why) return reject('invalid', why);
      if (this.c.net) {
        const fg = await this.c.net.globalAt(e);
        if (!fg) return ignore('unknown', `global snapshot of epoch ${e} not final here yet`);
        const d = treeVsGlobal(tree, fg);
        if (d) {
          this.c.log.error({ epoch: e, why: d }, 'commitment tree disagrees with the final global snapshot (an equivocating validator?): its proofs are not accepted');
          return ignore('unknown', `commitment tree disagrees with the final global snapshot: ${d}`);
        }
      }
      return this.bindLink(g, e);
    }
    if (e > this.trees.head.epoch) return ignore('unknown', `commitment tree of epoch ${e} not built here yet (built up to ${this.trees.head.epoch})`);
    // Older than the trees held: it must be the proof an accepted later global proof links to.
    const next = await this.held.store.nextGlobal(e);
    if (next && toHex(next.stored.proof.prevGlobalProofHash) === toHex(globalProofHash(g))) return ACCEPT;
    return ignore('stale', `no commitment tree of epoch ${e} here, and no accepted later global proof links to it`);
  }

  /** The link: the hash of a global proof of an earlier epoch held here (or seen as a valid variant of one), or genesis when none is held. */
  private async bindLink(g: GlobalStateProof, e: number): Promise<ValidationOutcome> {
    const h = toHex(g.prevGlobalProofHash);
    const at = this.held.globalHashes.get(h);
    if (at !== undefined) return at < e ? ACCEPT : reject('invalid', `links to the global proof of epoch ${at}, not an earlier one`);
    const before = await this.held.store.latestGlobal(e - 1);
    if (h === this.genesisHex) return before ? ignore('unknown', `links to genesis, but the global proof of epoch ${before.epoch} is held here`) : ACCEPT;
    if (before && toHex(globalProofHash(before.stored.proof)) === h) return ACCEPT;
    return ignore('unknown', 'links to a global proof not held here');
  }

  /**
   * A global proof for an epoch whose proof is held: a duplicate. Groth16 proofs can be re-randomised,
   * so a different valid proof of the same signals may be what a later proof links to: its hash is
   * remembered (a few per epoch) so that link is recognised. One that does not pair is Rejected: it
   * cost this node a pairing, and an honest variant always pairs. Past those few, variants are not
   * paired, but spot-checked like the triad proofs this node does not fold (`from`: the sender).
   */
  private async variant(g: GlobalStateProof, e: number, held: GlobalStateProof, o: { wait: boolean; fromTopic?: boolean; from?: string }): Promise<ValidationOutcome> {
    const h = toHex(globalProofHash(g));
    if (this.held.globalHashes.has(h)) return ignore('duplicate');
    if (held.publicSignals.some((v, i) => v !== g.publicSignals[i])) return reject('invalid', 'differs from the accepted global proof of its epoch');
    const n = this.held.variants.get(e) ?? 0;
    if (n >= MAX_VARIANTS) return this.spotChecked(o.from, () => this.globalFailure(g), ignore('duplicate'));
    const bad = await this.globalFailure(g);
    if (bad) return bad;
    // the held one may have been taken unpaired: one that does not pair gives way to this valid one
    if (!(await this.held.usableGlobal(e, held))) return this.admitGlobal(g, { ...o, verified: true });
    this.held.variants.set(e, n + 1);
    this.held.rememberGlobal(h, e);
    return ignore('duplicate');
  }

  /** Waits (bounded in time and in how many wait at once) until `recheck` no longer says "not decidable yet". */
  private async hold(key: string, recheck: () => Promise<ValidationOutcome>): Promise<ValidationOutcome> {
    if (!this.holds.tryEnter(key)) return ignore('unknown', 'hold queue full');
    try {
      const deadline = Date.now() + this.holdMs;
      let last: ValidationOutcome = ignore('unknown');
      while (!this.c.closed) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await this.c.stateChange(left);
        last = await recheck();
        if (last.action !== 'ignore' || last.code !== 'unknown') return last;
      }
      return ignore('unknown', `not decidable within ${this.holdMs} ms: ${last.action === 'ignore' ? last.message : ''}`);
    } finally {
      this.holds.leave(key);
    }
  }
}
