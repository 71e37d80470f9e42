// The pure rules of shard replicas (docs/REPLICAS.md): votes and terms, the writer's lease, the
// committed epoch, the term fence, and the replicated genesis/snapshot encodings and signer rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { atLeastAsUpToDate, committedEpoch, decideVote, leaseEnd, majority, signRoundsFrom, type Position, type VoteState } from '../src/replica/lease.js';
import { TermFence } from '../src/replica/fence.js';
import { snapshotSignerKey, verifyShardSnapshot } from '../src/replica/keys.js';
import { encodeGenesis, genesisHash, genesisToJson, parseGenesis, type Genesis } from '../src/core/genesis.js';
import { generateKeyPair } from '../src/core/ed25519.js';
import { toHex } from '../src/core/bytes.js';
import type { ShardId } from '../src/core/ids.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, encodeSnapshot, signSnapshot, snapshotHash } from '../src/shard/snapshot.js';
import { makeSnapshot, makeTestNet } from './hierarchy-fixtures.js';

const NOW = 1_000_000;

test('a voter grants at most one candidate per term, whatever the order of requests', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ term: fc.bigInt(1n, 4n), candidate: fc.integer({ min: 0, max: 2 }), lastTerm: fc.bigInt(0n, 3n), lastEpoch: fc.integer({ min: -1, max: 5 }) }), { maxLength: 30 }),
    (reqs) => {
      let st: VoteState = { term: 0n, votedFor: null };
      const own: Position = { lastTerm: 0n, lastEpoch: -1 };
      const granted = new Map<bigint, Set<number>>();
      for (const r of reqs) {
        const d = decideVote(st, own, r, NOW, []);
        assert.ok(d.state.term >= st.term, 'the term never goes down');
        st = d.state;
        if (d.grant) {
          assert.equal(r.term, st.term);
          let s = granted.get(r.term);
          if (!s) granted.set(r.term, (s = new Set()));
          s.add(r.candidate);
        }
      }
      for (const s of granted.values()) assert.ok(s.size <= 1, 'two candidates got a vote in one term');
    },
  ));
});

test('a voter refuses a candidate less up to date, and a stale term, and keeps its lease promise', () => {
  const st: VoteState = { term: 3n, votedFor: null };
  const own: Position = { lastTerm: 3n, lastEpoch: 10 };
  const behind = decideVote(st, own, { term: 4n, candidate: 1, lastTerm: 3n, lastEpoch: 9 }, NOW, []);
  assert.equal(behind.grant, false);
  assert.equal(behind.state.term, 4n, 'the higher term is adopted even when the vote is refused');
  assert.equal(decideVote(st, own, { term: 2n, candidate: 1, lastTerm: 9n, lastEpoch: 99 }, NOW, []).grant, false);
  const lease = decideVote(st, own, { term: 9n, candidate: 2, lastTerm: 9n, lastEpoch: 99 }, NOW, [{ until: NOW + 1, to: 0 }]);
  assert.deepEqual([lease.grant, lease.state.term], [false, 3n], 'under a lease promise the term is not even adopted');
  assert.equal(decideVote(st, own, { term: 4n, candidate: 1, lastTerm: 2n, lastEpoch: 50 }, NOW, []).grant, false, 'a higher epoch of an older term is less up to date');
  assert.equal(decideVote(st, own, { term: 4n, candidate: 1, lastTerm: 3n, lastEpoch: 10 }, NOW, []).grant, true);
});

test('every running lease promise binds the voter: to the writer heard, to the candidate voted for, to anyone after a restart', () => {
  const st: VoteState = { term: 3n, votedFor: 0 };
  const own: Position = { lastTerm: 3n, lastEpoch: 10 };
  const req = (candidate: number) => ({ term: 4n, candidate, lastTerm: 3n, lastEpoch: 10 });
  const why = (d: ReturnType<typeof decideVote>): string => (d.grant ? 'granted' : d.reason);
  const voted = { until: NOW + 1, to: 0 };
  assert.equal(why(decideVote(st, own, req(1), NOW, [{ until: 0, to: 2 }, voted])), 'lease', 'a vote granted in term 3 to replica 0 promises it a lease: no term-4 vote for replica 1 while it runs');
  assert.equal(decideVote(st, own, req(0), NOW, [voted]).grant, true, 'the replica it promised may still win the next term');
  assert.equal(decideVote(st, own, req(1), NOW + 1, [voted]).grant, true, 'an ended promise binds nothing');
  const restarted = { until: NOW + 1, to: null };
  for (const c of [0, 1, 2]) assert.equal(why(decideVote(st, own, req(c), NOW, [restarted])), 'lease', `a promise to a replica it cannot name (made before a restart) refuses candidate ${c}`);
});

