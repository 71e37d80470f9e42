// Groth16 proving on a proving key parsed once (the prover child's hot path). snarkjs's
// groth16.prove re-parses the zkey on every call (its header, curve points and every section copied
// out again) and builds the QAP evaluations of the witness in a JavaScript loop, one wasm call per
// coefficient (about a tenth of a leaf proof's CPU). Here the key's sections are parsed once, at
// warm-up, and the evaluations are built by the curve's own wasm routine (`qap_buildABC`, which
// snarkjs ships but no longer calls); the rest is the same computation on the same ffjavascript
// curve: the three FFT round trips, the five multi-exponentiations, the random r and s. The proof
// is a standard Groth16 proof for the same key: every verifier (ours, stock snarkjs) checks it the
// same way, and test/proof.test.ts verifies what this prover makes.

/** What this module uses of ffjavascript's wasm curve (snarkjs's `curves.getCurveFromName`). */
interface Field {
  n8: number;
  s: number;
  shift: Uint8Array;
  w: Uint8Array[];
  e(x: number | bigint): Uint8Array;
  mul(a: Uint8Array, b: Uint8Array): Uint8Array;
  neg(a: Uint8Array): Uint8Array;
  random(): Uint8Array;
  ifft(buff: Uint8Array, inType: string, outType: string): Promise<Uint8Array>;
  fft(buff: Uint8Array, inType: string, outType: string): Promise<Uint8Array>;
  batchApplyKey(buff: Uint8Array, first: Uint8Array, inc: Uint8Array): Promise<Uint8Array>;
}
interface Group {
  F: { n8: number };
  add(a: Uint8Array, b: Uint8Array): Uint8Array;
  timesFr(a: Uint8Array, s: Uint8Array): Uint8Array;
  toAffine(a: Uint8Array): Uint8Array;
  toObject(a: Uint8Array): bigint[] | bigint[][];
  multiExpAffine(bases: Uint8Array, scalars: Uint8Array): Promise<Uint8Array>;
}
type Task = ({ cmd: 'ALLOCSET'; var: number; buff: Uint8Array } | { cmd: 'ALLOC'; var: number; len: number } | { cmd: 'CALL'; fnName: string; params: ({ var: number; offset?: number } | { val: number })[] } | { cmd: 'GET'; out: number; var: number; len: number })[];
export interface WasmCurve {
  Fr: Field;
  G1: Group;
  G2: Group;
  q: bigint;
  r: bigint;
  tm: { queueAction(task: Task): Promise<Uint8Array[]> };
}

export class ProvingKeyError extends Error {
  override name = 'ProvingKeyError';
}

/** A Groth16 zkey's sections, parsed once. Points are in the curve's internal (LEM) form. */
export interface ProvingKey {
  nVars: number;
  nPublic: number;
  domainSize: number;
  /** Section 4 without its leading count: nCoefs x (u32 matrix, u32 constraint, u32 signal, 32-byte coefficient). */
  coefs: Uint8Array;
  nCoefs: number;
  A: Uint8Array;
  B1: Uint8Array;
  B2: Uint8Array;
  C: Uint8Array;
  H: Uint8Array;
  alpha1: Uint8Array;
  beta1: Uint8Array;
  beta2: Uint8Array;
  delta1: Uint8Array;
  delta2: Uint8Array;
  /** Fixed-base tables of the five bases (attachTables), when built: faster multi-exponentiations. */
  tables?: Record<MsmName, Uint8Array>;
}

export type MsmName = 'A' | 'B1' | 'B2' | 'C' | 'H';
export const MSM_NAMES: readonly MsmName[] = ['A', 'B1', 'B2', 'C', 'H'];
const GROUP_OF: Record<MsmName, 'G1' | 'G2'> = { A: 'G1', B1: 'G1', B2: 'G2', C: 'G1', H: 'G1' };
const AFFINE = { G1: 64, G2: 128 };
const JACOBIAN = { G1: 96, G2: 192 };
/**
 * Window of the fixed-base tables (bits). A multi-exponentiation over n fixed bases with windows of
 * c bits costs, Pippenger-style as ffjavascript does it, ceil(254/c) x (n additions + a bucket
 * reduction of ~2^(c+1) additions) plus the doublings between windows. With every base's multiples
 * 2^(c*j) * P precomputed (one table per base set, ceil(254/c) x the key's size), all windows fall
 * into ONE bucket pass: n x ceil(254/c) additions plus one reduction, no doublings. 13 bits: 20
 * windows (the tables are 20x the bases: ~45 MB for the leaf key, ~20 MB for the inner one).
 */
export const TABLE_BITS = 13;
export const TABLE_WINDOWS = Math.ceil(254 / TABLE_BITS);

function leBigInt(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!);
  return x;
}

