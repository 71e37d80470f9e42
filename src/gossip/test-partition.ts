// TEST ONLY: a network partition for fault-injection tests, enabled solely by the environment
// variable SMT_TEST_PARTITION_FILE. The file lists peer ids (one per line, '#' comments) this node
// must not talk to; the test rewrites it to cut and heal the gossip network. Denied peers are
// refused at every stage of a connection (dial, inbound, outbound) and existing connections to
// them are closed. Without the variable nothing here runs and no gater is installed.
import { readFileSync, statSync } from 'node:fs';

export const PARTITION_ENV = 'SMT_TEST_PARTITION_FILE';

interface PeerLike { toString(): string }
interface ConnLike { remotePeer: PeerLike; close(): Promise<void>; abort(err: Error): void }
interface NodeLike { getConnections(): ConnLike[] }

export interface TestPartition {
  /** libp2p `connectionGater` options. */
  gater: {
    denyDialPeer(peer: PeerLike): boolean;
    denyInboundEncryptedConnection(peer: PeerLike): boolean;
    denyOutboundEncryptedConnection(peer: PeerLike): boolean;
    denyInboundUpgradedConnection(peer: PeerLike): boolean;
    denyOutboundUpgradedConnection(peer: PeerLike): boolean;
  };
  /** Starts closing live connections to denied peers (polls the file). */
  attach(node: NodeLike): void;
  denied(): ReadonlySet<string>;
  stop(): void;
}

/** Parses a partition file's text: the denied peer ids. */
export function parsePartitionFile(text: string): Set<string> {
  const out = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line) out.add(line);
  }
  return out;
}

/** The partition from the environment, or undefined when the variable is not set (production). */
export function testPartitionFromEnv(env: NodeJS.ProcessEnv = process.env, pollMs = 200): TestPartition | undefined {
  const file = env[PARTITION_ENV];
  if (!file) return undefined;
  let denied = new Set<string>();
  let stamp = '';
  let checkedAt = 0;
  const refresh = (): ReadonlySet<string> => {
    const now = Date.now();
    if (now - checkedAt < pollMs / 2) return denied;
    checkedAt = now;
    try {
      const st = statSync(file);
      const s = `${st.mtimeMs}:${st.size}`;
      if (s !== stamp) {
        stamp = s;
        denied = parsePartitionFile(readFileSync(file, 'utf8'));
      }
    } catch {
      // no file (yet, or removed): no partition
      stamp = '';
      denied = new Set();
    }
    return denied;
  };
  const deny = (peer: PeerLike): boolean => refresh().has(peer.toString());
  let timer: NodeJS.Timeout | undefined;
  return {
    gater: {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
      denyInboundUpgradedConnection: deny,
      denyOutboundUpgradedConnection: deny,
    },
    attach(node) {
      timer = setInterval(() => {
        const d = refresh();
        if (d.size === 0) return;
        for (const c of node.getConnections()) {
          if (d.has(c.remotePeer.toString())) c.abort(new Error('test partition'));
        }
      }, pollMs);
      timer.unref();
    },
    denied: refresh,
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
