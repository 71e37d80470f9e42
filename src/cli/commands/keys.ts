// `smt keys new|show`: ed25519 key files (mode 0600; secrets are never printed).
import type { Command } from 'commander';
import { toHex } from '../../core/bytes.js';
import { homeShard } from '../../core/address.js';
import { loadKeyFile, newKeyFile } from '../../core/keyfile.js';
import { loadNetworkGenesis } from '../../node/network-dir.js';
import { printFields, printJson } from '../client.js';

export function register(program: Command): void {
  const keys = program.command('keys').description('create and inspect ed25519 key files');
  keys
    .command('new')
    .description('generate a new ed25519 key pair and write it to a key file (mode 0600); prints the address')
    .requiredOption('--out <file>', 'key file to create (never overwritten)')
    .option('--json', 'print one JSON object instead of text')
    .addHelpText('after', `
The file holds the 32-byte secret seed, the public key and the address (first 20 bytes of
SHA-256(public key)). smt refuses to load a key file that group or others can read.

Examples:
  smt keys new --out alice.key
  smt keys new --out ./keys/bob.key --json
`)
    .action((o: { out: string; json?: boolean }) => {
      const k = newKeyFile(o.out);
      if (o.json) return printJson({ file: o.out, address: toHex(k.address), publicKey: toHex(k.keyPair.publicKey) });
      printFields([['address', toHex(k.address)], ['public key', toHex(k.keyPair.publicKey)], ['file', `${o.out} (mode 0600)`]]);
    });
  keys
    .command('show')
    .description('print the address and public key of a key file (never the secret)')
    .argument('<file>', 'key file')
    .option('--network <dir>', 'network directory: also print the account\'s home shard')
    .option('--json', 'print one JSON object instead of text')
    .addHelpText('after', `
Examples:
  smt keys show alice.key
  smt keys show ./devnet/accounts/0.key --network ./devnet
`)
    .action((file: string, o: { network?: string; json?: boolean }) => {
      const k = loadKeyFile(file);
      const shard = o.network === undefined ? undefined : homeShard(k.address, loadNetworkGenesis(o.network).depth);
      if (o.json) return printJson({ file, address: toHex(k.address), publicKey: toHex(k.keyPair.publicKey), ...(shard === undefined ? {} : { homeShard: shard }) });
      const f: [string, unknown][] = [['address', toHex(k.address)], ['public key', toHex(k.keyPair.publicKey)]];
      if (shard !== undefined) f.push(['home shard', shard === '' ? '"" (the single shard)' : shard]);
      printFields(f);
    });
}
