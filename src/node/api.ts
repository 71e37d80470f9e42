// The node's HTTP JSON API (v1): routes over one shard. Amounts are decimal strings; hashes, proofs
// and transactions are hex. `accepted` means "in the mempool"; only `committed` means sealed and durable.
import { buildInfo } from './build-info.js';
// Error messages are our own texts: an exception's message or another node's words never reach a
// client (another shard's verdict on a forwarded transaction comes back as its code, with REJECT_TEXT).
import { fromHex, toHex, DecodeError } from '../core/bytes.js';
import { parseAddress, homeShard } from '../core/address.js';
import { parseShardId, shardFromIndex, shardIndex, type ShardId } from '../core/ids.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { encodeSignedSnapshot, snapshotToJson, type SignedSnapshot } from '../shard/snapshot.js';
import { httpStatusFor, type RejectReason } from '../shard/errors.js';
import type { Shard, SubmitResult } from '../shard/shard.js';
import { decodeSignedTx, scanSignedTx, txIdOfTransferBytes, verifySignedTxBytes, type TxScan } from '../shard/tx.js';
import { hex, homeIndexAt } from '../shard/fast-hash.js';
import type { TriadNetwork } from '../gossip/network.js';
import { encodeFinalAggregate } from '../hierarchy/finality.js';
import { aggregationPath, aggregationPathToJson, globalRoot, globalToJson, PathUnavailableError, type GlobalSnapshot } from '../hierarchy/global.js';
import { HttpError, Router, parseJsonBody, type ApiResponse } from './http.js';
import { splitSignedTxs, TxBatchError } from '../shard/tx-batch.js';
import { globalChecksJson } from '../hierarchy/conservation.js';
import { decodeTxRecord } from '../shard/records.js';
import { shardCommitments } from '../hierarchy/global.js';
import { totalSupply } from '../core/genesis.js';
import type { NodeMetrics } from './metrics.js';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { addExplorerRoutes } from './explorer-api.js';
import { snapshotSignerKey } from '../replica/keys.js';
import type { Logger } from './logger.js';

export const MAX_BATCH = 10_000;
/** Transactions per forwarded gossip message (~220 bytes each: well under the 1 MiB gossip cap). */
export const FORWARD_CHUNK = 2_000;
const TXID_BYTES = 32;
/** Transactions routed per turn of the event loop (a 1 MiB batch holds ~3,000: other requests get turns). */
const ROUTE_CHUNK = 256;

/** What the API needs from a shard (the Shard class satisfies it). */
export type ApiShard = Pick<Shard, 'id' | 'genesis' | 'submit' | 'txStatus' | 'account' | 'snapshot' | 'latestEpoch' | 'stats'> & Partial<Pick<Shard, 'creditStatus' | 'debitReceipt' | 'verifyTxSignatures' | 'events'>>;

/** Our text for each reason a transaction is refused, for verdicts that come from another node. */
export const REJECT_TEXT: Record<RejectReason, string> = {
  'malformed': 'the bytes are not a signed transaction',
  'oversized': 'the transaction is too large',
  'bad-signature': 'signature does not verify for tx.from',
  'wrong-network': 'the transaction is for another network',
  'wrong-shard': 'the sender lives on another shard',
  'nonce-replayed': 'the nonce was used already',
  'nonce-too-far': 'the nonce is beyond the window of pending nonces',
  'insufficient-funds': 'the balance does not cover amount + fee',
  'zero-amount': 'amount must be positive',
  'overflow': 'amount, fee or nonce out of range',
  'mempool-full': 'the mempool is full; retry later',
  'duplicate': 'the transaction is already pending or committed',
  'overloaded': 'the node is verifying too many transactions; retry later',
};

/** Liveness: a node behind the clock with no new epoch for this many epochs (and STALL_MIN_MS) is stuck. */
const STALL_EPOCHS = 5;
const STALL_MIN_MS = 10_000;
/** Readiness: more epochs than this behind the clock is catching up. */
const CATCHUP_EPOCHS = 2;
/** GET /v1/health?after=E answers at the latest this long after the request if no later epoch is sealed. */
export const HEALTH_WAIT_MS = 10_000;

