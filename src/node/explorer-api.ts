// The explorer served by every node: the page at `/` and its assets (src/explorer/, the browser
// bundle built by src/explorer/build.ts, uPlot from node_modules), a live stream of the network's
// state (Server-Sent Events, one JSON tick per epoch), the genesis and cluster map the page's light
// client starts from, and the light-client answers (light-api.ts). Everything is served by the node
// itself: the page makes no request outside the cluster.
import { TPS_WINDOW_EPOCHS } from './metrics.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { toHex } from '../core/bytes.js';
import { genesisHash, genesisToJson, totalSupply } from '../core/genesis.js';
import { allShards } from '../core/ids.js';
import { globalConservation } from '../hierarchy/conservation.js';
import { shardCommitments, type GlobalSnapshot, type ShardCommitment } from '../hierarchy/global.js';
import { isZeroHash } from '../hierarchy/aggregate.js';
import type { SignedSnapshot } from '../shard/snapshot.js';
import type { FinalAggregate } from '../hierarchy/finality.js';
import { clusterApiUrls } from '../cluster/cluster.js';
import { ensureExplorerBundle, EXPLORER_SRC, UPLOT_DIR } from '../explorer/build.js';
import { circuitFiles, circuitsBuilt, CIRCUIT_KINDS, type CircuitKind } from '../proof/artifacts.js';
import type { ApiOptions } from './api.js';
import { HttpError, type ApiResponse, type Router } from './http.js';
import { addLightRoutes, CORS } from './light-api.js';

/** SSE streams end after this long (the browser reconnects), so a node's shutdown never waits on them. */
const STREAM_MAX_MS = 30_000;
const MAX_STREAMS = 32;
/** Epochs over which a shard's tps is averaged (as /v1/health). */
const TPS_WINDOW = TPS_WINDOW_EPOCHS; // the window of smt_tps and /v1/health

