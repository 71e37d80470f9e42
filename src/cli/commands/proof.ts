// `smt proof global [EPOCH] --out DIR` and `smt proof verify [EPOCH] [--tree]`: the global state
// proof of an epoch, fetched from a node, exported for stock snarkjs or verified here (the apex,
// its link to the previous global proof and, with --tree, every triad proof under it).
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fromHex, toHex } from '../../core/bytes.js';
import { genesisHash, loadGenesis } from '../../core/genesis.js';
import { addJsonOption, CliError, DEFAULT_NODE_URL, nodeRequest, printJson, whyNoHierarchy } from '../client.js';
import { clusterApiUrls } from '../../cluster/cluster.js';

interface GlobalProofJson {
  epoch: number;
  depth: number;
  encoded: string;
  bytes: number;
  hash: string;
  prevGlobalProofHash: string;
  commitment: string;
  prevCommitment: string;
  supply: string;
  outflow: string;
  inflow: string;
  fees: string;
  proveEvery: number;
  prevEpoch: number | null;
}

interface TriadProofJson {
  path: string;
  epoch: number;
  encoded: string;
}

function epochArg(epoch: string): string {
  if (epoch !== 'latest' && !/^(0|[1-9][0-9]{0,15})$/.test(epoch)) throw new CliError(`epoch must be a non-negative integer or "latest", got ${JSON.stringify(epoch)}`);
  return epoch;
}

function nodesOf(o: { node?: string; network?: string }): string[] {
  if (o.node) return [o.node];
  if (process.env.SMT_NODE) return [process.env.SMT_NODE];
  const urls = o.network ? clusterApiUrls(resolve(o.network)) : undefined;
  return urls ? [...urls.values()] : [DEFAULT_NODE_URL];
}

/**
 * The first reachable node's answer. A 404 is final: a node missing a proof asks its peers before
 * answering, so asking the next node would only repeat that.
 */
async function fromAnyNode<T>(nodes: string[], path: string): Promise<T> {
  let last: unknown;
  for (const n of nodes) {
    const r = await nodeRequest<T & { error?: { message?: string } }>(n, path, { allowStatus: [404], timeoutMs: 60_000 }).catch((e: unknown) => {
      last = e;
      return undefined;
    });
    if (!r) continue;
    if (r.status === 404) {
      // an unknown route: a depth-0 node or one without --p2p runs no proving layer; say which
      if ((r.body.error as { code?: string } | undefined)?.code === 'not-found') throw new CliError((await whyNoHierarchy(n)) ?? `the node at ${n} serves no proofs (started without the proving layer)`);
      throw new CliError(r.body.error?.message ?? `not found: ${path}`);
    }
    return r.body;
  }
  throw last instanceof Error ? last : new CliError(`no node answered ${path}`);
}

