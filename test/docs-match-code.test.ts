// The README cannot drift from the code: every `smt ...` command it names (in inline code and in
// shell blocks) exists, with every --option it gives that command in the command's --help; and every
// smt_* metric named in the README or docs/ is exported by a node (depth 1 with gossip and the
// proving layer, so every layer's metrics are registered).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMT_BIN } from '../src/cluster/supervisor.js';
import { REPO_ROOT } from '../src/proof/artifacts.js';
import { SmtNode } from '../src/node/node.js';
import { initNetwork } from '../src/node/network-dir.js';
import { createLogger } from '../src/node/logger.js';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const docs = readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => readFileSync(join(REPO_ROOT, 'docs', f), 'utf8'));

/** `smt ...` invocations in the README: inline code spans and lines of shell blocks. */
function invocations(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/`(smt [^`]+)`/g)) out.push(m[1]!.replace(/\\\|/g, '|'));
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      const l = line.replace(/\s+#.*$/, '').trim();
      if (l.startsWith('smt ')) out.push(l);
    }
  }
  return out;
}

/** Command path (with `a|b` alternatives expanded) and the --options of one invocation. */
function parse(inv: string): { paths: string[][]; options: string[] } {
  const words = inv.split(/\s+/).slice(1);
  const path: string[][] = [];
  for (const w of words) {
    if (!/^[a-z][a-z0-9|-]*$/.test(w)) break; // placeholders (ADDR, <txid>, $TO, 42, ./dir, [..]) end the command path
    path.push(w.split('|'));
  }
  let paths: string[][] = [[]];
  for (const alts of path) paths = paths.flatMap((p) => alts.map((a) => [...p, a]));
  const options = [...inv.matchAll(/(?:^|[\s[])(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]!);
  return { paths, options };
}

const helpCache = new Map<string, { status: number | null; text: string }>();
function help(path: string[]): { status: number | null; text: string } {
  const key = path.join(' ');
  let h = helpCache.get(key);
  if (!h) {
    const r = spawnSync(process.execPath, [SMT_BIN, ...path, '--help'], { encoding: 'utf8', timeout: 60_000 });
    h = { status: r.status, text: r.stdout + r.stderr };
    helpCache.set(key, h);
  }
  return h;
}

test('every smt command and option the README names exists in that command\'s --help', () => {
  const invs = invocations(readme);
  assert.ok(invs.length > 20, `found ${invs.length} invocations`);
  const problems: string[] = [];
  for (const inv of invs) {
    const { paths, options } = parse(inv);
    for (const p of paths) {
      const h = help(p);
      if (h.status !== 0 || !h.text.includes(`Usage: smt ${p.join(' ')}`.trim())) {
        problems.push(`${inv}: "smt ${p.join(' ')}" is not a command`);
        continue;
      }
      for (const o of options) {
        if (!new RegExp(`(^|[\\s,])${o}([\\s,=<[]|$)`, 'm').test(h.text)) problems.push(`${inv}: "smt ${p.join(' ')}" has no option ${o}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

const tmp = mkdtempSync(join(tmpdir(), 'smt-docs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('every smt_* metric named in the README or docs/ is exported by a node', async () => {
  const named = new Set<string>();
  for (const t of [readme, ...docs]) for (const m of t.matchAll(/\b(smt_[a-z0-9_]*[a-z0-9])\b/g)) named.add(m[1]!);
  assert.ok(named.size > 10, `found ${named.size} metric names`);
  const netDir = join(tmp, 'net');
  initNetwork({ dir: netDir, depth: 1, accounts: 1, epochMs: 1000, networkId: 'docs-test', balance: 1000n, force: false });
  const node = await SmtNode.start({
    networkDir: netDir, shard: '0', dataDir: join(tmp, 'd'), apiPort: 0, logger: createLogger({ level: 'silent' }),
    gossip: { listen: '127.0.0.1:0', peers: [] }, proving: { prove: false },
  });
  try {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!));
    const missing = [...named].filter((n) => !exported.has(n) && !exported.has(n.replace(/_(bucket|sum|count)$/, '')));
    assert.deepEqual(missing, [], `named in the docs but not exported: ${missing.join(', ')}`);
  } finally {
    await node.close();
  }
});