test('up-to-date order is total and lexicographic on (term, epoch)', () => {
  fc.assert(fc.property(fc.bigInt(0n, 5n), fc.integer({ min: -1, max: 5 }), fc.bigInt(0n, 5n), fc.integer({ min: -1, max: 5 }), (t1, e1, t2, e2) => {
    const a = { lastTerm: t1, lastEpoch: e1 };
    const b = { lastTerm: t2, lastEpoch: e2 };
    assert.ok(atLeastAsUpToDate(a, b) || atLeastAsUpToDate(b, a));
    assert.equal(atLeastAsUpToDate(a, b) && atLeastAsUpToDate(b, a), t1 === t2 && e1 === e2);
  }));
});

test('the lease ends leaseMs after the majority-th most recent contact; two replicas of three silent: at most leaseMs from the last one', () => {
  assert.equal(majority(3), 2);
  assert.equal(majority(1), 1);
  assert.equal(leaseEnd(new Map([[1, 500], [2, 900]]), 0, 3, NOW, 100), 1000, 'self (now) and the most recent follower');
  assert.equal(leaseEnd(new Map(), 0, 3, NOW, 100), undefined, 'no follower: no lease at all');
  assert.equal(leaseEnd(new Map(), 0, 1, NOW, 100), NOW + 100, 'a replica set of one needs only itself');
});

test('a new writer signs rounds of every epoch that began at or after its election, and none an earlier writer may have signed (clocks less than an epoch apart)', () => {
  // the simulator's kill/wipe seed 125 (1 s epochs): shards 0 and 1 elected writers of term 2 at
  // 11,373 and 11,385 ms; both may sign epoch 12 (began at 12,000), not epoch 11 (still running)
  const from = signRoundsFrom(2n, 11_385);
  assert.ok(12 * 1000 >= from, 'epoch 12 began after the election: signed');
  assert.ok(11 * 1000 < from, 'epoch 11 was running at the election: not signed');
  assert.equal(signRoundsFrom(1n, 11_385), -Infinity, 'term 1 has no earlier writer: every epoch');
  fc.assert(fc.property(
    fc.integer({ min: 200, max: 10_000 }), fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 100_000 }),
    fc.double({ min: -0.499, max: 0.499, noNaN: true }), fc.double({ min: -0.499, max: 0.499, noNaN: true }), fc.bigInt(2n, 9n),
    (epochMs, t, before, skewN, skewW, term) => {
      // true time t: the new writer is elected; its wall clock reads t + oN. An earlier writer signed
      // (if at all) at a true time s < t, while its lease held, a round of an epoch whose snapshots
      // were sealed, i.e. that had ended on the sealer's wall clock (s + oW). Clocks within half an
      // epoch of true time: any two less than an epoch apart.
      const oN = skewN * epochMs;
      const oW = skewW * epochMs;
      const s = t - before;
      const latestEnded = Math.floor((s + oW) / epochMs) - 1; // end(e) = (e + 1) * epochMs <= s + oW
      const from = signRoundsFrom(term, t + oN);
      assert.ok(latestEnded * epochMs < from, 'every round an earlier writer may have signed is one this writer never signs');
      const first = Math.ceil((t + oN) / epochMs); // the first epoch beginning at or after the election on its clock
      assert.ok(first * epochMs >= from, 'the first epoch that begins after the election is signed');
    }));
});

test('the committed epoch needs a majority of durable copies sealed in the writer\'s own term, and never goes down', () => {
  assert.equal(committedEpoch(new Map([[1, 7], [2, 3]]), 0, 9, 3, 0, -1), 7);
  assert.equal(committedEpoch(new Map([[1, 7], [2, 3]]), 0, 9, 3, 8, -1), -1, 'epoch 7 of an older term does not commit by counting');
  assert.equal(committedEpoch(new Map([[1, 9]]), 0, 9, 3, 8, -1), 9, 'epoch 9 of this term commits, and 7 below it with it');
  assert.equal(committedEpoch(new Map([[1, 2]]), 0, 9, 3, 0, 5), 5, 'never down');
  fc.assert(fc.property(fc.array(fc.integer({ min: -1, max: 20 }), { minLength: 3, maxLength: 3 }), (d) => {
    const c = committedEpoch(new Map([[1, d[1]!], [2, d[2]!]]), 0, d[0]!, 3, 0, -1);
    assert.ok(d.filter((x) => x >= c).length >= 2, 'a committed epoch is durable on 2 of 3');
  }));
});