export function register(program: Command): void {
  const proof = program.command('proof').description('global state proofs (Groth16): export for snarkjs, verify (docs/PROOFS.md)');

  const g = proof
    .command('global')
    .description('fetch the global state proof of an epoch (latest by default); with --out, write snarkjs files')
    .argument('[epoch]', 'epoch number, or "latest"', 'latest')
    .option('--node <url>', `node API base URL (env SMT_NODE; default: the nodes of --network's cluster.json, else ${DEFAULT_NODE_URL})`)
    .option('--network <dir>', 'network directory (finds the nodes in its cluster.json)')
    .option('--out <dir>', 'write verification_key.json, public.json and proof.json there');
  addJsonOption(g);
  g.addHelpText('after', `
The files in --out are accepted by stock snarkjs:
  npx snarkjs groth16 verify DIR/verification_key.json DIR/public.json DIR/proof.json
public.json holds the apex's 8 public signals: pathEnc (1 = apex), epoch, commitment,
prevCommitment, supply, outflow, inflow, fees. The verification key comes from the local circuit
artifacts (npm run build:circuits). Testnet setup only: anyone can forge proofs with it.

Examples:
  smt proof global --network ./devnet --out ./gp
  smt proof global 24 --node http://127.0.0.1:7701 --json
`);
  g.action(async (epoch: string, o: { node?: string; network?: string; out?: string; json?: boolean }) => {
    const gj = await fromAnyNode<GlobalProofJson>(nodesOf(o), `v1/proof/global/${epochArg(epoch)}`);
    const { decodeGlobalProof, exportSnarkjsFiles } = await import('../../proof/global.js');
    const gp = decodeGlobalProof(fromHex(gj.encoded));
    let files: { vkey: string; pub: string; proof: string } | undefined;
    if (o.out) {
      const { circuitsBuilt } = await import('../../proof/artifacts.js');
      if (!circuitsBuilt()) throw new CliError('no circuit artifacts here for the verification key: run `npm run build:circuits`');
      files = exportSnarkjsFiles(gp, resolve(o.out));
    }
    if (o.json) printJson({ ...gj, ...(files ? { files } : {}) });
    else {
      const out = [
        `global state proof of epoch ${gj.epoch} (depth ${gj.depth}, ${gj.bytes} bytes)`,
        `commitment:      ${gj.commitment}`,
        `prevCommitment:  ${gj.prevCommitment}`,
        `supply ${gj.supply}  outflow ${gj.outflow}  inflow ${gj.inflow}  fees ${gj.fees}`,
        `hash:            ${gj.hash}`,
        `previous proof:  ${gj.prevGlobalProofHash}`,
      ];
      if (files) out.push(`wrote ${files.vkey}, ${files.pub}, ${files.proof}`, `check: npx snarkjs groth16 verify ${files.vkey} ${files.pub} ${files.proof}`);
      process.stdout.write(out.join('\n') + '\n');
    }
  });

  const v = proof
    .command('verify')
    .description('verify the global state proof of an epoch (apex Groth16 proof + link to the previous one); --tree: every triad proof under it')
    .argument('[epoch]', 'epoch number, or "latest"', 'latest')
    .option('--node <url>', `node API base URL (env SMT_NODE; default: the nodes of --network's cluster.json, else ${DEFAULT_NODE_URL})`)
    .option('--network <dir>', 'network directory: nodes from cluster.json; genesis.json checks the first link')
    .option('--tree', 'also fetch and audit every triad proof of the epoch (docs/PROOFS.md §3)')
    .option('--light', 'with the light client (src/light): print what was verified and what it certifies, bytes fetched and time');
  addJsonOption(v);
  v.addHelpText('after', `
What is checked (and what it means: docs/PROOFS.md §3):
  - the apex Groth16 proof against the local verification key (npm run build:circuits);
  - its link: the previous proof it names is the global proof of an earlier epoch whose public
    commitment is this proof's prevCommitment when that epoch is the one just before, or (epochs
    skipped by --prove-every) an earlier proved epoch; epoch 0 links to the genesis hash;
  - with --tree: every triad proof of the epoch verifies, every parent's commitment opens
    (Poseidon) to its listed children, public sums and previous commitment, and the listed
    children are exactly the children's public commitments, sums adding up.

Examples:
  smt proof verify --network ./devnet --tree
  smt proof verify 24 --node http://127.0.0.1:7700
`);
  v.action(async (epoch: string, o: { node?: string; network?: string; tree?: boolean; json?: boolean; light?: boolean }) => {
    if (o.light) return lightProofVerify(epochArg(epoch), o);
    const nodes = nodesOf(o);
    const gj = await fromAnyNode<GlobalProofJson>(nodes, `v1/proof/global/${epochArg(epoch)}`);
    const { circuitsBuilt } = await import('../../proof/artifacts.js');
    if (!circuitsBuilt()) throw new CliError('no circuit artifacts here (verification keys): run `npm run build:circuits`');
    const { decodeGlobalProof, globalProofHash, verifyGlobalProof } = await import('../../proof/global.js');
    const { decodeTriadProof, sig } = await import('../../proof/triad-proof.js');
    const { verifyProofTree } = await import('../../proof/tree-prover.js');
    const { triadLevels } = await import('../../proof/tree.js');
    const { getPoseidon } = await import('../../proof/commitment.js');
    const { verify, closeVerifier } = await import('../../proof/verifier.js');
    const checks: { what: string; ok: boolean; detail?: string }[] = [];
    try {
      const gp = decodeGlobalProof(fromHex(gj.encoded));
      const e = Number(sig.epoch(gp.publicSignals));
      checks.push({ what: `apex Groth16 proof of epoch ${e} (${gj.bytes} bytes, ${gp.publicSignals.length} public signals)`, ok: e === gj.epoch && (await verifyGlobalProof(gp)) });
      // the link to the previous global proof
      const prevHash = toHex(gp.prevGlobalProofHash);
      if (e === 0 || e - gj.proveEvery < 0) {
        if (o.network && existsSync(join(resolve(o.network), 'genesis.json'))) {
          const gh = toHex(genesisHash(loadGenesis(join(resolve(o.network), 'genesis.json'))));
          checks.push({ what: 'link: first global proof names the genesis hash', ok: prevHash === gh });
        } else checks.push({ what: 'link: first global proof (pass --network to check the genesis hash)', ok: true, detail: 'not checked' });
      } else {
        // the previous proved epoch, or an earlier one if that epoch was skipped (proving fell
        // behind): the node names the epoch of the proof with the hash this one links to
        let prev: GlobalProofJson | undefined;
        const pe = gj.prevEpoch ?? e - gj.proveEvery;
        try {
          prev = await fromAnyNode<GlobalProofJson>(nodes, `v1/proof/global/${pe}`);
        } catch {
          prev = undefined;
        }
        if (!prev) checks.push({ what: `link to the global proof of epoch ${pe}`, ok: false, detail: 'no node has it' });
        else {
          const pg = decodeGlobalProof(fromHex(prev.encoded));
          const ok = toHex(globalProofHash(pg)) === prevHash && (await verifyGlobalProof(pg)) && Number(sig.epoch(pg.publicSignals)) === pe;
          const adjacent = pe === e - 1;
          const chained = adjacent ? sig.commitment(pg.publicSignals) === sig.prevCommitment(gp.publicSignals) : true;
          checks.push({
            what: `link to the global proof of epoch ${pe} (its hash, it verifies${adjacent ? ', its commitment is this prevCommitment' : `; epochs ${pe + 1}..${e - 1} are chained by commitment only, not proved`})`,
            ok: ok && chained,
          });
        }
      }
      if (o.tree) {
        const depth = gp.depth;
        const proofs = new Map<string, ReturnType<typeof decodeTriadProof>>();
        for (const level of triadLevels(depth)) {
          for (const path of level) {
            try {
              const tj = await fromAnyNode<TriadProofJson>(nodes, `v1/proof/triad/${path === '' ? 'apex' : path}/${e}`);
              proofs.set(path, decodeTriadProof(fromHex(tj.encoded)));
            } catch {
              // reported as missing by verifyProofTree
            }
          }
        }
        const H = await getPoseidon();
        const apex = proofs.get('');
        const problems = await verifyProofTree(H, verify, { depth, epoch: e, proofs });
        if (apex && apex.publicSignals.some((s, i) => s !== gp.publicSignals[i])) problems.push('the apex triad proof is not the global proof\'s');
        for (const [p, tp] of proofs) if (Number(sig.epoch(tp.publicSignals)) !== e) problems.push(`triad ${JSON.stringify(p)}: proof of another epoch`);
        checks.push({ what: `tree: ${proofs.size} of ${(3 ** depth - 1) / 2} triad proofs fetched; each verifies, opens to its children, children's commitments and sums match`, ok: problems.length === 0, detail: problems.join('; ') || undefined });
      }
    } finally {
      await closeVerifier();
    }
    const ok = checks.every((c) => c.ok);
    if (o.json) printJson({ epoch: gj.epoch, ok, checks });
    else {
      const out = checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.what}${c.detail ? ` (${c.detail})` : ''}`);
      out.push(ok
        ? o.tree
          ? `verified: epoch ${gj.epoch}'s global commitment and sums are proved by the whole tree of triad proofs down to the shard snapshots (what this does and does not certify: docs/PROOFS.md §3)`
          : `verified: the apex prover knew an opening of epoch ${gj.epoch}'s commitment with these global sums, chained to the previous commitment; this trusts the provers below (use --tree to audit them; docs/PROOFS.md §3)`
        : 'verification FAILED');
      process.stdout.write(out.join('\n') + '\n');
    }
    if (!ok) throw new CliError(`global state proof of epoch ${gj.epoch} does not verify`);
  });
}

