// Proof flood: a compromised validator (shard 2's key, its node stopped: genesis-bound admission
// lets it in, so only the proof checks stand in its way) publishes proofs made with the public
// prover on invented inputs, and proofs that do not verify, on the proofs topic of shard "0" as fast
// as it can:
//  - a validly paired global proof of an invented far-future epoch (the link, which the pairing does
//    not cover, is random in every copy, so each copy is a new message);
//  - a validly paired global proof of an invented history for an epoch that is current when the
//    flood starts (so past, with its tree held, while it runs);
//  - copies of it with a random proof (does not verify) and random links.
// Before: the first of each was accepted, stored and served as /v1/proof/global/latest (the far
// future one with an invented supply). After: every one is refused, the forged ones without a
// pairing check (their epoch is beyond the clock, or their signals differ from the node's tree).
// SMT_POISON_CIRCUITS=<artifacts dir> forges with other circuits (the nodes' own: e.g. an older
// checkout's cache entry for "before" figures).
import { randomBytes } from 'node:crypto';
import type { AbuseModule } from '../bench-abuse.js';
import { sleep, validatorPeer } from '../../test/security/harness.js';
import { encodeEnvelope, GossipKind } from '../../src/gossip/encoding.js';
import { encodeProofMessage, proofTopic } from '../../src/gossip/proof-messages.js';
import { artifactsDir } from '../../src/proof/artifacts.js';
import { getPoseidon } from '../../src/proof/commitment.js';
import { decodeProof } from '../../src/proof/encoding.js';
import { inventedTrees } from '../../test/fixtures/proof-fixtures.js';
import { globalFromApex, type GlobalStateProof } from '../../src/proof/global.js';
import { Prover } from '../../src/proof/prover.js';
import { proveTriad } from '../../src/proof/tree-prover.js';

/** A random 128-byte string that decodes as a proof (valid curve points), i.e. one that pairs with nothing. */
function junkProof(): GlobalStateProof['proof'] {
  for (;;) {
    try {
      return decodeProof(randomBytes(128));
    } catch {
      // not on the curve: try again (about half of x values are)
    }
  }
}

const mod: AbuseModule = {
  name: 'proof-flood',
  what: 'a validator-keyed peer (shard 2, its node stopped) publishes forged (validly paired, invented inputs) and non-verifying global proofs on the proofs topic',
  target: '0',
  async run(c, seconds) {
    const H = await getPoseidon();
    const prover = new Prover({ dir: process.env.SMT_POISON_CIRCUITS ?? artifactsDir(), nice: 0 });
    const forged: GlobalStateProof[] = [];
    try {
      const now = c.epochNow();
      for (const e of [now + 5000, now + 2]) {
        const { tree, prev } = inventedTrees(H, c.genesis.depth, e, `flood-${e}`);
        const { proof } = await proveTriad(prover, tree, prev, '');
        forged.push(globalFromApex(proof, c.genesis.depth, randomBytes(32)));
      }
    } finally {
      await prover.close();
    }
    const p2p = await validatorPeer(c, '2', mod.target);
    const topic = proofTopic(c.genesis.networkId);
    let sent = 0;
    try {
      for (let i = 0; i < 100 && p2p.topicPeers(topic).length === 0; i++) await sleep(100);
      const end = Date.now() + seconds * 1000;
      while (Date.now() < end) {
        const base = forged[sent % 2]!;
        const g: GlobalStateProof = { ...base, prevGlobalProofHash: randomBytes(32), proof: sent % 4 === 3 ? junkProof() : base.proof };
        // bounded: once the node has graylisted this peer a publish can stall on its stream
        const sentP = p2p.publish(topic, encodeEnvelope({ kind: GossipKind.proof, network: c.genesis.networkId, payload: encodeProofMessage({ type: 'global', proof: g }) })).catch(() => 0);
        await Promise.race([sentP, sleep(1000)]);
        sent++;
        if (sent % 50 === 0) await sleep(1); // let the outsider's own I/O run
      }
    } finally {
      await Promise.race([p2p.close(), sleep(5000)]);
    }
    return sent;
  },
};

export default mod;
