// `smt keys` and `smt network init` through the real CLI process, plus the key file codec.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { KeyFileError, keyFileJson, loadKeyFile, parseKeyFile } from '../src/core/keyfile.js';
import { generateKeyPair } from '../src/core/ed25519.js';
import { toHex } from '../src/core/bytes.js';
import { addressFromPublicKey, homeShard } from '../src/core/address.js';
import { loadGenesis, totalSupply } from '../src/core/genesis.js';
import { allShards } from '../src/core/ids.js';
import { smt } from './support/process.js';

const tmp = mkdtempSync(join(tmpdir(), 'smt-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('smt keys', () => {
  test('keys new writes a 0600 file whose address is derived from its public key, and never prints the seed', async () => {
    const f = join(tmp, 'a.key');
    const r = await smt(['keys', 'new', '--out', f, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    const out = JSON.parse(r.stdout);
    const file = JSON.parse(readFileSync(f, 'utf8'));
    assert.equal(out.address, file.address);
    assert.equal(toHex(addressFromPublicKey(Buffer.from(file.publicKey, 'hex'))), file.address);
    assert.ok(!r.stdout.includes(file.seed) && !r.stderr.includes(file.seed));
    const show = await smt(['keys', 'show', f]);
    assert.equal(show.code, 0);
    assert.ok(show.stdout.includes(file.address) && !show.stdout.includes(file.seed));
  });

  test('keys new refuses to overwrite an existing file (exit 1, one-line error, file unchanged)', async () => {
    const f = join(tmp, 'b.key');
    assert.equal((await smt(['keys', 'new', '--out', f])).code, 0);
    const before = readFileSync(f, 'utf8');
    const r = await smt(['keys', 'new', '--out', f]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: refusing to overwrite/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(readFileSync(f, 'utf8'), before);
  });

  test('a key file readable by group or others is refused with a chmod hint', async () => {
    const f = join(tmp, 'c.key');
    assert.equal((await smt(['keys', 'new', '--out', f])).code, 0);
    for (const mode of [0o640, 0o604, 0o644]) {
      chmodSync(f, mode);
      const r = await smt(['keys', 'show', f]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /accessible by group\/others .*chmod 600/);
      assert.throws(() => loadKeyFile(f), KeyFileError);
    }
    chmodSync(f, 0o600);
    assert.equal((await smt(['keys', 'show', f])).code, 0);
  });

  test('parseKeyFile accepts exactly consistent files and throws only KeyFileError otherwise', () => {
    const kp = generateKeyPair();
    const good = keyFileJson(kp);
    assert.deepEqual(parseKeyFile(good).keyPair.publicKey, kp.publicKey);
    const other = keyFileJson(generateKeyPair());
    for (const bad of [{ ...good, publicKey: other.publicKey }, { ...good, address: other.address }, { ...good, seed: 'zz' }, { ...good, type: 'x' }, null, [], 'str']) {
      assert.throws(() => parseKeyFile(bad), KeyFileError);
    }
    fc.assert(
      fc.property(fc.jsonValue(), (j) => {
        try {
          parseKeyFile(j);
          return false; // random JSON is never a valid key file
        } catch (e) {
          return e instanceof KeyFileError;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('smt network init', () => {
  test('depth 0: one validator key, N funded accounts, genesis consistent with the key files', async () => {
    const dir = join(tmp, 'net0');
    const r = await smt(['network', 'init', '--dir', dir, '--accounts', '4', '--balance', '500', '--epoch-ms', '250', '--network-id', 'testnet-a', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const g = loadGenesis(join(dir, 'genesis.json'));
    assert.equal(g.depth, 0);
    assert.equal(g.epochMs, 250);
    assert.equal(g.networkId, 'testnet-a');
    assert.equal(totalSupply(g), 2000n);
    assert.deepEqual(readdirSync(join(dir, 'validators')), ['root.key']);
    const v = loadKeyFile(join(dir, 'validators', 'root.key'));
    assert.equal(toHex(g.validators.get(allShards(0)[0]!)!), toHex(v.keyPair.publicKey));
    const addrs = new Set(g.allocations.map((a) => toHex(a.address)));
    for (let i = 0; i < 4; i++) {
      const k = loadKeyFile(join(dir, 'accounts', `${i}.key`));
      assert.ok(addrs.has(toHex(k.address)));
    }
  });

  test('depth 2: 9 validator keys matching genesis; accounts.json records each home shard', async () => {
    const dir = join(tmp, 'net2');
    assert.equal((await smt(['network', 'init', '--dir', dir, '--depth', '2', '--accounts', '6'])).code, 0);
    const g = loadGenesis(join(dir, 'genesis.json'));
    assert.equal(g.validators.size, 9);
    for (const s of allShards(2)) assert.equal(toHex(loadKeyFile(join(dir, 'validators', `${s}.key`)).keyPair.publicKey), toHex(g.validators.get(s)!));
    const idx = JSON.parse(readFileSync(join(dir, 'accounts.json'), 'utf8')) as { address: string; shard: string }[];
    assert.equal(idx.length, 6);
    for (const a of idx) assert.equal(a.shard, homeShard(Buffer.from(a.address, 'hex'), 2));
  });

  test('init refuses to overwrite an existing network unless --force, which replaces all keys', async () => {
    const dir = join(tmp, 'net-again');
    assert.equal((await smt(['network', 'init', '--dir', dir, '--accounts', '1'])).code, 0);
    const g1 = readFileSync(join(dir, 'genesis.json'), 'utf8');
    const r = await smt(['network', 'init', '--dir', dir, '--accounts', '1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already holds a network.*--force/);
    assert.equal(readFileSync(join(dir, 'genesis.json'), 'utf8'), g1);
    assert.equal((await smt(['network', 'init', '--dir', dir, '--accounts', '1', '--force'])).code, 0);
    const g2 = loadGenesis(join(dir, 'genesis.json'));
    assert.notEqual(readFileSync(join(dir, 'genesis.json'), 'utf8'), g1);
    assert.equal(toHex(loadKeyFile(join(dir, 'accounts', '0.key')).address), toHex(g2.allocations[0]!.address));
  });

  test('bad arguments exit 1 with a one-line error', async () => {
    for (const args of [['--depth', '9'], ['--accounts', '-1'], ['--balance', '1e3'], ['--network-id', 'Bad_Id'], ['--epoch-ms', '10']]) {
      const r = await smt(['network', 'init', '--dir', join(tmp, 'bad'), ...args]);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
    }
  });
});

describe('smt node start', () => {
  test('bad start arguments fail fast with one line: missing network, wrong shard, bad --api', async () => {
    const dir = join(tmp, 'net0');
    const cases: [string[], RegExp][] = [
      [['--network', join(tmp, 'nope')], /not a network directory/],
      [['--network', dir, '--shard', '01'], /invalid shard id "01"/],
      [['--network', dir, '--api', 'localhost'], /invalid address "localhost"/],
      [['--network', dir, '--log-level', 'loud'], /--log-level must be one of/],
    ];
    for (const [args, re] of cases) {
      const r = await smt(['node', 'start', ...args], 30_000);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});

describe('help', () => {
  test('every command explains itself with examples', async () => {
    for (const cmd of [['network', 'init'], ['keys', 'new'], ['keys', 'show'], ['node', 'start'], ['tx', 'send'], ['tx', 'status'], ['account'], ['snapshot']]) {
      const r = await smt([...cmd, '--help']);
      assert.equal(r.code, 0, cmd.join(' '));
      assert.match(r.stdout, /Examples:\n\s+smt /, cmd.join(' '));
    }
  });

  test('a client command against a node that is not running fails with one clear line', async () => {
    const r = await smt(['account', '00'.repeat(20), '--node', 'http://127.0.0.1:9']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: cannot reach node at http:\/\/127\.0\.0\.1:9/);
  });
});
