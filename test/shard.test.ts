// The shard state machine over a real LevelDB store and real signature workers: validation
// reasons, nonce ordering, deterministic sealing, clocks across restarts, durability and supply.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { addressFromPublicKey, homeShard } from '../src/core/address.js';
import { fromHex, toHex } from '../src/core/bytes.js';
import { allocationsOf } from '../src/core/genesis.js';
import { type ShardId } from '../src/core/ids.js';
import { Shard, type ShardOptions } from '../src/shard/shard.js';
import { snapshotHash, verifySnapshotSignature, encodeSignedSnapshot } from '../src/shard/snapshot.js';
import { accountKey, decodeAccountValue, decodeTxRecord, decodeReceiptRow, groupReceipts, outboxKey, encodeReceiptRow, encodeOutboxLeaf } from '../src/shard/records.js';
import { chainGenesis, chainReceipts } from '../src/shard/receipt-chain.js';
import { encodeSignedTx, signTransfer, MAX_TX_BYTES } from '../src/shard/tx.js';
import { verifyProof, decodeProof } from '../src/trie/index.js';
import { addr, makeNetwork, seedKey, tempDir, transfer, usersOn, type TestNetwork } from './fixtures/shard-helpers.js';

const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function openShard(net: TestNetwork, shard: ShardId, extra: Partial<ShardOptions> = {}, dir?: string): Promise<{ s: Shard; dir: string }> {
  let d = dir;
  if (!d) {
    const t = tempDir();
    cleanups.push(t.cleanup);
    d = t.dir;
  }
  const s = await Shard.open({ dataDir: d, genesis: net.genesis, shard, validatorKey: net.validators.get(shard)!, verifyWorkers: 1, clock: () => 1_700_000_000_000, ...extra });
  cleanups.push(() => s.close());
  return { s, dir: d };
}

const ROOT = '' as ShardId;

/** Everything observable about committed + pending state, for "nothing changed" checks. */
async function observe(s: Shard, net: TestNetwork) {
  const accts = await Promise.all(net.users.map((u) => s.account(addr(u))));
  return { stats: s.stats(), sum: s.sumBalances(), accounts: accts.map((a) => [a.balance, a.nonce, a.pendingNonce, a.stateRoot]) };
}

