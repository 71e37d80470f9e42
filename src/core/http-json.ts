// A JSON request over node:http, for a node's long-lived client of a loopback service (the prover
// service's long poll and proof jobs). Node's `fetch` (undici) keeps its header, body and keep-alive
// timeouts on a shared timer that ticks every 500 ms while any of them is pending, so a request held
// open for 30 s woke the event loop twice a second; node:http sets no timer unless asked, and the
// caller's AbortSignal bounds the request.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface JsonReply {
  status: number;
  /** The parsed body (undefined for an empty one). */
  json: unknown;
}

/** A body larger than this is refused (and the request aborted). */
export const MAX_JSON_REPLY_BYTES = 16 << 20;

/** `method` `url` with an optional JSON body; resolves once the whole reply is read and parsed. */
export function requestJson(url: string, o: { method?: string; body?: unknown; signal?: AbortSignal; maxBytes?: number } = {}): Promise<JsonReply> {
  const max = o.maxBytes ?? MAX_JSON_REPLY_BYTES;
  const body = o.body === undefined ? undefined : JSON.stringify(o.body);
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const onReply = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > max) req.destroy(new Error(`${url}: reply exceeds ${max} bytes`));
        else chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, json: text === '' ? undefined : JSON.parse(text) });
        } catch {
          reject(new Error(`${url}: reply ${res.statusCode} is not JSON`));
        }
      });
    };
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
    const req = request(url, { method: o.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(o.signal ? { signal: o.signal } : {}) }, onReply);
    req.on('error', reject);
    req.end(body);
  });
}
