// A small JSON HTTP layer on node:http: routing with :params, body limits, content-type checks and
// one error shape for every failure, `{ "error": { "code", "message" } }` (the message is our own
// text: never an exception's or a peer's). It knows nothing about shards; src/node/api.ts registers
// the routes.
//
// What a client can hold or ask of the node is bounded (HttpLimits): connections in all and per
// client address, time to send the headers and the whole request, idle keep-alive time, and a
// token bucket per client address (a request costs 1 token plus 1 per 64 KiB of body; empty:
// 429 with Retry-After).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KeyedBuckets, type TokenBucket } from '../core/token-bucket.js';
import { checkTimeoutsWhileConnected } from './http-timeouts.js';
import type { Logger } from './logger.js';

export const DEFAULT_MAX_BODY_BYTES = 1 << 20; // 1 MiB
/** A request costs one token, plus one per this many body bytes. */
export const BODY_BYTES_PER_TOKEN = 64 << 10;

/** Limits on what HTTP clients can hold and ask (defaults: DEFAULT_HTTP_LIMITS). */
export interface HttpLimits {
  /** Open connections in all; beyond, new ones are closed at once. */
  maxConnections: number;
  /** Open connections from one client address. */
  maxConnectionsPerIp: number;
  /** Time a client has to send a request's headers (ms). */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, body included (ms). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long (ms). */
  keepAliveTimeoutMs: number;
  /** Tokens regained per second per client address (0: no rate limit). */
  ratePerSecond: number;
  /** Tokens a client address may hold (a burst). */
  rateBurst: number;
}

// Generous enough for a loopback benchmark or a cluster's own CLI (all from 127.0.0.1): a few
// 2,000-transaction batches in flight plus health polls every 10 ms stay far below the rate.
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxConnections: 1024,
  maxConnectionsPerIp: 256,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 20_000,
  keepAliveTimeoutMs: 5_000,
  ratePerSecond: 1_000,
  rateBurst: 2_000,
};
/** How often the server looks for connections past their header or request timeout (ms). */
const TIMEOUT_CHECK_MS = 500;
/** Default HTTP API port of a node (and of the CLI's --node URL). */
export const DEFAULT_API_PORT = 7700;

export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export interface ApiRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Reads and parses a JSON body (415 on another content type, 413 over the limit, 400 if malformed). */
  json(): Promise<unknown>;
  /**
   * Reads the body if its content type is one of `types` (415 naming them otherwise, 413 over the
   * limit). A JSON body is then parsed with parseJsonBody.
   */
  body(types: readonly string[]): Promise<{ type: string; bytes: Buffer }>;
  /** Aborted when the connection closes or the answer is sent (a handler that waits stops waiting). */
  readonly signal: AbortSignal;
}

/** Parses a JSON request body (400 malformed-json if it is not JSON). */
export function parseJsonBody(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'malformed-json', 'request body is not valid JSON');
  }
}

export interface ApiResponse {
  status?: number; // default 200
  headers?: Record<string, string>;
  json?: unknown; // serialised with bigint -> decimal string
  /** JSON already serialised (a large answer with no bigints: JSON.stringify without toJson's replacer, several times faster). */
  jsonText?: string;
  text?: string; // sent as is (with headers['content-type'])
  /** A long-lived answer (Server-Sent Events): called with the response once the headers are out. */
  stream?: (res: ServerResponse) => void;
}

export type Handler = (req: ApiRequest) => Promise<ApiResponse> | ApiResponse;

interface Route {
  method: string;
  parts: string[];
  name: string;
  handler: Handler;
}

export type RouteMatch =
  | { kind: 'found'; handler: Handler; params: Record<string, string>; name: string }
  | { kind: 'method-not-allowed'; allow: string[]; name: string }
  | { kind: 'not-found' };

export class Router {
  private readonly routes: Route[] = [];
  private readonly closeHooks: (() => void)[] = [];

  /** `f` runs at close(): handlers that hold requests open (long polls) answer at once. */
  onClose(f: () => void): this {
    this.closeHooks.push(f);
    return this;
  }

