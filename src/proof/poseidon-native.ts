// The native Poseidon (native/poseidon, built by `npm ci` when a C compiler is present): the same
// function as circomlibjs's wasm one, field for field (test/poseidon-native.test.ts), at about a
// quarter of its CPU per hash. Every node hashes each epoch's commitment tree (22 hashes of arity 4 to
// 15 at 9 shards), so the wasm permutation was a sixth of an idle node's CPU. The round constants
// are circomlibjs's own, handed to the addon per width on first use. SMT_POSEIDON_NATIVE=0 keeps
// the wasm one.
import type { Hasher } from './commitment.js';

interface NativePoseidon {
  /** Constants of width t (arity t - 1): 32-byte little-endian values, M and P row by row. */
  setWidth(t: number, C: Uint8Array, S: Uint8Array, M: Uint8Array, P: Uint8Array): void;
  /** Poseidon(inputs), initial state 0, one output; every input a bigint in [0, r). */
  hash(inputs: bigint[]): bigint;
}

/** poseidon_constants_opt.js: per width t = 2..17 (index t - 2), hex strings. */
interface OptConstants {
  C: string[][];
  S: string[][];
  M: string[][][];
  P: string[][][];
}

/** The native hasher (arity 1..16, inputs in [0, r)), or why it is not used. */
export async function nativePoseidon(): Promise<{ hash: Hasher | undefined; why: string }> {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  if (!proc?.getBuiltinModule) return { hash: undefined, why: 'not Node' };
  if (proc.env.SMT_POSEIDON_NATIVE === '0') return { hash: undefined, why: 'SMT_POSEIDON_NATIVE=0' };
  let lib: NativePoseidon;
  let consts: OptConstants;
  try {
    const { createRequire } = proc.getBuiltinModule('node:module');
    lib = createRequire(import.meta.url)('../../native/poseidon/build/poseidon.node') as NativePoseidon;
    if (typeof lib.setWidth !== 'function' || typeof lib.hash !== 'function') throw new Error('an older build without setWidth/hash (npm run build:native)');
    // the constants the wasm Poseidon itself uses (circomlibjs's package exports hide the file: found next to its entry)
    const entry = import.meta.resolve('circomlibjs');
    consts = ((await import(new URL('src/poseidon_constants_opt.js', entry).href)) as { default: OptConstants }).default;
  } catch (e) {
    return { hash: undefined, why: `native addon not loaded: ${(e as Error).message.split('\n')[0]}` };
  }
  const ready = new Set<number>();
  const hash: Hasher = (inputs) => {
    const t = inputs.length + 1;
    if (!ready.has(t) && t >= 2 && t <= 17) {
      const k = t - 2;
      lib.setWidth(t, packLE(consts.C[k]!), packLE(consts.S[k]!), packLE(consts.M[k]!.flat()), packLE(consts.P[k]!.flat()));
      ready.add(t);
    }
    return lib.hash(inputs);
  };
  return { hash, why: 'native poseidon' };
}

/** Hex strings -> their values as 32-byte little-endian words, back to back. */
function packLE(hex: readonly string[]): Uint8Array {
  const out = new Uint8Array(32 * hex.length);
  hex.forEach((h, i) => {
    let v = BigInt(h);
    for (let b = 0; b < 32; b++, v >>= 8n) out[32 * i + b] = Number(v & 0xffn);
    if (v !== 0n) throw new RangeError(`poseidon constant ${h} wider than 256 bits`);
  });
  return out;
}
