// Argument parsing for the scripts: node's parseArgs, with a bad flag turned
// into the same one-line error (exit 2) as a bad setting.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from './errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseScriptArgs<O extends Options>(options: O, args: string[] = process.argv.slice(2)) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message.split('\n')[0]} (see make help)`);
  }
}