  /** The server is closing: held requests are answered now, so closing does not wait on them. */
  close(): void {
    for (const f of this.closeHooks) f();
  }

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, parts: pattern.split('/').filter(Boolean), name: pattern, handler });
    return this;
  }

  match(method: string, path: string): RouteMatch {
    const segs = path.split('/').filter(Boolean);
    const allow: string[] = [];
    let name = '';
    for (const r of this.routes) {
      const params = matchParts(r.parts, segs);
      if (!params) continue;
      // A literal route ("/v1/snapshot/latest") registered before a parametric one wins.
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { kind: 'found', handler: r.handler, params, name: r.name };
      allow.push(r.method);
      name ||= r.name;
    }
    return allow.length > 0 ? { kind: 'method-not-allowed', allow: [...new Set(allow)], name } : { kind: 'not-found' };
  }
}

function matchParts(parts: string[], segs: string[]): Record<string, string> | undefined {
  if (parts.length !== segs.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    let s: string;
    try {
      s = decodeURIComponent(segs[i]!);
    } catch {
      return undefined;
    }
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return undefined;
  }
  return params;
}

/** JSON with bigints as decimal strings (amounts never lose precision). */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
}

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.reject(new HttpError(413, 'payload-too-large', `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      n += c.length;
      if (n > maxBytes) {
        done = true;
        // Stop buffering; the response closes the connection (the rest of the body is not read).
        req.pause();
        reject(new HttpError(413, 'payload-too-large', `request body exceeds the limit of ${maxBytes} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks, n));
      }
    });
    req.on('error', () => {
      if (!done) {
        done = true;
        reject(new HttpError(400, 'bad-request', 'error reading the request body'));
      }
    });
  });
}

export interface HttpServerOptions {
  maxBodyBytes?: number;
  limits?: Partial<HttpLimits>;
  logger?: Logger;
  /** Called once per finished request, for metrics. */
  onRequest?: (route: string, status: number, seconds: number) => void;
}

export function createHttpServer(router: Router, opts: HttpServerOptions = {}): Server {
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...opts.limits };
  const log = opts.logger;
  // Slow or stuck clients must not hold sockets for long: node checks the header and request
  // timeouts every connectionsCheckingInterval (30 s by default, which made a 10 s header timeout ~40 s).
  const checkMs = Math.min(TIMEOUT_CHECK_MS, limits.headersTimeoutMs);
  const server = createServer(
    { headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs), requestTimeout: limits.requestTimeoutMs, keepAliveTimeout: limits.keepAliveTimeoutMs, connectionsCheckingInterval: checkMs },
    (req, res) => void handle(req, res),
  );
  server.maxConnections = limits.maxConnections;
  // those checks only while a connection is open (an idle node woke twice a second for them)
  checkTimeoutsWhileConnected(server, checkMs, () => log?.warn('http server internals changed: header and request timeouts are checked even with no connection open'));
  const perIp = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '?';
    const n = (perIp.get(ip) ?? 0) + 1;
    if (n > limits.maxConnectionsPerIp) {
      socket.destroy();
      return;
    }
    perIp.set(ip, n);
    socket.once('close', () => {
      const m = (perIp.get(ip) ?? 1) - 1;
      if (m <= 0) perIp.delete(ip);
      else perIp.set(ip, m);
    });
  });
  const buckets = limits.ratePerSecond > 0 ? new KeyedBuckets({ capacity: Math.max(1, limits.rateBurst), refillPerSecond: limits.ratePerSecond }) : undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = performance.now();
    const method = req.method ?? 'GET';
    let routeName = 'unmatched';
    let response: ApiResponse;
    try {
      const bucket = buckets?.get(req.socket.remoteAddress ?? '?');
      if (bucket && !bucket.take(1)) {
        throw new HttpError(429, 'rate-limited', 'too many requests from this address; retry after the time in Retry-After', { 'retry-after': String(Math.max(1, Math.ceil(bucket.waitMs(1) / 1000))), connection: 'close' });
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      const m = router.match(method, url.pathname);
      if (m.kind === 'not-found') throw new HttpError(404, 'not-found', `no route ${method} ${url.pathname}`);
      routeName = m.name;
      if (m.kind === 'method-not-allowed') {
        throw new HttpError(405, 'method-not-allowed', `${method} is not allowed on ${url.pathname}; allowed: ${m.allow.join(', ')}`, { allow: m.allow.join(', ') });
      }
      let aborter: AbortController | undefined; // made only for a handler that asks for the signal
      const apiReq: ApiRequest = {
        get signal() {
          if (aborter === undefined) {
            const a = (aborter = new AbortController());
            if (req.socket.destroyed) a.abort();
            else res.once('close', () => a.abort());
          }
          return aborter.signal;
        },
        method,
        path: url.pathname,
        params: m.params,
        query: url.searchParams,
        headers: req.headers,
        json: async () => parseJsonBody((await apiReq.body(['application/json'])).bytes),
        body: async (types) => {
          const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          if (!types.includes(ct)) throw new HttpError(415, 'unsupported-media-type', `content-type must be ${types.join(' or ')}, got ${ct ? JSON.stringify(ct) : 'none'}`);
          const bytes = await readBody(req, maxBodyBytes);
          chargeBody(bucket, bytes.length);
          return { type: ct, bytes };
        },
      };
      response = await m.handler(apiReq);
    } catch (e) {
      if (e instanceof HttpError) {
        response = { status: e.status, headers: e.headers, json: { error: { code: e.code, message: e.message } } };
        if (e.status === 413) response.headers = { ...response.headers, connection: 'close' };
      } else {
        log?.error({ err: e, method, url: req.url }, 'request handler failed');
        response = { status: 500, json: { error: { code: 'internal', message: 'internal error' } } };
      }
    }
    send(res, method, response);
    opts.onRequest?.(routeName, response.status ?? 200, (performance.now() - start) / 1000);
    if (response.headers?.connection === 'close') {
      // The unread remainder of an oversized body is discarded by closing the socket once the answer is out.
      res.on('finish', () => req.socket.destroySoon());
    }
  }
  return server;
}

