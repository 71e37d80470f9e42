import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../src/core/bytes.js';
import { allShards, ancestorsOf, type ShardId, type TriadPath } from '../src/core/ids.js';
import { signerPhasesOf } from '../src/gossip/network.js';
import { signerFor } from '../src/hierarchy/rotation.js';
import { parseTopic, signersTopic, topicToString, TopicError, triadTopic, txTopic, type GossipTopic } from '../src/gossip/topics.js';
import {
  decodeAggregateSig, decodeEnvelope, decodeTxBatch, encodeAggregateSig, encodeEnvelope, encodeTxBatch, GossipKind,
  MAX_GOSSIP_BYTES, messageId, MSG_ID_BYTES,
} from '../src/gossip/encoding.js';
import { decodeFetchRequest, encodeFetchRequest, FetchKind } from '../src/gossip/fetch.js';
import { ACCEPT, ignore, reject, validateGossip, type PayloadChecks } from '../src/gossip/validation.js';
import { arrangeChildren, computeAggregate } from '../src/hierarchy/aggregate.js';
import { signAggregate } from '../src/hierarchy/finality.js';
import { decodeSignedSnapshot, encodeSignedSnapshot, verifySnapshotSignature } from '../src/shard/snapshot.js';
import { makeSignedSnapshot, makeSnapshot, makeTestNet } from './hierarchy-fixtures.js';

const net = makeTestNet(2);

describe('topics', () => {
  test('typed topics and topic strings convert both ways', () => {
    const all: GossipTopic[] = [
      { kind: 'tx', network: 'testnet', shard: '12' as ShardId },
      { kind: 'triad', network: 'testnet', path: '2' as TriadPath },
      { kind: 'triad', network: 'testnet', path: '' as TriadPath },
      { kind: 'signers', network: 'testnet', path: '' as TriadPath, phase: 2 },
    ];
    for (const t of all) assert.deepEqual(parseTopic(topicToString(t), 2), t);
    assert.equal(txTopic('testnet', '01' as ShardId), '/smt/testnet/tx/01');
    assert.equal(triadTopic('testnet', '0'), '/smt/testnet/triad/0');
    assert.equal(triadTopic('testnet', ''), '/smt/testnet/apex');
    assert.equal(signersTopic('testnet', '', 1), '/smt/testnet/signers/apex/1');
    assert.deepEqual(parseTopic('/smt/testnet/signers/12/0', 4), { kind: 'signers', network: 'testnet', path: '12', phase: 0 });
    fc.assert(fc.property(fc.stringMatching(/^[012]{1,6}$/), fc.stringMatching(/^[a-z0-9-]{1,32}$/), (p, n) => {
      assert.deepEqual(parseTopic(triadTopic(n, p)), { kind: 'triad', network: n, path: p });
      assert.deepEqual(parseTopic(txTopic(n, p as ShardId)), { kind: 'tx', network: n, shard: p });
    }));
  });

  test('foreign or malformed topic strings are refused', () => {
    for (const s of ['', '/smt', '/smt/testnet', '/smt/Test/apex', '/smt/testnet/tx/3', '/smt/testnet/triad/', '/eth2/x/apex', '/smt/testnet/apex/x', '/smt/testnet/triad/01',
      '/smt/testnet/signers/apex/3', '/smt/testnet/signers/apex', '/smt/testnet/signers/0/1', '/smt/testnet/signers//1', '/smt/testnet/signers/apex/1/x'])
      assert.throws(() => parseTopic(s, 2), TopicError, s);
    assert.throws(() => parseTopic('/smt/testnet/tx/1', 2), TopicError);
  });
});

describe('envelope', () => {
  test('envelopes round-trip and the decoder throws only DecodeError', () => {
    const e = { kind: GossipKind.snapshot, network: 'testnet', payload: new Uint8Array([1, 2, 3]) };
    assert.deepEqual(decodeEnvelope(encodeEnvelope(e)), e);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
      try { decodeEnvelope(junk); } catch (err) { assert.ok(err instanceof DecodeError, String(err)); }
    }));
    const bytes = encodeEnvelope(e);
    assert.throws(() => decodeEnvelope(new Uint8Array([...bytes, 0])), DecodeError);
    assert.throws(() => decodeEnvelope(Uint8Array.of(1, 9, ...bytes.subarray(2))), /unknown kind/);
  });

  test('the size cap is enforced on encoding and before decoding', () => {
    assert.throws(() => encodeEnvelope({ kind: GossipKind.txBatch, network: 'testnet', payload: new Uint8Array(MAX_GOSSIP_BYTES) }), RangeError);
    assert.throws(() => decodeEnvelope(new Uint8Array(MAX_GOSSIP_BYTES + 1)), /exceeds/);
  });

  test('message ids are 20-byte content hashes that depend on topic and data only', () => {
    const d = new Uint8Array([5, 6, 7]);
    assert.equal(messageId('/smt/a/apex', d).length, MSG_ID_BYTES);
    assert.deepEqual(messageId('/smt/a/apex', d), messageId('/smt/a/apex', d.slice()));
    assert.notDeepEqual(messageId('/smt/a/apex', d), messageId('/smt/a/triad/0', d));
    assert.notDeepEqual(messageId('/smt/a/apex', d), messageId('/smt/a/apex', new Uint8Array([5, 6, 8])));
  });

  test('payload codecs round-trip and their decoders throw only DecodeError', () => {
    const txs = [new Uint8Array([1]), new Uint8Array(100).fill(7)];
    assert.deepEqual(decodeTxBatch(encodeTxBatch(txs)), txs);
    const path = '1' as TriadPath;
    const agg = computeAggregate({ network: 'testnet', path, epoch: 2, children: arrangeChildren(path, [0, 1, 2].map((i) => ({ kind: 'snapshot' as const, snapshot: makeSnapshot(net, `1${i}` as ShardId, 2) }))), prev: null });
    const m = { aggregate: agg, signature: signAggregate(agg, 1, 0, net.keys.get('11' as ShardId)!.secretKey) };
    assert.deepEqual(decodeAggregateSig(encodeAggregateSig(m)), m);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (junk) => {
      for (const dec of [decodeTxBatch, decodeAggregateSig]) {
        try { dec(junk); } catch (err) { assert.ok(err instanceof DecodeError, String(err)); }
      }
    }));
  });
});

