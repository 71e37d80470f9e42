// The CLI side of --light: a LightClient (src/light/) from the network directory's genesis (the
// trust root) and cluster.json (which node serves which shard), and the common printout: what was
// verified, bytes fetched, time.
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseGenesis, loadGenesis, type Genesis } from '../core/genesis.js';
import { clusterApiUrls } from '../cluster/cluster.js';
import { LightClient } from '../light/client.js';
import { CliError, DEFAULT_NODE_URL, nodeRequest, printJson } from './client.js';

export interface LightSetup {
  lc: LightClient;
  trust: string;
}

export async function lightClientFor(o: { node?: string; network?: string }): Promise<LightSetup> {
  const netDir = o.network === undefined ? undefined : resolve(o.network);
  const nodes = netDir ? clusterApiUrls(netDir) : undefined;
  const node = o.node ?? process.env.SMT_NODE ?? nodes?.values().next().value ?? DEFAULT_NODE_URL;
  let genesis: Genesis;
  let trust: string;
  if (netDir && existsSync(join(netDir, 'genesis.json'))) {
    genesis = loadGenesis(join(netDir, 'genesis.json'));
    trust = `genesis ${join(netDir, 'genesis.json')}`;
  } else {
    // without a genesis file the trust root is the node's own word: said in the output
    const { body } = await nodeRequest<{ genesis: unknown }>(node, 'v1/explorer/genesis');
    genesis = parseGenesis(body.genesis);
    trust = `genesis as reported by ${node} (pass --network DIR to check against your own genesis.json)`;
  }
  if (genesis.depth < 1) throw new CliError('--light needs a network of depth >= 1 (it checks global snapshots)');
  return { lc: new LightClient({ genesis, node, ...(nodes ? { nodes } : {}) }), trust };
}

export function printLight(json: boolean, data: Record<string, unknown>, checks: string[], lc: LightClient, ms: number, trust: string): void {
  if (json) return printJson({ ...data, light: { verified: checks, trust, bytesFetched: lc.bytesFetched, requests: lc.requests, ms: Math.round(ms * 10) / 10 } });
  const out = Object.entries(data).map(([k, v]) => `${(k + ':').padEnd(10)}${String(v)}`);
  out.push('verified (light client):', ...checks.map((c) => `  ok  ${c}`));
  out.push(`trust:    ${trust}`, `fetched:  ${lc.bytesFetched} bytes in ${lc.requests} request(s), ${ms.toFixed(1)} ms`);
  process.stdout.write(out.join('\n') + '\n');
}
