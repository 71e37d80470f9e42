// Socket write coalescing for libp2p connections (src/gossip/write-coalescing.ts): real loopback TCP.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coalesceWrites } from '../src/gossip/write-coalescing.js';
import { createP2PNode, type P2PNode } from '../src/gossip/p2p.js';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A loopback socket pair: the client end, and everything the server end receives. */
async function socketPair(): Promise<{ client: Socket; received: () => Buffer; server: Server }> {
  const chunks: Buffer[] = [];
  const server = createServer((s) => s.on('data', (b: Buffer) => chunks.push(b)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  cleanups.push(() => new Promise((r) => server.close(r)), () => client.destroy());
  return { client, received: () => Buffer.concat(chunks), server };
}

/** A connection of @libp2p/tcp's shape: `sendData` writes each buffer of the list with its own socket write. */
function tcpShaped(socket: Socket) {
  return {
    socket,
    sendData(data: Uint8Array[]) {
      let canSendMore = true;
      for (const b of data) canSendMore = socket.write(b);
      return { sentBytes: data.reduce((n, b) => n + b.length, 0), canSendMore };
    },
  };
}

const nextTick = (): Promise<void> => new Promise((r) => process.nextTick(r));

test('buffers written in one tick are held (corked) until the next tick, then reach the peer intact and in order', async () => {
  const { client, received } = await socketPair();
  const conn = tcpShaped(client);
  assert.equal(coalesceWrites(conn), true);
  const frames = [[Buffer.from([0, 3]), Buffer.from('abc')], [Buffer.from([0, 2]), Buffer.from('de')], [Buffer.from('f')]];
  for (const f of frames) conn.sendData(f);
  assert.equal(client.writableCorked, 1, 'the socket is corked after the first write of the tick');
  assert.equal(client.writableLength, 10, 'all 10 bytes wait for one writev');
  await nextTick();
  assert.equal(client.writableCorked, 0, 'uncorked on the next tick');
  const want = Buffer.concat(frames.flat());
  for (let i = 0; i < 100 && received().length < want.length; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(received(), want);
  // a later burst corks again
  conn.sendData([Buffer.from('g')]);
  assert.equal(client.writableCorked, 1);
  await nextTick();
  assert.equal(client.writableCorked, 0);
});

test('a connection that is not a TCP socket connection is left as it is', () => {
  const sendData = (): void => {};
  const conn = { sendData };
  assert.equal(coalesceWrites(conn), false);
  assert.equal(conn.sendData, sendData);
  assert.equal(coalesceWrites({ socket: {}, sendData }), false);
});

test('two libp2p nodes exchange a 1.5 MB answer (past the socket high-water mark: back-pressure and drain) and small requests, intact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smt-coalesce-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const nodes: P2PNode[] = [];
  cleanups.push(() => Promise.allSettled(nodes.map((n) => n.close())));
  const a = await createP2PNode({ peerKeyFile: join(dir, 'a.key'), networkId: 'coalesce' });
  nodes.push(a);
  const b = await createP2PNode({ peerKeyFile: join(dir, 'b.key'), networkId: 'coalesce', peers: a.multiaddrs() });
  nodes.push(b);
  const big = new Uint8Array(1_500_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
  await a.handle('/coalesce/1', async (req) => (req.length === 1 && req[0] === 1 ? big : req), undefined, { maxConcurrent: 32, burst: 64 });
  const t0 = Date.now();
  while (!b.connectedPeers().includes(a.peerId)) {
    assert.ok(Date.now() - t0 < 15_000, 'the nodes connect');
    await new Promise((r) => setTimeout(r, 50));
  }
  const res = await b.request(a.peerId, '/coalesce/1', Uint8Array.of(1), { timeoutMs: 15_000, maxResponseBytes: 2_000_000 });
  assert.equal(res.length, big.length);
  assert.ok(Buffer.from(res).equals(Buffer.from(big)), 'the large answer arrived byte for byte');
  const echoes = await Promise.all(Array.from({ length: 20 }, (_, i) => b.request(a.peerId, '/coalesce/1', Uint8Array.of(2, i), { timeoutMs: 15_000 })));
  echoes.forEach((e, i) => assert.deepEqual([...e], [2, i]));
});
