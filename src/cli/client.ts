// Shared pieces of the client commands: the node URL option, a JSON fetch that turns every failure
// into one clear line, amount parsing and output helpers.
import type { Command } from 'commander';
import { toJson, DEFAULT_API_PORT } from '../node/http.js';

export const DEFAULT_NODE_URL = `http://127.0.0.1:${DEFAULT_API_PORT}`;

/** A user-facing failure: main.ts prints its message as one line and exits non-zero. */
export class CliError extends Error {
  override name = 'CliError';
}

export function addNodeOption(cmd: Command): Command {
  return cmd.option('--node <url>', `node API base URL (env SMT_NODE)`, process.env.SMT_NODE ?? DEFAULT_NODE_URL);
}

export function addJsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print one JSON object (for scripts) instead of human-readable text');
}

export interface HttpResult<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** Fetches JSON from the node. Throws CliError on network failure or (unless allowStatus) on non-2xx. */
export async function nodeRequest<T = Record<string, unknown>>(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; allowStatus?: number[]; timeoutMs?: number } = {},
): Promise<HttpResult<T>> {
  let url: URL;
  try {
    url = new URL(path, base.endsWith('/') ? base : base + '/');
  } catch {
    throw new CliError(`invalid --node URL ${JSON.stringify(base)}`);
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : toJson(init.body),
      signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    throw new CliError(`cannot reach node at ${url.origin} (${cause}); is it running? (set --node URL)`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CliError(`node answered ${res.status} with a non-JSON body from ${url.pathname}`);
  }
  if (!res.ok && !(init.allowStatus ?? []).includes(res.status)) {
    const err = (body as { error?: { code?: string; message?: string } }).error;
    throw new CliError(err ? `${err.message ?? 'request failed'} (${err.code ?? 'error'}, HTTP ${res.status})` : `node answered HTTP ${res.status}`);
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

/**
 * Why a node serves no global snapshots or proofs, when it answered an unknown route for them:
 * a depth-0 network has no triads, and a node started without --p2p runs no hierarchy. Undefined
 * when neither explains it.
 */
export async function whyNoHierarchy(base: string): Promise<string | undefined> {
  const h = (await nodeRequest<{ depth?: number; peers?: unknown; shard?: string }>(base, 'v1/health', { allowStatus: [503] })).body;
  if (h.depth === 0) return `the node at ${base} runs a depth-0 network (one shard): there are no triads, hence no global snapshots or global proofs`;
  if (h.peers === undefined) return `the node at ${base} (shard ${h.shard}) runs without gossip (started without --p2p): global snapshots and proofs need the triad network; ask a node started with --p2p`;
  return undefined;
}

export function parseU64(s: string, what: string, opts: { positive?: boolean } = {}): bigint {
  if (/^[0-9]{21,}$/.test(s)) throw new CliError(`${what} is too large (max 2^64-1)`);
  if (!/^[0-9]{1,20}$/.test(s)) throw new CliError(`${what} must be a whole number (base units), got ${JSON.stringify(s)}`);
  const v = BigInt(s);
  if (v >= 1n << 64n) throw new CliError(`${what} is too large (max 2^64-1)`);
  if (opts.positive && v === 0n) throw new CliError(`${what} must be greater than 0`);
  return v;
}

export function printJson(v: unknown): void {
  process.stdout.write(toJson(v) + '\n');
}

/** Aligned "key: value" lines. */
export function printFields(fields: [string, unknown][]): void {
  const w = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) process.stdout.write(`${(k + ':').padEnd(w + 2)}${String(v)}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
