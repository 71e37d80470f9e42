// Minimal ambient types for the untyped zk libraries, covering only what src/proof and the
// scripts call. Kept narrow on purpose: every use goes through these signatures.

declare module 'snarkjs' {
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export interface VerificationKey {
    protocol: string;
    curve: string;
    nPublic: number;
    [k: string]: unknown;
  }
  export interface Logger {
    debug(msg: string): void;
    info(msg: string): void;
    warn(msg: string): void;
    error(msg: string): void;
  }
  export const groth16: {
    fullProve(input: Record<string, unknown>, wasmFile: string, zkeyFile: string, logger?: Logger): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    /** zkey and witness as file names or in-memory bytes (fastfile accepts a Uint8Array). */
    prove(zkey: string | Uint8Array, witness: string | Uint8Array, logger?: Logger): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vk: VerificationKey, publicSignals: string[], proof: Groth16Proof, logger?: Logger): Promise<boolean>;
  };
  export const powersOfTau: {
    newAccumulator(curve: unknown, power: number, fileName: string, logger?: Logger): Promise<unknown>;
    beacon(oldPtau: string, newPtau: string, name: string, beaconHashHex: string, numIterationsExp: number, logger?: Logger): Promise<unknown>;
    contribute(oldPtau: string, newPtau: string, name: string, entropy: string, logger?: Logger): Promise<unknown>;
    preparePhase2(oldPtau: string, newPtau: string, logger?: Logger): Promise<unknown>;
  };
  export const zKey: {
    newZKey(r1cs: string, ptau: string, zkey: string, logger?: Logger): Promise<unknown>;
    beacon(oldZkey: string, newZkey: string, name: string, beaconHashHex: string, numIterationsExp: number, logger?: Logger): Promise<unknown>;
    contribute(oldZkey: string, newZkey: string, name: string, entropy: string, logger?: Logger): Promise<unknown>;
    exportVerificationKey(zkey: string, logger?: Logger): Promise<VerificationKey>;
  };
  export const r1cs: {
    info(r1csFile: string, logger?: Logger): Promise<{ nConstraints: number; nVars: number; nPubInputs: number; nPrvInputs: number; nOutputs: number }>;
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasmFile: string, wtnsFile: { type: 'mem'; data?: Uint8Array }): Promise<void>;
  };
  /** ffjavascript's WASM curve; points are Uint8Array buffers in its internal (Montgomery) form. */
  export interface CurveGroup {
    fromObject(o: bigint[] | bigint[][]): Uint8Array;
    toJacobian(p: Uint8Array): Uint8Array;
    add(a: Uint8Array, b: Uint8Array): Uint8Array;
    neg(a: Uint8Array): Uint8Array;
    timesScalar(a: Uint8Array, s: bigint | Uint8Array): Uint8Array;
    isValid(a: Uint8Array): boolean;
    isZero(a: Uint8Array): boolean;
    eq(a: Uint8Array, b: Uint8Array): boolean;
    /** The coordinate field (Fp for G1, Fp2 for G2; Fp2's base field is `F.F`). */
    F: WasmField & { F: WasmField };
  }
  /** One of ffjavascript's wasm fields; elements in Montgomery form. */
  export interface WasmField {
    n8: number;
    mul(a: Uint8Array, b: Uint8Array): Uint8Array;
    neg(a: Uint8Array): Uint8Array;
    fromObject(o: bigint | bigint[]): Uint8Array;
  }
  /** The curve's wasm instance and its memory (bump allocator: alloc never frees). */
  export interface ThreadManager {
    alloc(length: number): number;
    setBuff(pointer: number, buff: Uint8Array): void;
    getBuff(pointer: number, length: number): Uint8Array;
    instance: { exports: Record<string, (...args: number[]) => number> };
  }
  export interface Bn128Curve {
    G1: CurveGroup;
    G2: CurveGroup;
    Gt: { one: Uint8Array; mul(a: Uint8Array, b: Uint8Array): Uint8Array; eq(a: Uint8Array, b: Uint8Array): boolean };
    prepareG1(p: Uint8Array): Uint8Array;
    prepareG2(q: Uint8Array): Uint8Array;
    millerLoop(preP: Uint8Array, preQ: Uint8Array): Uint8Array;
    finalExponentiation(a: Uint8Array): Uint8Array;
    terminate(): Promise<void>;
    tm: ThreadManager;
  }
  export const curves: {
    getCurveFromName(name: string, options?: { singleThread?: boolean }): Promise<Bn128Curve>;
  };
}

declare module 'circomlibjs' {
  export interface PoseidonFn {
    (inputs: (bigint | number | string)[]): Uint8Array;
    F: { toObject(a: Uint8Array): bigint; p: bigint };
  }
  export function buildPoseidon(): Promise<PoseidonFn>;
}

// circom's witness runtime (a dependency of snarkjs, which uses it in wtns.calculate).
declare module 'circom_runtime' {
  export interface WitnessCalculator {
    /** The witness as a .wtns file image; reusable, one calculation at a time. */
    calculateWTNSBin(input: Record<string, unknown>, sanityCheck?: boolean): Promise<Uint8Array>;
  }
  export function WitnessCalculatorBuilder(code: Uint8Array, options?: { memorySize?: number }): Promise<WitnessCalculator>;
}