test('the fence never accepts two different snapshots of one (shard, epoch), nor a deposed term\'s later epoch', () => {
  const f = new TermFence();
  assert.deepEqual(f.accept({ shard: '0', epoch: 5, term: 1n, hash: 'a' }), { ok: true, duplicate: false });
  assert.deepEqual(f.accept({ shard: '0', epoch: 5, term: 1n, hash: 'a' }), { ok: true, duplicate: true });
  assert.equal(f.accept({ shard: '0', epoch: 5, term: 2n, hash: 'b' }).ok, false, 'equivocation, even with a higher term');
  assert.equal(f.accept({ shard: '0', epoch: 6, term: 2n, hash: 'c' }).ok, true);
  const stale = f.accept({ shard: '0', epoch: 7, term: 1n, hash: 'd' });
  assert.equal(stale.ok, false);
  assert.equal(!stale.ok && stale.reason, 'stale-term');
  assert.equal(f.accept({ shard: '1', epoch: 7, term: 1n, hash: 'd' }).ok, true, 'other shards are separate');
  fc.assert(fc.property(fc.array(fc.record({ epoch: fc.integer({ min: 0, max: 8 }), term: fc.bigInt(0n, 3n), h: fc.integer({ min: 0, max: 2 }) }), { maxLength: 60 }), (xs) => {
    const fence = new TermFence(4);
    const accepted = new Map<number, string>();
    const acc: { epoch: number; term: bigint }[] = [];
    for (const x of xs) {
      const s = { shard: "s", epoch: x.epoch, term: x.term, hash: `${x.term}:${x.h}` }; // the term is part of what is hashed
      const v = fence.accept(s);
      if (!v.ok || v.duplicate) continue;
      const prev = accepted.get(x.epoch);
      assert.ok(prev === undefined || prev === s.hash, 'two hashes accepted for one epoch');
      accepted.set(x.epoch, s.hash);
      for (const a of acc) assert.ok(!(a.term > x.term && a.epoch <= x.epoch), 'accepted a term below one already seen at an earlier epoch');
      acc.push({ epoch: x.epoch, term: x.term });
    }
  }));
});

function replicatedGenesis(): { g: Genesis; keys: ReturnType<typeof generateKeyPair>[] } {
  const net = makeTestNet(1);
  const shard = '1' as ShardId;
  const keys = [net.keys.get(shard)!, generateKeyPair(), generateKeyPair()];
  const g: Genesis = { ...net.genesis, replicas: new Map([[shard, keys.map((k) => k.publicKey)]]) };
  return { g, keys };
}

test('a genesis without replica sets encodes as before; with them, the hash changes and JSON round-trips', () => {
  const net = makeTestNet(1);
  const plain = encodeGenesis(net.genesis);
  assert.deepEqual(encodeGenesis(parseGenesis(genesisToJson(net.genesis))), plain);
  assert.equal(genesisToJson(net.genesis).replicas, undefined);
  const { g } = replicatedGenesis();
  assert.notEqual(toHex(genesisHash(g)), toHex(genesisHash(net.genesis)));
  assert.deepEqual(encodeGenesis(g).subarray(0, plain.length), plain, 'the replica part is appended');
  const back = parseGenesis(genesisToJson(g));
  assert.deepEqual(encodeGenesis(back), encodeGenesis(g));
  const json = genesisToJson(g);
  assert.throws(() => parseGenesis({ ...json, replicas: { '1': json.replicas!['1']!.slice(0, 2) } }), /odd number/);
  assert.throws(() => parseGenesis({ ...json, replicas: { '1': [json.replicas!['1']![1], json.replicas!['1']![0], json.replicas!['1']![2]] } }), /validator key/);
  assert.throws(() => parseGenesis({ ...json, replicas: { '7': json.replicas!['1'] } }), /not a shard/);
});

test('snapshots: version 1 unchanged without a term; version 2 carries term and writer and is signed by that writer only', () => {
  const net = makeTestNet(1);
  const s1 = makeSnapshot(net, '1' as ShardId, 3);
  assert.equal(encodeSnapshot(s1)[0], 1);
  const { g, keys } = replicatedGenesis();
  const s2 = { ...s1, replica: { term: 7n, writer: 2 } };
  const enc = encodeSnapshot(s2);
  assert.equal(enc[0], 2);
  assert.deepEqual(enc.subarray(1, encodeSnapshot(s1).length), encodeSnapshot(s1).subarray(1), 'the version 1 fields first');
  const signed = signSnapshot(s2, keys[2]!.secretKey);
  const back = decodeSignedSnapshot(encodeSignedSnapshot(signed));
  assert.deepEqual(back.snapshot.replica, { term: 7n, writer: 2 });
  assert.deepEqual(snapshotHash(back.snapshot), snapshotHash(s2));
  assert.equal(verifyShardSnapshot(g, signed), true);
  assert.equal(verifyShardSnapshot(g, signSnapshot(s2, keys[0]!.secretKey)), false, 'another replica\'s key does not sign for the named writer');
  assert.equal(verifyShardSnapshot(g, signSnapshot({ ...s2, replica: { term: 7n, writer: 3 } }, keys[2]!.secretKey)), false, 'writer out of range');
  assert.equal(snapshotSignerKey(g, s1), undefined, 'a replicated shard refuses version 1');
  assert.equal(snapshotSignerKey(net.genesis, s2), undefined, 'a single-replica shard refuses version 2');
  assert.equal(verifyShardSnapshot(net.genesis, signSnapshot(s1, net.keys.get('1' as ShardId)!.secretKey)), true);
});
