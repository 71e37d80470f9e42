import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError, bytesEqual } from '../src/core/bytes.js';
import { allShards, type ShardId, type TriadPath } from '../src/core/ids.js';
import { sign } from '../src/core/ed25519.js';
import {
  aggregateHash, arrangeChildren, computeAggregate, decodeAggregate, encodeAggregate, ZERO_HASH,
  type ChildInput, type TriadAggregate,
} from '../src/hierarchy/aggregate.js';
import {
  canonicalSignatures, decodeFinalAggregate, encodeFinalAggregate, isFinal, memberSigner, signAggregate,
  verifyFinalAggregate, type FinalAggregate, type MemberSignature,
} from '../src/hierarchy/finality.js';
import { attemptOf, publisherAt, publisherOrder, signerFor } from '../src/hierarchy/rotation.js';
import {
  aggregationPath, decodeAggregationPath, encodeAggregationPath, globalRoot, globalToJson, shardCommitments, verifyAggregationPath,
} from '../src/hierarchy/global.js';
import { snapshotHash, type Snapshot } from '../src/shard/snapshot.js';
import { makeSnapshot, makeTestNet, type TestNet } from './hierarchy-fixtures.js';

const net2 = makeTestNet(2);
const ctx2 = net2.genesis;

/** Signatures of members `positions` (first rotation attempt), by the keys the rotation names. */
function sigs(net: TestNet, agg: TriadAggregate, positions: number[], attempt = 0): MemberSignature[] {
  return positions.map((p) => {
    const child = agg.path + String(p);
    const a = child.length === net.genesis.depth ? 0 : attempt;
    return signAggregate(agg, p, a, net.keys.get(memberSigner(agg, p, a, net.genesis.depth))!.secretKey);
  });
}

/** Finalises every triad of an epoch bottom-up, the way the nodes do, with members `signers`. */
function finalizeEpoch(net: TestNet, epoch: number, snaps: Map<ShardId, Snapshot | null>, prev: Map<string, TriadAggregate>, signers = [0, 1, 2]): Map<string, FinalAggregate> {
  const depth = net.genesis.depth;
  const finals = new Map<string, FinalAggregate>();
  for (let level = depth - 1; level >= 0; level--) {
    const paths = level === 0 ? [''] : allShards(level);
    for (const p of paths) {
      const path = p as string as TriadPath;
      const kids: ChildInput[] = [];
      for (let i = 0; i < 3; i++) {
        const c = path + String(i);
        if (c.length === depth) {
          const s = snaps.get(c as ShardId);
          if (s) kids.push({ kind: 'snapshot', snapshot: s });
        } else {
          const f = finals.get(c);
          if (f && f.aggregate.epoch === epoch) kids.push({ kind: 'aggregate', aggregate: f.aggregate });
        }
      }
      const agg = computeAggregate({ network: net.genesis.networkId, path, epoch, children: arrangeChildren(path, kids), prev: prev.get(path) ?? null });
      const children = path.length === depth - 1 ? null : [0, 1, 2].map((i) => {
        const c = path + String(i);
        const f = finals.get(c);
        return f && bytesEqual(aggregateHash(f.aggregate), agg.children[i]!.commitment) ? f : null;
      });
      finals.set(path, { aggregate: agg, signatures: sigs(net, agg, signers), children });
      prev.set(path, agg);
    }
  }
  return finals;
}

function lowestInputs(net: TestNet, path: TriadPath, epoch: number): ChildInput[] {
  return [0, 1, 2].map((i) => ({ kind: 'snapshot', snapshot: makeSnapshot(net, (path + String(i)) as ShardId, epoch) }));
}

