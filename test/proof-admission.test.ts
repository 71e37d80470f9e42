// Pure parts of proof admission and the verification-key pin (no circuits needed):
//  - a proof's epoch is usable only below 2^53 and at most the wall-clock epoch + margin;
//  - the hold queue is bounded per key and in total and never evicts what waits;
//  - the negative cache forgets after its TTL and holds at most `max` keys;
//  - a public-signal mismatch with the node's tree names the signals that differ;
//  - sameProof: equal only when every signal and every proof coordinate is (a global proof that
//    carries the apex proof held here is not paired again; anything else is);
//  - spot checks: drawn at random (1 in oneIn), paired only within each sender's budget (burst,
//    then perSecond), senders' budgets apart;
//  - the keys pin: canonical, changes with any key, refuses malformed keys;
//  - genesis: proofKeysHash round-trips through JSON; a genesis without it encodes (and hashes)
//    exactly as before the field existed, and adding it changes the hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VerificationKey } from 'snarkjs';
import { toHex } from '../src/core/bytes.js';
import { encodeGenesis, genesisHash, genesisToJson, parseGenesis, type Genesis } from '../src/core/genesis.js';
import { epochOutOfRange, futureMarginEpochs, HoldQueue, MAX_PROOF_EPOCH, NegativeCache, proofEpoch, sameProof, signalsMismatch, SPOT_CHECK, SpotChecks } from '../src/proof/admission.js';
import { getPoseidon } from '../src/proof/commitment.js';
import { fixtureGenesisSupplies, fixtureSnapshots, FIXTURE_GENESIS_HASH } from './fixtures/proof-fixtures.js';
import { buildTree, genesisTree, publicSignalsOf } from '../src/proof/tree.js';
import { encodeVerificationKey, proofKeysHash, VerificationKeyError } from '../src/proof/vk-hash.js';

test('proof epochs: below 2^53 and at most the clock epoch + margin', () => {
  const sig = (e: bigint): string[] => ['1', e.toString(), '0', '0', '0', '0', '0', '0'];
  assert.equal(proofEpoch(sig(7n)), 7);
  assert.equal(proofEpoch(sig(BigInt(MAX_PROOF_EPOCH))), MAX_PROOF_EPOCH);
  assert.equal(proofEpoch(sig(2n ** 53n)), undefined);
  assert.equal(proofEpoch(sig(2n ** 200n)), undefined);
  assert.equal(futureMarginEpochs(1000), 10);
  assert.equal(futureMarginEpochs(60_000), 2);
  assert.equal(epochOutOfRange(110, 100, 10), null);
  assert.match(epochOutOfRange(111, 100, 10) ?? '', /beyond the wall-clock epoch 100/);
  assert.match(epochOutOfRange(undefined, 100, 10) ?? '', /beyond/);
});

test('hold queue: bounded per key and in total, never evicting; leave frees a slot', () => {
  const q = new HoldQueue(2, 3);
  assert.ok(q.tryEnter('a'));
  assert.ok(q.hasRoom('a'));
  assert.ok(q.tryEnter('a'));
  assert.ok(!q.hasRoom('a') && !q.tryEnter('a'), 'per-key bound');
  assert.ok(q.tryEnter('b'));
  assert.ok(!q.hasRoom('c') && !q.tryEnter('c'), 'total bound: the newcomer is turned away');
  assert.equal(q.size, 3);
  q.leave('a');
  assert.ok(q.tryEnter('c'));
  q.leave('zzz'); // unknown key: no effect
  assert.equal(q.size, 3);
});

test('negative cache: remembers for its TTL, at most max keys (oldest forgotten first)', () => {
  const c = new NegativeCache(1000, 2);
  c.add('x', 0);
  assert.ok(c.has('x', 999));
  assert.ok(!c.has('x', 1000));
  c.add('a', 0);
  c.add('b', 0);
  c.add('c', 0);
  assert.equal(c.size, 2);
  assert.ok(!c.has('a', 1) && c.has('b', 1) && c.has('c', 1));
});

test('spot checks: a drawn proof is paired within its sender\'s budget (burst, then perSecond); senders apart; undrawn never', () => {
  let now = 0;
  let drawn = true;
  const s = new SpotChecks({ oneIn: 32, burst: 3, perSecond: 0.5, draw: () => drawn, now: () => now });
  assert.deepEqual([1, 2, 3, 4].map(() => s.pick('a')), [true, true, true, false], 'a burst of 3, then over budget');
  assert.ok(s.pick('b'), 'another sender has a budget of its own');
  now = 1999;
  assert.equal(s.pick('a'), false, 'one pairing per 2 s: not yet');
  now = 2000;
  assert.ok(s.pick('a'));
  drawn = false;
  now = 100_000;
  assert.equal(s.pick('a'), false, 'a proof not drawn is never paired, whatever the budget');
  assert.deepEqual(s.counters, { drawn: 7, paired: 5, overBudget: 2, failed: 0 });
  assert.throws(() => new SpotChecks({ oneIn: 0, burst: 1, perSecond: 1 }), RangeError);
});

test('spot checks: the default draw picks about 1 in oneIn (crypto randomness)', () => {
  const s = new SpotChecks({ ...SPOT_CHECK, burst: 1e9, perSecond: 1 });
  const n = 32_000;
  for (let i = 0; i < n; i++) s.pick('x');
  const want = n / SPOT_CHECK.oneIn; // 1000; binomial standard deviation about 31
  assert.ok(Math.abs(s.counters.drawn - want) < 6 * Math.sqrt(want), `drawn ${s.counters.drawn} of ${n}, want about ${want}`);
  assert.equal(s.counters.paired, s.counters.drawn);
});

