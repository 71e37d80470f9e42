// `smt version` (also `smt --version`): software version, wire and disk format versions, circuits key.
import type { Command } from 'commander';
import { addJsonOption, printJson } from '../client.js';

export function register(program: Command): void {
  const cmd = program
    .command('version')
    .description('print the software version, the version of every canonical encoding, and the circuits key (also: smt --version)');
  addJsonOption(cmd);
  cmd.action(async (o: { json?: boolean }) => {
    // loaded on demand: it pulls in every codec to read their versions
    const { buildInfo, buildInfoText } = await import('../../node/build-info.js');
    if (o.json) printJson(buildInfo());
    else process.stdout.write(buildInfoText() + '\n');
  });
}