describe('triad aggregate', () => {
  test('members computing from the same children in any arrival order get byte-identical aggregates', () => {
    const path = '1' as TriadPath;
    const inputs = lowestInputs(net2, path, 5);
    const reference = encodeAggregate(computeAggregate({ network: 'testnet', path, epoch: 5, children: arrangeChildren(path, inputs), prev: null }));
    fc.assert(fc.property(fc.shuffledSubarray(inputs, { minLength: 3, maxLength: 3 }), (order) => {
      const agg = computeAggregate({ network: 'testnet', path, epoch: 5, children: arrangeChildren(path, order), prev: null });
      assert.deepEqual(encodeAggregate(agg), reference);
    }));
  });

  test('sums are the sums of the children and the previous aggregate is chained', () => {
    const path = '2' as TriadPath;
    const prev = computeAggregate({ network: 'testnet', path, epoch: 3, children: arrangeChildren(path, lowestInputs(net2, path, 3)), prev: null });
    const inputs = lowestInputs(net2, path, 4);
    const agg = computeAggregate({ network: 'testnet', path, epoch: 4, children: arrangeChildren(path, inputs), prev });
    const snaps = inputs.map((c) => (c as { snapshot: Snapshot }).snapshot);
    assert.equal(agg.supply, snaps.reduce((s, x) => s + x.supply, 0n));
    assert.equal(agg.outflow, snaps.reduce((s, x) => s + x.outflow, 0n));
    assert.equal(agg.txCount, snaps.reduce((s, x) => s + x.txCount, 0n));
    assert.deepEqual(agg.prevAggregateHash, aggregateHash(prev));
    snaps.forEach((s, i) => assert.deepEqual(agg.children[i]!.commitment, snapshotHash(s)));
  });

  test('a child missing past the timeout carries its previous commitment and supply, flagged, with no flows', () => {
    const path = '0' as TriadPath;
    const prev = computeAggregate({ network: 'testnet', path, epoch: 7, children: arrangeChildren(path, lowestInputs(net2, path, 7)), prev: null });
    const inputs = lowestInputs(net2, path, 8).filter((c) => (c as { snapshot: Snapshot }).snapshot.shard !== '01');
    const agg = computeAggregate({ network: 'testnet', path, epoch: 8, children: arrangeChildren(path, inputs), prev });
    assert.equal(agg.children[1]!.carried, true);
    assert.deepEqual(agg.children[1]!.commitment, prev.children[1]!.commitment);
    assert.equal(agg.children[1]!.epoch, 7);
    assert.equal(agg.children[0]!.carried, false);
    const present = inputs.map((c) => (c as { snapshot: Snapshot }).snapshot);
    assert.equal(agg.supply, present.reduce((s, x) => s + x.supply, 0n) + prev.children[1]!.supply);
    assert.equal(agg.outflow, present.reduce((s, x) => s + x.outflow, 0n));
    const first = computeAggregate({ network: 'testnet', path, epoch: 0, children: [null, null, null], prev: null });
    assert.ok(first.children.every((c) => c.carried && bytesEqual(c.commitment, ZERO_HASH)));
  });

  test('inputs that are not the right children, epoch or network are refused', () => {
    const path = '0' as TriadPath;
    assert.throws(() => arrangeChildren(path, [{ kind: 'snapshot', snapshot: makeSnapshot(net2, '10' as ShardId, 1) }]), /not a child/);
    assert.throws(() => arrangeChildren(path, [
      { kind: 'snapshot', snapshot: makeSnapshot(net2, '00' as ShardId, 1, 1) },
      { kind: 'snapshot', snapshot: makeSnapshot(net2, '00' as ShardId, 1, 2) },
    ]), /conflicting/);
    const kids = arrangeChildren(path, lowestInputs(net2, path, 1));
    assert.throws(() => computeAggregate({ network: 'testnet', path, epoch: 2, children: kids, prev: null }), /epoch/);
    assert.throws(() => computeAggregate({ network: 'othernet', path, epoch: 1, children: kids, prev: null }), /network/);
  });

  test('the aggregate codec round-trips and the decoder throws only DecodeError on any input', () => {
    const agg = computeAggregate({ network: 'testnet', path: '1' as TriadPath, epoch: 9, children: arrangeChildren('1' as TriadPath, lowestInputs(net2, '1' as TriadPath, 9)), prev: null });
    const bytes = encodeAggregate(agg);
    assert.deepEqual(decodeAggregate(bytes), agg);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (junk) => {
      try { decodeAggregate(junk); } catch (e) { assert.ok(e instanceof DecodeError, String(e)); }
    }));
    fc.assert(fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
      const m = bytes.slice();
      m[i] = m[i]! ^ x;
      try {
        const d = decodeAggregate(m);
        assert.notDeepEqual(aggregateHash(d), aggregateHash(agg)); // any accepted mutation is a different aggregate
      } catch (e) { assert.ok(e instanceof DecodeError, String(e)); }
    }));
    assert.throws(() => decodeAggregate(bytes.subarray(0, bytes.length - 1)), DecodeError);
    assert.throws(() => decodeAggregate(new Uint8Array([...bytes, 0])), DecodeError);
  });
});

