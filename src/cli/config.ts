// Options of a long-running command from three more places than its flags: SMT_* environment
// variables and a config file (YAML, so JSON works too), with precedence flag > env > file > default,
// and `--print-config` to show what was resolved and where each value came from.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { CliError } from './client.js';

const OWN = new Set(['config', 'printConfig', 'help', 'version']);

/** SMT_ + the option's long name in upper snake case: --log-level -> SMT_LOG_LEVEL, --no-prove -> SMT_NO_PROVE. */
export function envNameOf(o: Option): string {
  return 'SMT_' + o.long!.replace(/^--/, '').replace(/-/g, '_').toUpperCase();
}

/** Config file keys: the long option name without dashes, or its camelCase attribute name. */
function configKeys(o: Option): string[] {
  return [o.long!.replace(/^--(no-)?/, ''), o.attributeName()];
}

/**
 * Parses a config file's text into option values. Values are strings for options that take one
 * (numbers are accepted and turned into strings), booleans for flags. Throws a CliError naming the
 * offending key.
 */
export function parseConfigText(text: string, options: readonly Option[], file: string): Map<string, string | boolean> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new CliError(`config file ${file} is not valid YAML/JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return new Map();
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new CliError(`config file ${file} must be a mapping of option names to values`);
  const byKey = new Map<string, Option>();
  for (const o of options) if (!OWN.has(o.attributeName()) && o.long) for (const k of configKeys(o)) byKey.set(k, o);
  const out = new Map<string, string | boolean>();
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const o = byKey.get(k);
    if (!o) throw new CliError(`config file ${file}: unknown option ${JSON.stringify(k)} (known: ${[...new Set([...byKey.values()].map((x) => x.long!.replace(/^--(no-)?/, '')))].join(', ')})`);
    if (o.required || o.optional) {
      if (typeof v !== 'string' && typeof v !== 'number') throw new CliError(`config file ${file}: ${k} must be a string or a number`);
      out.set(o.attributeName(), String(v));
    } else {
      if (typeof v !== 'boolean') throw new CliError(`config file ${file}: ${k} must be true or false`);
      // a negatable flag (--no-prove) stores the positive attribute: "prove: false"
      out.set(o.attributeName(), v);
    }
  }
  return out;
}

/**
 * Adds --config FILE and --print-config to `cmd`, gives every other option an SMT_* environment
 * variable, and applies the file before the action runs. Call it after all options are declared.
 * Options the action requires must be checked by the action (commander checks required options
 * before a config file could supply them).
 */
export function withConfig(cmd: Command): Command {
  for (const o of cmd.options) {
    if (OWN.has(o.attributeName()) || !o.long || o.envVar) continue;
    o.env(envNameOf(o));
  }
  cmd.addOption(new Option('--config <file>', 'read options from a YAML or JSON file (keys are option names, e.g. "log-level: debug"); precedence: flag > SMT_* env > file > default (env: SMT_CONFIG)'));
  cmd.addOption(new Option('--print-config', 'print the resolved options with where each came from (flag, env, config, default) and exit'));
  cmd.hook('preAction', (_parent, action) => {
    // Environment first (commander only wires env vars declared before an option is added).
    for (const o of action.options) {
      const a = o.attributeName();
      if (OWN.has(a) || !o.envVar || !(o.envVar in process.env)) continue;
      const src = action.getOptionValueSource(a);
      if (src !== undefined && src !== 'default') continue;
      const raw = process.env[o.envVar]!;
      if (o.required || o.optional) action.setOptionValueWithSource(a, raw, 'env');
      else if (/^(1|true|yes)$/i.test(raw)) action.setOptionValueWithSource(a, !o.negate, 'env'); // SMT_NO_PROVE=1 -> prove false
      else if (!/^(0|false|no|)$/i.test(raw)) throw new CliError(`${o.envVar} must be 1/true or 0/false, got ${JSON.stringify(raw)}`);
    }
    const file = (action.getOptionValue('config') as string | undefined) ?? process.env.SMT_CONFIG;
    if (file !== undefined) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new CliError(`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
      }
      for (const [attr, v] of parseConfigText(text, action.options, file)) {
        const src = action.getOptionValueSource(attr);
        if (src === undefined || src === 'default') action.setOptionValueWithSource(attr, v, 'config');
      }
    }
    if (action.getOptionValue('printConfig')) {
      const rows: Record<string, { value: unknown; source: string }> = {};
      for (const o of action.options) {
        const a = o.attributeName();
        if (OWN.has(a) || rows[a]) continue;
        const source = action.getOptionValueSource(a) ?? 'unset';
        rows[a] = { value: action.getOptionValue(a) ?? null, source: source === 'cli' ? 'flag' : source };
      }
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      process.exit(0);
    }
  });
  return cmd;
}
