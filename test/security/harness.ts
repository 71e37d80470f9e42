// Shared by test/security/*.test.ts and scripts/bench-abuse.ts: a real loopback cluster (`smt cluster
// up`, one `smt node start` process per shard), an outside libp2p peer holding no validator key, the
// CPU time a node process has used (/proc), and a probe of honest transfers that records how many
// epochs each one took from submission to commit.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/core/bytes.js';
import { loadGenesis, type Genesis } from '../../src/core/genesis.js';
import { loadKeyFile } from '../../src/core/keyfile.js';
import { addressFromPublicKey, homeShard } from '../../src/core/address.js';
import type { ShardId } from '../../src/core/ids.js';
import { encodeSignedTx, signTransfer, txIdHex } from '../../src/shard/tx.js';
import { createP2PNode, type P2PNode } from '../../src/gossip/p2p.js';
import { peerKeyFromValidator } from '../../src/gossip/identity.js';
import { loadLayout, testAccounts } from '../../src/cluster/cluster.js';
import { apiUrl, findFreePortBases, isAlive, readPid, SMT_BIN } from '../../src/cluster/supervisor.js';
import type { ClusterLayout, ShardProcessLayout } from '../../src/cluster/layout.js';
import { run } from '../support/process.js';
import { sleep, until } from '../support/wait.js';
import { getJson, postJson } from '../support/http.js';
import { teardownCluster } from '../support/cluster.js';

export { getJson, postJson, sleep, until };

export interface ClusterOptions {
  depth?: number; // default 1 (3 shards)
  epochMs?: number; // default 1000
  accounts?: number; // default 30
  /** false (default): SMT_NO_PROVE=1 for every node, so proving does not compete for the cores. */
  prove?: boolean;
  /** Extra environment for the nodes (and `cluster up`). */
  env?: NodeJS.ProcessEnv;
  /** bin/smt.mjs of the checkout whose nodes run (default: this one); e.g. an older commit for "before" figures. */
  smtBin?: string;
  /** Seconds `cluster up` may take to see every shard healthy and a final global snapshot. */
  timeoutS?: number;
  /** API and p2p base ports (shard i uses base + i); default: free ones found at random. */
  ports?: { api: number; p2p: number };
  /** Extra `cluster up` flags (e.g. ['--start-concurrency', '4']). */
  upArgs?: string[];
  /** `cluster up`'s output lines as they come (progress of a slow start). */
  onLine?: (line: string) => void;
}

export interface SecCluster {
  tmp: string;
  netDir: string;
  layout: ClusterLayout;
  genesis: Genesis;
  byShard(shard: string): ShardProcessLayout;
  url(shard: string): string;
  pidOf(shard: string): number;
  /** The epoch the wall clock is in (genesisTime + e * epochMs). */
  epochNow(): number;
  /** Funded test accounts (key file, address, home shard). */
  accounts(): TestAccount[];
  teardown(): Promise<void>;
}

export interface TestAccount {
  file: string;
  address: string;
  home: ShardId;
}

/** `smt cluster up` on free loopback ports in a fresh temp dir; throws with the output if it fails. */
export async function startCluster(o: ClusterOptions = {}): Promise<SecCluster> {
  const depth = o.depth ?? 1;
  const tmp = mkdtempSync(join(tmpdir(), 'smt-sec-'));
  const netDir = join(tmp, 'net');
  const n = 3 ** depth;
  const [apiBase, p2pBase] = o.ports ? [o.ports.api, o.ports.p2p] : await findFreePortBases(n);
  const env: NodeJS.ProcessEnv = { ...process.env, ...(o.prove ? {} : { SMT_NO_PROVE: '1' }), ...o.env };
  const bin = o.smtBin ?? SMT_BIN;
  const up = await run(process.execPath, [bin, 'cluster', 'up', '--network', netDir, '--depth', String(depth), '--epoch-ms', String(o.epochMs ?? 1000),
    '--accounts', String(o.accounts ?? 30), '--api-base-port', String(apiBase), '--p2p-base-port', String(p2pBase), '--timeout', String(o.timeoutS ?? 90), ...(o.upArgs ?? [])],
  (o.timeoutS ?? 90) * 1000 + 30_000, env, o.onLine);
  let layout: ClusterLayout | undefined;
  try {
    layout = loadLayout(netDir);
  } catch {
    // no layout: nothing started
  }
  if (up.code !== 0) {
    await teardownCluster(netDir, layout, tmp);
    throw new Error(`cluster up failed (${up.code}):\n${up.stdout}\n${up.stderr}`);
  }
  const L = layout!;
  const genesis = loadGenesis(join(netDir, 'genesis.json'));
  const byShard = (id: string): ShardProcessLayout => {
    const s = L.shards.find((x) => x.shard === id);
    if (!s) throw new Error(`no shard ${id}`);
    return s;
  };
  return {
    tmp, netDir, layout: L, genesis, byShard,
    url: (id) => apiUrl(byShard(id)),
    pidOf: (id) => {
      const pid = readPid(netDir, byShard(id));
      if (!isAlive(pid)) throw new Error(`shard ${id} is not running`);
      return pid!;
    },
    epochNow: () => Math.floor((Date.now() - genesis.genesisTime) / genesis.epochMs),
    accounts: () => testAccounts(netDir).map((a) => ({ ...a, home: homeShard(Buffer.from(a.address, 'hex'), genesis.depth) })),
    teardown: () => teardownCluster(netDir, L, tmp),
  };
}

