// Pure parts of the proving layer (no circuits, no network):
//  - proof-fetch requests round-trip; any byte string decodes or throws DecodeError only;
//  - proof messages: arbitrary bytes decode or throw DecodeError only;
//  - the prover rotation: the three turns of a triad are three different shards, all under the
//    triad, and the first turn moves across epochs;
//  - the automatic cadence for 9 shards, 1 s epochs, 2 cores is every 8th epoch, and grows with cost;
//  - a commitment tree survives the store's JSON form unchanged (a restarted node continues the chain).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../src/core/bytes.js';
import { decodeProofFetchRequest, decodeProofMessage, encodeProofFetchRequest, ProofFetchKind } from '../src/gossip/proof-messages.js';
import { autoProveEvery, proverOf } from '../src/node/proving/schedule.js';
import { treeFromJson, treeToJson } from '../src/node/proof-store.js';
import { getPoseidon } from '../src/proof/commitment.js';
import { fixtureGenesisSupplies, fixtureSnapshots, FIXTURE_GENESIS_HASH } from './fixtures/proof-fixtures.js';
import { buildTree, genesisTree, triadLevels } from '../src/proof/tree.js';

const onlyDecodeErrors = (f: () => unknown): void => {
  try {
    f();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
  }
};

test('proof-fetch requests round-trip and arbitrary bytes throw only DecodeError', () => {
  fc.assert(fc.property(fc.constantFrom(...Object.values(ProofFetchKind)), fc.stringMatching(/^[012]{0,8}$/), fc.nat({ max: 2 ** 40 }), (kind, path, epoch) => {
    assert.deepEqual(decodeProofFetchRequest(encodeProofFetchRequest({ kind, path, epoch })), { kind, path, epoch });
  }));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => onlyDecodeErrors(() => decodeProofFetchRequest(b))));
  assert.throws(() => decodeProofFetchRequest(encodeProofFetchRequest({ kind: 9 as never, path: '', epoch: 0 })), DecodeError);
});

test('proof messages: arbitrary bytes decode or throw only DecodeError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 700 }), fc.constantFrom(1, 2, 3), (b, tag) => {
    const m = new Uint8Array(b.length + 1);
    m[0] = tag;
    m.set(b, 1);
    onlyDecodeErrors(() => decodeProofMessage(m));
  }), { numRuns: 300 });
});

test('prover rotation: three distinct shards under the triad per epoch, first turn rotating', () => {
  for (const depth of [1, 2, 3]) {
    for (const level of triadLevels(depth)) {
      for (const path of level) {
        const firsts = new Set<string>();
        for (let e = 0; e < 9; e++) {
          const turns = [0, 1, 2].map((k) => proverOf(path, e, depth, k));
          assert.equal(new Set(turns).size, 3, `triad ${path} epoch ${e}: ${turns}`);
          for (const s of turns) assert.ok(s.startsWith(path) && s.length === depth);
          firsts.add(turns[0]!);
        }
        assert.equal(firsts.size, 3, `triad ${JSON.stringify(path)}: the first turn moves across epochs`);
      }
    }
  }
});

test('automatic cadence: 9 shards, 1 s epochs, 2 cores -> every 7th epoch (2 s epochs: every 4th); more shards or shorter epochs -> sparser', () => {
  // measured CPU per proof (docs/PROOFS.md §7): 3 x 1.5 s leaf + 0.85 s inner = 5.35 s per tree, 40% of 2 cores
  assert.equal(autoProveEvery(2, 1000, 2), 7);
  assert.equal(autoProveEvery(2, 2000, 2), 4);
  assert.equal(autoProveEvery(1, 10_000, 2), 1);
  assert.ok(autoProveEvery(3, 1000, 2) > autoProveEvery(2, 1000, 2));
  assert.ok(autoProveEvery(2, 500, 2) > autoProveEvery(2, 1000, 2));
});

test('a commitment tree round-trips through the proof store\'s JSON form', async () => {
  const H = await getPoseidon();
  const g = genesisTree(H, 2, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(2));
  const t = buildTree(H, fixtureSnapshots(2, 0, g.shards.map((s) => s.supply)), g);
  for (const x of [g, t]) assert.deepEqual(treeFromJson(treeToJson(x)), x);
});
