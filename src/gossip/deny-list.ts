// An operator's deny list of peers (`smt node start --deny-peers FILE`, env SMT_DENY_PEERS): a
// file of peer ids, one per line ('#' starts a comment), reread when it changes (checked at most
// every pollMs/2), so peers can be cut off and let back in without a restart. A denied peer is
// refused at every stage of a libp2p connection (dial, inbound, outbound), its live connections
// are closed, and a replica neither sends to nor answers a denied replica (src/node/replica.ts).
// A missing or unreadable file denies no one. Tests cut and heal real processes by rewriting it.
import { readFileSync, statSync } from 'node:fs';
import type { Gater } from './admission.js';

interface PeerLike { toString(): string }
interface ConnLike { remotePeer: PeerLike; abort(err: Error): void }
interface NodeLike { getConnections(): ConnLike[] }

export interface PeerDenyList {
  /** Whether `peer` (a peer id string) is denied now. */
  has(peer: string): boolean;
  /** libp2p `connectionGater` hooks denying the listed peers. */
  readonly gater: Required<Gater>;
  /** Closes live connections to denied peers every pollMs until the returned function is called. */
  attach(node: NodeLike): () => void;
}

/** Parses a deny-list file's text: the denied peer ids. */
export function parseDenyList(text: string): Set<string> {
  const out = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line) out.add(line);
  }
  return out;
}

/** The deny list kept in `file`. */
export function denyListFile(file: string, pollMs = 200): PeerDenyList {
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
        denied = parseDenyList(readFileSync(file, 'utf8'));
      }
    } catch {
      // no file (yet, or removed): no one denied
      stamp = '';
      denied = new Set();
    }
    return denied;
  };
  const deny = (peer: PeerLike): boolean => refresh().has(peer.toString());
  return {
    has: (peer) => refresh().has(peer),
    gater: {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
      denyInboundUpgradedConnection: deny,
      denyOutboundUpgradedConnection: deny,
    },
    attach(node) {
      const timer = setInterval(() => {
        const d = refresh();
        if (d.size === 0) return;
        for (const c of node.getConnections()) {
          if (d.has(c.remotePeer.toString())) c.abort(new Error('peer is deny-listed'));
        }
      }, pollMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
