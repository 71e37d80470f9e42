// The node's HTTP JSON API (v1): routes over one shard. Amounts are decimal strings; hashes, proofs
// and transactions are hex. `accepted` means "in the mempool"; only `committed` means sealed and durable.
import { fromHex, toHex, DecodeError } from '../core/bytes.js';
import { parseAddress, homeShard } from '../core/address.js';
import { encodeSignedSnapshot, snapshotToJson, type SignedSnapshot } from '../shard/snapshot.js';
import { httpStatusFor, type RejectReason } from '../shard/errors.js';
import type { Shard, SubmitResult } from '../shard/shard.js';
import { HttpError, Router, type ApiResponse } from './http.js';
import type { NodeMetrics } from './metrics.js';

export const MAX_BATCH = 10_000;
const TXID_BYTES = 32;

/** What the API needs from a shard (the Shard class satisfies it). */
export type ApiShard = Pick<Shard, 'id' | 'genesis' | 'submit' | 'txStatus' | 'account' | 'snapshot' | 'latestEpoch' | 'stats'>;

export interface ApiOptions {
  shard: ApiShard;
  metrics?: NodeMetrics;
  /** Called after a submission request with the number of transactions accepted. */
  onAccepted?: (count: number) => void;
  /** Seconds a client should wait before retrying when the mempool is full. */
  retryAfterSeconds?: () => number;
}

export type TxResultJson =
  | { txid: string; status: 'accepted' }
  | { txid?: string; status: 'rejected'; reason: RejectReason; message: string; httpStatus: number };

export function submitResultJson(r: SubmitResult): TxResultJson {
  if (r.ok) return { txid: r.txid, status: 'accepted' };
  return { ...(r.txid ? { txid: r.txid } : {}), status: 'rejected', reason: r.reason, message: r.message, httpStatus: httpStatusFor(r.reason) };
}

