// Global-snapshot backfill: after a restart the node hears the network's newest global snapshots
// live, but not those of the epochs it was down for. This fills the holes in the node's global
// store from peers over /smt/<net>/fetch/1, each record verified (apex, epoch, the 2-of-3 chain down
// to the shards) before it is written. It complements TriadNetwork.syncNow, which stops as soon as
// the node already holds the peers' latest global snapshot (the usual case once gossip resumes).
import type { Genesis } from '../core/genesis.js';
import { decodeFinalAggregate, verifyFinalAggregate } from '../hierarchy/finality.js';
import type { GlobalStore, TriadNetwork } from '../gossip/network.js';
import type { P2PNode } from '../gossip/p2p.js';
import { encodeFetchRequest, fetchProtocol, FetchKind } from '../gossip/fetch.js';
import type { Logger } from './logger.js';

/** Same key as TriadNetwork's store (zero-padded epoch) so `globalAt` finds backfilled records. */
export const globalStoreKey = (epoch: number): string => epoch.toString().padStart(16, '0');

export interface BackfillOptions {
  net: Pick<TriadNetwork, 'latestGlobalEpoch' | 'globalAt'>;
  p2p: Pick<P2PNode, 'connectedPeers' | 'request'>;
  store: GlobalStore;
  genesis: Genesis;
  logger?: Logger;
  /** How far back from the latest global epoch holes are filled. */
  window?: number;
  /** Epochs fetched per pass (bounds the work after a long downtime). */
  perPass?: number;
  /** Attempts per missing epoch before giving up on it (no peer may have it, e.g. before any node ran). */
  attempts?: number;
  intervalMs?: number;
  fetchTimeoutMs?: number;
}

export class GlobalBackfill {
  private readonly o: Required<Omit<BackfillOptions, 'logger'>> & { logger?: Logger };
  private readonly tries = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;
  filled = 0;

  constructor(o: BackfillOptions) {
    this.o = { window: 32, perPass: 8, attempts: 3, intervalMs: 2000, fetchTimeoutMs: 2000, ...o };
  }

  start(): void {
    this.timer = setInterval(() => void this.pass(), this.o.intervalMs);
    this.timer.unref();
  }

  /** The epochs in the window below the latest global epoch that this node has no global snapshot of. */
  async missing(): Promise<number[]> {
    const top = this.o.net.latestGlobalEpoch();
    const out: number[] = [];
    for (let e = top - 1; e >= Math.max(0, top - this.o.window); e--) {
      if ((this.tries.get(e) ?? 0) >= this.o.attempts) continue;
      if (!(await this.o.net.globalAt(e))) out.push(e);
    }
    return out;
  }

  /** One pass: fetch up to `perPass` missing epochs (newest first). */
  async pass(): Promise<void> {
    if (this.running || this.closed) return;
    this.running = true;
    try {
      const todo = (await this.missing()).slice(0, this.o.perPass);
      for (const e of todo) {
        if (this.closed) return;
        this.tries.set(e, (this.tries.get(e) ?? 0) + 1);
        if (await this.fetchOne(e)) {
          this.tries.delete(e);
          this.filled++;
        }
      }
      // forget attempts that fell out of the window
      const floor = this.o.net.latestGlobalEpoch() - this.o.window;
      for (const e of this.tries.keys()) if (e < floor) this.tries.delete(e);
    } finally {
      this.running = false;
    }
  }

  private async fetchOne(epoch: number): Promise<boolean> {
    const { p2p, genesis, store } = this.o;
    const req = encodeFetchRequest({ kind: FetchKind.globalAt, path: '', epoch });
    for (const peer of p2p.connectedPeers().slice(0, 3)) {
      try {
        const b = await p2p.request(peer, fetchProtocol(genesis.networkId), req, { timeoutMs: this.o.fetchTimeoutMs });
        if (b.length === 0) continue;
        const fa = decodeFinalAggregate(b);
        const ok = fa.aggregate.path === '' && fa.aggregate.epoch === epoch && verifyFinalAggregate(fa, genesis).ok;
        if (!ok) {
          this.o.logger?.warn({ peer, epoch }, 'peer served an invalid global snapshot');
          continue;
        }
        if (this.closed) return false;
        await store.put(globalStoreKey(epoch), b);
        this.o.logger?.info({ epoch, peer }, 'global snapshot backfilled');
        return true;
      } catch (err) {
        this.o.logger?.debug({ peer, epoch, err: (err as Error).message }, 'global backfill fetch failed');
      }
    }
    return false;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }
}
