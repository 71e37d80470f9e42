// HTTP routes for light clients (src/light/): one request per question, the whole answer in one
// canonical binary form (src/light/wire.ts, base64 in JSON): the leaf or record, its trie proof, the
// shard's signed snapshot(s) and the signed aggregation path up to a final global epoch. Readable
// cross-origin (the explorer page of one node asks the others). Needs the network layer.
import { parseAddress, homeShard } from '../core/address.js';
import { bytesEqual, fromHex, toHex } from '../core/bytes.js';
import { parseShardId, shardIndex, type ShardId } from '../core/ids.js';
import type { FinalAggregate } from '../hierarchy/finality.js';
import type { GlobalSnapshot } from '../hierarchy/global.js';
import { inboxCursorKey } from '../shard/inbox.js';
import { accountKey } from '../shard/records.js';
import type { Shard } from '../shard/shard.js';
import { snapshotHash, type SignedSnapshot } from '../shard/snapshot.js';
import { encodeStateAnswer, encodeTxAnswer, MAX_SNAPSHOT_CHAIN, toBase64, type SignedStep, type StateLeafId } from '../light/wire.js';
import type { ApiNetwork, ApiShard } from './api.js';
import { HttpError, type ApiResponse, type Router } from './http.js';

export const CORS = { 'access-control-allow-origin': '*' };

type LightShard = ApiShard & Partial<Pick<Shard, 'stateProofAt'>>;

/** The signed path of `shard` in a global snapshot: each triad's aggregate and signatures, lowest first. */
export function signedPath(g: GlobalSnapshot, shard: ShardId): SignedStep[] | undefined {
  const steps: SignedStep[] = [];
  let fa: FinalAggregate | null | undefined = g;
  for (let level = 0; level < shard.length; level++) {
    if (!fa) return undefined;
    steps.push({ aggregate: fa.aggregate, signatures: fa.signatures });
    fa = fa.children?.[shard.charCodeAt(level) - 48];
  }
  return steps.reverse();
}

/** The shard epoch a global snapshot includes for `shard` (undefined if never included). */
function includedEpoch(path: SignedStep[], shard: ShardId): number | undefined {
  const ref = path[0]!.aggregate.children[shard.charCodeAt(shard.length - 1) - 48]!;
  return ref.commitment.every((b) => b === 0) ? undefined : ref.epoch;
}

/**
 * The signed path of `shard` in `g` and the shard epoch it includes, or undefined when `g` does not
 * include the shard: carried at the lowest level, or above it (a triad on the way up was carried,
 * so the global holds no final aggregate below it: seen at depth 3 under load).
 */
function inclusion(g: GlobalSnapshot, shard: ShardId): { path: SignedStep[]; se: number } | undefined {
  const path = signedPath(g, shard);
  const se = path && includedEpoch(path, shard);
  return path && se !== undefined ? { path, se } : undefined;
}

/**
 * Refuses a snapshot of this node's that is not the one the global includes (a replica can hold its
 * own snapshot of an epoch, e.g. one a deposed writer never committed): the light client would refuse
 * it anyway, but as a failed verification; the node says plainly that another node must answer.
 */
function checkIncluded(snap: SignedSnapshot, path: SignedStep[], shard: ShardId, globalEpoch: number): void {
  const ref = path[0]!.aggregate.children[shard.charCodeAt(shard.length - 1) - 48]!;
  if (!bytesEqual(snapshotHash(snap.snapshot), ref.commitment)) {
    throw new HttpError(404, 'snapshot-differs', `this node's snapshot ${shard}@${snap.snapshot.epoch} is not the one global epoch ${globalEpoch} includes: ask another node of shard ${shard}`, CORS);
  }
}

/** How far back `global=latest` looks for a global snapshot that includes this shard. */
const LATEST_LOOKBACK = 64;

function parseGlobalParam(q: string | null): number | 'latest' {
  if (q === null || q === 'latest') return 'latest';
  if (!/^(0|[1-9][0-9]{0,15})$/.test(q) || !Number.isSafeInteger(Number(q))) throw new HttpError(400, 'bad-epoch', `global must be a non-negative integer or "latest", got ${JSON.stringify(q.slice(0, 40))}`, CORS);
  return Number(q);
}