/** The sections of a snarkjs binary file ("zkey", "wtns"): type -> bytes (a view, not a copy). */
function sectionsOf(bytes: Uint8Array, magic: string): Map<number, Uint8Array> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 4)) !== magic) throw new ProvingKeyError(`not a ${magic} file`);
  const n = dv.getUint32(8, true);
  const out = new Map<number, Uint8Array>();
  let p = 12;
  for (let i = 0; i < n; i++) {
    if (p + 12 > bytes.length) throw new ProvingKeyError(`${magic}: truncated section table`);
    const type = dv.getUint32(p, true);
    const size = dv.getUint32(p + 4, true) + dv.getUint32(p + 8, true) * 2 ** 32;
    p += 12;
    if (p + size > bytes.length) throw new ProvingKeyError(`${magic}: section ${type} runs past the end`);
    if (out.has(type)) throw new ProvingKeyError(`${magic}: section ${type} twice`);
    out.set(type, bytes.subarray(p, p + size));
    p += size;
  }
  return out;
}

function section(s: Map<number, Uint8Array>, type: number, size?: number): Uint8Array {
  const b = s.get(type);
  if (!b) throw new ProvingKeyError(`zkey: section ${type} missing`);
  if (size !== undefined && b.length !== size) throw new ProvingKeyError(`zkey: section ${type} is ${b.length} bytes, want ${size}`);
  return b;
}

/** Parses a Groth16 zkey (snarkjs format) for `curve` (bn128); throws ProvingKeyError on anything else. */
export function parseZkey(curve: WasmCurve, bytes: Uint8Array): ProvingKey {
  const s = sectionsOf(bytes, 'zkey');
  const h1 = section(s, 1, 4);
  if (new DataView(h1.buffer, h1.byteOffset).getUint32(0, true) !== 1) throw new ProvingKeyError('zkey is not groth16');
  const h = section(s, 2);
  const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
  const n8q = dv.getUint32(0, true);
  if (n8q !== 32 || leBigInt(h.subarray(4, 36)) !== curve.q) throw new ProvingKeyError('zkey is for another curve');
  const n8r = dv.getUint32(36, true);
  if (n8r !== 32 || leBigInt(h.subarray(40, 72)) !== curve.r) throw new ProvingKeyError('zkey is for another curve');
  const nVars = dv.getUint32(72, true);
  const nPublic = dv.getUint32(76, true);
  const domainSize = dv.getUint32(80, true);
  if (domainSize === 0 || (domainSize & (domainSize - 1)) !== 0 || nPublic >= nVars) throw new ProvingKeyError('zkey header is inconsistent');
  const g1 = 64;
  const g2 = 128;
  let p = 84;
  const take = (n: number): Uint8Array => h.slice(p, (p += n));
  const alpha1 = take(g1), beta1 = take(g1), beta2 = take(g2);
  take(g2); // gamma2: verification only
  const delta1 = take(g1), delta2 = take(g2);
  if (p !== h.length) throw new ProvingKeyError('zkey header has the wrong size');
  const c4 = section(s, 4);
  const nCoefs = new DataView(c4.buffer, c4.byteOffset).getUint32(0, true);
  if (c4.length !== 4 + nCoefs * (12 + n8r)) throw new ProvingKeyError('zkey coefficient section has the wrong size');
  return {
    nVars, nPublic, domainSize, nCoefs,
    coefs: c4.slice(4),
    A: section(s, 5, nVars * g1).slice(), B1: section(s, 6, nVars * g1).slice(), B2: section(s, 7, nVars * g2).slice(),
    C: section(s, 8, (nVars - nPublic - 1) * g1).slice(), H: section(s, 9, domainSize * g1).slice(),
    alpha1, beta1, beta2, delta1, delta2,
  };
}

/**
 * The fixed-base table of `bases` (affine, the key's form): for window j = 0..TABLE_WINDOWS-1, every
 * base times 2^(TABLE_BITS * j), affine, window after window. Each window is the previous one times
 * 2^TABLE_BITS (curve wasm, one batch inversion per window).
 */