test('every rejection reason is reported, and a rejected transaction changes nothing', async () => {
  const net = makeNetwork({ accounts: 4, amount: 1000n });
  const { s } = await openShard(net, ROOT, { mempoolMax: 3, nonceWindow: 8 });
  const [a, b, c] = net.users as [typeof net.users[0], typeof net.users[0], typeof net.users[0]];
  const ok = await s.submit([transfer(net, a, addr(b), 10n, 0n)]);
  assert.ok(ok[0]!.ok);
  await s.sealEpoch();
  const pending = transfer(net, a, addr(b), 10n, 1n);
  assert.ok((await s.submit([pending]))[0]!.ok);
  const before = await observe(s, net);

  const good = transfer(net, b, addr(a), 5n, 0n);
  const badSig = new Uint8Array(good);
  badSig[badSig.length - 1]! ^= 1;
  // depth-1 network: find a key whose home is not shard "" of depth 0... depth 0 has one shard, so wrong-shard is tested below
  const cases: [string, Uint8Array, string][] = [
    ['malformed', new Uint8Array([1, 2, 3]), 'malformed'],
    ['oversized', new Uint8Array(MAX_TX_BYTES + 1), 'oversized'],
    ['bad-signature', badSig, 'bad-signature'],
    ['wrong-network', transfer(net, b, addr(a), 5n, 0n, 1n, 'other-net'), 'wrong-network'],
    ['replayed (committed nonce, different tx)', transfer(net, a, addr(c), 7n, 0n), 'nonce-replayed'],
    ['replayed (pending nonce, different tx)', transfer(net, a, addr(c), 7n, 1n), 'nonce-replayed'],
    ['duplicate (pending)', pending, 'duplicate'],
    ['duplicate (committed)', transfer(net, a, addr(b), 10n, 0n), 'duplicate'],
    ['too far', transfer(net, a, addr(b), 1n, 1n + 8n), 'nonce-too-far'],
    ['overspend', transfer(net, b, addr(a), 1010n, 0n, 1n), 'insufficient-funds'], // b holds 1010
    ['overspend counting pending debits', transfer(net, a, addr(b), 1000n - 11n - 11n, 2n, 1n), 'insufficient-funds'],
    ['unfunded sender', transfer(net, seedKey('nobody', 1), addr(a), 1n, 0n, 0n), 'insufficient-funds'],
    ['zero amount', transfer(net, b, addr(a), 0n, 0n), 'zero-amount'],
    ['u64 overflow of amount + fee', transfer(net, b, addr(a), 1n << 63n, 0n, 1n << 63n), 'overflow'],
  ];
  for (const [name, bytes, reason] of cases) {
    const [r] = await s.submit([bytes]);
    assert.equal(r!.ok, false, name);
    assert.equal((r as { reason: string }).reason, reason, name);
    assert.deepEqual(await observe(s, net), before, `${name} changed nothing`);
  }
  // mempool-full: pool bound is 3, one pending; fill it, then one more is refused with no change
  assert.ok((await s.submit([transfer(net, b, addr(a), 1n, 0n), transfer(net, c, addr(a), 1n, 0n)])).every((r) => r.ok));
  const full = await observe(s, net);
  const [r] = await s.submit([transfer(net, net.users[3]!, addr(a), 1n, 0n)]);
  assert.ok(!r!.ok && r!.reason === 'mempool-full');
  assert.deepEqual(await observe(s, net), full);
  // rejected statuses are queryable with their reason
  const st = await s.txStatus(fromHex((r as { txid: string }).txid));
  assert.deepEqual(st.status === 'rejected' && st.reason, 'mempool-full');
  // and the state sealed afterwards equals that of a shard that never saw the rejected inputs
  const { s: control } = await openShard(net, ROOT, { mempoolMax: 3, nonceWindow: 8 });
  await control.submit([transfer(net, a, addr(b), 10n, 0n)]);
  await control.sealEpoch();
  await control.submit([pending, transfer(net, b, addr(a), 1n, 0n), transfer(net, c, addr(a), 1n, 0n)]);
  const x = await s.sealEpoch();
  const y = await control.sealEpoch();
  assert.equal(toHex(snapshotHash(x.snapshot)), toHex(snapshotHash(y.snapshot)));
});

test('wrong-shard: a sender homed on another shard is refused and changes nothing', async () => {
  const net = makeNetwork({ depth: 1, accounts: 12 });
  const here = '0' as ShardId;
  const { s } = await openShard(net, here);
  const foreign = net.users.find((u) => homeShard(addr(u), 1) !== here)!;
  const before = await observe(s, net);
  const [r] = await s.submit([transfer(net, foreign, addr(net.users[0]!), 1n, 0n)]);
  assert.ok(!r!.ok && r!.reason === 'wrong-shard');
  assert.deepEqual(await observe(s, net), before);
});

test('nonce ordering: transactions arriving out of order within the window are applied in nonce order', async () => {
  const net = makeNetwork({ accounts: 2, amount: 1000n });
  const { s } = await openShard(net, ROOT);
  const [a, b] = net.users as [typeof net.users[0], typeof net.users[0]];
  const txs = Array.from({ length: 10 }, (_, n) => transfer(net, a, addr(b), BigInt(n + 1), BigInt(n)));
  // arrive in reverse, in separate calls; nonce 0 arrives last
  for (let n = 9; n >= 1; n--) assert.ok((await s.submit([txs[n]!]))[0]!.ok);
  let snap = await s.sealEpoch();
  assert.equal(snap.snapshot.txCount, 0n, 'nothing is ready while nonce 0 is missing');
  assert.equal((await s.account(addr(a))).pendingNonce, 0n);
  const [r0] = await s.submit([txs[0]!]);
  assert.ok(r0!.ok);
  assert.equal((await s.account(addr(a))).pendingNonce, 10n);
  snap = await s.sealEpoch();
  assert.equal(snap.snapshot.txCount, 10n);
  const acct = await s.account(addr(a));
  assert.equal(acct.nonce, 10n);
  assert.equal(acct.balance, 1000n - 55n - 10n);
  // the accumulator records them in nonce order (index = position in the epoch)
  for (let n = 0; n < 10; n++) {
    const id = fromHex((await s.submit([txs[n]!]))[0]!.txid!);
    const st = await s.txStatus(id);
    assert.ok(st.status === 'committed');
    assert.equal(decodeTxRecord(fromHex(st.value)).index, n);
  }
});

