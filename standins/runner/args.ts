// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// config.sh's command line, read the way actions/runner reads it: `--name value`
// args and `--flag` flags, each also given as env ACTIONS_RUNNER_INPUT_<NAME>
// (a flag's env value is 'true'/'false'). The runner removes those variables
// from its environment once read, so secrets do not reach jobs.
import { RunnerError } from './terminal.ts';


const ARGS = ['url', 'token', 'name', 'labels', 'runnergroup', 'work', 'pat', 'auth'] as const;
const FLAGS = ['unattended', 'replace', 'disableupdate', 'ephemeral', 'no-default-labels', 'help', 'check'] as const;
type ArgName = (typeof ARGS)[number];
type FlagName = (typeof FLAGS)[number];

const ENV_PREFIX = 'ACTIONS_RUNNER_INPUT_';

export interface CommandLine {
  command: 'configure' | 'remove';
  /** Options the real runner does not know: it only warns about them (Runner.Listener/Program.cs, CommandSettings.Validate). */
  unknown: string[];
  arg(name: ArgName): string | undefined;
  flag(name: FlagName): boolean;
}

/** Takes ACTIONS_RUNNER_INPUT_* out of process.env (as the real runner does) and returns them by option name. */
export function takeEnvInputs(env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const inputs = new Map<string, string>();
  for (const key of Object.keys(env)) {
    if (!key.toUpperCase().startsWith(ENV_PREFIX)) continue;
    const value = env[key]?.trim();
    // Names are matched case-insensitively; '_' also stands for '-' since
    // shells cannot set NO-DEFAULT-LABELS.
    if (value) inputs.set(key.slice(ENV_PREFIX.length).toLowerCase().replaceAll('_', '-'), value);
    delete env[key];
  }
  return inputs;
}

export function parseCommandLine(argv: string[], envInputs: Map<string, string>): CommandLine {
  const args = new Map<string, string>();
  const flags = new Set<string>();
  const unknown: string[] = [];
  let command: CommandLine['command'] = 'configure';

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (!token.startsWith('--')) {
      if ((token === 'remove' || token === 'configure') && i === 0) command = token;
      else unknown.push(token);
      continue;
    }
    // Runner.Common/CommandLineParser.cs: `--name value` is an arg when a
    // value follows, else `--name` is a flag; names are case-insensitive.
    const name = token.slice(2).toLowerCase();
    const next = argv[i + 1];
    if ((FLAGS as readonly string[]).includes(name)) {
      flags.add(name);
    } else if ((ARGS as readonly string[]).includes(name) && next !== undefined) {
      args.set(name, argv[++i] ?? '');
    } else {
      unknown.push(name);
      if (next !== undefined && !next.startsWith('--')) i++; // its value
    }
  }
  return {
    command,
    unknown,
    arg: (name) => args.get(name) ?? envInputs.get(name),
    flag: (name) => flags.has(name) || envInputs.get(name)?.toLowerCase() === 'true',
  };
}

/**
 * A value the real runner would prompt for. Unattended (or with no terminal,
 * as in a container) a missing value ends the configuration, with the real
 * runner's message; the simulator never prompts.
 */
export function required(cli: CommandLine, name: ArgName, fallback?: string): string {
  const value = cli.arg(name) ?? fallback;
  if (value === undefined || value === '') {
    throw new RunnerError(`Invalid configuration provided for ${name}. Terminating unattended configuration.`);
  }
  return value;
}
