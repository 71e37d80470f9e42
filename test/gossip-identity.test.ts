// Peer identity and admission rules, pure: the genesis -> peer id -> shard mapping (src/gossip/identity.ts)
// and the gater / request budget (src/gossip/admission.ts), without any network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { keyPairFromSeed } from '../src/core/ed25519.js';
import { allShards, type ShardId } from '../src/core/ids.js';
import { peerIdOfPublicKey, peerKeyFromValidator, PeerKeyError, validatorPeers } from '../src/gossip/identity.js';
import { allowListGater, composeGaters, RequestBudget } from '../src/gossip/admission.js';
import { makeTestNet } from './hierarchy-fixtures.js';

const net = makeTestNet(2, 'idnet');

test("a validator's peer id is libp2p's own peer id of its key, and the genesis maps every shard to it and back", async () => {
  const peers = validatorPeers(net.genesis);
  assert.equal(peers.byShard.size, 9);
  assert.equal(peers.ids.size, 9, 'nine distinct peer ids');
  for (const s of allShards(2)) {
    const kp = net.keys.get(s)!;
    const libp2pId = peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', kp.secretKey.subarray(0, 32))).toString();
    assert.equal(peers.byShard.get(s), libp2pId, `shard ${s}`);
    assert.equal(peerIdFromPrivateKey(await peerKeyFromValidator(kp)).toString(), libp2pId, 'the node runs under that id');
    assert.equal(peers.shardOf(libp2pId), s);
  }
  const stranger = keyPairFromSeed(new Uint8Array(32).fill(7));
  const id = peerIdOfPublicKey(stranger.publicKey);
  assert.equal(peers.shardOf(id), undefined, 'a key outside the genesis maps to no shard');
  assert.ok(!peers.ids.has(id));
});

test('a damaged validator key pair (public key not derived from the seed, wrong lengths) is refused with PeerKeyError', async () => {
  const a = net.keys.get('00' as ShardId)!, b = net.keys.get('01' as ShardId)!;
  const mixed = { publicKey: b.publicKey, secretKey: Uint8Array.from([...a.secretKey.subarray(0, 32), ...b.publicKey]) };
  await assert.rejects(peerKeyFromValidator(mixed), PeerKeyError);
  await assert.rejects(peerKeyFromValidator({ publicKey: a.publicKey, secretKey: a.secretKey.subarray(0, 32) }), PeerKeyError);
  assert.throws(() => peerIdOfPublicKey(new Uint8Array(31)), PeerKeyError);
});

test('the allow-list gater denies every stage for a peer outside the list and none for a listed one; composing denies what either denies', async () => {
  const denied: string[] = [];
  const g = allowListGater(new Set(['A', 'B']), (p, hook) => denied.push(`${p}:${hook}`));
  const hooks = ['denyDialPeer', 'denyInboundEncryptedConnection', 'denyOutboundEncryptedConnection', 'denyInboundUpgradedConnection', 'denyOutboundUpgradedConnection'] as const;
  for (const h of hooks) {
    assert.equal(g[h]('A'), false, h);
    assert.equal(g[h]('X'), true, h);
  }
  assert.equal(denied.length, hooks.length);
  const partition = { denyInboundEncryptedConnection: (p: { toString(): string }) => p.toString() === 'B' };
  const both = composeGaters(g, partition, undefined)!;
  assert.equal(await both.denyInboundEncryptedConnection!('A'), false);
  assert.equal(await both.denyInboundEncryptedConnection!('B'), true, 'the partition still cuts a listed peer');
  assert.equal(await both.denyInboundEncryptedConnection!('X'), true);
  assert.equal(await both.denyDialPeer!('B'), false, 'a hook only one gater has');
  assert.equal(composeGaters(undefined, partition), partition, 'one gater is used as is');
  assert.equal(composeGaters(), undefined);
});

test('request budget: a burst, then the sustained rate; a concurrency cap; released slots return; peers are independent', () => {
  const b = new RequestBudget({ ratePerS: 2, burst: 3, maxConcurrent: 2 });
  const t = 1_000_000;
  const a1 = b.admit('p', t), a2 = b.admit('p', t);
  assert.ok(a1.ok && a2.ok);
  assert.deepEqual(b.admit('p', t), { ok: false, code: 'busy' }, 'two in flight');
  if (a1.ok) { a1.release(); a1.release(); } // a double release frees one slot only
  const a3 = b.admit('p', t);
  assert.ok(a3.ok, 'the burst allows a third');
  if (a3.ok) a3.release();
  if (a2.ok) a2.release();
  assert.deepEqual(b.admit('p', t), { ok: false, code: 'rate-limited' }, 'burst of 3 used up');
  assert.ok(b.admit('q', t).ok, 'another peer has its own bucket');
  const later = b.admit('p', t + 500); // 0.5 s x 2/s = one token
  assert.ok(later.ok);
  if (later.ok) later.release();
  assert.deepEqual(b.admit('p', t + 500), { ok: false, code: 'rate-limited' });
  assert.throws(() => new RequestBudget({ ratePerS: 0 }), RangeError);
});

test('request budget: the peers tracked are bounded (idle ones are forgotten first)', () => {
  const b = new RequestBudget({ maxPeers: 4 });
  for (let i = 0; i < 100; i++) { const a = b.admit(`p${i}`); if (a.ok) a.release(); }
  assert.ok(b.size() <= 4, `${b.size()} tracked`);
});
