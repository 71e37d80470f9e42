// Wiring of one shard node: build the shard, then the network layer (libp2p gossip, when asked
// for), then the epoch clock, then the HTTP API; close in exactly the reverse order. Each layer is a `Component` so a gossip
// layer (libp2p) slots in between the shard and the API without touching the others.
import { join } from 'node:path';
import type { Server } from 'node:http';
import { Shard, type SealedEvent } from '../shard/shard.js';
import type { Genesis } from '../core/genesis.js';
import { parseShardId, type ShardId } from '../core/ids.js';
import { buildApi } from './api.js';
import { closeServer, createHttpServer, listen, DEFAULT_API_PORT, type HttpLimits } from './http.js';
import { createLogger, type Logger } from './logger.js';
import { txVerifierName } from '../core/tx-signature.js';
import { createMetrics, TPS_WINDOW_EPOCHS, type NodeMetrics } from './metrics.js';
import { EpochTimer } from './epoch-timer.js';
import { loadNetworkGenesis, loadReplicaKey } from './network-dir.js';
import { isReplicated } from '../core/genesis.js';
import { ReplicaService } from './replica.js';
import { stateSyncIfBehind } from '../replica/state-sync.js';
import { DEFAULT_STATE_SYNC_AFTER } from '../replica/state-sync-verify.js';
import { startGossip, type GossipOptions } from './gossip.js';
import type { ReplicaHooks } from './attach.js';
import { EventEmitter } from 'node:events';
import { addProofRoutes } from './proof-api.js';
import { ProvingService, type ProvingOptions } from './proving/service.js';
import type { TriadNetwork } from '../gossip/network.js';
import { denyListFile } from '../gossip/deny-list.js';
import { VerifyHold, verifyHoldMs } from './verify-hold.js';
import type { P2PNode } from '../gossip/p2p.js';

export { DEFAULT_API_PORT };

/**
 * Nice value of a node's signature-verification threads: below its event loop (seals, snapshot
 * publication, aggregation signatures, finals), which then never waits for a core behind a batch
 * of signature checks; above a standalone node's own prover child (nice 10, src/proof/prover.ts).
 */
export const VERIFY_NICE = 5;

export interface NodeOptions {
  networkDir: string;
  shard?: string; // may be omitted for a depth-0 network
  dataDir?: string; // default: <networkDir>/data/<shard or "root">
  apiHost?: string; // default 127.0.0.1
  apiPort?: number; // default 7700; 0 = ephemeral
  logger?: Logger;
  verifyWorkers?: number;
  /** Bound on pending transactions (default 200000): beyond it submissions get 503 + Retry-After. */
  mempoolMax?: number;
  maxBodyBytes?: number;
  /** HTTP connection, timeout and per-client rate limits (defaults: DEFAULT_HTTP_LIMITS in http.ts). */
  httpLimits?: Partial<HttpLimits>;
  /** Shard id -> URL a browser reaches its node at, for the explorer page (default: cluster.json's). */
  explorerNodes?: ReadonlyMap<string, string>;
  /** Disable the epoch clock (tests and benchmarks that seal by hand). */
  manualSeal?: boolean;
  /**
   * Layers started after the shard and before the epoch clock and the API, closed in reverse order
   * (after the API and the clock, before the shard). The slot for the gossip layer (libp2p).
   */
  layers?: LayerFactory[];
  /** The network layer (libp2p gossip + triad aggregation); depth >= 1 only. Omitted: standalone. */
  gossip?: GossipOptions;
  /** Global state proofs (src/node/proving/); needs `gossip`. Omitted: no proving layer. */
  proving?: ProvingOptions;
  /** A replicated shard (docs/REPLICAS.md): this replica's index and every replica's API URL. */
  replica?: { index: number; urls: string[]; leaseMs?: number; /** State sync when more than this many epochs behind (default DEFAULT_STATE_SYNC_AFTER). */ stateSyncAfter?: number };
  /** A file of peer ids refused by libp2p and by the replica layer, reread when it changes (src/gossip/deny-list.ts). */
  denyPeersFile?: string;
}


/** Anything the node opens and must close on shutdown. */
export interface Component {
  name: string;
  close(): Promise<void>;
}

/** What a layer between the shard and the API gets to build itself. */
export interface LayerContext {
  shard: Shard;
  genesis: Genesis;
  logger: Logger;
  metrics: NodeMetrics;
}

