// 2-of-3 finality of triad aggregates (docs/PROTOCOL.md). Member i of triad p is the child p+i: a shard at
// the lowest level, else a whole subtree that signs through its rotation-chosen shard
// (rotation.ts signerFor). An aggregate is final with valid signatures of two distinct members.
// A FinalAggregate above the lowest level carries its children's final aggregates, so anyone can
// check the chain of 2-of-3s down to the shards. This tolerates one crashed member per triad,
// not a Byzantine one (two colluding members can finalise anything).
import { ByteReader, ByteWriter, DecodeError, bytesEqual } from '../core/bytes.js';
import { sign, verifyCached, SIGNATURE_BYTES } from '../core/ed25519.js';
import { replicaKeys, type Genesis } from '../core/genesis.js';
import type { ShardId } from '../core/ids.js';
import { aggregateHash, encodeAggregate, isZeroHash, readAggregate, type TriadAggregate } from './aggregate.js';
import { attemptsFor, signerFor } from './rotation.js';
import { genesisChildSupplies } from './genesis-supply.js';

/** The parts of the genesis that finality depends on. */
/** The genesis fields finality checks need (allocations: the supply a never-seen child must carry). */
export type FinalityContext = Pick<Genesis, 'networkId' | 'depth' | 'validators' | 'allocations' | 'replicas'>;

export interface MemberSignature {
  position: number; // 0..2: the child of the triad this member is
  attempt: number; // which rotation turn's shard signed (always 0 for a shard member)
  signature: Uint8Array; // 64: ed25519 over aggregateHash
}

export interface FinalAggregate {
  aggregate: TriadAggregate;
  signatures: MemberSignature[]; // sorted by position, at most one per position
  /** Above the lowest level: the children's final aggregates (null where the commitment is zero). */
  children: (FinalAggregate | null)[] | null;
}

/** The shard whose validator key signs for member `position` of the aggregate's triad on `attempt`. */
export function memberSigner(agg: TriadAggregate, position: number, attempt: number, depth: number): ShardId {
  return signerFor(agg.path + String(position), agg.epoch, depth, attempt);
}

export function signAggregate(agg: TriadAggregate, position: number, attempt: number, secretKey: Uint8Array): MemberSignature {
  return { position, attempt, signature: sign(aggregateHash(agg), secretKey) };
}

/** True if `sig` is a valid signature of the member it names, by the shard the rotation assigns. */
export function verifyMemberSignature(agg: TriadAggregate, sig: MemberSignature, ctx: FinalityContext, hash = aggregateHash(agg)): boolean {
  if (!Number.isInteger(sig.position) || sig.position < 0 || sig.position > 2) return false;
  const child = agg.path + String(sig.position);
  if (child.length > ctx.depth) return false;
  if (!Number.isInteger(sig.attempt) || sig.attempt < 0 || sig.attempt >= attemptsFor(child, ctx.depth)) return false;
  // a replicated shard signs through whichever of its replicas holds the write lease (docs/REPLICAS.md)
  // the same signature reaches a node in its gossip message and again in every final carrying it: checked once (verifyCached)
  return replicaKeys(ctx, signerFor(child, agg.epoch, ctx.depth, sig.attempt)).some((key) => verifyCached(hash, sig.signature, key));
}

/** Positions with at least one valid signature (duplicates and bad or foreign signatures do not count). */
export function validMembers(agg: TriadAggregate, sigs: readonly MemberSignature[], ctx: FinalityContext): Set<number> {
  const hash = aggregateHash(agg);
  const ok = new Set<number>();
  for (const s of sigs) if (!ok.has(s.position) && verifyMemberSignature(agg, s, ctx, hash)) ok.add(s.position);
  return ok;
}

export function isFinal(agg: TriadAggregate, sigs: readonly MemberSignature[], ctx: FinalityContext): boolean {
  return validMembers(agg, sigs, ctx).size >= 2;
}

