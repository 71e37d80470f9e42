// The light client's checks (src/light/verify.ts, wire.ts) on a synthetic depth-2 network with real
// codecs, tries and signatures: an honest answer verifies and shows the proven values; any altered
// byte of an answer is detected (exhaustively for single-bit flips, and by fast-check for random
// bytes); a failure names the step that failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addressFromPublicKey, homeShard } from '../src/core/address.js';
import { keyPairFromSeed } from '../src/core/ed25519.js';
import { taggedHash } from '../src/core/hash.js';
import type { ShardId } from '../src/core/ids.js';
import { memberSigner, signAggregate, type FinalAggregate, type MemberSignature } from '../src/hierarchy/finality.js';
import type { TriadAggregate } from '../src/hierarchy/aggregate.js';
import { accountKey, encodeAccountValue, encodeTxRecord } from '../src/shard/records.js';
import { signSnapshot, snapshotHash, type SignedSnapshot, type Snapshot } from '../src/shard/snapshot.js';
import { encodeSignedTx, signTransfer, txId } from '../src/shard/tx.js';
import { encodeProof, MemoryNodeStore, TernaryTrie } from '../src/trie/index.js';
import { LightVerifyError, verifyAccountAnswer, verifyTxAnswer } from '../src/light/verify.js';
import { decodeStateAnswer, decodeTxAnswer, encodeStateAnswer, encodeTxAnswer, fromBase64, toBase64, type SignedStep } from '../src/light/wire.js';
import { expectedAggregates, makeSnapshot, makeTestNet, type TestNet } from './hierarchy-fixtures.js';

const net = makeTestNet(2);
const ctx = net.genesis;
const EPOCH = 7;

function sigs(n: TestNet, agg: TriadAggregate, positions: number[]): MemberSignature[] {
  return positions.map((p) => signAggregate(agg, p, 0, n.keys.get(memberSigner(agg, p, 0, n.genesis.depth))!.secretKey));
}

/** An account key pair whose address lives on `shard`. */
function accountOn(shard: ShardId, skip = 0): { kp: ReturnType<typeof keyPairFromSeed>; address: Uint8Array } {
  for (let i = 0; ; i++) {
    const kp = keyPairFromSeed(taggedHash('light-test', new TextEncoder().encode(String(i))));
    const address = addressFromPublicKey(kp.publicKey);
    if (homeShard(address, ctx.depth) === shard && skip-- === 0) return { kp, address };
  }
}

const SHARD = '12' as ShardId;
const alice = accountOn(SHARD);
const bob = accountOn(SHARD, 1);
const carol = accountOn('01' as ShardId);

async function fixture(): Promise<{ state: Uint8Array; tx: Uint8Array; txid: Uint8Array }> {
  // the shard's state: two accounts; its epoch: one transfer alice -> carol (cross-shard)
  const st = await TernaryTrie.open(new MemoryNodeStore());
  await st.put(accountKey(alice.address), encodeAccountValue({ balance: 995n, nonce: 1n }));
  await st.put(accountKey(bob.address), encodeAccountValue({ balance: 10n, nonce: 0n }));
  const stateRoot = await st.commit();
  const signed = signTransfer({ network: ctx.networkId, from: alice.kp.publicKey, to: carol.address, amount: 5n, fee: 0n, nonce: 0n, ts: 1n }, alice.kp.secretKey);
  const id = txId(signed.tx);
  const record = encodeTxRecord({ signedTx: encodeSignedTx(signed), epoch: EPOCH, index: 0, status: 0 });
  const tt = await TernaryTrie.open(new MemoryNodeStore());
  await tt.put(id, record);
  const txRoot = await tt.commit();
  const snap: Snapshot = { ...makeSnapshot(net, SHARD, EPOCH), stateRoot, txRoot };
  const ss: SignedSnapshot = signSnapshot(snap, net.keys.get(SHARD)!.secretKey);
  const snaps = new Map<ShardId, Snapshot | null>();
  for (const s of ctx.validators.keys()) snaps.set(s, s === SHARD ? snap : makeSnapshot(net, s, EPOCH));
  const aggs = expectedAggregates(net, EPOCH, snaps, new Map());
  const path: SignedStep[] = [SHARD.slice(0, 1), ''].map((p, i) => ({ aggregate: aggs.get(p)!, signatures: sigs(net, aggs.get(p)!, i === 0 ? [0, 2] : [1, 2]) }));
  const state = encodeStateAnswer({ globalEpoch: EPOCH, leaf: { kind: 'account', address: alice.address }, snapshot: ss, proof: encodeProof(await st.prove(accountKey(alice.address))), value: (await st.get(accountKey(alice.address)))!, path });
  const tx = encodeTxAnswer({ globalEpoch: EPOCH, txid: id, value: record, proof: encodeProof(await tt.prove(id)), snapshots: [ss], path });
  return { state, tx, txid: id };
}