export type LayerFactory = (ctx: LayerContext) => Promise<Component>;

export class SmtNode {
  readonly shard: Shard;
  readonly genesis: Genesis;
  readonly url: string;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  readonly dataDir: string;
  /** The network layer, when started with `gossip`. */
  readonly net: TriadNetwork | undefined;
  readonly p2p: P2PNode | undefined;
  /** The replica layer of a replicated shard. */
  readonly replica: ReplicaService | undefined;
  /** Resolves with a reason when this replica must discard its data and resync (the CLI restarts it). */
  readonly resync: Promise<string>;
  private readonly components: Component[];
  private closing: Promise<void> | undefined;

  private constructor(f: { shard: Shard; genesis: Genesis; url: string; metrics: NodeMetrics; logger: Logger; dataDir: string; components: Component[]; net?: TriadNetwork; p2p?: P2PNode; replica?: ReplicaService; resync: Promise<string> }) {
    this.replica = f.replica;
    this.resync = f.resync;
    this.net = f.net;
    this.p2p = f.p2p;
    this.shard = f.shard;
    this.genesis = f.genesis;
    this.url = f.url;
    this.metrics = f.metrics;
    this.logger = f.logger;
    this.dataDir = f.dataDir;
    this.components = f.components;
  }

  static async start(o: NodeOptions): Promise<SmtNode> {
    const logger = o.logger ?? createLogger();
    const genesis = loadNetworkGenesis(o.networkDir);
    const shardId = resolveShard(genesis, o.shard);
    const log = logger.child({ network: genesis.networkId, shard: shardId });
    const dataDir = o.dataDir ?? join(o.networkDir, 'data', shardId === '' ? 'root' : shardId);
    const replicated = isReplicated(genesis, shardId);
    if (replicated && !o.replica) throw new Error(`shard "${shardId}" is a replica set in genesis: start it with --replica N --replica-urls URL0,URL1,... (docs/REPLICAS.md)`);
    if (!replicated && o.replica && o.replica.index !== 0) throw new Error(`shard "${shardId}" has no replica set in genesis: --replica must be 0 or omitted`);
    const validator = loadReplicaKey(o.networkDir, genesis, shardId, replicated ? o.replica!.index : 0);
    let requestResync: (why: string) => void = () => {};
    const resync = new Promise<string>((r) => (requestResync = r));
    const metrics = createMetrics({ labels: { network: genesis.networkId, shard: shardId } });
    const components: Component[] = [];
    const denyList = o.denyPeersFile === undefined ? undefined : denyListFile(o.denyPeersFile);
    try {
      // 0. a replica that is new, wiped or far behind syncs state from another replica's snapshot first
      if (replicated) {
        await stateSyncIfBehind({
          genesis, shard: shardId, index: o.replica!.index, key: validator.keyPair, urls: o.replica!.urls, dataDir, logger: log,
          afterEpochs: o.replica!.stateSyncAfter ?? DEFAULT_STATE_SYNC_AFTER,
        });
      }
      // 1. the shard (state machine + store)
      const shard = await Shard.open({ dataDir, genesis, shard: shardId, validatorKey: validator.keyPair, logger: log, verifyWorkers: o.verifyWorkers, verifyNice: VERIFY_NICE, mempoolMax: o.mempoolMax, ...(replicated ? { replica: o.replica!.index } : {}) });
      components.push({ name: 'shard', close: () => shard.close() });
      log.info({ dataDir, epoch: shard.latestEpoch() }, 'shard opened');
      log.info({ verifier: txVerifierName() }, 'transaction signatures: cofactored ed25519 rule');

      // 2. the network layer (gossip), then any other layers between the shard and the API
      let gossip: Awaited<ReturnType<typeof startGossip>> | undefined;
      // the replica layer starts after the network layer (step 3); the network asks it through these
      let replica: ReplicaService | undefined;
      const replicaEvents = new EventEmitter();
      const hooks: ReplicaHooks | undefined = replicated ? {
        isWriter: () => replica?.isWriter() ?? false,
        canSign: (e) => replica?.canSignRound(e) ?? false,
        onCommitted: (f) => (replicaEvents.on('committed', f), () => void replicaEvents.off('committed', f)),
        onWriter: (f) => (replicaEvents.on('writer', f), () => void replicaEvents.off('writer', f)),
      } : undefined;
      if (o.gossip) {
        if (genesis.depth < 1) throw new Error('--p2p needs a network of depth >= 1 (a single shard has no one to gossip with)');
        gossip = await startGossip({ ...o.gossip, shard, genesis, validatorKey: validator.keyPair, dataDir, logger: log, metrics, ...(hooks ? { replica: hooks } : {}), ...(denyList ? { denyList } : {}) });
        components.push(...gossip.components);
      }
      let proving: ProvingService | undefined;
      if (gossip && o.proving) {
        proving = await ProvingService.start({ ...o.proving, shard, genesis, p2p: gossip.p2p, net: gossip.net, dataDir, logger: log, metrics, ...(hooks ? {
          ownSnapshots: hooks.onCommitted,
          // a replica's own epochs beyond the commit point may be a deposed writer's that never committed
          ownSnapshot: async (e: number) => (e <= (replica?.committedEpoch() ?? -1) ? shard.snapshot(e) : undefined),
        } : {}) });
        components.push(proving.component);
      }
      for (const make of o.layers ?? []) {
        const layer = await make({ shard, genesis, logger: log, metrics });
        components.push(layer);
        log.info({ component: layer.name }, 'layer started');
      }

      // Metrics follow the shard's own 'sealed' events (manual seals and the clock's alike).
      // (a replicated shard's writer counts a transaction committed once its epoch is durable on a majority)
      const recent: number[] = [];
      const onCommitted = (ev: SealedEvent): void => {
        recordCommit(ev, metrics);
        recent.push(ev.txCount);
        if (recent.length > TPS_WINDOW_EPOCHS) recent.shift();
        metrics.tps.set(tps());
      };
      const onSealed = (ev: SealedEvent): void => {
        recordSeal(ev, shard, metrics, log);
        if (!replicated) onCommitted(ev);
      };
      const tps = (): number => (recent.length === 0 ? 0 : recent.reduce((a, b) => a + b, 0) / ((recent.length * genesis.epochMs) / 1000));
      shard.events.on('sealed', onSealed);
      components.push({ name: 'metrics', close: async () => void shard.events.off('sealed', onSealed) });

      // 3. the epoch clock (a replicated shard's: started by the replica layer while it holds the write lease)
      if (replicated) {
        const startClock = (): EpochTimer => {
          const timer = new EpochTimer({
            genesisTime: genesis.genesisTime,
            epochMs: genesis.epochMs,
            latestEpoch: () => shard.latestEpoch(),
            seal: () => replica!.sealAsWriter(),
            logger: log.child({ module: 'epoch' }),
          });
          timer.start();
          return timer;
        };
        const svc = new ReplicaService({ shard, genesis, key: validator.keyPair, index: o.replica!.index, urls: o.replica!.urls, dataDir, logger: log, leaseMs: o.replica!.leaseMs, startClock, onResync: requestResync, ...(denyList ? { denyList } : {}) });
        replica = svc;
        svc.events.on('committed', onCommitted);
        svc.events.on('committed', (ev: SealedEvent) => replicaEvents.emit('committed', ev));
        svc.events.on('writer', () => replicaEvents.emit('writer'));
        components.push({ name: 'replica', close: () => svc.close() });
      } else if (!o.manualSeal) {
        // From each seal until the epoch's global snapshot is final here (verify-hold.ts), the
        // signature workers start no new slice: under load the seals and the aggregation, which
        // the global waits for, get the CPU first (docs/NETWORK.md "Under load: the seal -> global tail").
        const hold = new VerifyHold(gossip ? verifyHoldMs(genesis.epochMs) : 0);
        const offGlobal = gossip?.net.onGlobal((ev) => {
          if (hold.globalFinal(ev.global.aggregate.epoch, Date.now())) shard.releaseVerification();
        });
        const timer = new EpochTimer({
          genesisTime: genesis.genesisTime,
          epochMs: genesis.epochMs,
          latestEpoch: () => shard.latestEpoch(),
          seal: async () => {
            const e = shard.latestEpoch() + 1;
            const until = hold.sealStarts(e, Date.now());
            if (until !== undefined) shard.holdVerification(until);
            try {
              await shard.sealEpoch();
            } finally {
              if (hold.sealEnds(e)) shard.releaseVerification();
            }
          },
          logger: log.child({ module: 'epoch' }),
        });
        timer.start();
        components.push({
          name: 'epoch-timer',
          close: async () => {
            await timer.stop();
            offGlobal?.();
            shard.releaseVerification();
          },
        });
      }

      // 4. the HTTP API
      const apiLog = log.child({ module: 'api' });
      const router = buildApi({ shard, metrics, tps, network: gossip?.net, networkDir: o.networkDir, explorerNodes: o.explorerNodes, logger: apiLog, snapshots: proving ? (s, e) => proving.snapshotOf(s, e) : undefined, ...(replica ? { replica } : {}) });
      replica?.addRoutes(router);
      if (proving) addProofRoutes(router, proving);
      const server: Server = createHttpServer(router, {
        maxBodyBytes: o.maxBodyBytes,
        limits: o.httpLimits,
        logger: apiLog,
        onRequest: (route, status, seconds) => {
          metrics.httpRequests.inc({ route, status: String(status) });
          metrics.httpSeconds.observe({ route }, seconds);
        },
      });
      const url = await listen(server, o.apiHost ?? '127.0.0.1', o.apiPort ?? DEFAULT_API_PORT);
      components.push({
        name: 'http',
        close: async () => {
          router.close(); // held long polls answer now instead of holding the close up
          await closeServer(server);
        },
      });
      apiLog.info({ url }, 'api listening');
      const node = new SmtNode({ shard, genesis, url, metrics, logger: log, dataDir, components, net: gossip?.net, p2p: gossip?.p2p, replica, resync });
      return node;
    } catch (e) {
      // A failed start (port in use, bad data dir) still releases what it opened.
      await closeInReverse(components, log);
      throw e;
    }
  }

