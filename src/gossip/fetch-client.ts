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
 * Asks the peers in order, each as soon as the one before it has failed or answered nothing usable,
 * or has been silent for `hedgeMs` (0: all at once), and resolves to the first peer whose answer is
 * taken (later answers are dropped), or undefined once all failed or were refused. For requests with
 * a deadline shorter than one request timeout (a round's missing inputs): a silent first peer would
 * hold a sequential ask past the deadline, and the round would go on without an answer another peer
 * had; hedged, it holds the next one back by `hedgeMs` at most. When the first peer answers (the usual
 * case) it is the only one asked: one request stream instead of one per peer.
 */
export function askAtOnce(o: AskOptions & { hedgeMs?: number; after?: (ms: number, fn: () => void) => () => void }): Promise<string | undefined> {
  const hedgeMs = o.hedgeMs ?? 0;
  const after = o.after ?? ((ms: number, fn: () => void) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  });
  return new Promise((resolve) => {
    let taken: string | undefined;
    let next = 0;
    let open = 0;
    let cancelHedge: (() => void) | undefined;
    const settled = (): boolean => taken !== undefined || o.cancelled?.() === true;
    const finish = (peer: string | undefined): void => {
      cancelHedge?.();
      cancelHedge = undefined;
      resolve(peer);
    };
    const launch = (): void => {
      cancelHedge?.();
      cancelHedge = undefined;
      if (next >= o.peers.length || settled()) {
        if (open === 0 && taken === undefined) finish(undefined);
        return;
      }
      const peer = o.peers[next++]!;
      open++;
      if (o.stats) o.stats.fetchesMade++;
      o.p2p.request(peer, o.protocol, o.request, { timeoutMs: o.timeoutMs }).then((b) => {
        if (b.length === 0 || settled()) return;
        if (takes(o, b, peer)) {
          taken = peer;
          finish(peer);
          return;
        }
        if (o.stats) o.stats.fetchesRefused++;
        o.onRefused?.(peer, 'answer refused (does not verify)');
      }, (err: unknown) => {
        if (o.stats) o.stats.fetchesRefused++;
        if (taken === undefined) o.onRefused?.(peer, (err as Error).message);
      }).finally(() => {
        open--;
        if (taken !== undefined) return;
        // nothing usable from this peer: the next one now (if not asked already), or the end
        if (next < o.peers.length && !settled()) launch();
        else if (open === 0) finish(undefined);
      });
      if (next < o.peers.length) {
        if (hedgeMs <= 0) launch();
        else cancelHedge = after(hedgeMs, launch);
      }
    };
    launch();
  });
}
