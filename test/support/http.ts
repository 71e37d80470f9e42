// JSON over HTTP against a node's API in tests, every request with a timeout.

export interface JsonAnswer<T> { status: number; body: T }

/** Status and body (parsed JSON, or the text when it is not JSON) of a response. */
async function answer<T>(r: Response): Promise<JsonAnswer<T>> {
  const text = await r.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: r.status, body: body as T };
}

/** GET: status and body; throws when there is no answer within `timeoutMs` (after `retries` more tries, 500 ms apart). */
export async function getJson<T = any>(url: string, timeoutMs = 5000, retries = 0): Promise<JsonAnswer<T>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await answer<T>(await fetch(url, { signal: AbortSignal.timeout(timeoutMs) }));
    } catch (e) {
      if (attempt >= retries) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** GET: status and JSON body, or undefined when there is no answer or it is not JSON (a node that is down or restarting). */
export async function tryGetJson<T = any>(url: string, timeoutMs = 3000): Promise<JsonAnswer<T> | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: r.status, body: (await r.json()) as T };
  } catch {
    return undefined;
  }
}

/** GET: the JSON body of a 2xx answer; throws with the status and body otherwise. */
export async function getOkJson<T = any>(url: string, timeoutMs = 30_000): Promise<T> {
  const r = await getJson<T>(url, timeoutMs);
  if (r.status < 200 || r.status > 299) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** POST a JSON body: status and body. */
export async function postJson<T = any>(url: string, json: unknown, timeoutMs = 10_000): Promise<JsonAnswer<T>> {
  return answer<T>(await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json), signal: AbortSignal.timeout(timeoutMs) }));
}
