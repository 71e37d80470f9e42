// Yamux window updates (src/gossip/yamux-window.ts): one per half receive window, not one per data
// frame; real libp2p over loopback TCP. test/write-coalescing.test.ts moves a 1.5 MB answer (six
// windows) through the same streams.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';
import { createP2PNode, type P2PNode } from '../src/gossip/p2p.js';
import { windowUpdateDue } from '../src/gossip/yamux-window.js';
import { waitFor } from './support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'smt-yamux-window-'));
const nodes: P2PNode[] = [];
after(async () => {
  await Promise.allSettled(nodes.map((n) => n.close()));
  rmSync(dir, { recursive: true, force: true });
});

test('a window update is due once half the receive window is used, or whenever it carries flags', () => {
  const W = 256 * 1024;
  assert.equal(windowUpdateDue({ state: StreamState.Established, recvWindow: W, recvWindowCapacity: W - 400 }), false);
  assert.equal(windowUpdateDue({ state: StreamState.Established, recvWindow: W, recvWindowCapacity: W / 2 + 1 }), false);
  assert.equal(windowUpdateDue({ state: StreamState.Established, recvWindow: W, recvWindowCapacity: W / 2 }), true);
  assert.equal(windowUpdateDue({ state: StreamState.SYNReceived, recvWindow: W, recvWindowCapacity: W - 400 }), true, 'the ACK goes out');
  assert.equal(windowUpdateDue({ state: StreamState.Paused, recvWindow: W, recvWindowCapacity: W - 400 }), true, "a paused stream: the library's own bookkeeping");
});

test('300 gossip messages cost the sender a handful of window-update frames, not one per message, and all arrive', async () => {
  const proto = YamuxStream.prototype as unknown as { handleWindowUpdate(this: unknown, frame: unknown): void };
  const handle = proto.handleWindowUpdate;
  let updates = 0;
  proto.handleWindowUpdate = function (frame) {
    updates++;
    handle.call(this, frame);
  };
  try {
    const a = await createP2PNode({ peerKeyFile: join(dir, 'a.key'), networkId: 'yamux-window', heartbeatMs: 200 });
    nodes.push(a);
    const b = await createP2PNode({ peerKeyFile: join(dir, 'b.key'), networkId: 'yamux-window', peers: a.multiaddrs(), heartbeatMs: 200 });
    nodes.push(b);
    const topic = '/smt/yamux-window/apex';
    let got = 0;
    a.subscribe(topic, () => {});
    b.subscribe(topic, () => { got++; });
    await waitFor('A knows B subscribes', () => a.topicPeers(topic).includes(b.peerId));
    const before = updates;
    for (let i = 0; i < 300; i++) {
      const m = new Uint8Array(400);
      m[0] = i & 0xff; m[1] = i >> 8;
      await a.publish(topic, m);
      await new Promise((r) => setTimeout(r, 2)); // one data frame per message, as gossip spread over time sends them
    }
    await waitFor('all 300 delivered', () => got === 300);
    const during = updates - before;
    // 300 x ~450 bytes is about half of one 256 KiB window: at most one update from B, plus any
    // heartbeat traffic's own (flags); before, B sent one per message
    assert.ok(during <= 10, `window-update frames received while 300 messages went A -> B: ${during}`);
  } finally {
    proto.handleWindowUpdate = handle;
  }
});
