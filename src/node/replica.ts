// The HTTP edge of a replica of a replicated shard (docs/REPLICAS.md): the replica protocol itself
// (src/replica/replica.ts) on the wall clock and Node's timers, its messages as POSTs between the
// replicas' APIs, its vote record a file in the data directory; plus the routes that answer the
// other replicas and the forwarding of submissions to the writer.
import type { KeyPair } from '../core/ed25519.js';
import { replicaKeys, type Genesis } from '../core/genesis.js';
import { realScheduler } from '../core/scheduler.js';
import type { Shard } from '../shard/shard.js';
import { Replica, ReplicaRequestError, type ReplicaPath, type ReplicaStatus, type ReplicaTransport } from '../replica/replica.js';
import { fileVoteRecord } from '../replica/vote-store.js';
import { HttpError, type ApiRequest, type ApiResponse, type Router } from './http.js';
import type { PeerDenyList } from '../gossip/deny-list.js';
import { peerIdOfPublicKey } from '../gossip/identity.js';
import type { Logger } from './logger.js';

export type { ReplicaRole, ReplicaStatus } from '../replica/replica.js';

export interface ReplicaServiceOptions {
  shard: Shard;
  genesis: Genesis;
  key: KeyPair;
  index: number;
  /** API base URLs of every replica of the shard, in replica order (this one's included). */
  urls: string[];
  dataDir: string;
  logger: Logger;
  /** Write lease (default 2 x epochMs). */
  leaseMs?: number;
  /** Starts the epoch clock (called on becoming writer); its seal must go through sealAsWriter(). */
  startClock: () => { stop(): Promise<void> };
  /** This replica holds epochs its writer does not: its data must be discarded and resynced. */
  onResync: (why: string) => void;
  /** Replicas whose peer id it lists are unreachable both ways (the operator's --deny-peers list). */
  denyList?: Pick<PeerDenyList, 'has'>;
}

export class ReplicaService {
  readonly replica: Replica;
  private readonly o: ReplicaServiceOptions;

  constructor(o: ReplicaServiceOptions) {
    this.o = o;
    const keys = replicaKeys(o.genesis, o.shard.id);
    if (o.urls.length !== keys.length) throw new Error(`--replica-urls lists ${o.urls.length} URLs, shard "${o.shard.id}" has ${keys.length} replicas in genesis`);
    // replicas on the deny list (options.denyList) are unreachable both ways
    const deny = o.denyList;
    const peerIds = keys.map((k) => peerIdOfPublicKey(k));
    const cut = deny ? (r: number) => deny.has(peerIds[r]!) : () => false;
    const log = o.logger.child({ module: 'replica', replica: o.index });
    // performance.now() counts from this process's start: processStart 0
    this.replica = new Replica({
      shard: o.shard, genesis: o.genesis, key: o.key, index: o.index, logger: o.logger, leaseMs: o.leaseMs, startClock: o.startClock, onResync: o.onResync,
      scheduler: realScheduler, mono: () => performance.now(), processStart: 0, random: Math.random, votes: fileVoteRecord(o.dataDir),
      transport: httpTransport(o.urls, cut, log), refuseFrom: cut,
    });
  }

  /** 'committed' (SealedEvent): an epoch this writer sealed is durable on a majority; 'writer': this replica became the writer. */
  get events(): Replica['events'] {
    return this.replica.events;
  }

  status(): ReplicaStatus {
    return this.replica.status();
  }

  committedEpoch(): number {
    return this.replica.committedEpoch();
  }

  isWriter(): boolean {
    return this.replica.isWriter();
  }

  canSignRound(epoch: number): boolean {
    return this.replica.canSignRound(epoch);
  }

  sealAsWriter(): Promise<void> {
    return this.replica.sealAsWriter();
  }

  addRoutes(router: Router): void {
    // each route written out: test/openapi.test.ts finds the served routes by their router.add lines
    const handle = (path: ReplicaPath) => async (req: ApiRequest): Promise<ApiResponse> => {
      try {
        return { json: await this.replica.handle(path, await req.json()) };
      } catch (e) {
        if (e instanceof ReplicaRequestError) throw new HttpError(e.status, e.code, e.message);
        throw e;
      }
    };
    router.add('POST', '/v1/replica/pull', handle('/v1/replica/pull'));
    router.add('POST', '/v1/replica/vote', handle('/v1/replica/vote'));
    router.add('POST', '/v1/replica/state', handle('/v1/replica/state'));
    router.add('GET', '/v1/replica/status', () => ({ json: this.status() }));
  }

  /** POST /v1/tx on a replica that is not the writer: the writer's answer, or 503 if none is known.
   * The client's Prefer header goes along (a batch asking for `return=minimal` gets the short answer
   * through a follower too) and the writer's answer is passed on as it came, without a re-encoding. */
  async forwardTx(contentType: string, body: Uint8Array, prefer?: string): Promise<ApiResponse | undefined> {
    if (this.replica.isWriter()) return undefined;
    const w = this.replica.writerIndex();
    if (w === null) return { status: 503, headers: { 'retry-after': '1' }, json: { error: { code: 'no-writer', message: 'no writer is known for this shard right now (an election is under way); retry' } } };
    try {
      const res = await fetch(`${this.o.urls[w]}/v1/tx`, { method: 'POST', headers: { 'content-type': contentType, ...(prefer ? { prefer } : {}) }, body, signal: AbortSignal.timeout(10_000) });
      // a writer answers JSON; anything else is no answer
      if (!res.headers.get('content-type')?.startsWith('application/json')) throw new Error(`writer answered ${res.headers.get('content-type')}`);
      const jsonText = await res.text();
      const headers: Record<string, string> = {};
      for (const h of ['retry-after', 'preference-applied']) {
        const v = res.headers.get(h);
        if (v) headers[h] = v;
      }
      return { status: res.status, headers, jsonText };
    } catch {
      return { status: 503, headers: { 'retry-after': '1' }, json: { error: { code: 'no-writer', message: `the writer (replica ${w}) did not answer; retry` } } };
    }
  }

  close(): Promise<void> {
    return this.replica.close();
  }
}

/** The replica messages as JSON POSTs to the other replicas' APIs; a refusal or a failure is no answer. */
function httpTransport(urls: string[], cut: (replica: number) => boolean, log: Logger): ReplicaTransport {
  return {
    async post(to, path, body, timeoutMs) {
      if (cut(to)) {
        await new Promise((r) => setTimeout(r, Math.min(timeoutMs, 200)));
        return undefined;
      }
      try {
        const res = await fetch(`${urls[to]}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(Math.round(timeoutMs)) });
        if (!res.ok) {
          log.debug({ to, path, status: res.status, body: await res.text() }, 'replica request refused');
          return undefined;
        }
        return await res.json();
      } catch (e) {
        log.debug({ to, path, err: (e as Error).message }, 'replica request failed');
        return undefined;
      }
    },
  };
}
