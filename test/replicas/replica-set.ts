// A replicated depth-0 network on loopback for the replica tests: `smt network init --replicas N`,
// then one real `smt node start --replica i` process per replica (kill -9, wipe and restart at will),
// and a bank load that keeps every sender's transfers in nonce order, resubmitting the same signed
// bytes until each is committed (a mempool is not durable; a transfer is acknowledged only when
// some replica answers `committed` for it).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadKeyFile } from '../../src/core/keyfile.js';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { encodeSignedTx, signTransfer, txIdHex } from '../../src/shard/tx.js';
import { peerIdOfPublicKey } from '../../src/gossip/identity.js';
import { withDenyList, writeDenyList } from '../support/deny-peers.js';
import { sleep } from '../support/wait.js';
import { tryGetJson } from '../support/http.js';
import { freePort } from '../support/ports.js';
import { loadGenesis, type Genesis } from '../../src/core/genesis.js';

export const SMT = resolve(import.meta.dirname, '../../bin/smt.mjs');
export interface ReplicaStatus { role: string; replica: number; term: string; writer: number | null; epoch: number; committed: number; lag: number; stopped?: string; syncedAt?: number; votesWithheld?: boolean }

export class ReplicaSet {
  readonly dir: string;
  readonly genesis: Genesis;
  readonly urls: string[];
  readonly procs: (ChildProcess | undefined)[];
  readonly partitionFile: string;

  private constructor(dir: string, urls: string[]) {
    this.dir = dir;
    this.urls = urls;
    this.genesis = loadGenesis(join(dir, 'genesis.json'));
    this.procs = urls.map(() => undefined);
    this.partitionFile = join(dir, 'partition');
  }

  static async create(o: { replicas?: number; epochMs?: number; accounts?: number } = {}): Promise<ReplicaSet> {
    const dir = mkdtempSync(join(tmpdir(), 'smt-replicas-'));
    const n = o.replicas ?? 3;
    const init = spawn(process.execPath, [SMT, 'network', 'init', '--dir', dir, '--replicas', String(n), '--accounts', String(o.accounts ?? 12), '--epoch-ms', String(o.epochMs ?? 500), '--no-proof-keys', '--json'], { stdio: 'ignore' });
    await new Promise((r) => init.on('exit', r));
    const urls: string[] = [];
    for (let i = 0; i < n; i++) urls.push(`http://127.0.0.1:${await freePort()}`);
    return new ReplicaSet(dir, urls);
  }

  start(i: number): void {
    const port = new URL(this.urls[i]!).port;
    const p = spawn(process.execPath, [SMT, 'node', 'start', '--network', this.dir, '--replica', String(i), '--replica-urls', this.urls.join(','),
      '--api', `127.0.0.1:${port}`, '--data', join(this.dir, 'data', `r${i}`), '--log-format', 'json', '--log-file', join(this.dir, `r${i}.log`), '--verify-workers', '1', '--http-rate', '0'],
    { stdio: 'ignore', env: withDenyList(`${this.partitionFile}.r${i}`) });
    this.procs[i] = p;
  }

  startAll(): void {
    for (let i = 0; i < this.urls.length; i++) this.start(i);
  }

  kill9(i: number): void {
    this.procs[i]?.kill('SIGKILL');
    this.procs[i] = undefined;
  }

  wipe(i: number): void {
    rmSync(join(this.dir, 'data', `r${i}`), { recursive: true, force: true });
  }

  /** Cuts replica `i` off from every other replica (each replica's deny list, both directions); undefined heals. */
  isolate(i: number | undefined): void {
    const ids = this.replicaPeerIds();
    // one file per replica: the isolated one denies all others, each other denies it
    for (let k = 0; k < ids.length; k++) {
      const denied = i === undefined ? [] : k === i ? ids.filter((_, j) => j !== i) : [ids[i]!];
      writeDenyList(`${this.partitionFile}.r${k}`, denied);
    }
  }

  private replicaPeerIds(): string[] {
    return this.genesis.replicas!.get('' as never)!.map((k) => peerIdOfPublicKey(k));
  }

  async status(i: number): Promise<ReplicaStatus | undefined> {
    return (await tryGetJson<ReplicaStatus>(`${this.urls[i]}/v1/replica/status`, 1500))?.body;
  }

  async statuses(): Promise<(ReplicaStatus | undefined)[]> {
    return Promise.all(this.urls.map((_, i) => this.status(i)));
  }

