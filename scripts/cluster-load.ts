// The load driver shared by the cluster benchmarks (bench-cluster.ts, bench-xshard.ts): per shard
// node, `inflight` workers post batches of pre-signed transactions to that node's API until the
// time is up, resubmitting what bounced off back-pressure (mempool-full, nonce-too-far).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { joinSignedTxs } from '../src/shard/tx-batch.js';

// The load generator shares the machine's cores with the nodes it loads (in both halves of
// bench:cluster): node:http with kept-alive connections, not fetch (its web streams cost ~2x per
// batch), and batches sent with `Prefer: return=minimal`, so that the node answers with the counts
// and only the refused transfers (no result per accepted one to build, send and read). A node that
// does not apply the preference (an older one, BENCH_SMT_ROOT) answers one result per transaction:
// an answer whose head says every transaction was accepted is then not parsed further.
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const ALL_ACCEPTED = /^\{"accepted":(\d+),"forwarded":0,"rejected":0,/;

function post(url: string, type: string, body: Uint8Array | string): Promise<{ body: Buffer; minimal: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': type, 'content-length': Buffer.byteLength(body), prefer: 'return=minimal' }, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), minimal: res.headers['preference-applied'] === 'return=minimal' }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`POST ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function json<T = any>(url: string, init?: RequestInit): Promise<T> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  return (await r.json()) as T;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface LoadResult {
  accepted: Map<string, number>; // per shard
  refused: number;
  retries: number; // batches resubmitted after back-pressure
  submitSeconds: number;
}

/**
 * Lists of hex strings are posted as JSON ({"txs": [...]}), lists of bytes as the compact batch
 * (application/octet-stream: the signed transfers concatenated).
 */
export async function driveLoad(nodes: readonly { shard: string; url: string }[], lists: Map<string, string[] | Uint8Array[]>, o: { seconds: number; batch: number; inflight: number }): Promise<LoadResult> {
  const tStart = performance.now();
  const loadEnd = tStart + o.seconds * 1000;
  const accepted = new Map<string, number>();
  let refused = 0;
  let retries = 0;
  await Promise.all(nodes.map(async (n) => {
    const list: (string | Uint8Array)[] = lists.get(n.shard) ?? [];
    let next = 0;
    accepted.set(n.shard, 0);
    const worker = async (): Promise<void> => {
      while (next < list.length && performance.now() < loadEnd) {
        let pending = list.slice(next, next + o.batch);
        next += pending.length;
        while (pending.length > 0 && performance.now() < loadEnd + 5000) {
          const binary = pending[0] instanceof Uint8Array;
          const { body: answer, minimal } = binary
            ? await post(`${n.url}/v1/tx`, 'application/octet-stream', joinSignedTxs(pending as Uint8Array[]))
            : await post(`${n.url}/v1/tx`, 'application/json', JSON.stringify({ txs: pending }));
          const retryable = (reason: string | undefined): boolean => reason === 'mempool-full' || reason === 'nonce-too-far';
          const retry: (string | Uint8Array)[] = [];
          if (minimal) {
            // {accepted, forwarded, rejected, rejections: [{index, reason, ...}]}
            const j = JSON.parse(answer.toString('utf8')) as { accepted?: number; forwarded?: number; rejections?: { index: number; reason: string }[] };
            if (!j.rejections) throw new Error(`submission to ${n.shard} failed: ${answer.toString('utf8').slice(0, 200)}`);
            accepted.set(n.shard, accepted.get(n.shard)! + j.accepted!);
            refused += j.forwarded!; // not accepted by the node asked (as before: only 'accepted' counts)
            for (const r of j.rejections) {
              if (retryable(r.reason)) retry.push(pending[r.index]!);
              else refused++;
            }
          } else {
            const all = ALL_ACCEPTED.exec(answer.subarray(0, 64).toString('latin1'));
            if (all && Number(all[1]) === pending.length) {
              accepted.set(n.shard, accepted.get(n.shard)! + pending.length);
              pending = [];
              continue;
            }
            const j = JSON.parse(answer.toString('utf8')) as { results?: { status: string; reason?: string }[] };
            if (!j.results) throw new Error(`submission to ${n.shard} failed: ${JSON.stringify(j).slice(0, 200)}`);
            j.results.forEach((r, i) => {
              if (r.status === 'accepted') accepted.set(n.shard, accepted.get(n.shard)! + 1);
              else if (retryable(r.reason)) retry.push(pending[i]!);
              else refused++;
            });
          }
          if (retry.length) {
            retries++;
            await sleep(100);
          }
          pending = retry;
        }
      }
    };
    await Promise.all(Array.from({ length: o.inflight }, worker));
  }));
  return { accepted, refused, retries, submitSeconds: (performance.now() - tStart) / 1000 };
}

export interface Health {
  committedTotal: number;
}

/**
 * Polls until every node has committed what it accepted (its committedTotal grew by that much since
 * `h0`); returns when each got there and the last health readings. Throws after `timeoutMs`.
 */
export async function waitCommitted<H extends Health>(nodes: readonly { shard: string }[], health: () => Promise<H[]>, h0: H[], accepted: Map<string, number>, timeoutMs: number, what: string): Promise<{ committedAt: Map<string, number>; h1: H[] }> {
  const committedAt = new Map<string, number>();
  const deadline = performance.now() + timeoutMs;
  let h1 = h0;
  while (committedAt.size < nodes.length) {
    h1 = await health();
    nodes.forEach((n, i) => {
      if (!committedAt.has(n.shard) && h1[i]!.committedTotal - h0[i]!.committedTotal >= accepted.get(n.shard)!) committedAt.set(n.shard, performance.now());
    });
    if (performance.now() > deadline) throw new Error(`${what}: accepted transfers not all committed after ${timeoutMs / 1000} s: ${JSON.stringify(h1.map((h, i) => h.committedTotal - h0[i]!.committedTotal))}`);
    await sleep(20);
  }
  return { committedAt, h1 };
}

/** Best-effort teardown of a benchmark's cluster (`smt cluster down`), then its temp dir. */
export function teardownCluster(smtBin: string, netDir: string, tmp: string, started: boolean): void {
  if (started) {
    try {
      execFileSync(process.execPath, [smtBin, 'cluster', 'down', '--network', netDir, '--grace', '5'], { stdio: 'ignore' });
    } catch { /* best effort */ }
  }
  rmSync(tmp, { recursive: true, force: true });
}
