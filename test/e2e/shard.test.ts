// End to end, one shard: a real `smt node start` process on 127.0.0.1, driven by the real CLI and by
// raw HTTP. Properties checked:
//  - a CLI transfer is committed, balances and proofs read back verify with the standalone trie verifier;
//  - after `kill -9` under load and a restart on the same data dir, every transaction reported
//    committed before the kill is still committed (same epoch), applied exactly once (balances and
//    nonces equal a replay of the committed set), and supply + burned fees equal the genesis supply;
//  - the snapshot chain is intact across the crash (prev hashes link, Lamport and HLC strictly grow);
//  - SIGTERM shuts the node down cleanly (exit code 0).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { loadGenesis, totalSupply } from '../../src/core/genesis.js';
import { loadKeyFile, type LoadedKey } from '../../src/core/keyfile.js';
import { addressFromPublicKey } from '../../src/core/address.js';
import { generateKeyPair } from '../../src/core/ed25519.js';
import { encodeSignedTx, signTransfer, txIdHex } from '../../src/shard/tx.js';
import { accountKey, decodeAccountValue } from '../../src/shard/records.js';
import { decodeSignedSnapshot, snapshotHash, verifySnapshotSignature } from '../../src/shard/snapshot.js';
import { decodeProof, verifyProof } from '../../src/trie/index.js';
import { sleep } from '../support/wait.js';
import { smt, startNode as startSmtNode, type NodeProcess } from '../support/process.js';
import { getJson, getOkJson } from '../support/http.js';

const ACCOUNTS = 8;
const BALANCE = 1_000_000_000n;
const EPOCH_MS = 250;