export async function fixedBaseTable(curve: WasmCurve, group: 'G1' | 'G2', bases: Uint8Array): Promise<Uint8Array> {
  const sA = AFFINE[group];
  const sJ = JACOBIAN[group];
  const n = bases.length / sA;
  const pre = group === 'G1' ? 'g1m' : 'g2m';
  const out = new Uint8Array(TABLE_WINDOWS * bases.length);
  out.set(bases, 0);
  const factor = new Uint8Array(4);
  new DataView(factor.buffer).setUint32(0, 2 ** TABLE_BITS, true);
  let prev = bases;
  for (let j = 1; j < TABLE_WINDOWS; j++) {
    const task: Task = [
      { cmd: 'ALLOCSET', var: 0, buff: prev },
      { cmd: 'ALLOCSET', var: 1, buff: factor },
      { cmd: 'ALLOC', var: 2, len: n * sJ },
      { cmd: 'ALLOC', var: 3, len: n * sA },
      // room for batchToAffine's and batchInverse's scratch (they allocate past the free pointer,
      // which the thread grows memory for only on ALLOC): 2 (n + 1) field elements, with margin
      { cmd: 'ALLOC', var: 4, len: (n + 2) * 4 * (sA / 2) },
    ];
    for (let i = 0; i < n; i++) task.push({ cmd: 'CALL', fnName: `${pre}_timesScalarAffine`, params: [{ var: 0, offset: i * sA }, { var: 1 }, { val: 3 }, { var: 2, offset: i * sJ }] });
    task.push({ cmd: 'CALL', fnName: `${pre}_batchToAffine`, params: [{ var: 2 }, { val: n }, { var: 3 }] });
    task.push({ cmd: 'GET', out: 0, var: 3, len: n * sA });
    const [next] = await curve.tm.queueAction(task);
    out.set(next!, j * bases.length);
    prev = next!;
  }
  return out;
}

/** Builds the five tables of `pk` (or takes them from `cached`, when it has the right sizes). */
export async function attachTables(curve: WasmCurve, pk: ProvingKey, cached?: Record<MsmName, Uint8Array>): Promise<Record<MsmName, Uint8Array>> {
  const t = {} as Record<MsmName, Uint8Array>;
  for (const m of MSM_NAMES) {
    const c = cached?.[m];
    t[m] = c && c.length === TABLE_WINDOWS * pk[m].length ? c : await fixedBaseTable(curve, GROUP_OF[m], pk[m]);
  }
  pk.tables = t;
  return t;
}

/** Multi-exponentiation of the table's bases by `scalars` (32-byte little-endian, below 2^254): one bucket pass. */
async function tableMultiExp(curve: WasmCurve, group: 'G1' | 'G2', table: Uint8Array, n: number, scalars: Uint8Array): Promise<Uint8Array> {
  const c = TABLE_BITS;
  const mask = (1 << c) - 1;
  // digit of scalar i in window j at j*n + i, u16 each (+2 slots: the wasm reads 4 bytes at a time)
  const digits = new Uint16Array(TABLE_WINDOWS * n + 2);
  for (let i = 0; i < n; i++) {
    const o = i * 32;
    for (let j = 0; j < TABLE_WINDOWS; j++) {
      const bit = j * c;
      const at = o + (bit >> 3);
      const end = o + 32;
      const v = scalars[at]! | (at + 1 < end ? scalars[at + 1]! << 8 : 0) | (at + 2 < end ? scalars[at + 2]! << 16 : 0);
      digits[j * n + i] = (v >>> (bit & 7)) & mask;
    }
  }
  const pre = group === 'G1' ? 'g1m' : 'g2m';
  const sJ = JACOBIAN[group];
  const [r] = await curve.tm.queueAction([
    { cmd: 'ALLOCSET', var: 0, buff: table.subarray(0, TABLE_WINDOWS * n * AFFINE[group]) },
    { cmd: 'ALLOCSET', var: 1, buff: new Uint8Array(digits.buffer) },
    { cmd: 'ALLOC', var: 2, len: sJ },
    { cmd: 'ALLOC', var: 3, len: (1 << c) * sJ }, // room for the buckets (the wasm allocates them past the free pointer)
    { cmd: 'CALL', fnName: `${pre}_multiexpAffine_chunk`, params: [{ var: 0 }, { var: 1 }, { val: 2 }, { val: TABLE_WINDOWS * n }, { val: 0 }, { val: c }, { var: 2 }] },
    { cmd: 'GET', out: 0, var: 2, len: sJ },
  ]);
  return r!;
}

/** The witness values of a .wtns image (calculateWTNSBin's output), checked against the key. */
function witnessOf(pk: ProvingKey, curve: WasmCurve, wtns: Uint8Array): Uint8Array {
  const s = sectionsOf(wtns, 'wtns');
  const h = s.get(1);
  const w = s.get(2);
  if (!h || !w || h.length < 40) throw new ProvingKeyError('wtns: sections missing');
  const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
  if (dv.getUint32(0, true) !== 32 || leBigInt(h.subarray(4, 36)) !== curve.r) throw new ProvingKeyError('witness is for another field');
  const n = dv.getUint32(36, true);
  if (n !== pk.nVars || w.length !== n * 32) throw new ProvingKeyError(`witness has ${n} values, the circuit ${pk.nVars}`);
  return w;
}

const str = (o: bigint[] | bigint[][]): string[] | string[][] => o.map((x) => (Array.isArray(x) ? x.map(String) : String(x))) as string[] | string[][];

