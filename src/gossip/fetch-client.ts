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
    if (takes(o, b, peer)) return peer;
    if (o.stats) o.stats.fetchesRefused++;
    o.onRefused?.(peer, 'answer refused (does not verify)');
  }
  return undefined;
}

/** Whether `take` accepts a peer's answer; an answer that throws is refused with its reason. */
function takes(o: AskOptions, b: Uint8Array, peer: string): boolean {
  try {
    return o.take(b, peer);
  } catch (err) {
    o.onRefused?.(peer, (err as Error).message);
    return false;
  }
}

/**
 * Asks every peer at once and resolves to the first peer whose answer is taken (later answers are
 * dropped), or undefined once all failed or were refused. For requests with a deadline shorter
 * than one request timeout (a round's missing inputs): a silent first peer would hold a sequential
 * ask past the deadline, and the round would go on without an answer another peer had.
 */
export function askAtOnce(o: AskOptions): Promise<string | undefined> {
  return new Promise((resolve) => {
    let taken: string | undefined;
    let open = o.peers.length;
    const settle = (): void => { if (--open === 0 && taken === undefined) resolve(undefined); };
    if (open === 0) resolve(undefined);
    for (const peer of o.peers) {
      if (o.stats) o.stats.fetchesMade++;
      o.p2p.request(peer, o.protocol, o.request, { timeoutMs: o.timeoutMs }).then((b) => {
        if (b.length === 0 || taken !== undefined || o.cancelled?.()) return;
        if (takes(o, b, peer)) {
          taken = peer;
          resolve(peer);
          return;
        }
        if (o.stats) o.stats.fetchesRefused++;
        o.onRefused?.(peer, 'answer refused (does not verify)');
      }, (err: unknown) => {
        if (o.stats) o.stats.fetchesRefused++;
        if (taken === undefined) o.onRefused?.(peer, (err as Error).message);
      }).finally(settle);
    }
  });
}
