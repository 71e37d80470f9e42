// Attack 5 of issue #22 (cheap identities), as load: fresh libp2p peer ids, a new one per
// connection, dial the target node and each ask up to 5 catch-up fetches (latest global snapshot
// and global snapshots of recent epochs), then hang up; 8 at a time for the whole run. The attacker
// is a bare libp2p node (TCP, noise, yamux: no gossipsub), so a fresh identity costs it a key pair.
// A refused or unanswered id gives up at once and the next one dials. Counted: fetch requests sent.
// Before the genesis allow list every id was admitted and served; after, each is refused at the
// handshake.
import { createLibp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { multiaddr } from '@multiformats/multiaddr';
import { encodeFetchRequest, FetchKind, fetchProtocol } from '../../src/gossip/fetch.js';
import type { AbuseModule } from '../bench-abuse.js';
import type { SecCluster } from '../../test/security/harness.js';

const TARGET = '0';
const PER_PEER = 5;
const PARALLEL = 8;

const mod: AbuseModule = {
  name: 'peer-churn',
  what: `fresh peer ids (${PARALLEL} at a time) connect to shard ${TARGET} and each ask up to ${PER_PEER} catch-up fetches`,
  target: TARGET,
  async run(c: SecCluster, seconds: number): Promise<number> {
    const s = c.byShard(TARGET);
    const addr = multiaddr(`/ip4/${s.p2pHost}/tcp/${s.p2pPort}`);
    const protocol = fetchProtocol(c.genesis.networkId);
    const deadline = Date.now() + seconds * 1000;
    let peers = 0, connected = 0, answered = 0, sent = 0;
    const one = async (): Promise<void> => {
      const node = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] });
      peers++;
      try {
        const conn = await node.dial(addr, { signal: AbortSignal.timeout(2000) });
        connected++;
        const top = c.epochNow();
        for (let k = 0; k < PER_PEER; k++) {
          const q = k === 0 ? { kind: FetchKind.globalLatest, path: '', epoch: 0 } : { kind: FetchKind.globalAt, path: '', epoch: Math.max(0, top - 2 - k) };
          sent++;
          const signal = AbortSignal.timeout(1000);
          const stream = await node.dialProtocol(conn.remotePeer, protocol, { signal });
          signal.addEventListener('abort', () => stream.abort(new Error('timeout')), { once: true });
          stream.send(encodeFetchRequest(q as never));
          await stream.close();
          let n = 0, status = -1;
          for await (const chunk of stream) {
            const b = chunk instanceof Uint8Array ? chunk : chunk.subarray();
            if (status < 0 && b.length > 0) status = b[0]!;
            n += b.length;
          }
          if (status !== 0) break; // refused: on to the next fresh id
          if (n > 1) answered++;
        }
      } catch {
        // refused or cut: the attacker moves on to the next fresh id
      } finally {
        await Promise.resolve(node.stop()).catch(() => {});
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (Date.now() < deadline) await one();
    }));
    console.log(`peer-churn: ${peers} fresh peer ids (${(peers / seconds).toFixed(1)}/s), ${connected} completed a dial (their own view), ${answered} of ${sent} fetches sent answered`);
    return sent;
  },
};
export default mod;
