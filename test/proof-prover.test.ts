// The prover child's Groth16 (src/proof/groth16-prover.ts, src/proof/msm-tables.ts) against the
// compiled circuits and keys: what it proves verifies with the circuit's verification key, for the
// same public signals snarkjs's own prover gives, with and without the fixed-base tables; a zkey
// that is not one is refused; a table file that does not match its key exactly is never used.
// Skips, saying so, only when the circuits are not built.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as snarkjs from 'snarkjs';
import { WitnessCalculatorBuilder } from 'circom_runtime';
import { artifactsDir, circuitFiles, circuitsBuilt, type CircuitKind } from '../src/proof/artifacts.js';
import { getPoseidon } from '../src/proof/commitment.js';
import { attachTables, groth16Prove, parseZkey, ProvingKeyError, TABLE_WINDOWS, type WasmCurve } from '../src/proof/groth16-prover.js';
import { loadOrBuildTables, readTables, writeTables } from '../src/proof/msm-tables.js';
import { buildTree, genesisTree, triadInput, type CircuitInput } from '../src/proof/tree.js';
import { fixtureGenesisSupplies, fixtureSnapshots, FIXTURE_GENESIS_HASH } from './fixtures/proof-fixtures.js';

const built = circuitsBuilt();
const skip = built ? false : `circuits not built in ${artifactsDir()}: run npm run build:circuits`;
if (!built) process.stderr.write(`prover tests SKIPPED: ${skip}\n`);

describe('Groth16 on a parsed key, with and without fixed-base tables', { skip }, () => {
  let curve: WasmCurve & { terminate(): Promise<void> };
  const inputs = new Map<CircuitKind, CircuitInput>();
  const tmp = mkdtempSync(join(tmpdir(), 'smt-prover-'));

  before(async () => {
    if (!built) return;
    curve = (await snarkjs.curves.getCurveFromName('bn128', { singleThread: true })) as unknown as WasmCurve & { terminate(): Promise<void> };
    // snarkjs (the reference prover, verify) looks its curve up here: the same single-threaded one,
    // else it builds a worker-thread pool that keeps the test process alive
    (globalThis as { curve_bn128?: unknown }).curve_bn128 = curve;
    const H = await getPoseidon();
    const g = genesisTree(H, 2, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(2));
    const t0 = buildTree(H, fixtureSnapshots(2, 0, g.shards.map((s) => s.supply)), g);
    inputs.set('triad_leaf', triadInput(t0, g, '0').input);
    inputs.set('triad_inner', triadInput(t0, g, '').input);
  });
  after(async () => {
    await curve?.terminate();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function witness(kind: CircuitKind): Promise<Uint8Array> {
    const wc = await WitnessCalculatorBuilder(readFileSync(circuitFiles(kind).wasm), { memorySize: 512 });
    return wc.calculateWTNSBin(inputs.get(kind)!, true);
  }

  test('proofs verify with the verification key and carry snarkjs\'s public signals; a changed signal fails', async () => {
    for (const kind of ['triad_inner', 'triad_leaf'] as const) {
      const f = circuitFiles(kind);
      const vk = JSON.parse(readFileSync(f.vkey, 'utf8')) as snarkjs.VerificationKey;
      const zkey = new Uint8Array(readFileSync(f.zkey));
      const w = await witness(kind);
      const ref = await snarkjs.groth16.prove(zkey, w);
      const pk = parseZkey(curve, zkey);
      const plain = await groth16Prove(curve, pk, w);
      assert.deepEqual(plain.publicSignals, ref.publicSignals, kind);
      assert.equal(await snarkjs.groth16.verify(vk, plain.publicSignals, plain.proof), true, `${kind} without tables`);
      if (kind === 'triad_inner') {
        await attachTables(curve, pk);
        const fast = await groth16Prove(curve, pk, w);
        assert.deepEqual(fast.publicSignals, ref.publicSignals);
        assert.equal(await snarkjs.groth16.verify(vk, fast.publicSignals, fast.proof), true, `${kind} with tables`);
        const bad = [...fast.publicSignals];
        bad[2] = (BigInt(bad[2]!) + 1n).toString();
        assert.equal(await snarkjs.groth16.verify(vk, bad, fast.proof), false);
      }
    }
  });

  test('a file that is not a Groth16 zkey for this curve is refused with a clear error', () => {
    const zkey = new Uint8Array(readFileSync(circuitFiles('triad_inner').zkey));
    assert.throws(() => parseZkey(curve, zkey.subarray(0, 1000)), ProvingKeyError);
    const wrongMagic = zkey.slice();
    wrongMagic[0] = 0x78;
    assert.throws(() => parseZkey(curve, wrongMagic), /not a zkey file/);
    assert.throws(() => parseZkey(curve, new Uint8Array(8)), ProvingKeyError);
  });

  test('table files: read back exactly; a damaged, truncated or other key\'s file is not used but rebuilt', async () => {
    const zkey = new Uint8Array(readFileSync(circuitFiles('triad_inner').zkey));
    const pk = parseZkey(curve, zkey);
    const file = join(tmp, 'inner.bin');
    assert.equal(await loadOrBuildTables(curve, pk, file), true, 'no file: built');
    const t = pk.tables!;
    assert.equal(t.H.length, TABLE_WINDOWS * pk.H.length);
    const back = readTables(file, parseZkey(curve, zkey));
    assert.ok(back && Buffer.from(back.B2).equals(Buffer.from(t.B2)));
    const pk2 = parseZkey(curve, zkey);
    assert.equal(await loadOrBuildTables(curve, pk2, file), false, 'a good file: read, not built');
    const bytes = readFileSync(file);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 1; // one bit of the last table
    writeFileSync(file, bytes);
    assert.equal(readTables(file, pk2), undefined, 'damaged: checksum');
    writeFileSync(file, bytes.subarray(0, bytes.length - 64));
    assert.equal(readTables(file, pk2), undefined, 'truncated');
    const leafPk = parseZkey(curve, new Uint8Array(readFileSync(circuitFiles('triad_leaf').zkey)));
    writeTables(file, t);
    assert.equal(readTables(file, leafPk), undefined, 'another key\'s tables');
  });
});
