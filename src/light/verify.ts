// The light client's checks (pure: no I/O). Trust comes from the genesis alone: the validator keys
// (who may sign a shard's snapshot, and through the rotation which shard signs for a triad member),
// the depth and the network id. An answer is accepted only if every piece checks, and the first
// piece that does not names itself: which proof, which signature, which path step.
import { bytesEqual, DecodeError, toHex } from '../core/bytes.js';
import { addressFromPublicKey, homeShard } from '../core/address.js';
import type { ShardId } from '../core/ids.js';
import { aggregateHash, isZeroHash } from '../hierarchy/aggregate.js';
import { memberSigner, verifyMemberSignature, type FinalityContext } from '../hierarchy/finality.js';
import { verifyAggregationPath } from '../hierarchy/global.js';
import { accountKey, decodeAccountValue, decodeTxRecord } from '../shard/records.js';
import { decodeCursorValue, inboxCursorKey, type InboxCursor } from '../shard/inbox.js';
import { snapshotHash, type SignedSnapshot } from '../shard/snapshot.js';
import { decodeSignedTx, txIdHex, type Transfer } from '../shard/tx.js';
import { decodeProof } from '../trie/proof.js';
import { verifyProof } from '../trie/verify.js';
import type { SignedStep, StateAnswer, TxAnswer } from './wire.js';
import { snapshotSignerKey, verifyShardSnapshot } from '../replica/keys.js';

export type LightContext = FinalityContext;

/** A failed check: `step` names it (e.g. "path step 1 (triad \"0\"@41): signature of member 2"). */
export class LightVerifyError extends Error {
  override name = 'LightVerifyError';
  readonly step: string;
  constructor(step: string, message: string) {
    super(`${step}: ${message}`);
    this.step = step;
  }
}

const fail = (step: string, message: string): never => {
  throw new LightVerifyError(step, message);
};

/** The shard's validator signed this snapshot (key from genesis), and it is of this network. */
export function checkSnapshot(ctx: LightContext, ss: SignedSnapshot, step: string): void {
  const s = ss.snapshot;
  if (s.network !== ctx.networkId) fail(step, `snapshot of network ${JSON.stringify(s.network)}, not ${JSON.stringify(ctx.networkId)}`);
  const key = ctx.validators.get(s.shard);
  if (!key || s.shard.length !== ctx.depth) fail(step, `shard ${JSON.stringify(s.shard)} is not a shard of this genesis`);
  if (!verifyShardSnapshot(ctx, ss)) fail(step, `signature of shard ${s.shard}'s validator (genesis key ${toHex(snapshotSignerKey(ctx, s) ?? key!).slice(0, 16)}...) does not verify`);
}

/**
 * The signed aggregation path links the shard snapshot (hash, epoch) to the global root of
 * `globalEpoch`: each step is the right triad, holds the previous link at the shard's position with
 * its epoch, and carries valid signatures of at least 2 distinct members (every signature present must
 * be valid); the last step is the apex of `globalEpoch`. Returns the global root and what was checked.
 */
export function checkSignedPath(ctx: LightContext, shard: ShardId, snapHash: Uint8Array, snapEpoch: number, path: readonly SignedStep[], globalEpoch: number): { root: Uint8Array; signatures: number } {
  const depth = ctx.depth;
  if (path.length !== depth) fail('aggregation path', `${path.length} steps for depth ${depth}`);
  let link = snapHash;
  let linkEpoch = snapEpoch;
  let signatures = 0;
  for (let i = 0; i < path.length; i++) {
    const { aggregate: a, signatures: sigs } = path[i]!;
    const triad = shard.slice(0, depth - 1 - i);
    const where = `path step ${i} (triad ${JSON.stringify(triad)}${i === path.length - 1 ? ', the apex' : ''})`;
    if (a.network !== ctx.networkId) fail(where, `aggregate of network ${JSON.stringify(a.network)}`);
    if (a.path !== triad) fail(where, `aggregate is of triad ${JSON.stringify(a.path)}`);
    const pos = shard.charCodeAt(depth - 1 - i) - 48;
    const ref = a.children[pos]!;
    const below = i === 0 ? `snapshot ${shard}@${snapEpoch}` : `triad ${JSON.stringify(shard.slice(0, depth - i))}@${linkEpoch}`;
    if (isZeroHash(link) || !bytesEqual(ref.commitment, link)) fail(where, `child ${pos}'s commitment is not the hash of ${below}`);
    if (ref.epoch !== linkEpoch) fail(where, `child ${pos} is included at epoch ${ref.epoch}, not ${linkEpoch}`);
    if (ref.carried ? ref.epoch > a.epoch : ref.epoch !== a.epoch) fail(where, `child ${pos}'s epoch ${ref.epoch} is inconsistent with the aggregate's epoch ${a.epoch}`);
    let supply = 0n;
    for (const c of a.children) supply += c.supply;
    if (supply !== a.supply) fail(where, `supply ${a.supply} is not the children's sum ${supply}`);
    const h = aggregateHash(a);
    const seen = new Set<number>();
    for (const s of sigs) {
      const signer = s.position <= 2 && s.attempt <= 2 ? memberSigner(a, s.position, s.attempt, depth) : '?';
      const what = `${where}: signature of member ${s.position} (shard ${signer}, attempt ${s.attempt})`;
      if (seen.has(s.position)) fail(what, 'a second signature for the same member');
      if (!verifyMemberSignature(a, s, ctx, h)) fail(what, 'does not verify against the genesis key of the shard the rotation assigns');
      seen.add(s.position);
    }
    if (seen.size < 2) fail(where, `${seen.size} member signature(s), need 2 of 3`);
    signatures += seen.size;
    link = h;
    linkEpoch = a.epoch;
  }
  const apex = path[path.length - 1]!.aggregate;
  if (apex.epoch !== globalEpoch) fail('global epoch', `the apex aggregate is of epoch ${apex.epoch}, not the global epoch ${globalEpoch} asked for`);
  // the same walk as the hierarchy's own path check (belt and braces: one definition of a path)
  if (!verifyAggregationPath({ shard, steps: path.map((s) => s.aggregate) }, snapHash, link)) fail('aggregation path', 'does not link the snapshot to the root');
  return { root: link, signatures };
}