export function buildApi(o: ApiOptions): Router {
  const { shard, metrics } = o;
  const retryAfter = (): string => String(Math.max(1, Math.ceil(o.retryAfterSeconds?.() ?? shard.genesis.epochMs / 1000)));
  const router = new Router();

  router.add('POST', '/v1/tx', async (req) => {
    const body = await req.json();
    const { hexes, batch } = parseSubmitBody(body);
    // Non-hex strings are per-transaction `malformed` results, like bytes that do not decode.
    const decoded: (Uint8Array | DecodeError)[] = hexes.map((h) => {
      try {
        return fromHex(h);
      } catch (e) {
        return e as DecodeError;
      }
    });
    const good = decoded.filter((d): d is Uint8Array => d instanceof Uint8Array);
    const submitted = good.length > 0 ? await shard.submit(good) : [];
    let k = 0;
    const results: TxResultJson[] = decoded.map((d) =>
      d instanceof Uint8Array ? submitResultJson(submitted[k++]!) : { status: 'rejected', reason: 'malformed', message: d.message, httpStatus: httpStatusFor('malformed') },
    );
    const counts = new Map<string, number>();
    for (const r of results) {
      const key = r.status === 'accepted' ? 'accepted' : r.reason;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const [result, n] of counts) metrics?.submissions.inc({ result }, n);
    const accepted = counts.get('accepted') ?? 0;
    if (accepted > 0) o.onAccepted?.(accepted);
    const full = counts.get('mempool-full') ?? 0;
    const headers: Record<string, string> = full > 0 ? { 'retry-after': retryAfter() } : {};

    if (!batch) {
      const r = results[0]!;
      if (r.status === 'accepted') return { status: 202, json: r };
      return { status: r.httpStatus, headers, json: { error: { code: r.reason, message: r.message }, ...(r.txid ? { txid: r.txid } : {}) } };
    }
    // A batch answers 200 with one result per transaction, unless the whole batch bounced off a full mempool.
    const status = full === results.length ? 503 : 200;
    return { status, headers, json: { accepted, rejected: results.length - accepted, results } };
  });

  router.add('GET', '/v1/tx/:id', async (req) => {
    const id = parseHexParam(req.params.id!, TXID_BYTES, 'transaction id');
    const s = await shard.txStatus(id);
    return { json: { txid: toHex(id), ...s } };
  });

  router.add('GET', '/v1/account/:address', async (req) => {
    let address: Uint8Array;
    try {
      address = parseAddress(req.params.address!);
    } catch (e) {
      throw new HttpError(400, 'bad-address', (e as Error).message);
    }
    const a = await shard.account(address);
    const home = homeShard(address, shard.genesis.depth);
    return {
      json: {
        address: a.address,
        homeShard: home,
        shard: shard.id,
        balance: a.balance.toString(),
        nonce: a.nonce.toString(),
        pendingNonce: a.pendingNonce.toString(),
        epoch: a.epoch,
        stateRoot: a.stateRoot,
        proof: a.proof,
        value: a.value,
      },
    };
  });

  const snapshotResponse = (ss: SignedSnapshot | undefined, what: string): ApiResponse => {
    if (!ss) throw new HttpError(404, 'snapshot-not-found', what);
    return {
      json: {
        snapshot: snapshotToJson(ss.snapshot),
        signature: toHex(ss.signature),
        validator: toHex(shard.genesis.validators.get(shard.id)!),
        encoded: toHex(encodeSignedSnapshot(ss)),
      },
    };
  };
  router.add('GET', '/v1/snapshot/latest', async () => snapshotResponse(await shard.snapshot(), 'no epoch has been sealed yet'));
  router.add('GET', '/v1/snapshot/:epoch', async (req) => {
    const e = req.params.epoch!;
    if (!/^(0|[1-9][0-9]{0,15})$/.test(e) || !Number.isSafeInteger(Number(e))) throw new HttpError(400, 'bad-epoch', `epoch must be a non-negative integer or "latest", got ${JSON.stringify(e.slice(0, 40))}`);
    return snapshotResponse(await shard.snapshot(Number(e)), `no snapshot for epoch ${e} (latest sealed: ${shard.latestEpoch()})`);
  });

  router.add('GET', '/v1/health', () => {
    const st = shard.stats();
    const g = shard.genesis;
    return {
      json: {
        ok: true,
        network: g.networkId,
        shard: shard.id,
        depth: g.depth,
        epoch: shard.latestEpoch(),
        epochMs: g.epochMs,
        genesisTime: g.genesisTime,
        mempool: st.mempool,
        committedTotal: st.committedTotal,
      },
    };
  });

  if (metrics) {
    router.add('GET', '/metrics', async () => {
      const st = shard.stats();
      metrics.mempool.set(st.mempool);
      metrics.epoch.set(shard.latestEpoch());
      return { headers: { 'content-type': metrics.registry.contentType }, text: await metrics.registry.metrics() };
    });
  }
  return router;
}

function parseSubmitBody(body: unknown): { hexes: string[]; batch: boolean } {
  const shape = 'body must be {"tx": "<hex signed tx>"} or {"txs": ["<hex>", ...]}';
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'bad-request', shape);
  const b = body as Record<string, unknown>;
  if ('tx' in b === 'txs' in b) throw new HttpError(400, 'bad-request', shape);
  if ('tx' in b) {
    if (typeof b.tx !== 'string') throw new HttpError(400, 'bad-request', '"tx" must be a hex string');
    return { hexes: [b.tx], batch: false };
  }
  if (!Array.isArray(b.txs) || b.txs.length === 0) throw new HttpError(400, 'bad-request', '"txs" must be a non-empty array of hex strings');
  if (b.txs.length > MAX_BATCH) throw new HttpError(413, 'batch-too-large', `a batch holds at most ${MAX_BATCH} transactions, got ${b.txs.length}`);
  if (!b.txs.every((t) => typeof t === 'string')) throw new HttpError(400, 'bad-request', '"txs" must contain only hex strings');
  return { hexes: b.txs as string[], batch: true };
}

function parseHexParam(s: string, len: number, what: string): Uint8Array {
  try {
    return fromHex(s, len);
  } catch {
    throw new HttpError(400, 'bad-request', `${what} must be ${len} bytes of hex, got ${JSON.stringify(s.slice(0, 80))}`);
  }
}
