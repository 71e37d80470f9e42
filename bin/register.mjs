// Lets Node run the TypeScript sources directly: they import siblings with the `.js` suffix
// (what tsc/NodeNext expects), and this hook resolves such a specifier to the `.ts` file beside it
// when no `.js` file exists. Type stripping itself is built into Node >= 22.18 / 24.
import { registerHooks } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if ((specifier.startsWith('./') || specifier.startsWith('../')) && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      const tsUrl = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
      if (existsSync(fileURLToPath(tsUrl))) return nextResolve(tsUrl.href, context);
    }
    return nextResolve(specifier, context);
  },
});
