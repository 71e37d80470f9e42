// The proofs topic (/smt/<net>/proofs): every proof a node makes; incoming proofs go through
// admission (admission.ts) before gossipsub relays them or they are held here (a row of the protocol
// table, src/gossip/protocol.ts, decoded once). Every shard's signed snapshot, which the commitment
// trees need, comes from the aggregation layer (its triad's topic, or inside its triad's final on the
// apex topic; checked there: `onSnapshot`), which publishes this shard's own.
import type { SignedSnapshot } from '../../shard/snapshot.js';
import type { SealedEvent } from '../../shard/shard.js';
import { encodeEnvelope, GossipKind } from '../../gossip/encoding.js';
import { decodeProofMessage, encodeProofMessage, proofTopic, type ProofMessage } from '../../gossip/proof-messages.js';
import { installRoutes, route, uninstallRoutes, type AnyRoute } from '../../gossip/protocol.js';
import { RejectLog } from '../../gossip/validation.js';
import { FROM_TOPIC } from '../../proof/encoding.js';
import type { ProofAdmission } from './admission.js';
import type { ProvingContext } from './context.js';
import type { ProofHoldings } from './holdings.js';
import type { CommitmentTrees } from './trees.js';

export class ProofGossip {
  private readonly c: ProvingContext;
  private readonly trees: CommitmentTrees;
  private readonly held: ProofHoldings;
  private readonly admission: ProofAdmission;
  readonly topic: string;
  readonly counters = { snapshotsGossiped: 0, proofsGossiped: 0, proofTopicRejected: 0, proofTopicIgnored: 0 };

  constructor(c: ProvingContext, trees: CommitmentTrees, held: ProofHoldings, admission: ProofAdmission) {
    this.c = c;
    this.trees = trees;
    this.held = held;
    this.admission = admission;
    this.topic = proofTopic(c.genesis.networkId);
  }

  /** Validator and subscription on the proofs topic; every shard's snapshots into the trees. */
  start(): void {
    const { p2p, genesis } = this.c;
    const rejectLog = new RejectLog(this.c.log, 'proof-topic message rejected');
    installRoutes(p2p, genesis.networkId, this.routes(), (o, topic, from) => {
      if (o.action === 'ignore' && o.code === 'internal') this.c.log.warn({ topic, from, msg: o.message }, 'proof-topic message not checkable');
      rejectLog.note(o, topic, from); // rate-limited: a flood of invalid proofs is one summary line per interval
      if (o.action === 'reject') this.counters.proofTopicRejected++;
      else if (o.action === 'ignore') this.counters.proofTopicIgnored++;
    });
    this.offSealed = this.c.ownSnapshots(this.onSealed);
    this.offSnapshots = this.c.net?.onSnapshot?.(this.onSnapshot);
  }

  /** The proofs topic's row of the protocol table: proofs. */
  private routes(): AnyRoute[] {
    return [
      route<ProofMessage>({
        topic: this.topic, kind: GossipKind.proof, decode: (b) => decodeProofMessage(b, FROM_TOPIC), // admission pairs what it takes
        validate: (m, ctx) => this.admission.admit(m, ctx.from),
        handle: (m) => {
          this.counters.proofsGossiped++;
          void this.deliver(m);
        },
      }),
    ];
  }

  private offSealed: (() => void) | undefined;
  private offSnapshots: (() => void) | undefined;

  stop(): void {
    this.offSealed?.();
    this.offSnapshots?.();
    uninstallRoutes(this.c.p2p, [this.topic]);
  }

  private readonly onSealed = (ev: SealedEvent): void => {
    const ss = ev.snapshot;
    this.trees.sealedAt.set(ss.snapshot.epoch, Date.now());
    this.c.timelines.mark(ss.snapshot.epoch, 'sealed');
    this.trees.add(ss); // published by the aggregation layer
    // when this shard's snapshot is the last of the epoch to arrive, build the tree now, not at the next tick
    this.c.kick();
  };

  /** Another shard's snapshot, validated by the aggregation layer (signature, network, not stale). */
  private readonly onSnapshot = (ss: SignedSnapshot): void => {
    if (this.c.closed || ss.snapshot.epoch <= this.trees.head.epoch) return; // its tree is built already
    this.counters.snapshotsGossiped++;
    this.trees.add(ss);
    this.trees.advance();
  };

  publishProof(m: ProofMessage): Promise<void> {
    return this.publish(GossipKind.proof, encodeProofMessage(m));
  }

  private async publish(kind: GossipKind, payload: Uint8Array): Promise<void> {
    if (this.c.closed) return;
    try {
      await this.c.p2p.publish(this.topic, encodeEnvelope({ kind, network: this.c.genesis.networkId, payload }));
    } catch (err) {
      this.c.log.debug({ err: (err as Error).message, kind }, 'proof-topic publish failed');
    }
  }

  /** A proof message admission accepted: held from now on. */
  async deliver(m: ProofMessage): Promise<void> {
    if (m.type === 'triad') {
      if (!this.admission.unpaired.has(m.proof)) this.c.verified.add(m.proof.proof);
      await this.held.acceptTriad(m.proof);
    } else await this.held.acceptGlobal(m.proof, Date.now());
  }
}
