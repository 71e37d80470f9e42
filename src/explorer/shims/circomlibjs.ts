// The browser bundle's stand-in for circomlibjs: the page checks the apex proof only, which needs no
// Poseidon (the whole-tree audit, which does, runs in Node: `smt proof verify --light --tree`).
export function buildPoseidon(): never {
  throw new Error('Poseidon is not bundled in the explorer page');
}
