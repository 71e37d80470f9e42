// Attack: forwarded transactions with bad signatures. A client posts 1 MiB batches of transfers whose
// senders live on shard 1 to shard 0's API; every signature is wrong, so shard 0 checks each one
// before it would forward it (and forwards none).
import { request } from 'node:http';
import { encodeSignedTx, type SignedTx } from '../../src/shard/tx.js';
import { loadKeyFile } from '../../src/core/keyfile.js';
import { toHex } from '../../src/core/bytes.js';
import type { SecCluster } from '../../test/security/harness.js';
import type { AbuseModule } from '../bench-abuse.js';

/** About `bytes` of JSON {"txs": [...]}: transfers from an account homed on `from` (not the target), each with a signature that does not verify. */
export function badSignatureBatch(c: SecCluster, from: string, bytes = 1 << 20): string {
  const acct = c.accounts().find((a) => a.home === from)!;
  const k = loadKeyFile(acct.file).keyPair;
  const txs: string[] = [];
  let size = 10;
  for (let i = 0; ; i++) {
    const st: SignedTx = { tx: { network: c.genesis.networkId, from: k.publicKey, to: Buffer.from(acct.address, 'hex'), amount: 1n, fee: 1n, nonce: BigInt(i), ts: BigInt(Date.now()) }, signature: new Uint8Array(64).fill(7) };
    const h = toHex(encodeSignedTx(st));
    if (size + h.length + 3 > bytes - 16) break;
    txs.push(h);
    size += h.length + 3;
  }
  return JSON.stringify({ txs });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request from a given local (loopback) address. */
export function httpFrom(url: string, o: { method?: string; body?: string; localAddress?: string; timeoutMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', localAddress: o.localAddress, agent: false, headers: o.body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(o.body)) }, timeout: o.timeoutMs ?? 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(o.body);
  });
}

const mod: AbuseModule = {
  name: 'http-bad-sigs',
  what: 'one address posts 1 MiB batches of transfers of shard 1 senders with bad signatures to shard 0, 2 at a time',
  target: '0',
  async run(c: SecCluster, seconds: number) {
    const body = badSignatureBatch(c, '1');
    const n = (JSON.parse(body) as { txs: string[] }).txs.length;
    const end = Date.now() + seconds * 1000;
    let sent = 0;
    const worker = async (): Promise<void> => {
      while (Date.now() < end) {
        try {
          await httpFrom(`${c.url('0')}/v1/tx`, { method: 'POST', body, localAddress: '127.0.0.3' });
        } catch {
          // refused: still sent
        }
        sent += n;
      }
    };
    await Promise.all([worker(), worker()]);
    return sent; // abusive transactions
  },
};
export default mod;
