// The native Poseidon (native/poseidon) against circomlibjs: field for field on random and edge inputs
// of every arity 1..16, on the commitment test vectors the circuits are checked against, and on
// chained commitment trees with every triad proof's public signals and witness input. Whichever
// Poseidon a node loads, every hashed value must be the same: these tests fail on any difference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { FIELD_R, getPoseidon, poseidonName, referencePoseidon, wasmPoseidon, type Hasher } from '../src/proof/commitment.js';
import { nativePoseidon } from '../src/proof/poseidon-native.js';
import { buildTree, genesisTree, publicSignalsOf, triadInput, type CommitmentTree } from '../src/proof/tree.js';
import { fixtureGenesisSupplies, fixtureSnapshots, FIXTURE_GENESIS_HASH } from './fixtures/proof-fixtures.js';
import { generateVectors } from './fixtures/proof-vectors.js';

const loaded = await nativePoseidon();
const native = loaded.hash;
const nativeOnly = { skip: native ? false : `native Poseidon not built here (${loaded.why})` };

const randomField = (): bigint => BigInt('0x' + randomBytes(32).toString('hex')) % FIELD_R;

test('the native Poseidon is built and loaded wherever a C compiler exists (npm ci builds it), and the node uses it', async () => {
  if (process.env.SMT_POSEIDON_NATIVE === '0') return;
  assert.ok(native, `native Poseidon missing: ${loaded.why} (npm run build:native)`);
  await getPoseidon();
  assert.equal(poseidonName(), 'native poseidon');
});

test('native = circomlibjs (its own calls) = the wasm fallback, for every arity 1..16: 40 random inputs each, edge values, one input changed', nativeOnly, async () => {
  const ref = await referencePoseidon();
  const wasm = await wasmPoseidon();
  const edge = [0n, 1n, 2n, FIELD_R - 1n, FIELD_R - 2n, (1n << 64n) - 1n, (1n << 128n) - 1n, 1n << 128n, 1n << 192n, (1n << 253n) + 1n];
  for (let n = 1; n <= 16; n++) {
    const cases: bigint[][] = [];
    for (let k = 0; k < 40; k++) cases.push(Array.from({ length: n }, randomField));
    for (let k = 0; k < edge.length; k++) cases.push(Array.from({ length: n }, (_, i) => edge[(i + k) % edge.length]!));
    for (const a of cases) {
      const want = ref(a);
      assert.equal(native!(a), want, `arity ${n}: ${a.join(',')}`);
      assert.equal(wasm(a), want, `arity ${n} (wasm): ${a.join(',')}`);
      const b = [...a];
      b[n - 1] = (b[n - 1]! + 1n) % FIELD_R;
      assert.equal(native!(b), ref(b), `arity ${n}, last input + 1`);
    }
  }
});

test('the node\'s Poseidon takes inputs outside [0, r) mod r and refuses arities 0 and 17, as the wasm path does; the addon itself refuses what it cannot hash', nativeOnly, async () => {
  const H = await getPoseidon();
  const wasm = await wasmPoseidon();
  const odd = [FIELD_R, FIELD_R + 5n, -1n, -FIELD_R - 3n, (1n << 300n) + 7n];
  assert.equal(H(odd), wasm(odd));
  assert.equal(H(odd), H([0n, 5n, FIELD_R - 1n, FIELD_R - 3n, ((1n << 300n) + 7n) % FIELD_R]));
  assert.throws(() => H([]), RangeError);
  assert.throws(() => H(new Array<bigint>(17).fill(0n)), RangeError);
  assert.throws(() => native!([FIELD_R]), RangeError, 'the addon takes [0, r) only');
  assert.throws(() => native!([-1n]), RangeError);
  assert.throws(() => native!([1n << 256n]), RangeError);
  assert.throws(() => native!([1 as unknown as bigint]), TypeError);
});

test('test/vectors/poseidon-commitments.json (the circuits\' commitment vectors) comes out the same from the native Poseidon and the wasm one', nativeOnly, async () => {
  const file = JSON.parse(readFileSync(new URL('./vectors/poseidon-commitments.json', import.meta.url), 'utf8')) as unknown;
  assert.deepEqual(JSON.parse(JSON.stringify(generateVectors(native!))), file);
  assert.deepEqual(JSON.parse(JSON.stringify(generateVectors(await wasmPoseidon()))), file);
  assert.equal(native!([1n, 2n]), 7853200120776062878684798364095072458815029376092732009249414926327459813530n);
});

function chain(H: Hasher, depth: number, epochs: number): CommitmentTree[] {
  const trees = [genesisTree(H, depth, FIXTURE_GENESIS_HASH, fixtureGenesisSupplies(depth, 'native'))];
  for (let e = 0; e < epochs; e++) trees.push(buildTree(H, fixtureSnapshots(depth, e, trees.at(-1)!.shards.map((s) => s.supply), 'native'), trees.at(-1)!));
  return trees;
}

test('determinism: commitment trees chained from genesis over 4 epochs (depth 1 and 2) are identical with either Poseidon, every commitment, public signal and witness input', nativeOnly, async () => {
  const wasm = await wasmPoseidon();
  for (const depth of [1, 2]) {
    const a = chain(native!, depth, 4);
    const b = chain(wasm, depth, 4);
    for (let k = 0; k < a.length; k++) {
      assert.deepEqual(a[k]!.shards, b[k]!.shards, `depth ${depth}, tree ${k}: shards`);
      assert.deepEqual([...a[k]!.triads.entries()], [...b[k]!.triads.entries()], `depth ${depth}, tree ${k}: triads`);
      for (const [path, node] of a[k]!.triads) {
        assert.deepEqual(publicSignalsOf(node), publicSignalsOf(b[k]!.triads.get(path)!));
        if (k > 0) assert.deepEqual(triadInput(a[k]!, a[k - 1]!, path), triadInput(b[k]!, b[k - 1]!, path));
      }
    }
  }
});