const tmp = mkdtempSync(join(tmpdir(), 'smt-e2e-'));
const netDir = join(tmp, 'net');
const dataDir = join(tmp, 'data');
const procs = new Set<ChildProcess>();
after(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

async function smtJson(...args: string[]): Promise<any> {
  const r = await smt([...args, '--json'], 60_000);
  assert.equal(r.code, 0, `smt ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Starts the node (kept for the kill at the end). */
async function startNode(): Promise<NodeProcess> {
  // --http-rate 0: this test drives the node hard from one address (load, polling); per-address rate
  // limiting has its own test (test/security/http-edges.test.ts)
  const node = await startSmtNode(['--network', netDir, '--data', dataDir, '--api', '127.0.0.1:0', '--log-level', 'warn', '--http-rate', '0']);
  procs.add(node.proc);
  return node;
}

/** /v1/health's body whatever its status (503 = live but not ready yet, e.g. catching up after a start). */
const healthOf = async (url: string): Promise<any> => (await getJson(`${url}/v1/health`, 30_000)).body;

function verifyAccountProof(a: any): boolean {
  const value = a.value === null ? null : fromHex(a.value);
  return verifyProof(fromHex(a.stateRoot, 32), accountKey(fromHex(a.address, 20)), value, decodeProof(fromHex(a.proof)));
}

interface SentTx { txid: string; from: string; to: string; amount: bigint; fee: bigint; nonce: bigint; hex: string }

test('one shard end to end: CLI transfers, proofs, kill -9 under load, restart, exactly-once and supply', { timeout: 120_000 }, async () => {
  const t0 = Date.now();
  // --- network and node ---
  const init = await smtJson('network', 'init', '--dir', netDir, '--accounts', String(ACCOUNTS), '--balance', BALANCE.toString(), '--epoch-ms', String(EPOCH_MS), '--network-id', 'e2e');
  assert.equal(init.accounts.length, ACCOUNTS);
  const genesis = loadGenesis(join(netDir, 'genesis.json'));
  const keys: LoadedKey[] = Array.from({ length: ACCOUNTS }, (_, i) => loadKeyFile(join(netDir, 'accounts', `${i}.key`)));
  const addr = keys.map((k) => toHex(k.address));
  let node = await startNode();
  const tStarted = Date.now() - t0;

  // a node started behind the clock seals the missed epochs first: ready (200, ok) once caught up
  let health = await healthOf(node.url);
  for (const deadline = Date.now() + 30_000; !health.ok && Date.now() < deadline; health = await healthOf(node.url)) await sleep(200);
  assert.equal(health.ok, true, JSON.stringify(health));
  assert.equal(health.network, 'e2e');
  assert.equal(health.shard, '');

  // --- CLI: a transfer to a fresh address, committed, then read back with proofs ---
  const fresh = toHex(addressFromPublicKey(generateKeyPair().publicKey));
  const absent = await smtJson('account', fresh, '--node', node.url);
  assert.equal(absent.balance, '0');
  assert.equal(absent.proofVerified, true);
  assert.equal(verifyAccountProof(absent), true, 'non-inclusion proof verifies');

  const sent = await smtJson('tx', 'send', '--key', join(netDir, 'accounts', '0.key'), '--to', fresh, '--amount', '12345', '--fee', '7', '--node', node.url, '--wait');
  assert.equal(sent.status, 'committed');
  assert.ok(Number.isInteger(sent.epoch));
  const fundedFresh = await smtJson('account', fresh, '--node', node.url, '--network', netDir);
  assert.equal(fundedFresh.balance, '12345');
  assert.equal(fundedFresh.proofVerified, true);
  assert.match(fundedFresh.anchoredTo, /^snapshot of epoch \d+, signature valid \(genesis validator key\)$/);
  assert.equal(verifyAccountProof(fundedFresh), true);
  const sender = await smtJson('account', addr[0]!, '--node', node.url);
  assert.equal(BigInt(sender.balance), BALANCE - 12345n - 7n);
  assert.equal(sender.nonce, '1');
  assert.equal(verifyAccountProof(sender), true);
  // a tampered balance must not verify (the check can fail)
  const tampered = { ...sender, value: toHex(new Uint8Array([...fromHex(sender.value).slice(0, 7), fromHex(sender.value)[7]! ^ 1, ...fromHex(sender.value).slice(8)])) };
  assert.equal(verifyAccountProof(tampered), false);

  const st = await smtJson('tx', 'status', sent.txid, '--node', node.url, '--network', netDir);
  assert.equal(st.status, 'committed');
  assert.equal(st.epoch, sent.epoch);
  assert.equal(st.proofVerified, true);
  assert.equal(st.anchoredTo, `snapshot of epoch ${sent.epoch}, signature valid (genesis validator key)`);
  assert.equal(verifyProof(fromHex(st.txRoot), fromHex(st.txid), fromHex(st.value), decodeProof(fromHex(st.proof))), true);

  const snap = await smtJson('snapshot', '--node', node.url, '--network', netDir);
  assert.equal(snap.signatureValid, true);
  const tCli = Date.now() - t0;

  // --- load: senders 1..7 stream batches; we record what the node reports committed; then kill -9 ---
  const all: SentTx[] = [{ txid: sent.txid, from: addr[0]!, to: fresh, amount: 12345n, fee: 7n, nonce: 0n, hex: '' }];
  const nextNonce = new Map<string, bigint>(addr.map((a) => [a, 0n]));
  nextNonce.set(addr[0]!, 1n);
  const reportedCommitted = new Map<string, number>(); // txid -> epoch, as reported before the crash
  reportedCommitted.set(sent.txid, sent.epoch);
  let loadRunning = true;
  let submitted = 0;
  let rejectedUnderLoad = 0;
  const rejectReasons = new Map<string, number>();
  const url1 = node.url;
  const loader = (async () => {
    let round = 0;
    while (loadRunning) {
      const batch: string[] = [];
      for (let s = 1; s < ACCOUNTS; s++) {
        for (let j = 0; j < 15; j++) {
          const from = addr[s]!;
          const nonce = nextNonce.get(from)!;
          const to = addr[(s + 1 + ((round + j) % (ACCOUNTS - 1))) % ACCOUNTS]!;
          const amount = BigInt(1 + ((round * 31 + j * 7 + s) % 1000));
          const fee = BigInt((round + j) % 3);
          const t = { network: genesis.networkId, from: keys[s]!.keyPair.publicKey, to: fromHex(to, 20), amount, fee, nonce, ts: BigInt(Date.now()) << 16n };
          const hex = toHex(encodeSignedTx(signTransfer(t, keys[s]!.keyPair.secretKey)));
          batch.push(hex);
          all.push({ txid: txIdHex(t), from, to, amount, fee, nonce, hex });
          nextNonce.set(from, nonce + 1n);
        }
      }
      try {
        const r = await fetch(`${url1}/v1/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ txs: batch }) });
        const j: any = await r.json();
        submitted += j.accepted ?? 0;
        rejectedUnderLoad += j.rejected ?? 0;
        if (j.rejected) {
          // A rejected nonce leaves a gap; later nonces of that sender can never commit. Stop that
          // sender's stream by rewinding its counter to the first rejected nonce.
          j.results.forEach((res: any, i: number) => {
            if (res.status !== 'accepted') {
              rejectReasons.set(res.reason, (rejectReasons.get(res.reason) ?? 0) + 1);
              const tx = all[all.length - batch.length + i]!;
              if (nextNonce.get(tx.from)! > tx.nonce) nextNonce.set(tx.from, tx.nonce);
            }
          });
        }
      } catch {
        break; // the node is gone (killed)
      }
      round++;
      await sleep(20);
    }
  })();
  // Watch commits while the load runs: per-tx status of a sample of recent transactions.
  const watchUntil = Date.now() + 4_000;
  while (Date.now() < watchUntil || reportedCommitted.size < 50) {
    assert.ok(Date.now() < watchUntil + 20_000, 'transactions got committed under load');
    const sample = all.slice(-400).filter((_, i) => i % 5 === 0).concat(all.slice(1, 200).filter((_, i) => i % 17 === 0));
    await Promise.all(sample.map(async (tx) => {
      if (reportedCommitted.has(tx.txid)) return;
      try {
        const s = await getOkJson(`${url1}/v1/tx/${tx.txid}`);
        if (s.status === 'committed') reportedCommitted.set(tx.txid, s.epoch);
      } catch { /* ignore */ }
    }));
    await sleep(100);
  }
  node.proc.kill('SIGKILL');
  const killedAt = Date.now() - t0;
  await node.exited;
  loadRunning = false;
  await loader;
  assert.ok(submitted > 500, `load accepted ${submitted} transactions`);

  // --- restart on the same data dir ---
  node = await startNode();
  const url2 = node.url;
  const tRestart = Date.now() - t0;

  // Everything reported committed before the crash is still committed, in the same epoch.
  for (const [txid, epoch] of reportedCommitted) {
    const s = await getOkJson(`${url2}/v1/tx/${txid}`);
    assert.equal(s.status, 'committed', `tx ${txid} reported committed before kill -9`);
    assert.equal(s.epoch, epoch, `tx ${txid} keeps its epoch`);
  }
  // A committed transaction resubmitted is refused (never applied twice).
  const replay = all.find((t) => t.hex && reportedCommitted.has(t.txid));
  if (replay) {
    const r = await fetch(`${url2}/v1/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tx: replay.hex }) });
    assert.ok([409].includes(r.status), `replay answered ${r.status}`);
  }
  // Let the node settle: no new submissions; whatever it still holds gets sealed.
  await sleep(3 * EPOCH_MS);

  // Statuses of every transaction; replay the committed ones from genesis and compare.
  const status = new Map<string, any>();
  for (let i = 0; i < all.length; i += 64) {
    await Promise.all(all.slice(i, i + 64).map(async (t) => status.set(t.txid, await getOkJson(`${url2}/v1/tx/${t.txid}`))));
  }
  const expected = new Map<string, bigint>(addr.map((a) => [a, BALANCE]));
  expected.set(fresh, 0n);
  const committedNonces = new Map<string, bigint[]>();
  let fees = 0n;
  let committedCount = 0;
  for (const t of all) {
    const s = status.get(t.txid);
    assert.ok(['committed', 'unknown', 'pending'].includes(s.status), `status ${s.status} of ${t.txid}`);
    if (s.status !== 'committed') continue;
    committedCount++;
    expected.set(t.from, expected.get(t.from)! - t.amount - t.fee);
    expected.set(t.to, expected.get(t.to)! + t.amount);
    fees += t.fee;
    committedNonces.set(t.from, [...(committedNonces.get(t.from) ?? []), t.nonce]);
  }
  assert.ok(committedCount >= reportedCommitted.size);
  let sumBalances = 0n;
  for (const [a, bal] of expected) {
    const acc = await getOkJson(`${url2}/v1/account/${a}`);
    assert.equal(verifyAccountProof(acc), true, `proof of ${a}`);
    assert.equal(BigInt(acc.balance), bal, `balance of ${a} equals a replay of its committed transactions (exactly once)`);
    const nonces = (committedNonces.get(a) ?? []).sort((x, y) => (x < y ? -1 : 1));
    assert.deepEqual(nonces, nonces.map((_, i) => BigInt(i)), `committed nonces of ${a} are 0..n-1 without gaps or repeats`);
    assert.equal(BigInt(acc.nonce), BigInt(nonces.length));
    if (acc.value !== null) assert.equal(decodeAccountValue(fromHex(acc.value)).balance, bal);
    sumBalances += bal;
  }

  // Snapshot chain across the crash: linked hashes, signatures, growing Lamport/HLC; fees add up.
  const latest = (await healthOf(url2)).epoch as number;
  let prev: Uint8Array | undefined;
  let prevLamport = -1n;
  let prevHlc = -1n;
  let snapFees = 0n;
  let snapTxs = 0n;
  let lastSupply = 0n;
  for (let e = 0; e <= latest; e++) {
    const j = await getOkJson(`${url2}/v1/snapshot/${e}`);
    const ss = decodeSignedSnapshot(fromHex(j.encoded));
    assert.equal(ss.snapshot.epoch, e);
    assert.equal(verifySnapshotSignature(ss, genesis.validators.get(ss.snapshot.shard)!), true, `signature of epoch ${e}`);
    if (prev) assert.equal(toHex(ss.snapshot.prevSnapshotHash), toHex(prev), `epoch ${e} links to epoch ${e - 1}`);
    assert.ok(ss.snapshot.lamport > prevLamport, `Lamport grows at epoch ${e}`);
    assert.ok(ss.snapshot.hlc > prevHlc, `HLC grows at epoch ${e}`);
    prev = snapshotHash(ss.snapshot);
    prevLamport = ss.snapshot.lamport;
    prevHlc = ss.snapshot.hlc;
    snapFees += ss.snapshot.fees;
    snapTxs += ss.snapshot.txCount;
    lastSupply = ss.snapshot.supply;
  }
  assert.equal(snapTxs, BigInt(committedCount), 'snapshots count exactly the committed transactions');
  assert.equal(snapFees, fees, 'burned fees in snapshots equal the fees of committed transactions');
  assert.equal(lastSupply, sumBalances, 'latest snapshot supply equals the sum of all balances');
  assert.equal(sumBalances + fees, totalSupply(genesis), 'balances + burned fees = genesis supply');

  // The restarted node keeps working through the CLI.
  const after2 = await smtJson('tx', 'send', '--key', join(netDir, 'accounts', '0.key'), '--to', fresh, '--amount', '1', '--node', url2, '--wait');
  assert.equal(after2.status, 'committed');
  assert.ok(after2.epoch > latest - 1);

  // A refused transfer exits non-zero with one clear line naming the reason.
  const over = await smt(['tx', 'send', '--key', join(netDir, 'accounts', '0.key'), '--to', fresh, '--amount', (BALANCE * 2n).toString(), '--node', url2], 60_000);
  assert.equal(over.code, 1);
  assert.match(over.stderr, /^error: .*insufficient-funds, HTTP 422\)\n$/);

  // Graceful shutdown on SIGTERM.
  node.proc.kill('SIGTERM');
  assert.equal(await node.exited, 0, 'SIGTERM exits 0 after closing cleanly');
  const total = Date.now() - t0;
  console.log(`# e2e timings (ms): node up ${tStarted}, CLI phase done ${tCli}, kill -9 at ${killedAt}, restarted ${tRestart}, total ${total}; ` +
    `submitted ${all.length} (accepted ${submitted}, rejected ${rejectedUnderLoad}: ${JSON.stringify(Object.fromEntries(rejectReasons))}), committed ${committedCount}, reported committed before kill ${reportedCommitted.size}`);
});
