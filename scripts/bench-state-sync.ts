// Catch-up of a new replica (docs/REPLICAS.md "State sync"): a writer shard with K accounts and E
// epochs of history (T transfers each); a new follower catches up (a) by replaying every epoch's
// entry from genesis, (b) by state sync from the latest snapshot, then opening the shard. Both in
// one process on the same machine, without HTTP (the wire encodings are used, so the bytes are the
// bytes a replica would receive; HTTP adds base64 and round trips on top). Prints the load average;
// the last line is one JSON object.
//   BENCH_K=20000 BENCH_E=500 BENCH_T=50 npm run bench:state-sync
import { loadavg } from 'node:os';
import { randomInt } from 'node:crypto';
import type { ShardId } from '../src/core/ids.js';
import { Shard } from '../src/shard/shard.js';
import { ShardStore } from '../src/shard/store.js';
import { decodeEntry, encodeEntry } from '../src/replica/entry.js';
import { StateSyncServer } from '../src/replica/state-sync-serve.js';
import { decodeAddresses, decodeManifest, decodeRecords, encodeStateRequest, type StateRequest } from '../src/replica/state-sync-codec.js';
import { syncStateInto, type StateSource } from '../src/replica/state-sync.js';
import { makeNetwork, seedKey, tempDir, transfer, addr } from '../test/fixtures/shard-helpers.js';

const K = Number(process.env.BENCH_K ?? 20_000);
const E = Number(process.env.BENCH_E ?? 500);
const T = Number(process.env.BENCH_T ?? 50);
const ROOT = '' as ShardId;
const dirs: (() => void)[] = [];
const dir = (): string => {
  const t = tempDir('smt-bench-sync-');
  dirs.push(t.cleanup);
  return t.dir;
};
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

async function main(): Promise<void> {
  console.log(`load average at start: ${load()} (K=${K} accounts, E=${E} epochs of ${T} transfers)`);
  const net = makeNetwork({ accounts: K });
  net.genesis.replicas = new Map([[ROOT, [net.validators.get(ROOT)!.publicKey, seedKey('replica', 1).publicKey, seedKey('replica', 2).publicKey]]]);
  const open = (replica: number, d: string): Promise<Shard> =>
    Shard.open({ dataDir: d, genesis: net.genesis, shard: ROOT, validatorKey: replica === 0 ? net.validators.get(ROOT)! : seedKey('replica', replica), verifyWorkers: 0, verifySignatures: false, replica });
  const t0 = performance.now();
  const w = await open(0, dir());
  w.setTerm(1n);
  const nonces = new Array<bigint>(K).fill(0n);
  for (let e = 0; e < E; e++) {
    const txs: Uint8Array[] = [];
    const used = new Set<number>();
    while (txs.length < T && used.size < K) {
      const u = randomInt(K);
      if (used.has(u)) continue;
      used.add(u);
      txs.push(transfer(net, net.users[u]!, addr(net.users[randomInt(K)]!), 1n + BigInt(randomInt(100)), nonces[u]!++));
    }
    await w.submit(txs);
    await w.sealEpoch();
  }
  console.log(`writer built in ${Math.round(performance.now() - t0)} ms (epoch ${w.latestEpoch()})`);

  // (a) replay from genesis: the follower opens (genesis state), then re-executes every entry
  let t = performance.now();
  const fa = await open(1, dir());
  let replayBytes = 0;
  for (let e = 0; e <= w.latestEpoch(); e++) {
    const b = encodeEntry((await w.replicaEntry(e))!);
    replayBytes += b.length;
    await fa.applyEntry(decodeEntry(b));
  }
  const replayMs = performance.now() - t;
  const rootA = (await fa.snapshot())!.snapshot.stateRoot;
  await fa.close();

  // (b) state sync from the latest snapshot, then the shard opens at that epoch
  const server = new StateSyncServer(w);
  let syncBytes = 0;
  type Body = { kind: 'manifest' } | { kind: 'records'; locators: Uint8Array[] } | { kind: 'addresses'; after: Uint8Array | null; limit: number };
  const ask = async (body: Body): Promise<Uint8Array> => {
    const req = { network: net.genesis.networkId, shard: ROOT, replica: 2, at: Date.now(), ...body } as StateRequest;
    encodeStateRequest(req);
    const a = await server.answer(req, w.latestEpoch());
    syncBytes += a.length;
    return a;
  };
  t = performance.now();
  const m = decodeManifest(await ask({ kind: 'manifest' }))!;
  const src: StateSource = {
    name: 'writer',
    records: async (locators) => decodeRecords(await ask({ kind: 'records', locators })),
    addresses: async (after, limit) => decodeAddresses(await ask({ kind: 'addresses', after, limit })),
  };
  const d = dir();
  const store = await ShardStore.open(d);
  const st = await syncStateInto(store, net.genesis, ROOT, m, src);
  await store.close();
  const fb = await open(2, d);
  const syncMs = performance.now() - t;
  const same = Buffer.compare(Buffer.from((await fb.snapshot())!.snapshot.stateRoot), Buffer.from(rootA)) === 0 && fb.sumBalances() === w.sumBalances();
  await fb.close();
  await w.close();
  for (const c of dirs) c();
  console.log(`replay from genesis: ${Math.round(replayMs)} ms, ${(replayBytes / 1e6).toFixed(2)} MB of entries`);
  console.log(`state sync:          ${Math.round(syncMs)} ms, ${(syncBytes / 1e6).toFixed(2)} MB (${st.fetched} trie records, ${st.accounts} accounts), same state: ${same}`);
  console.log(`load average at end: ${load()}`);
  if (!same) process.exitCode = 1;
  console.log(JSON.stringify({ accounts: K, epochs: E, txPerEpoch: T, replayMs: Math.round(replayMs), replayBytes, syncMs: Math.round(syncMs), syncBytes, records: st.fetched, same, load: loadavg()[0] }));
}

await main();