const fx = await fixture();
const checkState = (b: Uint8Array) => verifyAccountAnswer(ctx, alice.address, decodeStateAnswer(b));
const checkTx = (b: Uint8Array) => verifyTxAnswer(ctx, fx.txid, decodeTxAnswer(b));

/** True iff the check rejects the bytes (a decode error or a named verification failure). */
function rejected(check: (b: Uint8Array) => unknown, b: Uint8Array): boolean {
  try {
    check(b);
    return false;
  } catch (e) {
    return true;
  }
}

test('an honest account answer verifies: the proven balance and nonce, anchored to the global root through 2-of-3 signatures at both levels', () => {
  const v = checkState(fx.state);
  assert.equal(v.value.balance, 995n);
  assert.equal(v.value.nonce, 1n);
  assert.equal(v.shard, SHARD);
  assert.equal(v.globalEpoch, EPOCH);
  assert.equal(v.checks.length, 3);
  assert.ok(fx.state.length < 3072, `answer is ${fx.state.length} bytes`);
});

test('an honest tx answer verifies: the record under the tx root, the sender on that shard, the cross-shard destination', () => {
  const v = checkTx(fx.tx);
  assert.equal(v.value.amount, 5n);
  assert.equal(v.value.dstShard, '01');
  assert.equal(v.value.epoch, EPOCH);
});

test('every single-bit flip anywhere in an account or tx answer is detected', () => {
  for (const [name, bytes, check] of [['account', fx.state, checkState], ['tx', fx.tx, checkTx]] as const) {
    const missed: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      for (const bit of [0, 7]) {
        const b = bytes.slice();
        b[i]! ^= 1 << bit;
        if (!rejected(check, b)) missed.push(i);
      }
    }
    assert.deepEqual(missed, [], `${name}: flips at these offsets went unnoticed`);
  }
});

test('any byte replaced by any other value, at any offset, is detected (fast-check)', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 255 }), (useTx, at, x) => {
      const src = useTx ? fx.tx : fx.state;
      const b = src.slice();
      b[at % b.length]! ^= x;
      return rejected(useTx ? checkTx : checkState, b);
    }),
    { numRuns: 1500 },
  );
});

test('truncated or extended answers are detected', () => {
  for (const n of [1, 2, 64, fx.state.length - 1]) assert.ok(rejected(checkState, fx.state.subarray(0, fx.state.length - n)));
  const longer = new Uint8Array(fx.state.length + 1);
  longer.set(fx.state);
  assert.ok(rejected(checkState, longer));
});

