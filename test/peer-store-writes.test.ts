// No peer-store write per request stream (src/gossip/peer-store-writes.ts): the rule on a recording
// store, then two real libp2p nodes on loopback. Bounded in time.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSkippableMerge, skipRequestProtocolMerges, type MergingPeerStore } from '../src/gossip/peer-store-writes.js';
import { createP2PNode, type P2PNode } from '../src/gossip/p2p.js';
import { waitFor } from './support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'smt-psw-'));
const nodes: P2PNode[] = [];
after(async () => {
  await Promise.allSettled(nodes.map((n) => n.close()));
  rmSync(dir, { recursive: true, force: true });
});

const id = (s: string) => ({ toString: () => s });

test('only a merge that records one skipped protocol for another peer is answered without the store; everything else reaches it unchanged', async () => {
  const seen: unknown[] = [];
  const store: MergingPeerStore = { merge: async (p, data) => { seen.push([p.toString(), data]); return 'stored'; } };
  const skip = new Set(['/smt/x/fetch/1']);
  const restore = skipRequestProtocolMerges(store, 'me', skip);
  assert.equal(await store.merge(id('peer'), { protocols: ['/smt/x/fetch/1'] }), undefined);
  assert.equal(seen.length, 0, 'a request protocol of another peer: not written');
  const through: [string, Record<string, unknown>][] = [
    ['me', { protocols: ['/smt/x/fetch/1'] }], // our own record (what identify advertises)
    ['peer', { protocols: ['/meshsub/1.2.0'] }], // a protocol not in the set (gossipsub's topology)
    ['peer', { protocols: ['/smt/x/fetch/1', '/ipfs/id/1.0.0'] }],
    ['peer', { protocols: ['/smt/x/fetch/1'], tags: { a: { value: 1 } } }],
    ['peer', { multiaddrs: [] }],
  ];
  for (const [p, d] of through) assert.equal(await store.merge(id(p), d), 'stored');
  assert.deepEqual(seen, through);
  skip.add('/smt/x/submit/1'); // the set is read at each call
  await store.merge(id('peer'), { protocols: ['/smt/x/submit/1'] });
  assert.equal(seen.length, through.length);
  restore();
  await store.merge(id('peer'), { protocols: ['/smt/x/fetch/1'] });
  assert.equal(seen.length, through.length + 1, 'restored: every merge reaches the store again');
  assert.equal(isSkippableMerge({ protocols: [1] }, new Set(['1'])), false);
});

test('a request between two libp2p nodes writes nothing to either peer store, and is answered', { timeout: 30_000 }, async () => {
  const a = await createP2PNode({ peerKeyFile: join(dir, 'a.key'), networkId: 'psw', dialBackoff: { initialMs: 100, maxMs: 1000 } });
  nodes.push(a);
  const b = await createP2PNode({ peerKeyFile: join(dir, 'b.key'), networkId: 'psw', peers: a.multiaddrs(), dialBackoff: { initialMs: 100, maxMs: 1000 } });
  nodes.push(b);
  const P = '/smt/psw/echo/1';
  await a.handle(P, async (req) => req);
  await waitFor('connected', () => b.connectedPeers().includes(a.peerId));
  // count what reaches each store's own merge (the class method) about P
  const writes = { a: 0, b: 0 };
  for (const [k, n] of [['a', a], ['b', b]] as const) {
    const ps = n.libp2p.peerStore as unknown as MergingPeerStore;
    const proto = Object.getPrototypeOf(ps) as MergingPeerStore;
    const merge = proto.merge;
    proto.merge = function (this: MergingPeerStore, p, data, o) {
      if (this === ps && JSON.stringify(data).includes(P)) writes[k]++;
      return merge.call(this, p, data, o);
    };
  }
  for (let i = 0; i < 5; i++) assert.deepEqual(await b.request(a.peerId, P, new Uint8Array([i])), new Uint8Array([i]));
  assert.deepEqual(writes, { a: 0, b: 0 }, '5 requests: no peer-store merge at either end');
});