describe('fetch protocol', () => {
  test('fetch requests round-trip and the decoder throws only DecodeError', () => {
    const q = { kind: FetchKind.finalAggregate, path: '12', epoch: 77 };
    assert.deepEqual(decodeFetchRequest(encodeFetchRequest(q)), q);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => {
      try { decodeFetchRequest(junk); } catch (err) { assert.ok(err instanceof DecodeError, String(err)); }
    }));
  });
});

describe('validation outcomes', () => {
  const checks: PayloadChecks = {
    [GossipKind.snapshot]: (payload) => {
      const ss = decodeSignedSnapshot(payload);
      const key = net.genesis.validators.get(ss.snapshot.shard);
      if (!key || !verifySnapshotSignature(ss, key)) return reject('bad-signature');
      return ss.snapshot.epoch < 3 ? ignore('stale') : ACCEPT;
    },
  };
  const wrap = (kind: GossipKind, payload: Uint8Array, network = 'testnet') => encodeEnvelope({ kind, network, payload });
  const good = encodeSignedSnapshot(makeSignedSnapshot(net, '01' as ShardId, 5));

  test('a valid message is accepted, a stale one ignored', async () => {
    assert.deepEqual(await validateGossip(wrap(GossipKind.snapshot, good), 't', 'p', 'testnet', checks), ACCEPT);
    const old = encodeSignedSnapshot(makeSignedSnapshot(net, '01' as ShardId, 1));
    assert.equal((await validateGossip(wrap(GossipKind.snapshot, old), 't', 'p', 'testnet', checks)).action, 'ignore');
  });

  test('undecodable, oversized, wrong network, wrong kind and bad signature are rejected', async () => {
    const code = async (d: Uint8Array) => {
      const o = await validateGossip(d, 't', 'p', 'testnet', checks);
      return o.action === 'reject' ? o.code : o.action;
    };
    assert.equal(await code(new Uint8Array([1, 2, 3])), 'undecodable');
    assert.equal(await code(wrap(GossipKind.snapshot, good.subarray(1))), 'undecodable');
    assert.equal(await code(new Uint8Array(MAX_GOSSIP_BYTES + 1)), 'oversized');
    assert.equal(await code(wrap(GossipKind.snapshot, good, 'othernet')), 'wrong-network');
    assert.equal(await code(wrap(GossipKind.txBatch, encodeTxBatch([good]))), 'wrong-topic');
    const forged = good.slice();
    forged[forged.length - 1]! ^= 1;
    assert.equal(await code(wrap(GossipKind.snapshot, forged)), 'bad-signature');
  });

  test('a check that crashes ignores the message instead of punishing the sender', async () => {
    const o = await validateGossip(wrap(GossipKind.snapshot, good), 't', 'p', 'testnet', { [GossipKind.snapshot]: () => { throw new Error('db closed'); } });
    assert.equal(o.action, 'ignore');
  });
});

describe('signers topics', () => {
  test('for every epoch, the shards listening on an upper triad\'s signers topic of epoch mod 3 are exactly the rotation\'s signers of its three members (depths 2-4)', () => {
    for (const depth of [2, 3, 4]) {
      const shards = allShards(depth);
      const listens = new Map(shards.map((s) => [s, signerPhasesOf({ depth }, s)]));
      for (let e = 0; e < 40; e++) {
        for (const t of new Set(shards.flatMap((s) => ancestorsOf(s).slice(1)))) {
          const signers = [0, 1, 2].map((i) => signerFor(t + String(i), e, depth, 0)).sort();
          const listening = shards.filter((s) => listens.get(s)!.some((x) => x.path === t && x.phase === e % 3)).sort();
          assert.deepEqual(listening, signers, `depth ${depth}, triad ${JSON.stringify(t)}, epoch ${e}`);
        }
      }
      // a lowest triad has none (its three members all sign, on its own topic)
      for (const s of shards) assert.ok(listens.get(s)!.every((x) => x.path.length < depth - 1));
    }
  });
});