function shuffle<T>(xs: T[], seed: number): T[] {
  const a = [...xs];
  let x = seed;
  for (let i = a.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

test('apply determinism: two shards fed the same transactions in different arrival orders seal byte-identical snapshots', async () => {
  const net = makeNetwork({ depth: 1, accounts: 30, amount: 10_000n });
  const here = '1' as ShardId;
  const senders = usersOn(net, here);
  assert.ok(senders.length >= 3);
  const txs: Uint8Array[] = [];
  for (const [i, u] of senders.entries()) {
    for (let n = 0; n < 5; n++) txs.push(transfer(net, u, addr(net.users[(i * 7 + n) % net.users.length]!), BigInt(10 + n), BigInt(n), BigInt(n % 3)));
  }
  const { s: s1 } = await openShard(net, here);
  const { s: s2 } = await openShard(net, here);
  const o1 = shuffle(txs, 1);
  const o2 = shuffle(txs, 2);
  assert.notDeepEqual(o1, o2);
  for (let i = 0; i < o1.length; i += 7) assert.ok((await s1.submit(o1.slice(i, i + 7))).every((r) => r.ok));
  for (const t of o2) assert.ok((await s2.submit([t]))[0]!.ok);
  const [a, b] = [await s1.sealEpoch(), await s2.sealEpoch()];
  assert.equal(a.snapshot.txCount, BigInt(txs.length));
  assert.ok(a.snapshot.outflow > 0n, 'some transfers left the shard');
  assert.deepEqual(encodeSignedSnapshot(a), encodeSignedSnapshot(b));
  assert.equal(toHex(snapshotHash(a.snapshot)), toHex(snapshotHash(b.snapshot)));
  // a replica with another wall clock differs only in its HLC: every root and count is the same
  const { s: s3 } = await openShard(net, here, { clock: () => 1_800_000_000_000 });
  for (const t of shuffle(txs, 3)) await s3.submit([t]);
  const c = (await s3.sealEpoch()).snapshot;
  assert.notEqual(c.hlc, a.snapshot.hlc);
  assert.deepEqual({ ...c, hlc: 0n }, { ...a.snapshot, hlc: 0n });
});

test('snapshots: epochs count from 0, chain by prevSnapshotHash, carry the vector clock and verify under the validator key', async () => {
  const net = makeNetwork({ depth: 1, accounts: 6 });
  const here = '2' as ShardId;
  const { s } = await openShard(net, here);
  assert.equal(s.latestEpoch(), -1);
  assert.equal(await s.snapshot(), undefined);
  const s0 = await s.sealEpoch();
  const s1 = await s.sealEpoch();
  assert.equal(s0.snapshot.epoch, 0);
  assert.equal(s1.snapshot.epoch, 1);
  assert.deepEqual(s0.snapshot.prevSnapshotHash, new Uint8Array(32));
  assert.deepEqual(s1.snapshot.prevSnapshotHash, snapshotHash(s0.snapshot));
  assert.deepEqual(s1.snapshot.vectorClock, [0, 0, 1]);
  assert.ok(verifySnapshotSignature(s1, net.validators.get(here)!.publicKey));
  assert.deepEqual(encodeSignedSnapshot((await s.snapshot(0))!), encodeSignedSnapshot(s0));
  assert.equal(await s.snapshot(5), undefined);
});

test('HLC and Lamport never go backwards, within a run and across close/reopen (even with the wall clock set back)', async () => {
  const net = makeNetwork({ accounts: 2 });
  let wall = 2_000_000_000_000;
  const { s, dir } = await openShard(net, ROOT, { clock: () => wall });
  const seen: { l: bigint; h: bigint }[] = [];
  for (let i = 0; i < 3; i++) {
    const x = await s.sealEpoch();
    seen.push({ l: x.snapshot.lamport, h: x.snapshot.hlc });
  }
  s.observeLamport(1000n);
  const y = await s.sealEpoch();
  assert.equal(y.snapshot.lamport, 1001n, 'L = max(L, received) + 1');
  seen.push({ l: y.snapshot.lamport, h: y.snapshot.hlc });
  await s.close();
  wall = 1_000_000_000_000; // clock stepped back while the node was down
  const { s: r } = await openShard(net, ROOT, { clock: () => wall }, dir);
  const z = await r.sealEpoch();
  seen.push({ l: z.snapshot.lamport, h: z.snapshot.hlc });
  for (let i = 1; i < seen.length; i++) {
    assert.ok(seen[i]!.l > seen[i - 1]!.l, `lamport ${seen[i]!.l} > ${seen[i - 1]!.l}`);
    assert.ok(seen[i]!.h > seen[i - 1]!.h, `hlc ${seen[i]!.h} > ${seen[i - 1]!.h}`);
  }
});

test('committed transactions survive close/reopen exactly once, with proofs that verify', async () => {
  const net = makeNetwork({ accounts: 3, amount: 500n });
  const { s, dir } = await openShard(net, ROOT);
  const [a, b] = net.users as [typeof net.users[0], typeof net.users[0]];
  const txs = [transfer(net, a, addr(b), 100n, 0n, 2n), transfer(net, a, addr(b), 50n, 1n, 2n)];
  const ids = (await s.submit(txs)).map((r) => fromHex(r.txid!));
  const snap = await s.sealEpoch();
  await s.close();
  const { s: r } = await openShard(net, ROOT, {}, dir);
  assert.equal(r.latestEpoch(), 0);
  for (const [i, id] of ids.entries()) {
    const st = await r.txStatus(id);
    assert.ok(st.status === 'committed', `tx ${i} committed after reopen`);
    assert.equal(st.txRoot, toHex(snap.snapshot.txRoot));
    assert.ok(verifyProof(fromHex(st.txRoot), id, fromHex(st.value), decodeProof(fromHex(st.proof))));
    assert.deepEqual(decodeTxRecord(fromHex(st.value)).signedTx, txs[i]);
  }
  const va = await r.account(addr(a));
  assert.equal(va.balance, 500n - 154n);
  assert.equal(va.nonce, 2n);
  assert.ok(verifyProof(fromHex(va.stateRoot), accountKey(addr(a)), fromHex(va.value!), decodeProof(fromHex(va.proof))));
  assert.deepEqual(decodeAccountValue(fromHex(va.value!)), { balance: va.balance, nonce: va.nonce });
  // absent account: non-inclusion proof
  const nobody = addressFromPublicKey(seedKey('nobody', 2).publicKey);
  const vn = await r.account(nobody);
  assert.equal(vn.value, null);
  assert.ok(verifyProof(fromHex(vn.stateRoot), accountKey(nobody), null, decodeProof(fromHex(vn.proof))));
  // resubmitting after the restart is refused as a duplicate; sealing again applies nothing twice
  const again = await r.submit(txs);
  assert.deepEqual(again.map((x) => !x.ok && x.reason), ['duplicate', 'duplicate']);
  const next = await r.sealEpoch();
  assert.equal(next.snapshot.txCount, 0n);
  assert.equal((await r.account(addr(a))).balance, 500n - 154n);
  assert.equal((await r.account(addr(b))).balance, 500n + 150n);
});

test('supply is conserved: sum of balances + burned fees + outflow = the genesis allocation of the shard; receipts are served with proofs', async () => {
  const net = makeNetwork({ depth: 1, accounts: 24, amount: 1000n });
  const here = '0' as ShardId;
  const { s } = await openShard(net, here, { outboxUnloadEvery: 2 }); // exercise the unload path too
  const mine = usersOn(net, here);
  const genesisHere = allocationsOf(net.genesis, here).reduce((x, a) => x + a.amount, 0n);
  let fees = 0n;
  let outflow = 0n;
  for (let e = 0; e < 3; e++) {
    const batch = mine.map((u, i) => transfer(net, u, addr(net.users[(i + e * 5) % net.users.length]!), BigInt(3 + i + e), BigInt(e), BigInt(e)));
    assert.ok((await s.submit(batch)).every((r) => r.ok));
    const snap = (await s.sealEpoch()).snapshot;
    fees += snap.fees;
    outflow += snap.outflow;
    assert.equal(snap.supply, s.sumBalances(), 'snapshot supply = sum of balances');
    assert.equal(s.sumBalances() + fees + outflow, genesisHere);
    assert.deepEqual([snap.totalFees, snap.totalOutflow, snap.totalInflow], [fees, outflow, 0n], 'cumulative totals');
    assert.equal(snap.supply + snap.totalFees + snap.totalOutflow - snap.totalInflow, genesisHere);
  }
  assert.ok(outflow > 0n);
  // receipts per destination: seq 0.. without gaps, amounts add up to the outflow, and the one
  // outbox leaf per destination (count, chain head) is proven and matches the receipts' hash chain
  let total = 0n;
  const latest = (await s.snapshot())!.snapshot;
  for (const dst of ['1', '2'] as ShardId[]) {
    const rs = await s.receipts(dst);
    rs.forEach((r, i) => {
      assert.equal(r.seq, BigInt(i));
      assert.equal(r.src, here);
      assert.equal(homeShard(r.to, 1), dst);
    });
    for (const r of rs) {
      total += r.amount;
      const row = encodeReceiptRow([r]);
      assert.deepEqual(Buffer.from(encodeReceiptRow(groupReceipts(decodeReceiptRow(row)))), Buffer.from(row));
    }
    const p = await s.outboxProof(dst);
    assert.equal(p.outboxRoot, toHex(latest.outboxRoot));
    assert.equal(p.count, BigInt(rs.length));
    const head = chainReceipts(chainGenesis(net.genesis.networkId, here, dst), rs);
    assert.equal(p.head, toHex(head));
    assert.ok(verifyProof(latest.outboxRoot, outboxKey(dst), encodeOutboxLeaf({ count: p.count, head }), decodeProof(fromHex(p.proof))));
  }
  assert.equal(total, outflow);
});

test('submissions during a seal are neither lost nor applied twice', async () => {
  const net = makeNetwork({ accounts: 8, amount: 100_000n });
  const { s } = await openShard(net, ROOT, { verifyWorkers: 2 });
  const ids = new Set<string>();
  const seals: Promise<unknown>[] = [];
  for (let n = 0; n < 20; n++) {
    const batch = net.users.map((u, i) => transfer(net, u, addr(net.users[(i + 1) % 8]!), 1n, BigInt(n), 0n));
    const sub = s.submit(batch);
    if (n % 3 === 0) seals.push(s.sealEpoch());
    for (const r of await sub) {
      assert.ok(r.ok, !r.ok ? r.message : '');
      ids.add(r.txid);
    }
  }
  await Promise.all(seals);
  while (s.stats().mempool > 0) await s.sealEpoch();
  assert.equal(s.stats().committedTotal, ids.size);
  for (const u of net.users) assert.equal((await s.account(addr(u))).nonce, 20n);
  assert.equal(s.sumBalances(), 8n * 100_000n);
});

test('opening with a validator key that the genesis does not list for the shard fails', async () => {
  const net = makeNetwork({ accounts: 1 });
  const t = tempDir();
  cleanups.push(t.cleanup);
  await assert.rejects(Shard.open({ dataDir: t.dir, genesis: net.genesis, shard: ROOT, validatorKey: seedKey('impostor', 0), verifyWorkers: 0 }), /not the genesis validator/);
});

test('a seal whose write fails changes nothing: head, balances and pending transactions stay as they were', async () => {
  const net = makeNetwork({ accounts: 3, amount: 100n });
  const { s, dir } = await openShard(net, ROOT);
  const [a, b] = net.users as [typeof net.users[0], typeof net.users[0]];
  await s.submit([transfer(net, a, addr(b), 10n, 0n)]);
  await s.sealEpoch();
  const [r] = await s.submit([transfer(net, a, addr(b), 10n, 1n)]);
  const before = { epoch: s.latestEpoch(), sum: s.sumBalances(), stats: s.stats() };
  // fault injection: the database goes away under the shard
  await (s as unknown as { store: { db: { close(): Promise<void> } } }).store.db.close();
  await assert.rejects(s.sealEpoch());
  assert.deepEqual({ epoch: s.latestEpoch(), sum: s.sumBalances(), stats: s.stats() }, before);
  assert.deepEqual(await s.txStatus(fromHex(r!.txid!)), { status: 'pending' });
  await s.close().catch(() => undefined);
  // on disk: still exactly epoch 0
  const { s: again } = await openShard(net, ROOT, {}, dir);
  assert.equal(again.latestEpoch(), 0);
  assert.equal((await again.account(addr(a))).balance, 100n - 11n);
});

test('a self-transfer costs only the fee; a transfer to a fresh address creates the account with a verifiable proof', async () => {
  const net = makeNetwork({ accounts: 2, amount: 1000n });
  const { s } = await openShard(net, ROOT);
  const [a] = net.users as [typeof net.users[0]];
  const fresh = addressFromPublicKey(seedKey('fresh', 7).publicKey);
  assert.ok((await s.submit([transfer(net, a, addr(a), 500n, 0n, 3n), transfer(net, a, fresh, 40n, 1n, 2n)])).every((r) => r.ok));
  await s.sealEpoch();
  const va = await s.account(addr(a));
  assert.deepEqual([va.balance, va.nonce], [1000n - 3n - 42n, 2n]);
  const vf = await s.account(fresh);
  assert.deepEqual([vf.balance, vf.nonce], [40n, 0n]);
  assert.ok(verifyProof(fromHex(vf.stateRoot), accountKey(fresh), fromHex(vf.value!), decodeProof(fromHex(vf.proof))));
  assert.equal(s.sumBalances() + 5n, 2000n);
});

test('a data dir refuses to open for another shard or another genesis', async () => {
  const net = makeNetwork({ depth: 1, accounts: 3 });
  const { s, dir } = await openShard(net, '0' as ShardId);
  await s.close();
  await assert.rejects(Shard.open({ dataDir: dir, genesis: net.genesis, shard: '1' as ShardId, validatorKey: net.validators.get('1' as ShardId)!, verifyWorkers: 0 }), /another network or shard/);
  const other = makeNetwork({ depth: 1, accounts: 4 });
  await assert.rejects(Shard.open({ dataDir: dir, genesis: other.genesis, shard: '0' as ShardId, validatorKey: other.validators.get('0' as ShardId)!, verifyWorkers: 0 }), /another network or shard .*: give this node its own --data-dir, or delete .* if that network.s data is no longer needed/);
});

test('signTransfer output submitted as bytes is accepted (encodeSignedTx is the wire form)', async () => {
  const net = makeNetwork({ accounts: 2 });
  const { s } = await openShard(net, ROOT, { verifyWorkers: 0 });
  const [a, b] = net.users as [typeof net.users[0], typeof net.users[0]];
  const st = signTransfer({ network: net.genesis.networkId, from: a.publicKey, to: addr(b), amount: 1n, fee: 0n, nonce: 0n, ts: 5n }, a.secretKey);
  const [r] = await s.submit([encodeSignedTx(st)]);
  assert.ok(r!.ok);
  assert.deepEqual(await s.txStatus(fromHex(r!.txid)), { status: 'pending' });
  assert.deepEqual(await s.txStatus(new Uint8Array(32)), { status: 'unknown' });
});