/** Keeps one valid signature per position, sorted: the canonical signature set of a FinalAggregate. */
export function canonicalSignatures(agg: TriadAggregate, sigs: readonly MemberSignature[], ctx: FinalityContext): MemberSignature[] {
  const hash = aggregateHash(agg);
  const byPos = new Map<number, MemberSignature>();
  for (const s of sigs) if (!byPos.has(s.position) && verifyMemberSignature(agg, s, ctx, hash)) byPos.set(s.position, s);
  return [...byPos.values()].sort((a, b) => a.position - b.position);
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/**
 * Full check of a final aggregate against the genesis: structure, sums, 2-of-3 signatures, and,
 * above the lowest level, each child's final aggregate recursively (hash = commitment, epochs,
 * supplies, flow sums).
 */
export function verifyFinalAggregate(fa: FinalAggregate, ctx: FinalityContext): VerifyResult {
  const a = fa.aggregate;
  const where = `aggregate ${JSON.stringify(a.path)}@${a.epoch}`;
  const fail = (m: string): VerifyResult => ({ ok: false, reason: `${where}: ${m}` });
  if (a.network !== ctx.networkId) return fail(`network ${a.network} is not ${ctx.networkId}`);
  if (a.path.length >= ctx.depth || !/^[012]*$/.test(a.path)) return fail('path is not a triad of this network');
  let supply = 0n;
  const genesisSupply = genesisChildSupplies(ctx, a.path);
  for (let i = 0; i < 3; i++) {
    const c = a.children[i]!;
    supply += c.supply;
    // A child never seen (zero commitment) holds exactly its genesis allocation and has moved nothing.
    if (isZeroHash(c.commitment) && (c.supply !== genesisSupply[i] || c.epoch !== 0 || c.totalOutflow !== 0n || c.totalInflow !== 0n || c.totalFees !== 0n)) {
      return fail(`never-seen child ${i} must carry its genesis supply ${genesisSupply[i]} and zero totals`);
    }
    if (!c.carried && c.epoch !== a.epoch) return fail(`child ${i} is not carried but has epoch ${c.epoch}`);
    if (c.carried && c.epoch > a.epoch) return fail(`carried child ${i} has a later epoch ${c.epoch}`);
    if (!c.carried && isZeroHash(c.commitment)) return fail(`child ${i} has a zero commitment but is not carried`);
  }
  if (supply !== a.supply) return fail(`supply ${a.supply} is not the children's sum ${supply}`);
  const members = validMembers(a, fa.signatures, ctx);
  if (members.size < 2) return fail(`${members.size} valid member signature(s), need 2 of 3`);
  const lowest = a.path.length === ctx.depth - 1;
  if (lowest) {
    if (fa.children !== null) return fail('the lowest level carries no child aggregates');
    return { ok: true };
  }
  if (fa.children === null || fa.children.length !== 3) return fail('child final aggregates missing');
  let outflow = 0n, inflow = 0n, fees = 0n, txCount = 0n;
  for (let i = 0; i < 3; i++) {
    const ref = a.children[i]!;
    const child = fa.children[i];
    if (isZeroHash(ref.commitment)) {
      if (child) return fail(`child ${i} has a zero commitment but a final aggregate`);
      continue;
    }
    if (!child) return fail(`child ${i}'s final aggregate is missing`);
    const ca = child.aggregate;
    if (ca.path !== a.path + String(i)) return fail(`child ${i} is ${JSON.stringify(ca.path)}`);
    if (!bytesEqual(aggregateHash(ca), ref.commitment)) return fail(`child ${i}'s aggregate does not match its commitment`);
    if (ca.epoch !== ref.epoch || ca.supply !== ref.supply) return fail(`child ${i}'s epoch or supply differs from the reference`);
    const r = verifyFinalAggregate(child, ctx);
    if (!r.ok) return r;
    if (!ref.carried) {
      outflow += ca.outflow; inflow += ca.inflow; fees += ca.fees; txCount += ca.txCount;
    }
  }
  if (outflow !== a.outflow || inflow !== a.inflow || fees !== a.fees || txCount !== a.txCount) return fail("flow sums differ from the children's");
  return { ok: true };
}

// Canonical encoding: aggregate, signatures (strictly increasing positions), child mask, children.
export const FINAL_VERSION = 1;
const MAX_AGGREGATE_BYTES = 4096;

export function encodeFinalAggregate(fa: FinalAggregate): Uint8Array {
  const w = new ByteWriter(1024);
  writeFinal(w, fa);
  return w.finish();
}

function writeFinal(w: ByteWriter, fa: FinalAggregate): void {
  w.u8(FINAL_VERSION).bytes(encodeAggregate(fa.aggregate));
  const sigs = [...fa.signatures].sort((a, b) => a.position - b.position);
  w.u8(sigs.length);
  for (const s of sigs) w.u8(s.position).u8(s.attempt).fixed(s.signature, SIGNATURE_BYTES);
  if (fa.children === null) {
    w.u8(0xff);
    return;
  }
  let mask = 0;
  fa.children.forEach((c, i) => { if (c) mask |= 1 << i; });
  w.u8(mask);
  for (const c of fa.children) if (c) writeFinal(w, c);
}

function readFinal(r: ByteReader, level: number): FinalAggregate {
  if (level > 8) throw new DecodeError('final aggregate: nested too deep');
  const version = r.u8();
  if (version !== FINAL_VERSION) throw new DecodeError(`final aggregate: unknown version ${version}`);
  const inner = new ByteReader(r.bytes(MAX_AGGREGATE_BYTES), 'aggregate');
  const aggregate = readAggregate(inner);
  inner.end();
  const n = r.u8();
  if (n > 3) throw new DecodeError(`final aggregate: ${n} signatures, at most 3`);
  const signatures: MemberSignature[] = [];
  for (let i = 0; i < n; i++) {
    const position = r.u8();
    const attempt = r.u8();
    if (position > 2 || attempt > 2) throw new DecodeError('final aggregate: signature position or attempt out of range');
    if (i > 0 && position <= signatures[i - 1]!.position) throw new DecodeError('final aggregate: signatures not in strictly increasing position order');
    signatures.push({ position, attempt, signature: r.fixed(SIGNATURE_BYTES) });
  }
  const mask = r.u8();
  if (mask === 0xff) return { aggregate, signatures, children: null };
  if (mask > 7) throw new DecodeError(`final aggregate: bad child mask ${mask}`);
  const children: (FinalAggregate | null)[] = [null, null, null];
  for (let i = 0; i < 3; i++) if (mask & (1 << i)) children[i] = readFinal(r, level + 1);
  return { aggregate, signatures, children };
}

export function decodeFinalAggregate(b: Uint8Array): FinalAggregate {
  const r = new ByteReader(b, 'final aggregate');
  const fa = readFinal(r, 0);
  r.end();
  return fa;
}
