// The `smt` command line. Each command lives in src/cli/commands/<name>.ts and exports
// `register(program)`; this file only assembles them.
import { Command } from 'commander';

const program = new Command();
program
  .name('smt')
  .description('Sierpinski Merkle Trie (SMT) sharded ledger: run shard nodes, send transfers, query state and proofs')
  .version('0.1.0')
  .showHelpAfterError();

const commands: Array<{ register(p: Command): void }> = [
  // command modules are appended here
];
for (const c of commands) c.register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  process.exitCode = 1;
}