export interface Verified<T> {
  value: T;
  globalEpoch: number;
  globalRoot: string;
  shard: ShardId;
  shardEpoch: number;
  /** Human-readable list of what was checked, in order. */
  checks: string[];
}

function decodeOr<T>(step: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof LightVerifyError) throw e;
    return fail(step, e instanceof DecodeError ? `undecodable: ${e.message}` : (e as Error).message);
  }
}

function checkStateAnswer(ctx: LightContext, a: StateAnswer, key: Uint8Array, shard: ShardId, what: string): { checks: string[]; root: Uint8Array } {
  const s = a.snapshot.snapshot;
  if (s.shard !== shard) fail('snapshot', `of shard ${JSON.stringify(s.shard)}, but ${what} lives on shard ${shard}`);
  const proof = decodeOr(`${what} trie proof`, () => decodeProof(a.proof));
  if (!verifyProof(s.stateRoot, key, a.value, proof)) fail(`${what} trie proof`, `does not verify against the state root ${toHex(s.stateRoot).slice(0, 16)}... of snapshot ${shard}@${s.epoch}`);
  checkSnapshot(ctx, a.snapshot, `snapshot ${shard}@${s.epoch}`);
  const { root, signatures } = checkSignedPath(ctx, shard, snapshotHash(s), s.epoch, a.path, a.globalEpoch);
  return {
    root,
    checks: [
      `${what}: ${a.value === null ? 'absence' : 'inclusion'} proof verifies against the state root of shard ${shard}'s snapshot of epoch ${s.epoch}`,
      `snapshot ${shard}@${s.epoch}: signed by the shard's genesis validator key`,
      `aggregation path: ${a.path.length} triad aggregate(s) link the snapshot to global root ${toHex(root).slice(0, 16)}... of global epoch ${a.globalEpoch}, ${signatures} valid member signatures (2 of 3 at every level)`,
    ],
  };
}

export interface AccountState {
  address: string;
  balance: bigint;
  nonce: bigint;
  exists: boolean;
}

/** (a) An account's balance and nonce at a global epoch. */
export function verifyAccountAnswer(ctx: LightContext, address: Uint8Array, a: StateAnswer): Verified<AccountState> {
  if (a.leaf.kind !== 'account' || !bytesEqual(a.leaf.address, address)) fail('answer', 'is not about the account asked for');
  const shard = homeShard(address, ctx.depth);
  const { checks, root } = checkStateAnswer(ctx, a, accountKey(address), shard, `account ${toHex(address)}`);
  const v = a.value === null ? { balance: 0n, nonce: 0n } : decodeOr('account value', () => decodeAccountValue(a.value!));
  return { value: { address: toHex(address), ...v, exists: a.value !== null }, globalEpoch: a.globalEpoch, globalRoot: toHex(root), shard, shardEpoch: a.snapshot.snapshot.epoch, checks };
}

/** The destination's cursor for a source shard at a global epoch (which of its receipts it has credited). */
export function verifyCursorAnswer(ctx: LightContext, dst: ShardId, srcIndex: number, a: StateAnswer): Verified<InboxCursor | null> {
  if (a.leaf.kind !== 'inbox-cursor' || a.leaf.srcIndex !== srcIndex) fail('answer', 'is not about the inbox cursor asked for');
  const { checks, root } = checkStateAnswer(ctx, a, inboxCursorKey(srcIndex), dst, `inbox cursor of shard ${dst} for source ${srcIndex}`);
  const v = a.value === null ? null : decodeOr('inbox cursor value', () => decodeCursorValue(a.value!));
  return { value: v, globalEpoch: a.globalEpoch, globalRoot: toHex(root), shard: dst, shardEpoch: a.snapshot.snapshot.epoch, checks };
}

export interface TxFacts {
  txid: string;
  epoch: number; // the epoch that committed it
  from: string;
  to: string;
  amount: bigint;
  fee: bigint;
  nonce: bigint;
  transfer: Transfer;
  /** The recipient's home shard when it is not the sender's (a cross-shard transfer). */
  dstShard?: ShardId;
}