export interface ApiOptions {
  shard: ApiShard;
  metrics?: NodeMetrics;
  /** Called after a submission request with the number of transactions accepted. */
  onAccepted?: (count: number) => void;
  /** For what clients are not told (e.g. why forwarding failed). */
  logger?: Logger;
  /** Seconds a client should wait before retrying when the mempool is full. */
  retryAfterSeconds?: () => number;
  /** The network layer (depth >= 1 with gossip): routing, global snapshots, health and metrics. */
  network?: ApiNetwork;
  /** Committed transactions per second over the last few epochs (for /v1/health). */
  tps?: () => number;
  /** The node's network directory: the explorer lists the cluster's nodes from its cluster.json. */
  networkDir?: string;
  /** The explorer page's map of nodes (shard id -> URL as a browser reaches it), over cluster.json's (e.g. compose). */
  explorerNodes?: ReadonlyMap<string, string>;
  /** Every shard's signed snapshots this node holds (the proving layer keeps them from the proofs topic): the explorer's shard cells. */
  snapshots?: (shard: string, epoch: number) => SignedSnapshot | undefined;
  /** A replicated shard's replica layer (docs/REPLICAS.md): commit = durable on a majority; followers forward submissions to the writer. */
  replica?: ApiReplica;
}

/** What the API needs from the replica layer (ReplicaService satisfies it). */
export interface ApiReplica {
  committedEpoch(): number;
  forwardTx(contentType: string, body: Uint8Array, prefer?: string): Promise<ApiResponse | undefined>;
  status(): object;
}

/** What the API needs from the network layer (TriadNetwork satisfies it). */
export type ApiNetwork = Pick<TriadNetwork, 'publishTxs' | 'latestGlobalSnapshot' | 'globalAt' | 'stats'> & Partial<Pick<TriadNetwork, 'submitTo'>>;

export type TxResultJson =
  | { txid: string; status: 'accepted'; shard?: string } // shard: accepted by that (home) shard's node
  | { txid: string; status: 'forwarded'; shard: string }
  | { txid?: string; status: 'rejected'; reason: RejectReason | 'unroutable'; message: string; httpStatus: number; shard?: string };

export function submitResultJson(r: SubmitResult): TxResultJson {
  if (r.ok) return { txid: r.txid, status: 'accepted' };
  return { ...(r.txid ? { txid: r.txid } : {}), status: 'rejected', reason: r.reason, message: r.message, httpStatus: httpStatusFor(r.reason) };
}

