// Finding a replicated shard's current writer from its replicas' API URLs (docs/REPLICAS.md
// "Clients and tools"): ask every replica's GET /v1/replica/status at once; the one that says it
// is the writer in the highest term wins, else the writer the others name in the highest term,
// else any replica that answered (it serves reads and forwards submissions to the writer).
export interface ReplicaStatusJson {
  role?: string;
  replica?: number;
  term?: string;
  writer?: number | null;
  epoch?: number;
  committed?: number;
  lag?: number;
}

/** Which URL to use, from each replica's status (undefined: it did not answer). Pure. */
export function pickWriter(urls: readonly string[], answers: readonly (ReplicaStatusJson | undefined)[]): string | undefined {
  const term = (a: ReplicaStatusJson): bigint => (typeof a.term === 'string' && /^[0-9]{1,20}$/.test(a.term) ? BigInt(a.term) : -1n);
  let best: { url: string; term: bigint } | undefined;
  let named: { url: string; term: bigint } | undefined;
  let any: string | undefined;
  for (let i = 0; i < answers.length; i++) {
    const a = answers[i];
    if (!a) continue;
    any ??= urls[i];
    const t = term(a);
    if (a.role === 'writer' && (!best || t > best.term)) best = { url: urls[i]!, term: t };
    const w = a.writer;
    if (typeof w === 'number' && Number.isInteger(w) && w >= 0 && w < urls.length && answers[w] !== undefined && (!named || t > named.term)) named = { url: urls[w]!, term: t };
  }
  return best?.url ?? named?.url ?? any;
}

/** The current writer's URL among `urls` (one shard's replicas, in replica order), else any replica that answers, else undefined. */
export async function findWriter(urls: readonly string[], timeoutMs = 1500): Promise<string | undefined> {
  if (urls.length <= 1) return urls[0];
  const answers = await Promise.all(urls.map(async (u) => {
    try {
      const res = await fetch(`${u}/v1/replica/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return res.ok ? ((await res.json()) as ReplicaStatusJson) : undefined;
    } catch {
      return undefined;
    }
  }));
  return pickWriter(urls, answers);
}
