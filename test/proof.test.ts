// End-to-end proof tests against the compiled circuits and keys (npm run build:circuits). They
// skip, saying so, only when the circuits are not built; CI builds them before npm test.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as snarkjs from 'snarkjs';
import type { Groth16Proof } from 'snarkjs';
import { DecodeError } from '../src/core/bytes.js';
import { artifactsDir, circuitFiles, circuitsBuilt, REPO_ROOT, type CircuitKind } from '../src/proof/artifacts.js';
import { getPoseidon, shardBodyFields, type Hasher } from '../src/proof/commitment.js';
import { decodeProof, encodeProof } from '../src/proof/encoding.js';
import { fixtureGenesisSupplies, fixtureSnapshots, FIXTURE_GENESIS_HASH } from './fixtures/proof-fixtures.js';
import {
  encodeGlobalProof, exportSnarkjsFiles, globalFromApex, globalProofHash, verifyGlobalProof, GLOBAL_PROOF_BYTES, type GlobalStateProof,
} from '../src/proof/global.js';
import { Prover } from '../src/proof/prover.js';
import { buildTree, buildTreeFromFields, genesisTree, triadInput, type CommitmentTree } from '../src/proof/tree.js';
import { proveTree, verifyProofTree, type ProofTree } from '../src/proof/tree-prover.js';
import { closeVerifier, loadVerificationKey, verify, verifyWithSnarkjs } from '../src/proof/verifier.js';
import type { CommitmentVectors } from './fixtures/proof-vectors.js';

const built = circuitsBuilt();
const skip = built ? false : `circuits not built in ${artifactsDir()}: run npm run build:circuits`;
if (!built) process.stderr.write(`proof tests SKIPPED: ${skip}\n`);

/** Whether the compiled circuit's witness generator accepts `input` (every constraint holds). */
async function witnessOk(kind: CircuitKind, input: Record<string, unknown>): Promise<boolean> {
  // The generated witness code prints each failed assertion; expected here, so keep it quiet.
  const { log, error } = console;
  console.log = console.error = () => {};
  try {
    await snarkjs.wtns.calculate(input, circuitFiles(kind).wasm, { type: 'mem' });
    return true;
  } catch {
    return false;
  } finally {
    console.log = log;
    console.error = error;
  }
}

function epochTrees(H: Hasher, depth: number, epochs: number): CommitmentTree[] {
  const trees = [genesisTree(H, depth, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(depth))];
  for (let e = 0; e < epochs; e++) {
    const prev = trees[trees.length - 1]!;
    trees.push(buildTree(H, fixtureSnapshots(depth, e, prev.shards.map((s) => s.supply)), prev));
  }
  return trees;
}

describe('circuits agree with the native commitments', { skip }, () => {
  const vectors = JSON.parse(readFileSync(new URL('./vectors/poseidon-commitments.json', import.meta.url), 'utf8')) as CommitmentVectors;

  test('the compiled circuits accept every vector input (their commitments equal the native ones)', async () => {
    for (const v of vectors.circuits) assert.ok(await witnessOk(v.kind, v.input), `${v.kind} ${JSON.stringify(v.path)}`);
  });

  test('the circuits reject a vector whose commitment, previous commitment or sum is off by one', async () => {
    for (const v of vectors.circuits) {
      for (const k of ['commitment', 'prevCommitment', 'supply', 'fees', 'epoch', 'pathEnc']) {
        const input = { ...v.input, [k]: (BigInt(v.input[k] as string) + 1n).toString() };
        assert.equal(await witnessOk(v.kind, input), false, `${v.kind} accepted a changed ${k}`);
      }
    }
  });

  test('the leaf circuit refuses broken supply arithmetic and values of 64 bits or more, even with honest commitments', async () => {
    const H = await getPoseidon();
    const g = genesisTree(H, 1, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(1));
    const snaps = fixtureSnapshots(1, 0, g.shards.map((s) => s.supply));
    const fields = snaps.map((s) => ({ body: shardBodyFields(s), supply: s.supply }));
    const broken = buildTreeFromFields(H, fields.map((f, i) => (i === 2 ? { ...f, supply: f.supply + 1n } : f)), g);
    assert.equal(await witnessOk('triad_leaf', triadInput(broken, g, '').input), false);
    // consistent arithmetic, but inflow and supply raised by 2^64: only the range checks stop it
    const big = buildTreeFromFields(H, fields.map((f, i) => (i === 0 ? { body: { ...f.body, inflow: f.body.inflow + (1n << 64n) }, supply: f.supply + (1n << 64n) } : f)), g);
    assert.equal(await witnessOk('triad_leaf', triadInput(big, g, '').input), false);
    const honest = buildTree(H, snaps, g);
    assert.equal(await witnessOk('triad_leaf', triadInput(honest, g, '').input), true);
  });
});