  /** Seals the next epoch now (for nodes started with manualSeal). */
  async sealNow(): Promise<void> {
    await this.shard.sealEpoch();
  }

  /** Closes HTTP, then the epoch clock, then any layers, then the shard. Idempotent. */
  close(): Promise<void> {
    this.closing ??= closeInReverse(this.components, this.logger);
    return this.closing;
  }
}

async function closeInReverse(components: Component[], log: Logger): Promise<void> {
  for (const c of [...components].reverse()) {
    try {
      await c.close();
      log.info({ component: c.name }, 'closed');
    } catch (e) {
      log.error({ err: e, component: c.name }, 'close failed');
    }
  }
}

export function resolveShard(genesis: Genesis, shard: string | undefined): ShardId {
  if (shard === undefined || shard === 'root') {
    if (genesis.depth === 0) return '' as ShardId;
    throw new Error(`--shard is required for a network of depth ${genesis.depth} (one of ${3 ** genesis.depth} ids like "${'0'.repeat(genesis.depth)}")`);
  }
  return parseShardId(shard, genesis.depth);
}

function recordCommit(ev: SealedEvent, metrics: NodeMetrics): void {
  const now = Date.now();
  // A seal's transactions share a few acceptance times (one per admitted batch): one observation
  // per distinct time with its count, not one per transaction. The distinct times are found by a
  // scan of the few seen so far (cheaper per transaction than a Map keyed by ms timestamps, which
  // are heap numbers); past 32 of them the rest go one by one.
  const times: number[] = [];
  const counts: number[] = [];
  for (const t of ev.acceptedAt) {
    const k = times.indexOf(t);
    if (k >= 0) counts[k]!++;
    else if (times.length < 32) {
      times.push(t);
      counts.push(1);
    } else metrics.commitLatency.observe((now - t) / 1000, 1);
  }
  times.forEach((t, k) => metrics.commitLatency.observe((now - t) / 1000, counts[k]!));
  metrics.committedTxs.inc(ev.txCount);
}

function recordSeal(ev: SealedEvent, shard: Shard, metrics: NodeMetrics, log: Logger): void {
  const st = shard.stats();
  metrics.sealSeconds.observe(ev.sealMs / 1000);
  metrics.epoch.set(ev.snapshot.snapshot.epoch);
  metrics.mempool.set(st.mempool);
  // (the shard logs each seal itself at info)
  log.debug({ epoch: ev.snapshot.snapshot.epoch, txs: ev.txCount, mempool: st.mempool }, 'seal recorded');
}
