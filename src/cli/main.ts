// The `smt` command line. Each command lives in src/cli/commands/<name>.ts and exports
// `register(program)`; this file only assembles them.
import { Command } from 'commander';
import * as networkCmd from './commands/network.js';
import * as keysCmd from './commands/keys.js';
import * as nodeCmd from './commands/node.js';
import * as txCmd from './commands/tx.js';
import * as accountCmd from './commands/account.js';
import * as snapshotCmd from './commands/snapshot.js';
import * as clusterCmd from './commands/cluster.js';
import * as globalCmd from './commands/global.js';
import * as proofCmd from './commands/proof.js';
import * as proverCmd from './commands/prover.js';
import * as versionCmd from './commands/version.js';
import * as deployCmd from './commands/deploy.js';

const jsonErrors = process.argv.includes('--json');
const program = new Command();
program
  .name('smt')
  .description('Sierpinski Merkle Trie (SMT) sharded ledger: run shard nodes, send transfers, query state and proofs')
  .option('-V, --version', 'print the version (same as `smt version`)')
  // one line and a pointer to --help, not the whole help text, after a usage error
  .showHelpAfterError(jsonErrors ? false : '(add --help for usage)')
  .configureOutput({
    // with --json, usage errors are one JSON object on stderr too
    outputError: (str, write) => write(jsonErrors ? JSON.stringify({ error: { code: 'usage', message: str.replace(/^error: /, '').trim() } }) + '\n' : str),
  });

const commands: Array<{ register(p: Command): void }> = [
  // command modules are appended here
  networkCmd, keysCmd, nodeCmd, txCmd, accountCmd, snapshotCmd, clusterCmd, globalCmd, proofCmd, proverCmd, versionCmd, deployCmd,
];
for (const c of commands) c.register(program);

// `smt --version` / `smt -V` is `smt version`
const argv = process.argv.length === 3 && (process.argv[2] === '--version' || process.argv[2] === '-V') ? [...process.argv.slice(0, 2), 'version'] : process.argv;
try {
  await program.parseAsync(argv);
} catch (e) {
  const message = (e as Error).message;
  console.error(jsonErrors ? JSON.stringify({ error: { code: (e as Error).name === 'CliError' ? 'failed' : (e as Error).name, message } }) : `error: ${message}`);
  process.exitCode = 1;
}
