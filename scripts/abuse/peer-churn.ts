// Attack 5 of issue #22 (cheap identities), as load: fresh libp2p peer ids, a new one per
// connection, dial the target node and each ask 5 catch-up fetches (latest global snapshot and
// global snapshots of recent epochs), then hang up; 8 at a time, for the whole run. Counted: the
// fetch requests attempted (5 per fresh id, also when its connection is refused). Before the
// genesis allow list every id was admitted and served; after, each is refused at the handshake.
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { createP2PNode } from '../../src/gossip/p2p.js';
import { encodeFetchRequest, FetchKind, fetchProtocol } from '../../src/gossip/fetch.js';
import type { AbuseModule } from '../bench-abuse.js';
import type { SecCluster } from '../../test/security/harness.js';

const TARGET = '0';
const PER_PEER = 5;
const PARALLEL = 8;

const mod: AbuseModule = {
  name: 'peer-churn',
  what: `fresh peer ids (${PARALLEL} at a time) connect to shard ${TARGET} and each ask ${PER_PEER} catch-up fetches`,
  target: TARGET,
  async run(c: SecCluster, seconds: number): Promise<number> {
    const s = c.byShard(TARGET);
    const addr = multiaddr(`/ip4/${s.p2pHost}/tcp/${s.p2pPort}`);
    const net = c.genesis.networkId;
    const deadline = Date.now() + seconds * 1000;
    let peers = 0, connected = 0, answered = 0, n = 0;
    const one = async (): Promise<void> => {
      const id = n++;
      const node = await createP2PNode({ peerKeyFile: join(c.tmp, `churn-${id}.key`), networkId: net });
      peers++;
      try {
        const conn = await node.libp2p.dial(addr, { signal: AbortSignal.timeout(2000) });
        connected++;
        const peer = conn.remotePeer.toString();
        const top = c.epochNow();
        for (let k = 0; k < PER_PEER; k++) {
          const q = k === 0 ? { kind: FetchKind.globalLatest, path: '', epoch: 0 } : { kind: FetchKind.globalAt, path: '', epoch: Math.max(0, top - 2 - k) };
          const b = await node.request(peer, fetchProtocol(net), encodeFetchRequest(q as never), { timeoutMs: 2000 }).catch(() => undefined);
          if (b && b.length > 0) answered++;
        }
      } catch {
        // refused: the attacker moves on to the next fresh id
      } finally {
        await node.close().catch(() => {});
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (Date.now() < deadline) await one();
    }));
    console.log(`peer-churn: ${peers} fresh peer ids, ${connected} completed a dial (their own view), ${answered} of ${peers * PER_PEER} fetches answered`);
    return peers * PER_PEER;
  },
};
export default mod;