test('signal mismatch names what differs from the tree built here', async () => {
  const H = await getPoseidon();
  const g = genesisTree(H, 1, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(1));
  const t = buildTree(H, fixtureSnapshots(1, 0, g.shards.map((s) => s.supply)), g);
  const apex = t.triads.get('')!;
  const good = publicSignalsOf(apex).map(String);
  assert.equal(signalsMismatch(apex, good), null);
  const bad = [...good];
  bad[4] = String(BigInt(bad[4]!) + 1n);
  assert.match(signalsMismatch(apex, bad) ?? '', /^supply differ/);
});

function fakeKey(seed: number): VerificationKey {
  const g1 = (k: number): string[] => [String(k), String(k + 1), '1'];
  const g2 = (k: number): string[][] => [[String(k), String(k + 1)], [String(k + 2), String(k + 3)], ['1', '0']];
  return { protocol: 'groth16', curve: 'bn128', nPublic: 2, vk_alpha_1: g1(seed), vk_beta_2: g2(seed + 10), vk_gamma_2: g2(seed + 20), vk_delta_2: g2(seed + 30), IC: [g1(seed + 40), g1(seed + 50), g1(seed + 60)] };
}

test('sameProof: the same statement and proof only when every signal and every coordinate of A, B and C is equal', () => {
  const proof = { pi_a: ['1', '2', '1'], pi_b: [['3', '4'], ['5', '6'], ['1', '0']], pi_c: ['7', '8', '1'], protocol: 'groth16', curve: 'bn128' };
  const signals = ['1', '42', '7', '6', '100', '0', '0', '3'];
  const a = { publicSignals: signals, proof };
  assert.equal(sameProof(a, { publicSignals: [...signals], proof: structuredClone(proof) }), true);
  for (let i = 0; i < signals.length; i++) {
    assert.equal(sameProof(a, { publicSignals: signals.map((s, j) => (j === i ? `${s}1` : s)), proof }), false, `signal ${i}`);
  }
  for (const [k, path] of [['pi_a', [0]], ['pi_a', [1]], ['pi_b', [0, 0]], ['pi_b', [0, 1]], ['pi_b', [1, 0]], ['pi_b', [1, 1]], ['pi_c', [0]], ['pi_c', [1]], ['pi_c', [2]]] as const) {
    const q = structuredClone(proof) as unknown as Record<string, unknown>;
    let at = q[k] as unknown[];
    for (const i of path.slice(0, -1)) at = at[i] as unknown[];
    at[path[path.length - 1]!] = '9';
    assert.equal(sameProof(a, { publicSignals: signals, proof: q as unknown as typeof proof }), false, `${k}${JSON.stringify(path)}`);
  }
  assert.equal(sameProof(a, { publicSignals: signals.slice(0, 7), proof }), false, 'fewer signals');
});

test('verification-key pin: deterministic, sensitive to every key, refuses malformed keys', () => {
  const a = { triad_leaf: fakeKey(1), triad_inner: fakeKey(100) };
  assert.equal(toHex(proofKeysHash(a)), toHex(proofKeysHash(structuredClone(a))));
  assert.notEqual(toHex(proofKeysHash(a)), toHex(proofKeysHash({ ...a, triad_inner: fakeKey(101) })));
  assert.notEqual(toHex(proofKeysHash(a)), toHex(proofKeysHash({ triad_leaf: a.triad_inner, triad_inner: a.triad_leaf })));
  assert.throws(() => encodeVerificationKey('triad_leaf', { ...fakeKey(1), IC: [] }), VerificationKeyError);
  assert.throws(() => encodeVerificationKey('triad_leaf', { ...fakeKey(1), vk_alpha_1: ['1', '2', '3'] }), VerificationKeyError);
  assert.throws(() => encodeVerificationKey('triad_leaf', { ...fakeKey(1), curve: 'bls12381' }), VerificationKeyError);
});

test('genesis: proofKeysHash round-trips; without it the encoding is the one from before the field; with it the hash changes', () => {
  const base: Genesis = parseGenesis({
    networkId: 'pin', depth: 1, epochMs: 1000, genesisTime: 1,
    allocations: [{ address: '11'.repeat(20), amount: '5' }],
    validators: { 0: 'aa'.repeat(32), 1: 'bb'.repeat(32), 2: 'cc'.repeat(32) },
  });
  assert.equal(base.proofKeysHash, undefined);
  assert.ok(!('proofKeysHash' in genesisToJson(base)));
  const pinned = parseGenesis({ ...genesisToJson(base), proofKeysHash: 'dd'.repeat(32) });
  assert.equal(toHex(pinned.proofKeysHash!), 'dd'.repeat(32));
  assert.deepEqual(parseGenesis(genesisToJson(pinned)), pinned);
  const e0 = encodeGenesis(base);
  const e1 = encodeGenesis(pinned);
  assert.deepEqual(e1.subarray(0, e0.length), e0, 'the pin is appended; the rest is unchanged');
  assert.equal(e1.length, e0.length + 33);
  assert.notEqual(toHex(genesisHash(base)), toHex(genesisHash(pinned)));
  assert.throws(() => parseGenesis({ ...genesisToJson(base), proofKeysHash: 'dd' }), /proofKeysHash must be 32 bytes/);
});
