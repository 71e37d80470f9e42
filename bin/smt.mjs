#!/usr/bin/env node
// The `smt` command: runs the TypeScript CLI directly on Node 24 (type stripping, no build step).
import './register.mjs';
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.error(`smt needs Node.js >= 22.12 (24 LTS recommended); this is ${process.version}. Run: source scripts/use-node24.sh`);
  process.exit(1);
}
await import('../src/cli/main.ts');
