// The direct-submission reply codec (src/gossip/submit.ts): every verdict list round-trips, and the
// decoder throws only DecodeError on any other input (random bytes, mutations, wrong counts). And
// routing: a submission goes only to the home shard's genesis-bound validator peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DecodeError } from '../src/core/bytes.js';
import { REJECT_REASONS } from '../src/shard/errors.js';
import type { SubmitResult } from '../src/shard/shard.js';
import { decodeSubmitResults, encodeSubmitResults, submitProtocol } from '../src/gossip/submit.js';
import type { ShardId } from '../src/core/ids.js';
import { createP2PNode } from '../src/gossip/p2p.js';
import { TriadNetwork } from '../src/gossip/network.js';
import { peerKeyFromValidator, validatorPeers } from '../src/gossip/identity.js';
import { txTopic } from '../src/gossip/topics.js';
import { decodeTxBatch } from '../src/gossip/encoding.js';
import { makeTestNet } from './hierarchy-fixtures.js';
import { sleep } from './support/wait.js';

const txid = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const verdict: fc.Arbitrary<SubmitResult> = fc.oneof(
  txid.map((t) => ({ ok: true as const, txid: t })),
  fc.record({ ok: fc.constant(false as const), txid, reason: fc.constantFrom(...REJECT_REASONS), message: fc.string({ maxLength: 80 }) }).map((r) => ({ ...r })),
  fc.record({ ok: fc.constant(false as const), reason: fc.constantFrom(...REJECT_REASONS), message: fc.string({ maxLength: 80 }) }).map((r) => ({ ...r })),
);

function onlyDecodeError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof DecodeError, `threw ${String(e)}`);
  }
}

test('verdict lists round-trip byte-exactly', () => {
  fc.assert(fc.property(fc.array(verdict, { maxLength: 20 }), (rs) => {
    const b = encodeSubmitResults(rs);
    assert.deepEqual(decodeSubmitResults(b, rs.length), rs);
  }), { numRuns: 300, seed: 5 });
});

test('a reply with another count than the transactions sent is refused', () => {
  const b = encodeSubmitResults([{ ok: true, txid: 'ab'.repeat(32) }]);
  assert.throws(() => decodeSubmitResults(b, 2), DecodeError);
});

test('the decoder throws only DecodeError on random bytes and on mutated replies', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(5), (b, n) => onlyDecodeError(() => decodeSubmitResults(b, n))), { numRuns: 500, seed: 6 });
  fc.assert(fc.property(fc.array(verdict, { minLength: 1, maxLength: 5 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (rs, i, x) => {
    const b = encodeSubmitResults(rs);
    b[i % b.length]! ^= x;
    onlyDecodeError(() => decodeSubmitResults(b, rs.length));
  }), { numRuns: 500, seed: 7 });
});

// Routing to the home validator (src/gossip/network.ts submitTo / publishTxs), over real libp2p:
// a peer that is a genesis validator of ANOTHER shard subscribes to tx/<home> and answers every
// submission with "accepted"; the home validator itself is not connected. Property: the forwarding
// node never asks that peer, gets no verdict (undefined), and its gossip fallback refuses to count
// the impostor's subscription as reaching home (home-unreachable).
test('submissions go only to the peer the genesis binds to the home shard, never to whoever subscribes to its topic', { timeout: 60_000 }, async () => {
  const net = makeTestNet(1, 'routenet');
  const G = net.genesis;
  const allowedPeers = validatorPeers(G).ids;
  const closers: (() => Promise<unknown>)[] = [];
  try {
    // the impostor: shard 2's validator, pretending to be shard 1's node
    const imp = await createP2PNode({ privateKey: await peerKeyFromValidator(net.keys.get('2' as ShardId)!), networkId: G.networkId, allowedPeers, heartbeatMs: 200 });
    closers.push(() => imp.close());
    let asked = 0;
    imp.subscribe(txTopic(G.networkId, '1' as ShardId), () => {});
    await imp.handle(submitProtocol(G.networkId), async (req) => {
      asked++;
      return encodeSubmitResults(decodeTxBatch(req).map(() => ({ ok: true as const, txid: 'ab'.repeat(32) })));
    });
    const p2p = await createP2PNode({ privateKey: await peerKeyFromValidator(net.keys.get('0' as ShardId)!), networkId: G.networkId, allowedPeers, peers: imp.multiaddrs(), heartbeatMs: 200, dialBackoff: { initialMs: 100, maxMs: 500 } });
    closers.push(() => p2p.close());
    const tn = await TriadNetwork.start({ p2p, genesis: G, shard: '0' as ShardId, validatorKey: net.keys.get('0' as ShardId)!, timing: { syncIntervalMs: 0 } });
    closers.push(() => tn.close());
    const topic = txTopic(G.networkId, '1' as ShardId);
    for (const t0 = Date.now(); !p2p.topicPeers(topic).includes(imp.peerId);) {
      if (Date.now() - t0 > 15_000) throw new Error('the impostor\'s subscription never arrived');
      await sleep(50);
    }
    const txs = [new Uint8Array([1, 2, 3])];
    assert.equal(await tn.submitTo('1' as ShardId, txs), undefined, 'no verdict without the home validator');
    await assert.rejects(tn.publishTxs('1' as ShardId, txs), /home-unreachable/, 'the impostor\'s subscription does not count as reaching home');
    assert.equal(asked, 0, 'the impostor was ShardId asked');
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {});
  }
});
