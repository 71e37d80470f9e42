// Who pairs a leaf proof on the proofs topic (src/node/proving/admission.ts with schedule.ts's
// takesProof / notesProof): the apex's first prover pairs it (a bad one is Rejected); its later-turn
// provers only note it, unpaired (their lease clock for the apex runs; they fetch it through admission
// if their turn comes); every other node neither pairs nor notes it. The leaf here has the signals
// of the node's own tree and points that do not pair, so a pairing shows as a Rejection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allShards, type ShardId } from '../src/core/ids.js';
import type { Genesis } from '../src/core/genesis.js';
import { CadencePlan } from '../src/proof/cadence.js';
import { getPoseidon } from '../src/proof/commitment.js';
import { buildTree, genesisTree, publicSignalsOf } from '../src/proof/tree.js';
import type { TriadProof } from '../src/proof/triad-proof.js';
import { ProofAdmission } from '../src/node/proving/admission.js';
import type { ProvingContext } from '../src/node/proving/context.js';
import { ProofHoldings } from '../src/node/proving/holdings.js';
import { proverOf } from '../src/node/proving/schedule.js';
import type { CommitmentTrees } from '../src/node/proving/trees.js';
import { fixtureGenesisSupplies, fixtureSnapshots, FIXTURE_GENESIS_HASH } from './fixtures/proof-fixtures.js';

const E = 0;

async function admissionOf(me: ShardId) {
  const H = await getPoseidon();
  const g = genesisTree(H, 2, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(2));
  const tree = buildTree(H, fixtureSnapshots(2, E, g.shards.map((s) => s.supply)), g);
  const plan = CadencePlan.fixed(1);
  const genesis: Genesis = { networkId: 'notes', depth: 2, epochMs: 1000, genesisTime: Date.now() - 5000, allocations: [], validators: new Map(allShards(2).map((s) => [s, new Uint8Array(32)])) };
  let kicks = 0;
  const c = {
    shard: { id: me }, genesis, depth: 2, prove: true, canVerify: true, cadence: { plan, source: 'fixed', why: '' }, leafWindow: 5, treeWindow: 100, leaseMs: 30_000,
    clockEpoch: () => E + 2, kick: () => void kicks++, timelines: { mark: () => {} }, log: { debug: () => {}, warn: () => {} },
  } as unknown as ProvingContext;
  const trees = { ready: true, H, head: { epoch: E }, trees: new Map([[E, tree]]) } as unknown as CommitmentTrees;
  const held = new ProofHoldings(c, trees, {} as never);
  const leaf: TriadProof = {
    path: '0', kind: 'triad_leaf', children: tree.triads.get('0')!.opening.children, publicSignals: publicSignalsOf(tree.triads.get('0')!).map(String),
    proof: { pi_a: ['1', '2', '1'], pi_b: [['0', '0'], ['1', '0'], ['0', '0']], pi_c: ['1', '2', '1'], protocol: 'groth16', curve: 'bn128' }, // G1 generator, B at infinity: does not pair
  };
  return { adm: new ProofAdmission(c, trees, held), held, leaf, round: plan.round(E), kicks: () => kicks };
}

test('a leaf proof from the topic: paired by the apex\'s first prover, noted unpaired by its later turns, neither by anyone else', async () => {
  const round = CadencePlan.fixed(1).round(E);
  const apex = [0, 1, 2].map((k) => proverOf('', round, 2, k));
  for (const me of allShards(2)) {
    const { adm, held, leaf, kicks } = await admissionOf(me);
    const o = await adm.admitTriad(leaf, { wait: true, fromTopic: true });
    if (me === apex[0]) {
      assert.equal(o.action, 'reject', `${me}, the first prover, pairs it: ${JSON.stringify(o)}`);
      assert.equal(held.isNoted(E, '0'), false);
    } else {
      assert.deepEqual([o.action, o.action === 'ignore' ? o.code : ''], ['ignore', 'not-needed'], `${me}: left unpaired`);
      const later = me === apex[1] || me === apex[2];
      assert.equal(held.isNoted(E, '0'), later, `${me}: noted only by the apex's later turns`);
      assert.equal(kicks() > 0, later, 'a note wakes the scheduler (its lease clock starts)');
    }
  }
});