async function lightProofVerify(epoch: string, o: { node?: string; network?: string; tree?: boolean; json?: boolean }): Promise<void> {
  const { lightClientFor } = await import('../light.js');
  const { circuitsBuilt } = await import('../../proof/artifacts.js');
  if (!circuitsBuilt()) throw new CliError('no circuit artifacts here (verification keys): run `npm run build:circuits`');
  const { loadVerificationKey, closeVerifier } = await import('../../proof/verifier.js');
  const { keyVerifier, verifyGlobalProofApex } = await import('../../light/proofs.js');
  const { lc, trust } = await lightClientFor(o);
  const verify = keyVerifier({ triad_leaf: loadVerificationKey('triad_leaf'), triad_inner: loadVerificationKey('triad_inner') });
  const e = epoch === 'latest' ? 'latest' : Number(epoch);
  const t0 = performance.now();
  try {
    let v;
    if (o.tree) {
      const { verifyGlobalProofTree } = await import('../../light/proof-tree.js');
      const { getPoseidon } = await import('../../proof/commitment.js');
      v = await verifyGlobalProofTree(lc, e, verify, await getPoseidon());
    } else v = await verifyGlobalProofApex(lc, e, verify);
    const ms = performance.now() - t0;
    if (o.json) printJson({ epoch: v.epoch, mode: v.mode, ok: v.ok, checks: v.checks, certifies: v.certifies, failure: v.failure, light: { trust, bytesFetched: lc.bytesFetched, requests: lc.requests, ms: Math.round(ms * 10) / 10 } });
    else {
      const out = v.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.what}${c.detail ? ` (${c.detail})` : ''}`);
      out.push(`mode:     ${v.mode === 'tree' ? 'whole tree of triad proofs (audited)' : 'apex only'}`);
      out.push(v.ok ? `verified: ${v.certifies}` : `verification FAILED: ${v.failure}`);
      out.push(`trust:    ${trust}`, `fetched:  ${lc.bytesFetched} bytes in ${lc.requests} request(s), ${ms.toFixed(1)} ms`);
      process.stdout.write(out.join('\n') + '\n');
    }
    if (!v.ok) throw new CliError(`global state proof of epoch ${v.epoch} does not verify: ${v.failure}`);
  } finally {
    await closeVerifier();
  }
}
