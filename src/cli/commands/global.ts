// `smt global [EPOCH]`: the global snapshot of an epoch (the final apex aggregate), with every
// shard's included commitment, the signers, and, given the genesis (--network), a local check of
// the whole chain of 2-of-3 signatures down to the lowest triads.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fromHex, toHex } from '../../core/bytes.js';
import { loadGenesis } from '../../core/genesis.js';
import { aggregateHash } from '../../hierarchy/aggregate.js';
import { decodeFinalAggregate, verifyFinalAggregate } from '../../hierarchy/finality.js';
import { addJsonOption, CliError, DEFAULT_NODE_URL, nodeRequest, printJson, whyNoHierarchy } from '../client.js';
import { clusterApiUrls } from '../../cluster/cluster.js';

interface GlobalJson {
  network: string;
  epoch: number;
  root: string;
  supply: string;
  txCount: string;
  prevRoot: string;
  signatures: { member: number; attempt: number; signer: string; signature: string }[];
  shards: { shard: string; snapshotHash: string; epoch: number; carried: boolean }[];
  conservation?: { supply: string; inFlight: string; burnedFees: string; genesisSupply: string; holds: boolean };
  consistentCut?: boolean | null;
  encoded: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('global')
    .description('show the global snapshot of an epoch (latest by default): root, per-shard commitments, signers; verified with --network')
    .argument('[epoch]', 'epoch number, or "latest"', 'latest')
    .option('--node <url>', 'node API base URL (env SMT_NODE; default: the first shard of --network\'s cluster.json, else ' + DEFAULT_NODE_URL + ')')
    .option('--network <dir>', 'network directory: verify the 2-of-3 signature chain against its genesis (and find a node in its cluster.json)');
  addJsonOption(cmd);
  cmd.addHelpText('after', `
The global snapshot of epoch e is the final aggregate of the apex triad: its root commits to every
shard's snapshot through the triad aggregates below it. A shard marked "carried" missed the epoch's
deadline: its previous commitment was carried forward. With --network DIR the whole final
aggregate (with its child finals) is checked locally against genesis.json: structure, sums, hashes
and 2 valid member signatures at every triad down to the shards.

Examples:
  smt global --network ./devnet
  smt global 42 --node http://127.0.0.1:7703 --json
`);
  cmd.action(async (epoch: string, o: { node?: string; network?: string; json?: boolean }) => {
    if (epoch !== 'latest' && !/^(0|[1-9][0-9]{0,15})$/.test(epoch)) throw new CliError(`epoch must be a non-negative integer or "latest", got ${JSON.stringify(epoch)}`);
    const netDir = o.network === undefined ? undefined : resolve(o.network);
    const node = o.node ?? process.env.SMT_NODE ?? (netDir ? clusterApiUrls(netDir)?.values().next().value : undefined) ?? DEFAULT_NODE_URL;
    const res = await nodeRequest<GlobalJson & { error?: { code?: string; message?: string } }>(node, `v1/global/${epoch}`, { allowStatus: [404] });
    if (res.status === 404) {
      if (res.body.error?.code === 'not-found') throw new CliError((await whyNoHierarchy(node)) ?? `the node at ${node} serves no global snapshots`);
      throw new CliError(`${res.body.error?.message ?? 'not found'} (${res.body.error?.code ?? 'error'}, HTTP 404)`);
    }
    const g = res.body;
    let verified: string | undefined;
    let problem: string | undefined;
    if (netDir) {
      const gp = join(netDir, 'genesis.json');
      if (!existsSync(gp)) throw new CliError(`${netDir} has no genesis.json`);
      const genesis = loadGenesis(gp);
      const fa = decodeFinalAggregate(fromHex(g.encoded));
      const r = verifyFinalAggregate(fa, genesis);
      if (toHex(aggregateHash(fa.aggregate)) !== g.root) problem = 'the root does not match the final aggregate the node sent';
      else if (fa.aggregate.path !== '' || fa.aggregate.epoch !== g.epoch) problem = 'the node sent a final aggregate of another triad or epoch';
      else if (!r.ok) problem = r.reason;
      else verified = `verified 2-of-3 chain down to the shards (${3 ** genesis.depth} shards, depth ${genesis.depth}, genesis ${gp})`;
    }
    if (o.json) {
      const { encoded: _e, ...rest } = g;
      printJson({ ...rest, ...(netDir ? { verified: problem === undefined, ...(problem ? { problem } : {}) } : {}) });
    } else {
      const out: string[] = [];
      out.push(`global snapshot of epoch ${g.epoch} (network ${g.network})`);
      out.push(`root:     ${g.root}`);
      out.push(`prev:     ${g.prevRoot}`);
      out.push(`supply:   ${g.supply}    txs: ${g.txCount}`);
      if (g.conservation) {
        const c = g.conservation;
        out.push(`conservation: ${c.holds ? 'holds' : 'VIOLATED'} (supply ${c.supply} + in flight ${c.inFlight} + burned fees ${c.burnedFees} ${c.holds ? '=' : 'vs'} genesis ${c.genesisSupply}); consistent cut: ${g.consistentCut === null || g.consistentCut === undefined ? 'not checkable on this node' : g.consistentCut ? 'yes' : 'NO'}`);
      }
      out.push(`signers:  ${g.signatures.map((s) => `member ${s.member} via shard ${s.signer}${s.attempt ? ` (attempt ${s.attempt})` : ''}`).join(', ')}`);
      out.push('shard  epoch    snapshot hash                                                     carried');
      for (const s of g.shards) out.push(`${s.shard.padEnd(6)} ${String(s.epoch).padEnd(8)} ${s.snapshotHash}  ${s.carried ? 'CARRIED' : '-'}`);
      if (verified) out.push(verified);
      else if (problem) out.push(`verification FAILED: ${problem}`);
      else out.push('(not verified: pass --network DIR to check the signatures against genesis)');
      process.stdout.write(out.join('\n') + '\n');
    }
    if (problem) throw new CliError(`global snapshot of epoch ${g.epoch} does not verify: ${problem}`);
  });
}
