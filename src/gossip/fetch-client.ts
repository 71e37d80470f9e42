// The one client of the request/response protocols: asks peers in turn until one answer is taken.
// An empty answer, an error, a timeout or an answer the caller refuses moves on to the next peer:
// no peer's answer counts unless the caller's check accepts it.
import type { P2PNode } from './p2p.js';

export interface AskStats {
  fetchesMade: number;
  /** Answers refused by the caller's check, and failed requests. */
  fetchesRefused: number;
}

export interface AskOptions {
  p2p: Pick<P2PNode, 'request'>;
  protocol: string;
  peers: readonly string[];
  request: Uint8Array;
  timeoutMs: number;
  /** Called with each non-empty answer: true takes it (stop), false asks the next peer. */
  take: (answer: Uint8Array, peer: string) => boolean;
  stats?: AskStats;
  /** Told about each failed request and each refused answer (logs). */
  onRefused?: (peer: string, why: string) => void;
  /** Stop early (e.g. the asker closed or no longer needs the answer). */
  cancelled?: () => boolean;
}

/** Resolves to the peer whose answer was taken, or undefined. */
export async function askInTurn(o: AskOptions): Promise<string | undefined> {
  for (const peer of o.peers) {
    if (o.cancelled?.()) return undefined;
    let b: Uint8Array;
    try {
      if (o.stats) o.stats.fetchesMade++;
      b = await o.p2p.request(peer, o.protocol, o.request, { timeoutMs: o.timeoutMs });
    } catch (err) {
      if (o.stats) o.stats.fetchesRefused++;
      o.onRefused?.(peer, (err as Error).message);
      continue;
    }
    if (b.length === 0) continue;
    let ok: boolean;
    try {
      ok = o.take(b, peer);
    } catch (err) {
      ok = false;
      o.onRefused?.(peer, (err as Error).message);
    }
    if (ok) return peer;
    if (o.stats) o.stats.fetchesRefused++;
    o.onRefused?.(peer, 'answer refused (does not verify)');
  }
  return undefined;
}
