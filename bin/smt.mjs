#!/usr/bin/env node
// The `smt` command: runs the TypeScript CLI directly on Node (type stripping, no build step).
// The version check runs before anything else is loaded: the loader hook (register.mjs) needs
// module.registerHooks (Node 22.15) and the sources need type stripping on by default (Node 22.18),
// so on an older Node a static import would die with a stack trace before any check could run.
const MIN = [22, 18];
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < MIN[0] || (major === MIN[0] && minor < MIN[1])) {
  console.error(`error: smt needs Node.js >= ${MIN.join('.')} (24 LTS recommended); this is ${process.version}. Run: source scripts/use-node24.sh`);
  process.exit(1);
}
await import('./register.mjs');
await import('../src/cli/main.ts');