/** A Groth16 proof of the witness image `wtns` for key `pk`, in snarkjs's JSON shape, and its public signals. */
export async function groth16Prove(curve: WasmCurve, pk: ProvingKey, wtns: Uint8Array): Promise<{ proof: { pi_a: string[]; pi_b: string[][]; pi_c: string[]; protocol: string; curve: string }; publicSignals: string[] }> {
  const { Fr, G1, G2 } = curve;
  const w = witnessOf(pk, curve, wtns);
  const n = pk.domainSize;
  const n8 = Fr.n8;
  // QAP evaluations A, B (witness folded with the constraint coefficients) and C = A * B, in wasm
  const [a, b, c] = await curve.tm.queueAction([
    { cmd: 'ALLOCSET', var: 0, buff: pk.coefs },
    { cmd: 'ALLOCSET', var: 1, buff: w },
    { cmd: 'ALLOC', var: 2, len: n * n8 },
    { cmd: 'ALLOC', var: 3, len: n * n8 },
    { cmd: 'ALLOC', var: 4, len: n * n8 },
    { cmd: 'CALL', fnName: 'qap_buildABC', params: [{ var: 0 }, { val: pk.nCoefs }, { var: 1 }, { var: 2 }, { var: 3 }, { var: 4 }, { val: 0 }, { val: n }, { val: 0 }, { val: pk.nVars }] },
    { cmd: 'GET', out: 0, var: 2, len: n * n8 },
    { cmd: 'GET', out: 1, var: 3, len: n * n8 },
    { cmd: 'GET', out: 2, var: 4, len: n * n8 },
  ]);
  // evaluations on the odd coset (snarkjs's groth16_prove: ifft, shift, fft)
  const power = Math.log2(n);
  const inc = power === Fr.s ? Fr.shift : Fr.w[power + 1]!;
  const odd = async (x: Uint8Array): Promise<Uint8Array> => Fr.fft(await Fr.batchApplyKey(await Fr.ifft(x, '', ''), Fr.e(1), inc), '', '');
  const [aOdd, bOdd, cOdd] = [await odd(a!), await odd(b!), await odd(c!)];
  const [hScalars] = await curve.tm.queueAction([
    { cmd: 'ALLOCSET', var: 0, buff: aOdd },
    { cmd: 'ALLOCSET', var: 1, buff: bOdd },
    { cmd: 'ALLOCSET', var: 2, buff: cOdd },
    { cmd: 'ALLOC', var: 3, len: n * n8 },
    { cmd: 'CALL', fnName: 'qap_joinABC', params: [{ var: 0 }, { var: 1 }, { var: 2 }, { val: n }, { var: 3 }] },
    { cmd: 'CALL', fnName: 'frm_batchFromMontgomery', params: [{ var: 3 }, { val: n }, { var: 3 }] },
    { cmd: 'GET', out: 0, var: 3, len: n * n8 },
  ]);
  const t = pk.tables;
  const msm = (m: MsmName, scalars: Uint8Array): Promise<Uint8Array> => {
    const g = GROUP_OF[m];
    if (t) return tableMultiExp(curve, g, t[m], pk[m].length / AFFINE[g], scalars);
    return (g === 'G1' ? G1 : G2).multiExpAffine(pk[m], scalars);
  };
  let piA = await msm('A', w);
  let pib1 = await msm('B1', w);
  let piB = await msm('B2', w);
  let piC = await msm('C', w.subarray((pk.nPublic + 1) * n8));
  const resH = await msm('H', hScalars!);
  const r = Fr.random();
  const s = Fr.random();
  piA = G1.add(G1.add(piA, pk.alpha1), G1.timesFr(pk.delta1, r));
  piB = G2.add(G2.add(piB, pk.beta2), G2.timesFr(pk.delta2, s));
  pib1 = G1.add(G1.add(pib1, pk.beta1), G1.timesFr(pk.delta1, s));
  piC = G1.add(piC, resH);
  piC = G1.add(piC, G1.timesFr(piA, s));
  piC = G1.add(piC, G1.timesFr(pib1, r));
  piC = G1.add(piC, G1.timesFr(pk.delta1, Fr.neg(Fr.mul(r, s))));
  const publicSignals: string[] = [];
  for (let i = 1; i <= pk.nPublic; i++) publicSignals.push(leBigInt(w.subarray(i * n8, (i + 1) * n8)).toString());
  return {
    proof: {
      pi_a: str(G1.toObject(G1.toAffine(piA))) as string[],
      pi_b: str(G2.toObject(G2.toAffine(piB))) as string[][],
      pi_c: str(G1.toObject(G1.toAffine(piC))) as string[],
      protocol: 'groth16',
      curve: 'bn128',
    },
    publicSignals,
  };
}