describe('Groth16 proof tree and global state proof', { skip }, () => {
  let H: Hasher;
  let prover: Prover;
  const trees = new Map<number, CommitmentTree[]>();
  const proofTrees = new Map<number, ProofTree>();
  const globals = new Map<number, GlobalStateProof>();
  const times: number[] = [];

  before(async () => {
    if (!built) return;
    H = await getPoseidon();
    prover = new Prover();
    for (const d of [1, 2, 3]) trees.set(d, epochTrees(H, d, d === 1 ? 2 : 1));
  });
  after(async () => {
    await prover?.close();
    await closeVerifier();
  });

  test('depth 1, 2 and 3 trees prove bottom-up, every proof and link verifies, and the global proof has one size', async () => {
    for (const d of [1, 2, 3]) {
      const [g, t0] = trees.get(d)!;
      const pt = await proveTree(prover, verify, t0!, g!, { onProof: (_p, ms) => times.push(ms) });
      assert.equal(pt.proofs.size, (3 ** d - 1) / 2);
      assert.deepEqual(await verifyProofTree(H, verify, pt), []);
      proofTrees.set(d, pt);
      const gp = globalFromApex(pt.proofs.get('')!, d, FIXTURE_GENESIS_HASH);
      assert.equal(await verifyGlobalProof(gp), true);
      assert.equal(BigInt(gp.publicSignals[2]!), t0!.triads.get('')!.commitment);
      assert.equal(BigInt(gp.publicSignals[3]!), g!.triads.get('')!.commitment);
      globals.set(d, gp);
    }
    const sizes = [1, 2, 3].map((d) => encodeGlobalProof(globals.get(d)!).length);
    assert.deepEqual(sizes, [GLOBAL_PROOF_BYTES, GLOBAL_PROOF_BYTES, GLOBAL_PROOF_BYTES]);
    process.stderr.write(`proved ${times.length} triads, ms each: ${times.map((t) => t.toFixed(0)).join(' ')}\n`);
  });

  test('changing any public signal makes the apex proof fail, and snarkjs\'s own verifier agrees on every case', async () => {
    const gp = globals.get(2)!;
    const vk = loadVerificationKey('triad_inner');
    assert.equal(await verifyWithSnarkjs(vk, gp.publicSignals, gp.proof), true);
    for (let i = 0; i < 8; i++) {
      const s = [...gp.publicSignals];
      s[i] = (BigInt(s[i]!) + 1n).toString();
      assert.equal(await verify('triad_inner', s, gp.proof), false, `signal ${i}`);
      assert.equal(await verifyWithSnarkjs(vk, s, gp.proof), false, `snarkjs, signal ${i}`);
    }
    // another valid proof (of a different statement) under the same key is no proof of this one
    const other = proofTrees.get(3)!.proofs.get('')!;
    assert.equal(await verify('triad_inner', gp.publicSignals, other.proof), false);
    assert.equal(await verifyWithSnarkjs(vk, gp.publicSignals, other.proof), false);
  });

  test('a changed epoch fails: as a signal, and as a chain link to the previous global proof', async () => {
    const [, t0, t1] = trees.get(1)!;
    const e0 = globals.get(1)!;
    const pt1 = await proveTree(prover, verify, t1!, t0!);
    const e1 = globalFromApex(pt1.proofs.get('')!, 1, globalProofHash(e0));
    assert.equal(await verifyGlobalProof(e1, { prev: e0 }), true);
    assert.equal(await verifyGlobalProof({ ...e1, publicSignals: e1.publicSignals.map((s, i) => (i === 1 ? '0' : s)) }), false);
    assert.equal(await verifyGlobalProof(e0, { prev: e1 }), false);
    assert.equal(await verifyGlobalProof({ ...e1, prevGlobalProofHash: new Uint8Array(32) }, { prev: e0 }), false);
  });

  test('flipping a byte of the compressed proof gives DecodeError or a failing proof', async () => {
    const gp = globals.get(2)!;
    const enc = encodeProof(gp.proof);
    assert.deepEqual(decodeProof(enc), gp.proof);
    for (const bit of [5, 100, 300, 500, 700, 1000]) {
      const m = enc.slice();
      m[bit >> 3]! ^= 1 << (bit & 7);
      let p: Groth16Proof;
      try {
        p = decodeProof(m);
      } catch (e) {
        assert.ok(e instanceof DecodeError);
        continue;
      }
      assert.equal(await verify('triad_inner', gp.publicSignals, p), false, `bit ${bit}`);
    }
  });

  test('a changed verification key fails: the other circuit\'s key, or swapped delta and gamma', async () => {
    const gp = globals.get(2)!;
    const vk = loadVerificationKey('triad_inner');
    assert.equal(await verifyGlobalProof(gp, { vk: loadVerificationKey('triad_leaf') }), false);
    assert.equal(await verifyGlobalProof(gp, { vk: { ...vk, vk_delta_2: vk.vk_gamma_2, vk_gamma_2: vk.vk_delta_2 } }), false);
    assert.equal(await verifyGlobalProof(gp, { vk }), true);
  });

  test('the tree audit catches a parent whose listed children or sums were altered', async () => {
    const pt = proofTrees.get(2)!;
    const apex = pt.proofs.get('')!;
    const forged = new Map(pt.proofs);
    forged.set('', { ...apex, children: [apex.children[1], apex.children[0], apex.children[2]] });
    assert.notDeepEqual(await verifyProofTree(H, verify, { ...pt, proofs: forged }), []);
    const swapped = new Map(pt.proofs);
    swapped.set('0', pt.proofs.get('1')!);
    assert.notDeepEqual(await verifyProofTree(H, verify, { ...pt, proofs: swapped }), []);
  });

  test('stock `snarkjs groth16 verify` accepts the exported files and rejects an edited public.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smt-proof-'));
    try {
      const f = exportSnarkjsFiles(globals.get(3)!, dir);
      const cli = join(REPO_ROOT, 'node_modules/snarkjs/build/cli.cjs');
      const ok = spawnSync(process.execPath, [cli, 'groth16', 'verify', f.vkey, f.pub, f.proof], { encoding: 'utf8' });
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /OK/);
      const pub = JSON.parse(readFileSync(f.pub, 'utf8')) as string[];
      pub[4] = (BigInt(pub[4]!) + 1n).toString();
      writeFileSync(f.pub, JSON.stringify(pub));
      const bad = spawnSync(process.execPath, [cli, 'groth16', 'verify', f.vkey, f.pub, f.proof], { encoding: 'utf8' });
      assert.notEqual(bad.status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a warm prover child (keys in memory, compiled witness, curve built at spawn) proves valid proofs with a single-threaded curve and with the thread pool, reporting its time split', async () => {
    const [g, t0] = trees.get(2)!;
    for (const threads of ['single', 'pool'] as const) {
      const p = new Prover({ threads });
      try {
        assert.equal(p.threads, threads);
        assert.ok((await p.warmed) > 0);
        for (const path of ['1', '']) {
          const { kind, input } = triadInput(t0!, g!, path);
          const r = await p.prove(kind, input);
          assert.equal(await verify(kind, r.publicSignals, r.proof), true, `${threads} ${kind}`);
          assert.ok(r.witnessMs! >= 0 && r.proveMs! > 0 && r.cpuMs! > 0 && r.ms >= r.proveMs!, JSON.stringify(r));
        }
        // a bad input is refused with an error, and the child keeps serving
        const { kind, input } = triadInput(t0!, g!, '1');
        await assert.rejects(p.prove(kind, { ...input, epoch: '1' }), /proof failed/);
        assert.equal((await p.prove(kind, input)).publicSignals.length, 8);
      } finally {
        await p.close();
      }
    }
  });
});
