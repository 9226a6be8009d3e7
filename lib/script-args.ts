// Argument parsing for the scripts: node's parseArgs, with a bad flag turned
// into the same one-line error (exit 2) as a bad setting, and --help printing
// the usage lines every script carries in its header comment.
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../core/errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseScriptArgs<O extends Options>(options: O, args: string[] = process.argv.slice(2)) {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(scriptUsage(process.argv[1] ?? ''));
    process.exit(0);
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message.split('\n')[0]} (see --help)`);
  }
}

/** The script's header comment (after the shebang), without the comment markers. */
export function scriptUsage(scriptPath: string): string {
  const lines = readFileSync(scriptPath, 'utf8').split('\n');
  const header = lines.slice(lines[0]?.startsWith('#!') ? 1 : 0);
  const comment = header.slice(
    0,
    Math.max(
      0,
      header.findIndex((line) => !line.startsWith('//')),
    ),
  );
  return `${comment.map((line) => line.replace(/^\/\/ ?/, '')).join('\n')}\n`;
}

/**
 * The env files a command over several fleets was given: each --env-file
 * (repeatable), else ENV_FILES (space-separated); none: [] (the one fleet of
 * ENV_FILE, default .env).
 */
export function envFilesArg(flags: readonly string[] | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  if (flags?.length) return [...flags];
  return (env.ENV_FILES ?? '').split(/\s+/).filter(Boolean);
}