describe('2-of-3 finality', () => {
  const path = '2' as TriadPath;
  const agg = computeAggregate({ network: 'testnet', path, epoch: 3, children: arrangeChildren(path, lowestInputs(net2, path, 3)), prev: null });

  test('one signature is not final, two distinct members are', () => {
    for (const p of [0, 1, 2]) assert.equal(isFinal(agg, sigs(net2, agg, [p]), ctx2), false);
    assert.equal(isFinal(agg, sigs(net2, agg, [0, 2]), ctx2), true);
    assert.equal(isFinal(agg, sigs(net2, agg, [0, 1, 2]), ctx2), true);
  });

  test('a duplicate signature of the same member does not count twice', () => {
    const one = sigs(net2, agg, [1]);
    assert.equal(isFinal(agg, [...one, ...one], ctx2), false);
  });

  test('a bad signature or one over another aggregate does not count', () => {
    const [s0, s1] = sigs(net2, agg, [0, 1]) as [MemberSignature, MemberSignature];
    const bad = { ...s1, signature: s1.signature.slice() };
    bad.signature[5] ^= 1;
    assert.equal(isFinal(agg, [s0, bad], ctx2), false);
    const other = { ...agg, supply: agg.supply + 1n };
    assert.equal(isFinal(other, [s0, s1], ctx2), false);
  });

  test('a signature of a non-member does not count', () => {
    const [s0] = sigs(net2, agg, [0]);
    // shard "00" (not in triad "2") signs claiming to be member 1
    const foreign: MemberSignature = { position: 1, attempt: 0, signature: sign(aggregateHash(agg), net2.keys.get('00' as ShardId)!.secretKey) };
    assert.equal(isFinal(agg, [s0!, foreign], ctx2), false);
    // member 1's own key claiming position 2 does not count either
    const moved: MemberSignature = { ...sigs(net2, agg, [1])[0]!, position: 2 };
    assert.equal(isFinal(agg, [s0!, moved], ctx2), false);
  });

  test('canonical signature sets keep one valid signature per member, sorted', () => {
    const s = sigs(net2, agg, [2, 0, 2]);
    const c = canonicalSignatures(agg, s, ctx2);
    assert.deepEqual(c.map((x) => x.position), [0, 2]);
  });
});