/** The page's static files: name -> where it is and its media type (app.js is built, see build.ts). */
const ASSETS: Record<string, { file: () => string; type: string }> = {
  'style.css': { file: () => join(EXPLORER_SRC, 'style.css'), type: 'text/css; charset=utf-8' },
  'uplot.css': { file: () => join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
  'uplot.js': { file: () => join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
};

export interface ShardCell {
  shard: string;
  epoch: number | null; // latest snapshot of it this node has seen
  included: number | null; // its epoch in the latest global snapshot
  carried: boolean;
  txCount: number | null; // committed over the last TPS_WINDOW epochs seen
  tps: number | null;
  lag: number | null; // this node's epoch minus the shard's latest seen epoch
  health: 'ok' | 'slow' | 'down';
}

export function addExplorerRoutes(router: Router, o: ApiOptions): void {
  const { shard, network } = o;
  const g = shard.genesis;
  if (network) addLightRoutes(router, shard, network);
  router.add('GET', '/', () => ({ headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }, text: readFileSync(join(EXPLORER_SRC, 'index.html'), 'utf8') }));
  router.add('GET', '/explorer/:file', async (req): Promise<ApiResponse> => {
    const name = req.params.file!;
    if (name === 'app.js') return { headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }, text: await ensureExplorerBundle() };
    const a = Object.hasOwn(ASSETS, name) ? ASSETS[name]! : undefined;
    if (!a) throw new HttpError(404, 'not-found', `no explorer file ${JSON.stringify(name.slice(0, 40))}`);
    return { headers: { 'content-type': a.type, 'cache-control': 'no-cache' }, text: readFileSync(a.file(), 'utf8') };
  });

  router.add('GET', '/v1/explorer/genesis', () => ({ headers: CORS, json: { genesis: genesisToJson(g), hash: toHex(genesisHash(g)) } }));
  router.add('GET', '/v1/explorer/nodes', () => {
    const urls = o.explorerNodes ?? (o.networkDir ? clusterApiUrls(o.networkDir) : undefined);
    return { headers: CORS, json: { self: shard.id, nodes: urls ? Object.fromEntries(urls) : {} } };
  });
  router.add('GET', '/v1/explorer/vkey/:kind', (req) => {
    const kind = req.params.kind as CircuitKind;
    if (!CIRCUIT_KINDS.includes(kind)) throw new HttpError(404, 'not-found', `no circuit ${JSON.stringify(kind)}`, CORS);
    if (!circuitsBuilt()) throw new HttpError(404, 'no-circuits', 'this node has no circuit artifacts', CORS);
    const f = circuitFiles(kind).vkey;
    if (!existsSync(f)) throw new HttpError(404, 'no-circuits', `no verification key for ${kind}`, CORS);
    return { headers: { ...CORS, 'content-type': 'application/json; charset=utf-8' }, text: readFileSync(f, 'utf8') };
  });

  // ---- the live stream: one tick per epoch, computed once however many pages watch
  let lastGlobal = -1;
  let globalLatencyMs: number | null = null;
  const tick = async (): Promise<Record<string, unknown>> => {
    const now = Date.now();
    const epoch = shard.latestEpoch();
    const latest = network?.latestGlobalSnapshot();
    // Every shard's signed snapshots held here: those of this node's own triads (aggregation) and
    // every shard's from the proofs topic (the proving layer keeps them all, proving or not).
    const netSnapshot = (network as Partial<{ snapshotOf(s: string, e: number): SignedSnapshot | undefined }> | undefined)?.snapshotOf?.bind(network);
    const snapshotOf = (s: string, e: number): SignedSnapshot | undefined => netSnapshot?.(s, e) ?? o.snapshots?.(s, e);
    if (latest && latest.aggregate.epoch !== lastGlobal) {
      lastGlobal = latest.aggregate.epoch;
      // seal of the global epoch's shards -> this node holding the final global snapshot
      globalLatencyMs = Math.max(0, now - (g.genesisTime + (lastGlobal + 1) * g.epochMs));
    }
    const included = latest ? new Map(shardCommitments(latest, g.depth).map((c) => [c.shard as string, c])) : new Map<string, ShardCommitment>();
    const shards: ShardCell[] = allShards(g.depth).map((s) => {
      const c = included.get(s);
      const inGlobal = c && !isZeroHash(c.commitment) ? c.epoch : null;
      let seen: number | null = null;
      if (s === shard.id) seen = epoch;
      else {
        for (let e = epoch; e >= Math.max(0, epoch - 8); e--) {
          if (snapshotOf(s, e)) {
            seen = e;
            break;
          }
        }
        // the final global snapshot signs off on the shard epoch it includes, whatever this node saw
        if (inGlobal !== null && !c!.carried && (seen === null || inGlobal > seen)) seen = inGlobal;
      }
      // tps over the last few epochs seen (as /v1/health's), not one epoch's count: smoother and comparable
      let sum = 0, n = 0;
      const top = seen ?? inGlobal;
      if (top !== null) {
        for (let e = top; e > top - TPS_WINDOW && e >= 0; e--) {
          const snap = snapshotOf(s, e);
          if (snap) (sum += Number(snap.snapshot.txCount)), n++;
        }
      }
      const txCount = n > 0 ? sum : null;
      const tps = s === shard.id && o.tps ? o.tps() : n > 0 ? sum / ((n * g.epochMs) / 1000) : null;
      const lag = seen === null ? null : Math.max(0, epoch - seen);
      return {
        shard: s, epoch: seen, included: inGlobal, carried: c?.carried ?? false,
        txCount, tps,
        lag, health: lag === null ? 'down' : lag <= 2 ? 'ok' : lag <= 6 ? 'slow' : 'down',
      };
    });
    let proof: Record<string, unknown> | null = null;
    const m = router.match('GET', '/v1/proof/status');
    if (m.kind === 'found') {
      try {
        const st = (await m.handler({ method: 'GET', path: '/v1/proof/status', params: {}, query: new URLSearchParams(), headers: {}, json: async () => ({}), body: async () => ({ type: '', bytes: Buffer.alloc(0) }), signal: AbortSignal.abort() })).json as Record<string, unknown>;
        const pe = typeof st.latestGlobalProofEpoch === 'number' && st.latestGlobalProofEpoch >= 0 ? st.latestGlobalProofEpoch : null;
        proof = { proving: st.proving, proveEvery: st.proveEvery, latestGlobalProofEpoch: pe, treeEpoch: st.treeEpoch, recent: st.recent };
      } catch {
        proof = null;
      }
    }
    const cons = latest ? globalConservation(latest.aggregate, totalSupply(g)) : undefined;
    return {
      time: now, network: g.networkId, depth: g.depth, epochMs: g.epochMs, node: shard.id, epoch,
      tps: shards.reduce((a, s) => a + (s.tps ?? 0), 0),
      shards,
      triads: latest ? triadCells(latest) : [],
      global: latest
        ? { epoch: latest.aggregate.epoch, supply: cons!.supply.toString(), inFlight: cons!.inFlight.toString(), burnedFees: cons!.burnedFees.toString(), conserved: cons!.holds, txCount: latest.aggregate.txCount.toString(), latencyMs: globalLatencyMs }
        : null,
      proof: proof ? { ...proof, lag: latest && typeof proof.latestGlobalProofEpoch === 'number' ? latest.aggregate.epoch - proof.latestGlobalProofEpoch : null } : null,
    };
  };
  const streams = new Set<ServerResponse>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let last = '';
  const broadcast = async (): Promise<void> => {
    try {
      last = `data: ${JSON.stringify(await tick())}\n\n`;
    } catch {
      return;
    }
    for (const r of streams) r.write(last);
  };
  router.add('GET', '/v1/explorer/stream', () => {
    if (streams.size >= MAX_STREAMS) throw new HttpError(503, 'busy', `at most ${MAX_STREAMS} live streams per node`, { 'retry-after': '5' });
    return {
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', ...CORS },
      stream: (res) => {
        streams.add(res);
        res.write('retry: 1000\n\n');
        if (last) res.write(last);
        else void broadcast();
        timer ??= setInterval(() => void broadcast(), Math.max(250, Math.min(g.epochMs, 2000)));
        const end = setTimeout(() => res.end(), STREAM_MAX_MS);
        res.on('close', () => {
          clearTimeout(end);
          streams.delete(res);
          if (streams.size === 0 && timer) {
            clearInterval(timer);
            timer = undefined;
            last = '';
          }
        });
      },
    };
  });
  router.add('GET', '/v1/explorer/tick', async () => ({ headers: CORS, json: await tick() }));
}

/** Every triad of the latest global snapshot: its final epoch and which children were carried. */
function triadCells(gs: GlobalSnapshot): { path: string; epoch: number; carried: number[]; signatures: number }[] {
  const out: { path: string; epoch: number; carried: number[]; signatures: number }[] = [];
  const walk = (fa: FinalAggregate | null | undefined): void => {
    if (!fa) return;
    const a = fa.aggregate;
    out.push({ path: a.path, epoch: a.epoch, carried: a.children.flatMap((c, i) => (c.carried ? [i] : [])), signatures: fa.signatures.length });
    for (const c of fa.children ?? []) walk(c);
  };
  walk(gs);
  return out;
}