export function addLightRoutes(router: Router, shard: LightShard, network: ApiNetwork): void {
  const depth = shard.genesis.depth;
  const globalOf = async (e: number | 'latest'): Promise<GlobalSnapshot> => {
    const g = e === 'latest' ? network.latestGlobalSnapshot() : await network.globalAt(e);
    if (!g) throw new HttpError(404, 'global-not-found', e === 'latest' ? 'no global snapshot is final yet' : `no final global snapshot for epoch ${e} here`, CORS);
    return g;
  };
  const answer = (json: Record<string, unknown>, bytes: Uint8Array): ApiResponse => ({ headers: { ...CORS, 'cache-control': 'no-store' }, json: { ...json, bytes: bytes.length, answer: toBase64(bytes) } });

  const stateAnswer = async (leaf: StateLeafId, key: Uint8Array, e: number | 'latest'): Promise<ApiResponse> => {
    if (!shard.stateProofAt) throw new HttpError(501, 'unsupported', 'this node cannot prove past states', CORS);
    let g = await globalOf(e);
    let inc = inclusion(g, shard.id);
    // 'latest': the newest final global that includes this shard (the newest may carry it)
    const top = g.aggregate.epoch;
    for (let back = top - 1; e === 'latest' && !inc && back >= Math.max(0, top - LATEST_LOOKBACK); back--) {
      const older = await network.globalAt(back);
      const i = older ? inclusion(older, shard.id) : undefined;
      if (older && i) {
        g = older;
        inc = i;
      }
    }
    if (!inc) throw new HttpError(404, 'not-included', `global epoch ${g.aggregate.epoch} includes no snapshot of shard ${shard.id}${e === 'latest' ? ` (nor do the ${LATEST_LOOKBACK} before it here)` : ''}`, CORS);
    const { path, se } = inc;
    const p = await shard.stateProofAt(key, se);
    if (!p) throw new HttpError(404, 'snapshot-not-found', `no snapshot ${shard.id}@${se} here`, CORS);
    checkIncluded(p.snapshot, path, shard.id, g.aggregate.epoch);
    const bytes = encodeStateAnswer({ globalEpoch: g.aggregate.epoch, leaf, snapshot: p.snapshot, proof: p.proof, value: p.value ?? null, path });
    return answer({ globalEpoch: g.aggregate.epoch, shard: shard.id, shardEpoch: se }, bytes);
  };

  router.add('GET', '/v1/light/account/:address', async (req) => {
    let address: Uint8Array;
    try {
      address = parseAddress(req.params.address!);
    } catch (e) {
      throw new HttpError(400, 'bad-address', (e as Error).message, CORS);
    }
    const home = homeShard(address, depth);
    if (home !== shard.id) return { status: 421, headers: CORS, json: { error: { code: 'wrong-shard', message: `account ${toHex(address)} lives on shard ${home}, not on shard ${shard.id}`, shard: home } } };
    return stateAnswer({ kind: 'account', address }, accountKey(address), parseGlobalParam(req.query.get('global')));
  });

  router.add('GET', '/v1/light/inbox/:src', async (req) => {
    let src: ShardId;
    try {
      src = parseShardId(req.params.src!, depth);
    } catch (e) {
      throw new HttpError(400, 'bad-shard', (e as Error).message, CORS);
    }
    const i = shardIndex(src);
    return stateAnswer({ kind: 'inbox-cursor', srcIndex: i }, inboxCursorKey(i), parseGlobalParam(req.query.get('global')));
  });

  router.add('GET', '/v1/light/tx/:txid', async (req) => {
    let txid: Uint8Array;
    try {
      txid = fromHex(req.params.txid!, 32);
    } catch {
      throw new HttpError(400, 'bad-request', 'transaction id must be 32 bytes of hex', CORS);
    }
    const st = await shard.txStatus(txid);
    if (st.status !== 'committed') return { status: 404, headers: CORS, json: { error: { code: `tx-${st.status}`, message: `transaction is ${st.status} on shard ${shard.id}` }, status: st.status, shard: shard.id } };
    // the first final global epoch that includes this shard at or after the tx's epoch
    const latest = network.latestGlobalSnapshot();
    if (!latest || latest.aggregate.epoch < st.epoch) throw new HttpError(404, 'not-final-yet', `epoch ${st.epoch} is not in a final global snapshot yet`, CORS);
    let found: { g: GlobalSnapshot; path: SignedStep[]; se: number } | undefined;
    for (let e = st.epoch; e <= latest.aggregate.epoch && e < st.epoch + MAX_SNAPSHOT_CHAIN; e++) {
      const g = e === latest.aggregate.epoch ? latest : await network.globalAt(e);
      const inc = g ? inclusion(g, shard.id) : undefined;
      if (g && inc && inc.se >= st.epoch && inc.se - st.epoch < MAX_SNAPSHOT_CHAIN) {
        found = { g, ...inc };
        break;
      }
    }
    if (!found) throw new HttpError(404, 'not-final-yet', `no final global snapshot here includes shard ${shard.id} at epoch ${st.epoch} or just after`, CORS);
    const snapshots: SignedSnapshot[] = [];
    for (let e = st.epoch; e <= found.se; e++) {
      const s = await shard.snapshot(e);
      if (!s) throw new HttpError(404, 'snapshot-not-found', `no snapshot ${shard.id}@${e} here`, CORS);
      snapshots.push(s);
    }
    checkIncluded(snapshots[snapshots.length - 1]!, found.path, shard.id, found.g.aggregate.epoch);
    const bytes = encodeTxAnswer({ globalEpoch: found.g.aggregate.epoch, txid, value: fromHex(st.value), proof: fromHex(st.proof), snapshots, path: found.path });
    const json: Record<string, unknown> = { globalEpoch: found.g.aggregate.epoch, shard: shard.id, epoch: st.epoch };
    const r = shard.debitReceipt ? await shard.debitReceipt(txid) : undefined;
    if (r) json.receipt = { dstShard: r.dst, seq: r.seq.toString() };
    return answer(json, bytes);
  });
}