export function buildApi(o: ApiOptions): Router {
  const { shard, metrics, network } = o;
  const log = o.logger;
  const depth = shard.genesis.depth;
  const retryAfter = (): string => String(Math.max(1, Math.ceil(o.retryAfterSeconds?.() ?? shard.genesis.epochMs / 1000)));
  const router = new Router();

  router.add('POST', '/v1/tx', async (req) => {
    const body = await req.body(['application/json', 'application/octet-stream']);
    // a follower replica hands submissions to its writer and answers with the writer's answer
    const prefer = req.headers.prefer;
    const toWriter = await o.replica?.forwardTx(body.type, body.bytes, Array.isArray(prefer) ? prefer.join(', ') : prefer);
    if (toWriter) return toWriter;
    let decoded: (Uint8Array | DecodeError)[];
    let batch = true;
    if (body.type === 'application/octet-stream') {
      // The compact batch: signed transfers concatenated (docs/PROTOCOL.md "Transfers" > "Batches").
      // A body that does not split exactly is refused whole: nothing of it is submitted.
      try {
        decoded = splitSignedTxs(body.bytes, MAX_BATCH);
      } catch (e) {
        if (e instanceof TxBatchError) throw new HttpError(e.code === 'batch-too-large' ? 413 : 400, e.code, e.message);
        throw e;
      }
    } else {
      const parsed = parseSubmitBody(parseJsonBody(body.bytes));
      batch = parsed.batch;
      // Non-hex strings are per-transaction `malformed` results, like bytes that do not decode.
      decoded = parsed.hexes.map((h) => {
        try {
          return fromHex(h);
        } catch (e) {
          return e as DecodeError;
        }
      });
    }
    // Routing: transactions whose sender lives on another shard go to that shard's gossip topic;
    // everything else (including what does not decode) is the local shard's to accept or reject.
    // `early`: the results known before the shard is asked (undecodable hex, forwarded transfers).
    const early = new Map<number, TxResultJson>();
    let localAt: number[] | undefined; // positions of the local transfers; undefined: every position
    const remote = new Map<ShardId, { i: number; txid: string }[]>();
    const routes = network !== undefined && depth > 0;
    if (routes || !decoded.every((d) => d instanceof Uint8Array)) {
      localAt = [];
      for (let i = 0; i < decoded.length; i++) {
        if (routes && i > 0 && i % ROUTE_CHUNK === 0) await nextTurn();
        const d = decoded[i]!;
        if (!(d instanceof Uint8Array)) {
          early.set(i, { status: 'rejected', reason: 'malformed', message: 'transaction must be a hex string', httpStatus: httpStatusFor('malformed') });
          continue;
        }
        const f = routes ? foreignHome(d, shard) : undefined;
        if (f === undefined) {
          localAt.push(i);
          continue;
        }
        let l = remote.get(f.home);
        if (!l) remote.set(f.home, (l = []));
        l.push({ i, txid: f.txid });
      }
    }
    const localTxs = localAt === undefined || localAt.length === decoded.length ? (decoded as Uint8Array[]) : localAt.map((i) => decoded[i] as Uint8Array);
    const submitted = localTxs.length > 0 ? await shard.submit(localTxs) : [];
    for (const [home, txs] of remote) await forward(home, txs, decoded as Uint8Array[], early);
    // The counts and the metric's labels (one inc per label per batch, not per transaction). Nothing
    // per transaction is built for what the shard accepted unless the answer lists every result.
    let accepted = 0;
    let forwarded = 0;
    let handedOn = 0; // accepted by another shard's node, or forwarded by gossip: the metric's 'forwarded'
    const rejected = new Map<string, number>(); // by reason
    const countRejected = (reason: string): void => void rejected.set(reason, (rejected.get(reason) ?? 0) + 1);
    let localAccepted = 0;
    for (const r of submitted) {
      if (r.ok) localAccepted++;
      else countRejected(r.reason);
    }
    for (const r of early.values()) {
      if (r.status === 'rejected') countRejected(r.reason);
      else {
        handedOn++;
        if (r.status === 'forwarded') forwarded++;
        else accepted++;
      }
    }
    accepted += localAccepted;
    const byResult = new Map<string, number>(rejected);
    if (localAccepted > 0) byResult.set('accepted', localAccepted);
    if (handedOn > 0) byResult.set('forwarded', handedOn);
    if (metrics) for (const [result, n] of byResult) metrics.submissions.inc({ result }, n);
    if (accepted > 0) o.onAccepted?.(accepted);
    // a full mempool or a full verification queue: the client should come back later
    const full = (rejected.get('mempool-full') ?? 0) + (rejected.get('overloaded') ?? 0);
    const headers: Record<string, string> = full > 0 ? { 'retry-after': retryAfter() } : {};

    if (!batch) {
      const r = early.get(0) ?? submitResultJson(submitted[0]!);
      if (r.status !== 'rejected') return { status: 202, json: r };
      return { status: r.httpStatus, headers, json: { error: { code: r.reason, message: r.message, ...(r.shard ? { shard: r.shard } : {}) }, ...(r.txid ? { txid: r.txid } : {}) } };
    }
    // A batch answers 200, unless the whole batch bounced off a full mempool or queue (503).
    const total = decoded.length;
    const status = full === total ? 503 : 200;
    const rejectedCount = total - accepted - forwarded;
    // strings and numbers only: serialised here without toJson's bigint replacer (one answer per batch of thousands)
    if (prefersMinimal(req.headers.prefer)) {
      // `Prefer: return=minimal`: the counts, and only the refused transfers, each with its position
      const rejections: (TxResultJson & { index: number })[] = [];
      for (let i = 0, k = 0; i < total && rejections.length < rejectedCount; i++) {
        let r = early.size > 0 ? early.get(i) : undefined;
        if (r === undefined) {
          const sr = submitted[k++]!;
          if (!sr.ok) r = submitResultJson(sr);
        }
        if (r?.status === 'rejected') rejections.push({ index: i, ...r });
      }
      return { status, headers: { ...headers, 'preference-applied': 'return=minimal' }, jsonText: JSON.stringify({ accepted, forwarded, rejected: rejectedCount, rejections }) };
    }
    // one result per transaction, in order
    const results = new Array<TxResultJson>(total);
    for (let i = 0, k = 0; i < total; i++) results[i] = (early.size > 0 ? early.get(i) : undefined) ?? submitResultJson(submitted[k++]!);
    return { status, headers, jsonText: JSON.stringify({ accepted, forwarded, rejected: rejectedCount, results }) };
  });

  /** Signature checks of transactions to forward: on the shard's verification workers (never on the
   * event loop, which a batch of bad signatures would hold for ~0.1 s per MiB). */
  const verifyForwarded = (txs: Uint8Array[]): Promise<boolean[] | undefined> => (shard.verifyTxSignatures ? shard.verifyTxSignatures(txs) : Promise.resolve(txs.map(verifySignedTxBytes)));

  /** Hands txs (indexes into `all`) to `home`'s node after checking their signatures here, so a node
   * never relays garbage: directly (its verdict per transaction comes back, as a code: the text is
   * ours), else by gossip on home's tx topic ("forwarded": the outcome shows in `tx status` only).
   * One result per transaction. */
  async function forward(home: ShardId, txs: { i: number; txid: string }[], all: Uint8Array[], results: Map<number, TxResultJson>): Promise<void> {
    const good: { i: number; txid: string }[] = [];
    const sigOk = await verifyForwarded(txs.map((t) => all[t.i]!));
    if (!sigOk) {
      for (const { i, txid } of txs) results.set(i, { txid, status: 'rejected', reason: 'overloaded', message: REJECT_TEXT.overloaded, httpStatus: httpStatusFor('overloaded') });
      return;
    }
    txs.forEach(({ i, txid }, k) => {
      if (sigOk[k]) {
        good.push({ i, txid });
        results.set(i, { txid, status: 'forwarded', shard: home });
      } else results.set(i, { txid, status: 'rejected', reason: 'bad-signature', message: REJECT_TEXT['bad-signature'], httpStatus: httpStatusFor('bad-signature') });
    });
    for (let k = 0; k < good.length; k += FORWARD_CHUNK) {
      const chunk = good.slice(k, k + FORWARD_CHUNK);
      const verdicts = await network!.submitTo?.(home, chunk.map((t) => all[t.i]!));
      if (verdicts) {
        chunk.forEach(({ i, txid }, j) => {
          const v = verdicts[j]!;
          // the other node's word: its code only, and the txid as computed here
          results.set(i, v.ok
            ? { txid, status: 'accepted', shard: home }
            : { txid, status: 'rejected', reason: v.reason, message: REJECT_TEXT[v.reason], httpStatus: httpStatusFor(v.reason), shard: home });
        });
        continue;
      }
      let sent = 0;
      try {
        sent = await network!.publishTxs(home, chunk.map((t) => all[t.i]!));
      } catch (e) {
        log?.debug({ home, err: (e as Error).message }, 'forwarding by gossip failed');
      }
      if (sent > 0) continue;
      for (const { i, txid } of chunk) {
        results.set(i, { txid, status: 'rejected', reason: 'unroutable', message: `cannot forward to shard ${home}: no node of that shard is reachable`, httpStatus: 503, shard: home });
      }
    }
  }

  router.add('GET', '/v1/tx/:id', async (req) => {
    const id = parseHexParam(req.params.id!, TXID_BYTES, 'transaction id');
    let s = await shard.txStatus(id);
    // a replicated shard: sealed is not yet committed until the epoch is durable on a majority
    if (s.status === 'committed' && o.replica && s.epoch > o.replica.committedEpoch()) s = { status: 'pending' };
    // The credit half of a cross-shard transfer, if this shard is its destination and credited it:
    // found by its receipt (?src=<source shard>&seq=<receipt seq>, which the source's answer gives).
    const src = req.query.get('src');
    const seqParam = req.query.get('seq');
    let credit = {};
    if (src !== null || seqParam !== null) {
      if (src === null || seqParam === null || !/^[0-9]{1,19}$/.test(seqParam)) throw new HttpError(400, 'bad-request', 'src and seq go together: ?src=<source shard id>&seq=<receipt seq>');
      let srcShard: ShardId;
      try {
        srcShard = parseShardId(src, depth);
      } catch {
        throw new HttpError(400, 'bad-request', `src must be a shard id: ${depth} digits from {0,1,2}`);
      }
      const c = await shard.creditStatus?.(srcShard, BigInt(seqParam), id);
      if (c) credit = { credit: { shard: shard.id, epoch: c.epoch, srcShard: shardFromIndex(c.src, depth), srcEpoch: c.srcEpoch, seq: c.seq.toString() } };
    }
    // the debit half: a committed transfer to an address homed elsewhere left a receipt for that shard
    let crossShard = {};
    if (s.status === 'committed') {
      const r = shard.debitReceipt ? await shard.debitReceipt(id) : undefined;
      const dst = r?.dst ?? crossShardOf(s.value, shard.id, depth);
      if (dst) crossShard = { crossShard: { srcShard: shard.id, dstShard: dst, debitEpoch: s.epoch, ...(r ? { seq: r.seq.toString() } : {}) } };
    }
    return { json: { txid: toHex(id), ...s, ...crossShard, ...credit } };
  });

  router.add('GET', '/v1/account/:address', async (req) => {
    let address: Uint8Array;
    try {
      address = parseAddress(req.params.address!);
    } catch {
      throw new HttpError(400, 'bad-address', 'an address is 20 bytes of hex');
    }
    const home = homeShard(address, shard.genesis.depth);
    if (home !== shard.id) {
      // 421 Misdirected Request: the client should ask the home shard's node (error.shard).
      return { status: 421, json: { error: { code: 'wrong-shard', message: `account ${toHex(address)} lives on shard ${home}, not on shard ${shard.id}`, shard: home } } };
    }
    const a = await shard.account(address);
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
        // the key that signs it: a replicated shard's writer of that snapshot (docs/REPLICAS.md)
        validator: toHex(snapshotSignerKey(shard.genesis, ss.snapshot) ?? shard.genesis.validators.get(shard.id)!),
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

  // Liveness: the epoch clock moves (a node behind the clock whose latest epoch has not changed for
  // STALL_EPOCHS epochs, and at least STALL_MIN_MS, is stuck). Readiness: live, caught up with the
  // clock, and (at depth >= 1 with gossip) connected to a peer. /v1/health answers 503 unless both.
  const progress = { epoch: shard.latestEpoch(), at: Date.now() };
  const condition = (): { live: boolean; ready: boolean; behind: number; reasons: string[] } => {
    const g = shard.genesis;
    const now = Date.now();
    const e = shard.latestEpoch();
    if (e !== progress.epoch) {
      progress.epoch = e;
      progress.at = now;
    }
    const due = Math.floor((now - g.genesisTime) / g.epochMs) - 1; // the latest epoch whose seal time has passed
    const behind = Math.max(0, due - e);
    const still = now - progress.at;
    const live = !(behind > 0 && still > Math.max(STALL_EPOCHS * g.epochMs, STALL_MIN_MS));
    const reasons: string[] = [];
    if (!live) reasons.push(`epoch clock stalled: no epoch sealed for ${Math.round(still / 1000)} s, ${behind} epochs behind the clock`);
    else if (behind > CATCHUP_EPOCHS) reasons.push(`catching up: ${behind} epochs behind the clock`);
    if (network && g.depth > 0 && network.stats().peers === 0) reasons.push('no connected peers');
    return { live, ready: reasons.length === 0, behind, reasons };
  };
  // GET /v1/health?after=E, a long poll: the answer waits for an epoch later than E to be sealed
  // (or HEALTH_WAIT_MS, the client hanging up, the server closing). A client that follows seals
  // asks twice an epoch instead of polling. One 'sealed' listener for every waiting request.
  const waiting = new Map<() => void, number>(); // release -> the epoch it waits to see passed
  let closing = false;
  const onSealed = (): void => {
    const e = shard.latestEpoch();
    for (const [release, after] of waiting) if (e > after) release();
  };
  router.onClose(() => {
    closing = true;
    for (const release of [...waiting.keys()]) release();
  });
  const sealedAfter = (after: number, signal: AbortSignal): Promise<void> | undefined => {
    const events = shard.events;
    if (shard.latestEpoch() > after || events === undefined || closing || signal.aborted) return undefined;
    return new Promise<void>((resolve) => {
      const release = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', release);
        waiting.delete(release);
        if (waiting.size === 0) events.off('sealed', onSealed);
        resolve();
      };
      const timer = setTimeout(release, HEALTH_WAIT_MS);
      signal.addEventListener('abort', release);
      if (waiting.size === 0) events.on('sealed', onSealed);
      waiting.set(release, after);
    });
  };
  router.add('GET', '/v1/health', async (req) => {
    const afterParam = req.query.get('after');
    if (afterParam !== null) {
      if (!/^(-1|0|[1-9][0-9]{0,15})$/.test(afterParam) || !Number.isSafeInteger(Number(afterParam))) throw new HttpError(400, 'bad-request', `after must be an epoch (an integer >= -1), got ${JSON.stringify(afterParam.slice(0, 40))}`);
      await sealedAfter(Number(afterParam), req.signal);
    }
    const st = shard.stats();
    const g = shard.genesis;
    const c = condition();
    return {
      status: c.ready ? 200 : 503,
      json: {
        ok: c.ready,
        live: c.live,
        ready: c.ready,
        ...(c.reasons.length > 0 ? { reasons: c.reasons } : {}),
        version: buildInfo().version,
        circuits: buildInfo().circuits.key,
        network: g.networkId,
        shard: shard.id,
        depth: g.depth,
        epoch: shard.latestEpoch(),
        behind: c.behind,
        epochMs: g.epochMs,
        genesisTime: g.genesisTime,
        mempool: st.mempool,
        committedTotal: st.committedTotal,
        tps: round2(o.tps?.() ?? 0),
        ...(network ? { peers: network.stats().peers, globalEpoch: globalEpochOrNull(network) } : {}),
        ...(o.replica ? { replica: o.replica.status() } : {}),
      },
    };
  });
  // for container and Kubernetes probes: the status code is the answer
  router.add('GET', '/v1/health/live', () => {
    const c = condition();
    return { status: c.live ? 200 : 503, json: { live: c.live, ...(c.live ? {} : { reasons: c.reasons }) } };
  });
  router.add('GET', '/v1/health/ready', () => {
    const c = condition();
    return { status: c.ready ? 200 : 503, json: { ready: c.ready, ...(c.ready ? {} : { reasons: c.reasons }) } };
  });

  if (network) {
    const globalResponse = (g: GlobalSnapshot | undefined, what: string): ApiResponse => {
      if (!g) throw new HttpError(404, 'global-not-found', what);
      // `encoded` lets clients verify the whole 2-of-3 chain themselves (verifyFinalAggregate).
      // conservation (sum of balances + in flight + burned fees = genesis) and the consistent-cut check
      const snapshotOf = (network as Partial<Pick<TriadNetwork, 'snapshotOf'>>).snapshotOf?.bind(network);
      const checks = globalChecksJson(g.aggregate, shardCommitments(g, depth), totalSupply(shard.genesis), snapshotOf && ((sh, e) => snapshotOf(sh, e)?.snapshot));
      return { json: { ...globalToJson(g, depth), ...checks, encoded: toHex(encodeFinalAggregate(g)) } };
    };
    const globalFor = async (e: string): Promise<GlobalSnapshot | undefined> =>
      e === 'latest' ? network.latestGlobalSnapshot() : network.globalAt(parseEpochParam(e));
    router.add('GET', '/v1/global/latest', () => globalResponse(network.latestGlobalSnapshot(), 'no global snapshot is final yet'));
    router.add('GET', '/v1/global/:epoch', async (req) => {
      const e = req.params.epoch!;
      return globalResponse(await globalFor(e), `no final global snapshot for epoch ${e} here (latest: ${network.stats().latestGlobalEpoch})`);
    });
    router.add('GET', '/v1/global/:epoch/path/:shard', async (req) => {
      const e = req.params.epoch!;
      let s: ShardId;
      try {
        s = parseShardId(req.params.shard!, depth);
      } catch {
        throw new HttpError(400, 'bad-shard', `a shard id is ${depth} digits from {0,1,2}`);
      }
      const g = await globalFor(e);
      if (!g) throw new HttpError(404, 'global-not-found', `no final global snapshot for epoch ${e} here`);
      try {
        const p = aggregationPath(g, s);
        const first = p.steps[0]!.children[Number(s[s.length - 1])]!;
        return { json: { epoch: g.aggregate.epoch, root: toHex(globalRoot(g)), snapshotHash: toHex(first.commitment), snapshotEpoch: first.epoch, carried: first.carried, ...aggregationPathToJson(p) } };
      } catch (err) {
        if (err instanceof PathUnavailableError) throw new HttpError(404, 'path-unavailable', 'the aggregation path of that shard at that epoch is not held here');
        throw err;
      }
    });
  }

  router.add('GET', '/v1/openapi.json', () => ({ json: openApiDocument() }));

  if (metrics) {
    router.add('GET', '/metrics', async () => {
      const st = shard.stats();
      metrics.mempool.set(st.mempool);
      metrics.epoch.set(shard.latestEpoch());
      metrics.startDefaults(); // the first scrape starts the process and Node.js metrics (metrics.ts)
      return { headers: { 'content-type': metrics.registry.contentType }, text: await metrics.registry.metrics() };
    });
  }
  addExplorerRoutes(router, o); // light-client answers, the explorer page and its live stream
  return router;
}

/**
 * Whether a request's Prefer header (RFC 7240) asks for `return=minimal`: a batch is then answered
 * with its counts and only the refused transfers (bulk clients: no result per accepted transfer).
 */
export function prefersMinimal(prefer: string | string[] | undefined): boolean {
  if (prefer === undefined) return false;
  for (const h of Array.isArray(prefer) ? prefer : [prefer]) {
    for (const p of h.split(',')) {
      const [name, value] = p.split(';', 1)[0]!.split('=', 2).map((x) => x.trim().toLowerCase());
      if (name === 'return' && (value === 'minimal' || value === '"minimal"')) return true;
    }
  }
  return false;
}

/**
 * The sender's home shard (and the txid) if the bytes are a transaction of this network homed
 * elsewhere. Every submitted transfer of a node with routing passes here: its fields are read in
 * place (scanSignedTx) and the home computed without an object or a BigInt (homeIndexAt); only a
 * transfer to hand on gets a txid.
 */
function foreignHome(b: Uint8Array, shard: ApiShard): { home: ShardId; txid: string } | undefined {
  let t: TxScan;
  try {
    t = scanSignedTx(b);
  } catch {
    return undefined; // the local shard reports it as malformed
  }
  if (t.network !== shard.genesis.networkId) return undefined;
  const transferLen = t.transferLen; // t is shared: read before the next scan
  const depth = shard.genesis.depth;
  const index = homeIndexAt(b, t.fromAt, depth);
  if (index === shardIndex(shard.id)) return undefined;
  return { home: shardFromIndex(index, depth), txid: hex(txIdOfTransferBytes(b.subarray(0, transferLen))) };
}

/** The destination shard of a committed transfer's record value (hex), if it is not `here`. */
function crossShardOf(valueHex: string, here: ShardId, depth: number): ShardId | undefined {
  if (depth === 0) return undefined;
  try {
    const to = decodeSignedTx(decodeTxRecord(fromHex(valueHex)).signedTx).tx.to;
    const dst = homeShard(to, depth);
    return dst === here ? undefined : dst;
  } catch {
    return undefined;
  }
}

function globalEpochOrNull(n: ApiNetwork): number | null {
  const e = n.stats().latestGlobalEpoch;
  return e < 0 ? null : e;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

function parseEpochParam(e: string): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(e) || !Number.isSafeInteger(Number(e))) throw new HttpError(400, 'bad-epoch', `epoch must be a non-negative integer or "latest", got ${JSON.stringify(e.slice(0, 40))}`);
  return Number(e);
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

// docs/openapi.yaml, the description of this API (test/openapi.test.ts holds it to the real answers),
// parsed once on first request.
let openApi: unknown;
function openApiDocument(): unknown {
  if (openApi === undefined) {
    let text: string;
    try {
      text = readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8');
    } catch {
      throw new HttpError(404, 'not-found', 'this installation has no docs/openapi.yaml');
    }
    openApi = parseYaml(text);
  }
  return openApi;
}
