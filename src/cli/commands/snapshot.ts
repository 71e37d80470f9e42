// `smt snapshot [EPOCH]`: a sealed epoch snapshot with its validator signature checked.
import type { Command } from 'commander';
import { snapshotToJson } from '../../shard/snapshot.js';
import { addJsonOption, addNodeOption, CliError, printFields, printJson } from '../client.js';
import { fetchSignedSnapshot } from '../anchor.js';

export function register(program: Command): void {
  const cmd = program
    .command('snapshot')
    .description('show a sealed epoch snapshot (the latest if EPOCH is omitted) and check its signature')
    .argument('[epoch]', 'epoch number (default: latest)')
    .option('--network <dir>', 'check the signature against this network\'s genesis validator key (else: the key the node reports)');
  addNodeOption(cmd);
  addJsonOption(cmd);
  cmd.addHelpText('after', `
The snapshot is decoded from its canonical encoding (not from the JSON view) and its ed25519
signature is checked; without --network the validator key is the one the node itself reports.

Examples:
  smt snapshot
  smt snapshot 42 --network ./devnet
  smt snapshot --json
`);
  cmd.action(async (epoch: string | undefined, o: { node: string; json?: boolean; network?: string }) => {
    if (epoch !== undefined && !/^[0-9]+$/.test(epoch)) throw new CliError(`epoch must be a non-negative integer, got ${JSON.stringify(epoch)}`);
    const a = await fetchSignedSnapshot(o.node, epoch === undefined ? 'latest' : Number(epoch), o.network);
    const view = snapshotToJson(a.signed.snapshot);
    if (JSON.stringify(view) !== JSON.stringify(a.response.snapshot)) throw new CliError('the node\'s JSON view of the snapshot differs from its signed encoding');
    if (o.json) printJson({ ...a.response, signatureValid: a.signatureValid });
    else {
      const f: [string, unknown][] = Object.entries(view).map(([k, v]) => [k, Array.isArray(v) ? `[${v.join(', ')}]` : k === 'shard' && v === '' ? '"" (the single shard)' : v]);
      f.push(['signature', a.signatureValid ? `valid (${a.keySource})` : `INVALID (${a.keySource})`]);
      printFields(f);
    }
    if (!a.signatureValid) throw new CliError('snapshot signature does not verify');
  });
}