describe('rotation', () => {
  test('publisher order is a permutation of the three positions and rotates with the epoch', () => {
    fc.assert(fc.property(fc.stringMatching(/^[012]{0,5}$/), fc.nat(1e6), (path, e) => {
      const o = publisherOrder(path, e);
      assert.deepEqual([...o].sort(), [0, 1, 2]);
      assert.equal(publisherOrder(path, e + 1)[0], (o[0] + 1) % 3);
    }));
    assert.equal(publisherAt('1', 4, 0, 500), publisherOrder('1', 4)[0]);
    assert.equal(publisherAt('1', 4, 1200, 500), publisherOrder('1', 4)[2]);
    assert.equal(publisherAt('1', 4, 99999, 500), publisherOrder('1', 4)[2]);
  });

  test('a subtree signs through exactly one shard inside it per epoch (one signer per position: no equivocation)', () => {
    fc.assert(fc.property(fc.stringMatching(/^[012]{0,3}$/), fc.nat(1e6), (child, e) => {
      const depth = 4;
      const signer = signerFor(child, e, depth);
      assert.equal(signer.length, depth);
      assert.ok(signer.startsWith(child));
      assert.equal(attemptOf(signer, child, e, depth), 0);
      const others = allShards(depth).filter((s) => s.startsWith(child) && s !== signer);
      for (const o of others) assert.equal(attemptOf(o, child, e, depth), undefined, `${o} must not sign for ${child} in epoch ${e}`);
    }), { numRuns: 50 });
    assert.equal(signerFor('12', 5, 2), '12');
    assert.throws(() => signerFor('12', 5, 2, 1), RangeError);
  });

  test('upper-level members sign through the rotation-chosen shard, and no other', () => {
    const path = '' as TriadPath;
    const finals = finalizeEpoch(net2, 0, new Map(allShards(2).map((s) => [s, makeSnapshot(net2, s, 0)])), new Map());
    const apex = finals.get('')!.aggregate;
    assert.equal(isFinal(apex, sigs(net2, apex, [0, 1]), ctx2), true);
    assert.equal(isFinal(apex, sigs(net2, apex, [0, 1], 2), ctx2), false, 'a later attempt is not a valid signer: one signer per position');
    const net3 = makeTestNet(3);
    const f3 = finalizeEpoch(net3, 1, new Map(allShards(3).map((s) => [s, makeSnapshot(net3, s, 1)])), new Map());
    const apex3 = f3.get(path)!.aggregate;
    const outsider = allShards(3).find((s) => s.startsWith('1') && attemptOf(s, '1', 1, 3) === undefined)!;
    const fake: MemberSignature = { position: 1, attempt: 0, signature: sign(aggregateHash(apex3), net3.keys.get(outsider)!.secretKey) };
    assert.equal(isFinal(apex3, [sigs(net3, apex3, [0])[0]!, fake], net3.genesis), false);
  });
});

