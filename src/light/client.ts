// The light client (isomorphic: Node and the browser; no node: imports): asks a node over HTTP
// (fetch) and checks every answer against the genesis alone (verify.ts). It counts the bytes it
// fetched. Accounts and cross-shard credits are asked of their home shard's node when a map of
// nodes is known (the cluster's), else of the one node given.
import { parseAddress, homeShard } from '../core/address.js';
import { fromHex } from '../core/bytes.js';
import type { Genesis } from '../core/genesis.js';
import { shardIndex, type ShardId } from '../core/ids.js';
import { checkCredit, LightVerifyError, verifyAccountAnswer, verifyCursorAnswer, verifyTxAnswer, type AccountState, type TxFacts, type Verified } from './verify.js';
import { decodeStateAnswer, decodeTxAnswer, fromBase64 } from './wire.js';
import type { InboxCursor } from '../shard/inbox.js';

export type FetchFn = (url: string, init?: { signal?: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;

export interface LightClientOptions {
  genesis: Genesis;
  /** The node asked by default. */
  node: string;
  /** Shard id -> API URL of its node (e.g. from cluster.json), to ask home shards directly. */
  nodes?: ReadonlyMap<string, string>;
  fetch?: FetchFn;
  timeoutMs?: number;
}

/** The node could not answer (unreachable, 404 not final yet, ...): not a verification failure. */
export class LightFetchError extends Error {
  override name = 'LightFetchError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface TxVerdict {
  inclusion: Verified<TxFacts>;
  /** For a cross-shard transfer: the destination's proven credit, or why it is not shown yet. */
  credit?: { verified: true; check: string; cursor: Verified<InboxCursor | null> } | { verified: false; reason: string };
}

export class LightClient {
  readonly genesis: Genesis;
  readonly node: string;
  readonly nodes: ReadonlyMap<string, string>;
  private readonly fetchFn: FetchFn;
  private readonly timeoutMs: number;
  bytesFetched = 0;
  requests = 0;

  constructor(o: LightClientOptions) {
    this.genesis = o.genesis;
    this.node = o.node.replace(/\/+$/, '');
    this.nodes = o.nodes ?? new Map();
    this.fetchFn = o.fetch ?? ((u, i) => fetch(u, i));
    this.timeoutMs = o.timeoutMs ?? 30_000;
    if (o.genesis.depth < 1) throw new RangeError('the light client needs a network of depth >= 1 (global snapshots)');
  }

  /** GET a JSON answer, counting its bytes. */
  async get<T = Record<string, unknown>>(base: string, path: string): Promise<{ status: number; body: T }> {
    let res;
    try {
      res = await this.fetchFn(`${base.replace(/\/+$/, '')}/${path}`, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw new LightFetchError(0, 'unreachable', `cannot reach ${base}: ${(e as Error).message}`);
    }
    const text = await res.text();
    this.requests++;
    this.bytesFetched += new TextEncoder().encode(text).length;
    let body: T;
    try {
      body = JSON.parse(text) as T;
    } catch {
      throw new LightVerifyError('answer', `${path}: HTTP ${res.status} with a body that is not JSON`);
    }
    return { status: res.status, body };
  }

  private nodeFor(shard: string): string {
    return this.nodes.get(shard) ?? this.node;
  }

  private async answer(base: string, path: string): Promise<{ body: Record<string, unknown>; bytes: Uint8Array }> {
    const { status, body } = await this.get<Record<string, unknown> & { error?: { code?: string; message?: string; shard?: string }; answer?: string }>(base, path);
    if (status !== 200) throw new LightFetchError(status, body.error?.code ?? 'error', `${body.error?.message ?? `HTTP ${status}`} (${path})`);
    if (typeof body.answer !== 'string') throw new LightVerifyError('answer', `${path}: no answer field`);
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(body.answer);
    } catch (e) {
      throw new LightVerifyError('answer', (e as Error).message);
    }
    return { body, bytes };
  }

  private static decode<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw new LightVerifyError(what, `undecodable: ${(e as Error).message}`);
    }
  }

  /** (a) Balance and nonce of `address` at a final global epoch (latest by default). */
  async account(address: string | Uint8Array, globalEpoch: number | 'latest' = 'latest'): Promise<Verified<AccountState>> {
    const a = typeof address === 'string' ? parseAddress(address) : address;
    const shard = homeShard(a, this.genesis.depth);
    const hex = typeof address === 'string' ? address.toLowerCase() : [...a].map((x) => x.toString(16).padStart(2, '0')).join('');
    const { bytes } = await this.answer(this.nodeFor(shard), `v1/light/account/${hex}?global=${globalEpoch}`);
    const ans = LightClient.decode('account answer', () => decodeStateAnswer(bytes));
    if (globalEpoch !== 'latest' && ans.globalEpoch !== globalEpoch) throw new LightVerifyError('global epoch', `asked for ${globalEpoch}, the answer is of ${ans.globalEpoch}`);
    return verifyAccountAnswer(this.genesis, a, ans);
  }

  /** The destination `dst`'s proven inbox cursor for source `src` at a final global epoch. */
  async inboxCursor(dst: ShardId, src: ShardId, globalEpoch: number | 'latest' = 'latest'): Promise<Verified<InboxCursor | null>> {
    const { bytes } = await this.answer(this.nodeFor(dst), `v1/light/inbox/${src}?global=${globalEpoch}`);
    const ans = LightClient.decode('inbox cursor answer', () => decodeStateAnswer(bytes));
    return verifyCursorAnswer(this.genesis, dst, shardIndex(src), ans);
  }

  /**
   * (b) A transaction's inclusion, anchored to the first final global epoch that includes its epoch;
   * for a cross-shard transfer also its credit on the destination (proven cursor at the latest
   * global epoch). `shard`: the sender's home shard if known (else the known nodes are asked in turn).
   */
  async tx(txid: string, shard?: string): Promise<TxVerdict> {
    const id = fromHex(txid, 32);
    const bases = shard ? [this.nodeFor(shard)] : [this.node, ...[...this.nodes.values()].filter((u) => u.replace(/\/+$/, '') !== this.node)];
    let got: { body: Record<string, unknown>; bytes: Uint8Array } | undefined;
    let last: LightFetchError | undefined;
    for (const b of bases) {
      try {
        got = await this.answer(b, `v1/light/tx/${txid.toLowerCase()}`);
        break;
      } catch (e) {
        if (!(e instanceof LightFetchError)) throw e;
        // a node that never saw it says unknown: ask the next; anything else is the answer
        if (!(e.code === 'tx-unknown' || e.status === 0)) throw e;
        last = e;
      }
    }
    if (!got) throw last ?? new LightFetchError(404, 'tx-unknown', `no node knows transaction ${txid}`);
    const ans = LightClient.decode('tx answer', () => decodeTxAnswer(got!.bytes));
    const inclusion = verifyTxAnswer(this.genesis, id, ans);
    const dst = inclusion.value.dstShard;
    if (!dst) return { inclusion };
    const receipt = got.body.receipt as { seq?: string } | undefined;
    try {
      const cursor = await this.inboxCursor(dst, inclusion.shard);
      try {
        const check = checkCredit(cursor, inclusion.value.epoch, receipt?.seq !== undefined ? BigInt(receipt.seq) : undefined);
        return { inclusion, credit: { verified: true, check, cursor } };
      } catch (e) {
        if (e instanceof LightVerifyError) return { inclusion, credit: { verified: false, reason: e.message } };
        throw e;
      }
    } catch (e) {
      if (e instanceof LightFetchError) return { inclusion, credit: { verified: false, reason: e.message } };
      throw e;
    }
  }
}
