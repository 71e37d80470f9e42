// HTTP routes of the proving layer (src/node/proving/): its status, global state proofs and triad
// proofs, looked up at peers when not held here (bounded: see ProofFetch.askPeers).
import { globalProofJson, triadProofJson } from '../proof/proof-json.js';
import { HttpError, type Router } from './http.js';
import type { StoredGlobal } from './proof-store.js';
import type { ProvingService } from './proving/service.js';

function epochParam(s: string): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(s)) throw new HttpError(400, 'bad-epoch', `epoch must be a non-negative integer, got ${JSON.stringify(s)}`);
  return Number(s);
}

export function addProofRoutes(router: Router, svc: ProvingService): void {
  const globalJson = async (epoch: number, g: StoredGlobal): Promise<Record<string, unknown>> =>
    globalProofJson(epoch, g.proof, { proveEvery: svc.proveEvery, receivedAt: g.receivedAt, prevEpoch: await svc.prevEpochOf(epoch, g.proof) });
  router.add('GET', '/v1/proof/status', () => ({ json: svc.status() }));
  router.add('GET', '/v1/proof/global/latest', async () => {
    const g = await svc.globalProof('latest');
    if (!g) throw new HttpError(404, 'proof-not-found', `no global state proof yet (${svc.proofHint()})`);
    return { json: await globalJson(g.epoch, g.stored) };
  });
  router.add('GET', '/v1/proof/global/:epoch', async (req) => {
    const e = epochParam(req.params.epoch!);
    const g = await svc.globalProof(e);
    if (!g) throw new HttpError(404, 'proof-not-found', `no global state proof for epoch ${e} here or at peers (${svc.proofHint()})`);
    return { json: await globalJson(e, g.stored) };
  });
  router.add('GET', '/v1/proof/triad/:path/:epoch', async (req) => {
    const raw = req.params.path!;
    const path = raw === 'apex' || raw === 'root' ? '' : raw;
    if (!/^[012]*$/.test(path) || path.length >= svc.depth) throw new HttpError(400, 'bad-path', `triad path must be "apex" or ternary digits shorter than ${svc.depth}, got ${JSON.stringify(raw)}`);
    const e = epochParam(req.params.epoch!);
    const p = await svc.triadProof(path, e);
    if (!p) throw new HttpError(404, 'proof-not-found', `no proof of triad ${JSON.stringify(path)} for epoch ${e} here or at peers (${svc.proofHint()})`);
    return { json: triadProofJson(path, e, p) };
  });
}