/** A libp2p node with a fresh random key (no validator key), dialling the given shard's p2p port.
 * Nodes admit only genesis validators (src/gossip/admission.ts): it cannot hold a connection; an
 * attacker that must reach a node's validators is `validatorPeer`. */
export async function outsider(c: SecCluster, shard: string, name = 'outsider'): Promise<P2PNode> {
  const s = c.byShard(shard);
  return createP2PNode({
    peerKeyFile: join(c.tmp, `${name}-${Math.random().toString(36).slice(2)}.key`),
    networkId: c.genesis.networkId,
    peers: [`/ip4/${s.p2pHost}/tcp/${s.p2pPort}`],
    heartbeatMs: 200,
    dialBackoff: { initialMs: 100, maxMs: 1000 },
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14 and 15)
}

/** Resident set size of a process in MB (/proc/<pid>/status VmRSS). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Signs a transfer of `amount` from a funded test account with the given nonce; returns hex and txid. */
export function signedTransfer(c: SecCluster, fromFile: string, to: string, amount: bigint, nonce: bigint, fee = 1n): { hex: string; txid: string } {
  const k = loadKeyFile(fromFile).keyPair;
  const st = signTransfer({ network: c.genesis.networkId, from: k.publicKey, to: Buffer.from(to, 'hex'), amount, fee, nonce, ts: BigInt(Date.now()) }, k.secretKey);
  return { hex: toHex(encodeSignedTx(st)), txid: txIdHex(st.tx) };
}

export interface ProbeResult {
  sent: number;
  committed: number;
  /** Epochs from the epoch the transfer was submitted in to the epoch it committed in, per committed transfer. */
  epochs: number[];
  maxEpochs: number;
  /** Transfers not committed by the time the probe stopped (plus a grace of 4 epochs). */
  missing: string[];
}

/**
 * Honest load during an attack: every `everyMs`, one transfer from each of `senders` test accounts
 * (to the next account) is submitted to its home shard's API; each is then polled until committed.
 * `stop()` waits up to 4 epochs for stragglers and reports how many epochs each one took.
 */
export function honestProbe(c: SecCluster, o: { senders?: number; everyMs?: number } = {}): { stop(): Promise<ProbeResult> } {
  const accts = c.accounts().filter((a) => a.address !== '?');
  const senders = accts.slice(0, Math.min(o.senders ?? 3, accts.length - 1));
  const nonces = new Map<string, bigint>();
  const pending = new Map<string, { home: string; epoch: number }>();
  const epochs: number[] = [];
  let sent = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const [i, a] of senders.entries()) {
        if (stopped) break;
        try {
          let nonce = nonces.get(a.address);
          if (nonce === undefined) {
            const r = await getJson(`${c.url(a.home)}/v1/account/${a.address}`);
            nonce = BigInt(r.body.nonce ?? 0);
          }
          const to = accts[(i + 1) % accts.length]!.address;
          const { hex, txid } = signedTransfer(c, a.file, to, 1n, nonce);
          const epoch = c.epochNow();
          const r = await postJson(`${c.url(a.home)}/v1/tx`, { tx: hex }, 5000);
          if (r.status === 202) {
            nonces.set(a.address, nonce + 1n);
            pending.set(txid, { home: a.home, epoch });
            sent++;
          } else nonces.delete(a.address);
        } catch {
          nonces.delete(a.address);
        }
      }
      await poll();
      await sleep(o.everyMs ?? c.genesis.epochMs);
    }
  })();
  async function poll(): Promise<void> {
    for (const [txid, p] of [...pending]) {
      try {
        const r = await getJson(`${c.url(p.home)}/v1/tx/${txid}`, 3000);
        if (r.body?.status === 'committed') {
          epochs.push(Number(r.body.epoch) - p.epoch);
          pending.delete(txid);
        }
      } catch {
        // the node is busy: ask again next round
      }
    }
  }
  return {
    async stop() {
      stopped = true;
      await loop;
      const deadline = Date.now() + 4 * c.genesis.epochMs;
      while (pending.size > 0 && Date.now() < deadline) {
        await poll();
        await sleep(250);
      }
      return { sent, committed: epochs.length, epochs, maxEpochs: epochs.length ? Math.max(...epochs) : NaN, missing: [...pending.keys()] };
    },
  };
}

/** Home shard of the address of a key file. */
export function homeOfKey(c: SecCluster, file: string): ShardId {
  return homeShard(addressFromPublicKey(loadKeyFile(file).keyPair.publicKey), c.genesis.depth);
}

/**
 * A libp2p node running under shard `as`'s validator key (a Byzantine or key-stealing validator),
 * dialling shard `target`. The real node of `as` is SIGKILLed first, so the peer id is not in use
 * twice (the caller may restart it with `startShard` from src/cluster/supervisor.ts).
 */
export async function validatorPeer(c: SecCluster, as: string, target: string): Promise<P2PNode> {
  const pid = c.pidOf(as);
  process.kill(pid, 'SIGKILL');
  await until(`shard ${as}'s node to exit`, 10_000, () => (isAlive(pid) ? undefined : true), 50);
  const key = loadKeyFile(join(c.netDir, 'validators', `${as}.key`)).keyPair;
  const t = c.byShard(target);
  return createP2PNode({
    privateKey: await peerKeyFromValidator(key),
    networkId: c.genesis.networkId,
    peers: [`/ip4/${t.p2pHost}/tcp/${t.p2pPort}`],
    heartbeatMs: 200,
    dialBackoff: { initialMs: 100, maxMs: 1000 },
  });
}
