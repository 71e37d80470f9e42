// Persistence in LevelDB: reopen gives the same root and data; old roots stay readable; a process
// killed during commits reopens at a committed root with that version's data intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import type { AbstractSublevel } from 'abstract-level';
import { TernaryTrie, LevelNodeStore, EMPTY_ROOT, verifyProof } from '../src/trie/index.js';
import { sha256 } from '../src/core/hash.js';
import { toHex } from '../src/core/bytes.js';
import { hkey, enc } from './trie-helpers.js';
import { sleep } from './support/wait.js';

type Db = Level<Uint8Array, Uint8Array>;
type Sub = AbstractSublevel<Db, string | Uint8Array | Buffer, Uint8Array, Uint8Array>;
async function openDb(dir: string): Promise<{ db: Db; store: LevelNodeStore; meta: Sub }> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const store = new LevelNodeStore(db.sublevel<Uint8Array, Uint8Array>('n', { keyEncoding: 'view', valueEncoding: 'view' }));
  const meta = db.sublevel<Uint8Array, Uint8Array>('m', { keyEncoding: 'view', valueEncoding: 'view' });
  return { db, store, meta };
}

test('reopening from LevelDB gives the same root and data; at(oldRoot) still reads the old version', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smt-trie-persist-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keys = Array.from({ length: 3000 }, (_, i) => hkey(`persist${i}`));
  let { db, store, meta } = await openDb(dir);
  let trie = await TernaryTrie.open(store);
  for (const [i, k] of keys.entries()) await trie.put(k, enc(`v1-${i}`));
  // Nodes and the caller's own record in one atomic batch.
  const { root: root1, nodes } = trie.stageCommit();
  const batch = db.batch();
  store.putNodes(batch, nodes);
  batch.put(enc('root'), root1, { sublevel: meta });
  await batch.write();
  trie.markCommitted();
  for (const [i, k] of keys.entries()) if (i % 3 === 0) await trie.put(k, enc(`v2-${i}`));
  for (const [i, k] of keys.entries()) if (i % 5 === 1) await trie.delete(k);
  const root2 = await trie.commit();
  await meta.put(enc('root'), root2);
  await db.close();

  ({ db, store, meta } = await openDb(dir));
  const stored = (await meta.get(enc('root')))!;
  assert.equal(toHex(stored), toHex(root2));
  trie = await TernaryTrie.open(store, stored);
  assert.equal(toHex(trie.root()), toHex(root2));
  const expect2 = (i: number): string | undefined => (i % 5 === 1 ? undefined : i % 3 === 0 ? `v2-${i}` : `v1-${i}`);
  for (const [i, k] of keys.entries()) {
    const v = await trie.get(k);
    assert.equal(v && new TextDecoder().decode(v), expect2(i), `key ${i}`);
  }
  const old = await TernaryTrie.at(store, root1);
  // More commits after reopening (slow path: nodes load on demand), then the old version again.
  for (const [i, k] of keys.entries()) if (i % 7 === 0) await trie.put(k, enc(`v3-${i}`));
  const root3 = await trie.commit();
  assert.notEqual(toHex(root3), toHex(root2));
  for (const [i, k] of keys.entries()) assert.equal(new TextDecoder().decode((await old.get(k))!), `v1-${i}`);
  const p = await old.prove(keys[1]!);
  assert.ok(verifyProof(root1, keys[1]!, enc('v1-1'), p));
  // loadAll, then the fast path, gives the same root as reopening.
  const again = await TernaryTrie.open(store, root3);
  await again.loadAll();
  await again.put(keys[2]!, enc('x'));
  await trie.put(keys[2]!, enc('x'));
  assert.equal(toHex(again.root()), toHex(trie.root()));
  // Opening a root that is not in the store fails clearly.
  await assert.rejects(TernaryTrie.open(store, sha256(enc('nope'))), /not in store/);
  assert.equal(toHex((await TernaryTrie.open(store, EMPTY_ROOT)).root()), toHex(EMPTY_ROOT));
  await db.close();
});

for (const every of [1, 3]) {
  test(`crash: a writer SIGKILLed during commits reopens at a committed root, every key of that version intact (checkpointEvery ${every}${every > 1 ? ': journaled commits' : ''})`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'smt-trie-crash-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const child = spawn(process.execPath, ['--import', './bin/register.mjs', 'test/fixtures/trie-crash-writer.ts', dir, String(every)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const printed = new Map<number, string>();
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [, r, h] = buf.slice(0, nl).split(' ');
        printed.set(Number(r), h!);
        buf = buf.slice(nl + 1);
      }
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // Kill at a random moment after a few commits, bounded in time.
    const target = 3 + Math.floor(Math.random() * 8);
    const t0 = Date.now();
    // Normally well under a second; the generous bounds only matter on a heavily loaded machine.
    const waited = (): number => Date.now() - t0;
    while (printed.size < target && !(waited() > 10_000 && printed.size > 0) && waited() < 40_000) await sleep(5);
    await sleep(Math.random() * 40);
    child.kill('SIGKILL');
    await exited;
    assert.ok(printed.size >= 1, 'writer committed nothing');

    const { db, store, meta } = await openDb(dir);
    t.after(() => db.close());
    const root = (await meta.get(enc('root')))!;
    const rb = (await meta.get(enc('round')))!;
    const round = new DataView(rb.buffer, rb.byteOffset).getUint32(0);
    const last = Math.max(...printed.keys());
    // The stored version is the last printed one, or the next whose batch landed before its print.
    assert.ok(round === last || round === last + 1, `round ${round}, last printed ${last}`);
    if (round === last) assert.equal(toHex(root), printed.get(last));
    const trie = await TernaryTrie.open(store, root);
    assert.equal(toHex(trie.root()), toHex(root));
    const key = (r: number, i: number): Uint8Array => sha256(enc(`crash/${r}/${i}`));
    const u32 = (v: Uint8Array | undefined): number | undefined => (v === undefined ? undefined : new DataView(v.buffer, v.byteOffset).getUint32(0));
    assert.equal(u32(await trie.get(key(0, 0))), round);
    for (let r = 1; r <= round; r++) for (let i = 0; i < 300; i++) assert.equal(u32(await trie.get(key(r, i))), r);
    assert.equal(await trie.get(key(round + 1, 0)), undefined);
  });
}