test('a failure names its step: a bad apex signature, a wrong path link, a bad proof, a bad snapshot signature', () => {
  const a = decodeStateAnswer(fx.state);
  const expectStep = (mut: (x: ReturnType<typeof decodeStateAnswer>) => void, re: RegExp): void => {
    const x = decodeStateAnswer(fx.state);
    mut(x);
    assert.throws(() => verifyAccountAnswer(ctx, alice.address, x), (e: unknown) => e instanceof LightVerifyError && re.test(e.message), `expected ${re}`);
  };
  expectStep((x) => void (x.path[1]!.signatures[0]!.signature[5]! ^= 1), /^path step 1 \(triad "", the apex\): signature of member 1 \(shard \d+, attempt 0\)/);
  expectStep((x) => void (x.path[0]!.aggregate.children[2]!.commitment[0]! ^= 1), /^path step 0 \(triad "1"\): child 2's commitment is not the hash of snapshot 12@7/);
  expectStep((x) => void (x.value = encodeAccountValue({ balance: 996n, nonce: 1n })), /^account [0-9a-f]{40} trie proof: does not verify/);
  expectStep((x) => void (x.snapshot.signature[3]! ^= 1), /^snapshot 12@7: signature of shard 12's validator/);
  expectStep((x) => void (x.path[1]!.signatures = x.path[1]!.signatures.slice(0, 1)), /^path step 1 \(triad "", the apex\): 1 member signature\(s\), need 2 of 3/);
  expectStep((x) => void (x.globalEpoch = EPOCH + 1), /^global epoch: /);
  // a signature by a key the genesis does not name for that member
  expectStep((x) => void (x.path[0]!.signatures[0] = signAggregate(x.path[0]!.aggregate, 0, 0, net.keys.get('22' as ShardId)!.secretKey)), /^path step 0 \(triad "1"\): signature of member 0/);
  assert.equal(a.path.length, 2);
});

test('the answer travels as base64 and round-trips', () => {
  assert.deepEqual(fromBase64(toBase64(fx.state)), fx.state);
  assert.throws(() => fromBase64('not base64!'));
});

test('snapshot hash of the honest fixture is what the lowest triad commits to (the fixture is a real chain)', () => {
  const a = decodeStateAnswer(fx.state);
  assert.deepEqual(a.path[0]!.aggregate.children[2]!.commitment, snapshotHash(a.snapshot.snapshot));
});

/** The light routes over a shard that serves `served` for epoch EPOCH and globals EPOCH (includes the
 * fixture's snapshot) and EPOCH + 1 (carries shard SHARD's triad above the lowest level). */
async function lightRoutes(served: SignedSnapshot) {
  const { Router } = await import('../src/node/http.js');
  const { addLightRoutes } = await import('../src/node/light-api.js');
  const answer = decodeStateAnswer(fx.state);
  const snaps = new Map<ShardId, Snapshot | null>();
  for (const s of ctx.validators.keys()) snaps.set(s, s === SHARD ? answer.snapshot.snapshot : makeSnapshot(net, s, EPOCH));
  const aggs = expectedAggregates(net, EPOCH, snaps, new Map());
  const final = (p: string, children: FinalAggregate[] | (FinalAggregate | null)[] | null): FinalAggregate => ({ aggregate: aggs.get(p)!, signatures: sigs(net, aggs.get(p)!, [0, 1]), children });
  const lowest = ['0', '1', '2'].map((p) => final(p, null));
  const includes = { ...final('', lowest), aggregate: { ...aggs.get('')!, epoch: EPOCH } };
  const carries = { ...final('', [lowest[0]!, null, lowest[2]!]), aggregate: { ...aggs.get('')!, epoch: EPOCH + 1 } };
  const globals = new Map<number, FinalAggregate>([[EPOCH, includes], [EPOCH + 1, carries]]);
  const shard = {
    id: SHARD, genesis: ctx,
    stateProofAt: async () => ({ snapshot: served, proof: answer.proof, value: answer.value ?? undefined }),
  };
  const network = { latestGlobalSnapshot: () => carries, globalAt: async (e: number) => globals.get(e) };
  const router = new Router();
  addLightRoutes(router, shard as never, network as never);
  return async (query: string) => {
    const m = router.match('GET', `/v1/light/account/${toHexStr(alice.address)}`);
    assert.equal(m.kind, 'found');
    if (m.kind !== 'found') throw new Error('no route');
    try {
      return await m.handler({ method: 'GET', path: '', params: m.params, query: new URLSearchParams(query), headers: {} } as never);
    } catch (e) {
      return { status: (e as { status?: number }).status ?? 500, json: { error: (e as Error).message, code: (e as { code?: string }).code } };
    }
  };
}

test('the light routes answer 404 (not 500) for a global that carries the shard\'s triad above the lowest level, and global=latest falls back to the newest global that includes it', async () => {
  // Seen at depth 3 under load: the newest global carried a triad on the shard's way up, so it held
  // no final aggregate below it; the route dereferenced the missing path and answered 500.
  const ask = await lightRoutes(decodeStateAnswer(fx.state).snapshot);
  const pinned = await ask(`global=${EPOCH + 1}`);
  assert.equal(pinned.status, 404, `a global that carries shard ${SHARD}'s triad: ${JSON.stringify(pinned.json)}`);
  const latest = await ask('global=latest');
  assert.equal(latest.status ?? 200, 200, JSON.stringify(latest.json));
  assert.equal((latest.json as { globalEpoch: number }).globalEpoch, EPOCH, 'the newest global that includes the shard');
});

test('a node whose own snapshot of the epoch is not the one the global includes refuses to serve it (404 snapshot-differs), even though it is validly signed', async () => {
  // e.g. a replica holding a deposed writer's uncommitted snapshot of that epoch
  const other = signSnapshot(makeSnapshot(net, SHARD, EPOCH), net.keys.get(SHARD)!.secretKey);
  const ask = await lightRoutes(other);
  const r = await ask(`global=${EPOCH}`);
  assert.equal(r.status, 404, JSON.stringify(r.json));
  assert.match(JSON.stringify(r.json), /snapshot-differs|is not the one global epoch/);
});

function toHexStr(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