/** A request's body costs its address one token per BODY_BYTES_PER_TOKEN (read already: the next requests wait). */
function chargeBody(bucket: TokenBucket | undefined, bytes: number): void {
  const n = Math.floor(bytes / BODY_BYTES_PER_TOKEN);
  if (bucket && n > 0) bucket.debit(n);
}

function send(res: ServerResponse, method: string, r: ApiResponse): void {
  const status = r.status ?? 200;
  if (r.stream) {
    res.writeHead(status, { ...r.headers });
    if (method === 'HEAD') res.end();
    else r.stream(res);
    return;
  }
  let body: string;
  const headers: Record<string, string> = { ...r.headers };
  if (r.text !== undefined) {
    body = r.text;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (r.jsonText !== undefined) {
    body = r.jsonText;
    headers['content-type'] = 'application/json; charset=utf-8';
  } else {
    body = toJson(r.json ?? {});
    headers['content-type'] = 'application/json; charset=utf-8';
  }
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(status, headers);
  res.end(method === 'HEAD' ? undefined : body);
}

/** Listens on host:port (port 0 = ephemeral) and resolves to the bound base URL. */
export function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const a = server.address() as AddressInfo;
      const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      resolve(`http://${h}:${a.port}`);
    });
  });
}

/** Stops accepting connections and waits for in-flight requests; idle keep-alive sockets close at once. */
export function closeServer(server: Server, forceAfterMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const t = setTimeout(() => server.closeAllConnections(), forceAfterMs);
    t.unref();
    server.close(() => {
      clearTimeout(t);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Parses "HOST:PORT", "[v6]:PORT" or ":PORT" (host defaults to 127.0.0.1). */
export function parseHostPort(s: string, defaultHost = '127.0.0.1'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  if (!m) throw new Error(`invalid address ${JSON.stringify(s)}: want HOST:PORT, e.g. 127.0.0.1:7700 (port 0 = any free port)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port ${port}`);
  return { host: m[1] ?? (m[2] || defaultHost), port };
}