/** (b) A transaction's inclusion: record -> tx root of its epoch's snapshot -> chain of snapshots -> global root. */
export function verifyTxAnswer(ctx: LightContext, txid: Uint8Array, a: TxAnswer): Verified<TxFacts> {
  if (!bytesEqual(a.txid, txid)) fail('answer', 'is not about the transaction asked for');
  const first = a.snapshots[0]!.snapshot;
  const shard = first.shard;
  const rec = decodeOr('tx record', () => decodeTxRecord(a.value));
  const t = decodeOr('tx record', () => decodeSignedTx(rec.signedTx)).tx;
  if (txIdHex(t) !== toHex(txid)) fail('tx record', 'holds a transaction with another id');
  const home = homeShard(addressFromPublicKey(t.from), ctx.depth);
  if (home !== shard) fail('tx record', `its sender lives on shard ${home}, not on ${shard} whose snapshot is given`);
  if (rec.epoch !== first.epoch) fail('tx record', `says epoch ${rec.epoch}, the snapshot is of epoch ${first.epoch}`);
  const proof = decodeOr('tx inclusion proof', () => decodeProof(a.proof));
  if (!verifyProof(first.txRoot, txid, a.value, proof)) fail('tx inclusion proof', `does not verify against the tx root of snapshot ${shard}@${first.epoch}`);
  for (let i = 0; i < a.snapshots.length; i++) {
    const s = a.snapshots[i]!.snapshot;
    const step = `snapshot ${shard}@${s.epoch}`;
    if (s.shard !== shard) fail(step, `snapshot ${i} is of shard ${s.shard}`);
    if (i > 0) {
      const p = a.snapshots[i - 1]!.snapshot;
      if (s.epoch !== p.epoch + 1 || !bytesEqual(s.prevSnapshotHash, snapshotHash(p))) fail(step, `does not chain to the snapshot of epoch ${p.epoch}`);
      // a replicated shard's terms never go down along its chain (docs/REPLICAS.md, fencing)
      if ((s.replica?.term ?? 0n) < (p.replica?.term ?? 0n)) fail(step, `term ${s.replica?.term ?? 0n} is below the term ${p.replica?.term} of epoch ${p.epoch}`);
    }
    checkSnapshot(ctx, a.snapshots[i]!, step);
  }
  const last = a.snapshots[a.snapshots.length - 1]!.snapshot;
  const { root, signatures } = checkSignedPath(ctx, shard, snapshotHash(last), last.epoch, a.path, a.globalEpoch);
  const dst = homeShard(t.to, ctx.depth);
  const checks = [
    `transaction ${toHex(txid)}: record (id recomputed, sender homed on shard ${shard}) included under the tx root of snapshot ${shard}@${first.epoch}`,
    a.snapshots.length === 1
      ? `snapshot ${shard}@${first.epoch}: signed by the shard's genesis validator key`
      : `snapshots ${shard}@${first.epoch}..${last.epoch}: each signed by the shard's genesis validator key, chained by previous-snapshot hash`,
    `aggregation path: ${a.path.length} triad aggregate(s) link snapshot ${shard}@${last.epoch} to global root ${toHex(root).slice(0, 16)}... of global epoch ${a.globalEpoch}, ${signatures} valid member signatures (2 of 3 at every level)`,
  ];
  return {
    value: { txid: toHex(txid), epoch: first.epoch, from: toHex(addressFromPublicKey(t.from)), to: toHex(t.to), amount: t.amount, fee: t.fee, nonce: t.nonce, transfer: t, ...(dst !== shard ? { dstShard: dst } : {}) },
    globalEpoch: a.globalEpoch,
    globalRoot: toHex(root),
    shard,
    shardEpoch: last.epoch,
    checks,
  };
}

/**
 * (b, cross-shard) The destination has credited the source's receipts emitted up to `debitEpoch`:
 * its proven cursor for the source says it consumed the source's receipt chain through a source
 * epoch >= the debit epoch, and past the receipt's seq when that is known.
 */
export function checkCredit(cursor: Verified<InboxCursor | null>, debitEpoch: number, seq?: bigint): string {
  const c = cursor.value;
  const step = `credit on shard ${cursor.shard}`;
  if (!c) fail(step, `shard ${cursor.shard}'s state at global epoch ${cursor.globalEpoch} shows no receipt consumed from the source yet`);
  if (c!.epoch < debitEpoch) fail(step, `shard ${cursor.shard} has consumed the source's receipts only through source epoch ${c!.epoch} < debit epoch ${debitEpoch} (at global epoch ${cursor.globalEpoch})`);
  if (seq !== undefined && c!.next <= seq) fail(step, `shard ${cursor.shard}'s cursor is at seq ${c!.next}, not past receipt ${seq}`);
  return `credit: shard ${cursor.shard}'s proven inbox cursor (global epoch ${cursor.globalEpoch}) has consumed the source's receipts through source epoch ${c!.epoch}${seq !== undefined ? ` and seq ${c!.next - 1n} >= ${seq}` : ''}, which includes this transfer's receipt (debit epoch ${debitEpoch})`;
}