describe('final aggregates and the global snapshot', () => {
  const snaps = new Map<ShardId, Snapshot | null>(allShards(2).map((s) => [s, makeSnapshot(net2, s, 0)]));
  const finals = finalizeEpoch(net2, 0, snaps, new Map(), [0, 2]);
  const g = finals.get('')!;

  test('a finalised global snapshot verifies down to the shards, and survives its codec', () => {
    assert.deepEqual(verifyFinalAggregate(g, ctx2), { ok: true });
    const bytes = encodeFinalAggregate(g);
    const back = decodeFinalAggregate(bytes);
    assert.deepEqual(encodeFinalAggregate(back), bytes);
    assert.deepEqual(verifyFinalAggregate(back, ctx2), { ok: true });
  });

  test('a child below the apex with one signature, or a tampered child, fails the chain check', () => {
    const weak: FinalAggregate = { ...g, children: g.children!.map((c, i) => (i === 1 ? { ...c!, signatures: c!.signatures.slice(0, 1) } : c)) };
    assert.equal(verifyFinalAggregate(weak, ctx2).ok, false);
    const tampered: FinalAggregate = { ...g, children: g.children!.map((c, i) => (i === 2 ? { ...c!, aggregate: { ...c!.aggregate, txCount: 1n } } : c)) };
    assert.equal(verifyFinalAggregate(tampered, ctx2).ok, false);
    const wrongNet = verifyFinalAggregate(g, { ...ctx2, networkId: 'other' });
    assert.equal(wrongNet.ok, false);
  });

  test('the final-aggregate decoder throws only DecodeError, whatever the input', () => {
    const bytes = encodeFinalAggregate(g);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (junk) => {
      try { decodeFinalAggregate(junk); } catch (e) { assert.ok(e instanceof DecodeError, String(e)); }
    }));
    fc.assert(fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
      const m = bytes.slice();
      m[i] = m[i]! ^ x;
      try { decodeFinalAggregate(m); } catch (e) { assert.ok(e instanceof DecodeError, String(e)); }
    }), { numRuns: 300 });
  });

  test('the JSON view names the root, the signers and every shard', () => {
    const j = globalToJson(g, 2) as { root: string; shards: unknown[]; signatures: { signer: string }[] };
    assert.equal(j.root, Buffer.from(globalRoot(g)).toString('hex'));
    assert.equal(j.shards.length, 9);
    assert.deepEqual(j.signatures.map((s) => s.signer), [0, 2].map((p) => signerFor(String(p), 0, 2)));
  });

  test('per-shard commitments list every shard snapshot in shard order', () => {
    const list = shardCommitments(g, 2);
    assert.deepEqual(list.map((x) => x.shard), allShards(2));
    for (const x of list) {
      assert.deepEqual(x.commitment, snapshotHash(snaps.get(x.shard)!));
      assert.equal(x.carried, false);
    }
  });

  test('the aggregation path of every shard verifies against the global root; any altered commitment is rejected', () => {
    const root = globalRoot(g);
    for (const shard of allShards(2)) {
      const p = aggregationPath(g, shard);
      const h = snapshotHash(snaps.get(shard)!);
      assert.equal(verifyAggregationPath(p, h, root), true, shard);
      assert.equal(verifyAggregationPath(decodeAggregationPath(encodeAggregationPath(p)), h, root), true);
      assert.equal(verifyAggregationPath(p, snapshotHash(snaps.get(shard === '00' ? '01' as ShardId : '00' as ShardId)!), root), false);
      for (let step = 0; step < p.steps.length; step++) {
        for (let c = 0; c < 3; c++) {
          const altered = { ...p, steps: p.steps.map((s, i) => i !== step ? s : { ...s, children: s.children.map((r, j) => j !== c ? r : { ...r, commitment: r.commitment.map((b, k) => (k === 0 ? b ^ 1 : b)) }) as TriadAggregate['children'] }) };
          assert.equal(verifyAggregationPath(altered, h, root), false, `${shard} step ${step} child ${c}`);
        }
      }
    }
  });

  test('the aggregation-path decoder throws only DecodeError, whatever the input', () => {
    const bytes = encodeAggregationPath(aggregationPath(g, '21' as ShardId));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (junk) => {
      try { decodeAggregationPath(junk); } catch (e) { assert.ok(e instanceof DecodeError, String(e)); }
    }));
    fc.assert(fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
      const m = bytes.slice();
      m[i] = m[i]! ^ x;
      try { decodeAggregationPath(m); } catch (e) { assert.ok(e instanceof DecodeError, String(e)); }
    }), { numRuns: 300 });
  });

  test('a shard missing at epoch 1 is carried and flagged in the global snapshot, the root still commits to it', () => {
    const prev = new Map<string, TriadAggregate>();
    finalizeEpoch(net2, 0, snaps, prev);
    const s1 = new Map<ShardId, Snapshot | null>(allShards(2).map((s) => [s, s === '12' ? null : makeSnapshot(net2, s, 1)]));
    const f1 = finalizeEpoch(net2, 1, s1, prev).get('')!;
    assert.deepEqual(verifyFinalAggregate(f1, ctx2), { ok: true });
    const c = shardCommitments(f1, 2).find((x) => x.shard === '12')!;
    assert.equal(c.carried, true);
    assert.equal(c.epoch, 0);
    assert.deepEqual(c.commitment, snapshotHash(snaps.get('12' as ShardId)!));
    assert.equal(verifyAggregationPath(aggregationPath(f1, '12' as ShardId), c.commitment, globalRoot(f1)), true);
    assert.equal(f1.aggregate.supply, [...s1.values()].reduce((s, x) => s + (x?.supply ?? 0n), 0n) + snaps.get('12' as ShardId)!.supply);
  });

  test('a never-seen child must carry exactly its genesis supply: a validly signed aggregate that inflates it fails', () => {
    const s0 = new Map<ShardId, Snapshot | null>(allShards(2).map((s) => [s, s === '12' ? null : makeSnapshot(net2, s, 0)]));
    const f = finalizeEpoch(net2, 0, s0, new Map()).get('1')!;
    assert.deepEqual(verifyFinalAggregate(f, ctx2), { ok: true });
    const c2 = f.aggregate.children[2]!;
    assert.ok(bytesEqual(c2.commitment, ZERO_HASH) && c2.carried, 'shard 12 was never seen');
    const forged = { ...f.aggregate, supply: f.aggregate.supply + 1000n, children: [f.aggregate.children[0]!, f.aggregate.children[1]!, { ...c2, supply: 1000n }] } as TriadAggregate;
    const r = verifyFinalAggregate({ aggregate: forged, signatures: sigs(net2, forged, [0, 1]), children: null }, ctx2);
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /never-seen child 2 must carry its genesis supply 0/);
  });
});