  /** The replica that is writer with a committed epoch, as seen by itself. */
  async writer(except?: number): Promise<number | undefined> {
    if (!this.genesis.replicas) return ((await tryGetJson<{ epoch: number }>(`${this.urls[0]}/v1/health`, 1500))?.body.epoch ?? -1) >= 0 ? 0 : undefined; // one replica: the node itself
    const st = await this.statuses();
    const w = st.findIndex((s, i) => i !== except && s?.role === 'writer' && s.committed >= 0);
    return w < 0 ? undefined : w;
  }

  accounts(): { address: string; keyFile: string }[] {
    return (JSON.parse(readFileSync(join(this.dir, 'accounts.json'), 'utf8')) as { address: string; keyFile: string }[]).map((a) => ({ ...a, keyFile: join(this.dir, a.keyFile) }));
  }

  log(i: number): string {
    try {
      return readFileSync(join(this.dir, `r${i}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  async teardown(): Promise<void> {
    for (let i = 0; i < this.procs.length; i++) this.kill9(i);
    await sleep(200);
    if (process.env.SMT_KEEP_REPLICAS === '1') return void console.log(`kept ${this.dir}`);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Sent { txid: string; hex: string; from: number; to: number; amount: bigint; fee: bigint; nonce: bigint }

/**
 * Bank load: sender k sends `amount` to sender (k+1) mod n, nonce after nonce; each transfer is
 * resubmitted (same bytes) to any replica until a replica answers `committed`, then the next.
 * `acked` holds every transfer acknowledged committed, with the time it was.
 */
export function bankLoad(set: ReplicaSet, senders: number): { stop(): Promise<void>; acked: Map<string, Sent & { at: number }>; sent: Sent[] } {
  const accts = set.accounts().slice(0, senders);
  const keys = accts.map((a) => loadKeyFile(a.keyFile).keyPair);
  const acked = new Map<string, Sent & { at: number }>();
  const sent: Sent[] = [];
  let running = true;
  const loops = keys.map(async (kp, k) => {
    let nonce = 0n;
    let rr = k;
    while (running) {
      const to = (k + 1) % senders;
      const amount = BigInt(1 + (Number(nonce) % 5));
      const t = { network: set.genesis.networkId, from: kp.publicKey, to: fromHex(accts[to]!.address, 20), amount, fee: 1n, nonce, ts: 0n };
      const tx = encodeSignedTx(signTransfer(t, kp.secretKey));
      const s: Sent = { txid: txIdHex(t), hex: toHex(tx), from: k, to, amount, fee: 1n, nonce };
      sent.push(s);
      const deadline = Date.now() + 60_000;
      while (running && Date.now() < deadline) {
        const url = set.urls[rr++ % set.urls.length]!;
        try {
          await fetch(`${url}/v1/tx`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tx: s.hex }), signal: AbortSignal.timeout(3000) }).then((r) => r.body?.cancel());
        } catch {
          // that replica is down: another one next time
        }
        const t0 = Date.now();
        let done = false;
        while (running && Date.now() - t0 < 3000) {
          const st = await tryGetJson<{ status: string }>(`${url}/v1/tx/${s.txid}`, 1500);
          if (st?.body.status === 'committed') {
            acked.set(s.txid, { ...s, at: Date.now() });
            done = true;
            break;
          }
          if (!st) break;
          await sleep(150);
        }
        if (done) break;
      }
      if (!acked.has(s.txid)) return; // stopped (or a minute without commit: the checks will say so)
      nonce++;
    }
  });
  return { acked, sent, stop: async () => { running = false; await Promise.all(loops); } };
}

/**
 * Every account's balance equals the replay of the committed transfers (each account starts with
 * 1,000,000,000), accounts past the first `senders` never sent, and supply + burned fees = genesis.
 */
export function assertBalancesReplay(views: { balance: string; nonce: string }[], committed: Sent[], senders: number): void {
  const expected = views.map(() => 1_000_000_000n);
  let fees = 0n;
  for (const t of committed) {
    expected[t.from]! -= t.amount + t.fee;
    expected[t.to]! += t.amount;
    fees += t.fee;
  }
  let supply = 0n;
  for (let k = 0; k < views.length; k++) {
    if (k >= senders) assert.equal(views[k]!.nonce, '0');
    assert.equal(BigInt(views[k]!.balance), expected[k], `account ${k}: balance equals the replay of its committed transfers`);
    supply += BigInt(views[k]!.balance);
  }
  assert.equal(supply + fees, 1_000_000_000n * BigInt(views.length), 'supply + burned fees = genesis supply');
}
