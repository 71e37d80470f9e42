// The ternary Merkle trie accumulator (docs/PROTOCOL.md "Trie").
export { TernaryTrie, EMPTY_ROOT, TrieReadOnlyError, TrieMissingNodeError, type TrieOptions } from './trie.js';
export { encodeProof, decodeProof, type TrieProof, type ProofStep, type ProofEnd, type BranchStep, type ExtStep } from './proof.js';
export { verifyProof, verifyProofs, type ProofClaim } from './verify.js';
export {
  LevelNodeStore, MemoryNodeStore, isWritable, type NodeStore, type WritableNodeStore, type NodeEntry, type NodeSublevel,
  type ChainedBatchLike,
} from './store.js';
export { keyDigits, pathLength, KEY_BYTES } from './digits.js';
export { MAX_VALUE_BYTES } from './record.js';
