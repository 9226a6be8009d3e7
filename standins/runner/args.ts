// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// The Listener's command line, read the way actions/runner reads it:
// - Runner.Common/CommandLineParser.cs: words before the first `--x` are
//   commands; `--name value` is an arg when the next word does not start with
//   '-' (the first value of a name wins, further values are ignored), else
//   `--name` is a flag; names are case-insensitive.
// - Runner.Listener/CommandSettings.cs: every option can also come from the
//   environment as ACTIONS_RUNNER_INPUT_<NAME> (NAME compared case-insensitively
//   with the option's own spelling, e.g. ACTIONS_RUNNER_INPUT_JITCONFIG; an
//   empty value is no value); those variables are removed from the environment
//   once read, so they never reach jobs, and the secret ones (token, pat,
//   windowslogonpassword, jitconfig: Constants.cs Args.Secrets) are masked.
//   A flag's variable counts when it parses as a boolean "true" (bool.TryParse).
// - CommandSettings.Validate: commands, flags and args a command does not
//   know are reported (Runner.Listener/Program.cs warns and goes on).
import { RunnerError, addSecret } from './terminal.ts';

/** Constants.cs Runner.CommandLine.Commands. */
const COMMANDS = ['configure', 'remove', 'run', 'warmup'] as const;
type Command = (typeof COMMANDS)[number];

/** CommandSettings.cs validOptions (flags and args) per command. */
const VALID_OPTIONS: Record<Command, readonly string[]> = {
  configure: [
    'disableupdate',
    'ephemeral',
    'generateserviceconfig',
    'replace',
    'runasservice',
    'unattended',
    'no-default-labels',
    'auth',
    'labels',
    'monitorsocketaddress',
    'name',
    'pat',
    'runnergroup',
    'token',
    'url',
    'username',
    'windowslogonaccount',
    'windowslogonpassword',
    'work',
  ],
  remove: ['token', 'pat', 'local'],
  run: ['once', 'jitconfig', 'startuptype'],
  warmup: [],
};
/** CommandSettings.cs genericOptions: valid flags for every command. */
const GENERIC_OPTIONS = ['help', 'version', 'commit', 'check'];
/** Constants.cs Runner.CommandLine.Args.Secrets. */
const SECRETS = new Set(['pat', 'token', 'windowslogonpassword', 'jitconfig']);

export type ArgName = 'url' | 'token' | 'name' | 'labels' | 'runnergroup' | 'work' | 'pat' | 'auth' | 'jitconfig' | 'startuptype';
export type FlagName = 'unattended' | 'replace' | 'disableupdate' | 'ephemeral' | 'no-default-labels' | 'help' | 'check' | 'once' | 'local';

const ENV_PREFIX = 'ACTIONS_RUNNER_INPUT_';

export interface CommandLine {
  /** CommandSettings.GetCommandName: the first command word if it is a known command, else ''. */
  command: Command | '';
  /** Options the real runner does not know: it only warns about them (Runner.Listener/Program.cs, CommandSettings.Validate). */
  unknown: string[];
  arg(name: ArgName): string | undefined;
  flag(name: FlagName): boolean;
}

/** Takes ACTIONS_RUNNER_INPUT_* out of process.env (as the real runner does) and returns them by lower-cased option name. */
export function takeEnvInputs(env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const inputs = new Map<string, string>();
  for (const key of Object.keys(env)) {
    if (!key.toUpperCase().startsWith(ENV_PREFIX)) continue;
    const value = env[key]?.trim();
    if (value) {
      const name = key.slice(ENV_PREFIX.length).toLowerCase();
      if (SECRETS.has(name)) addSecret(value);
      inputs.set(name, value);
    }
    delete env[key];
  }
  return inputs;
}

/** CommandLineParser.Parse: commands, flags and args (keys lower-cased; the first spelling is kept for messages). */
function parse(argv: string[]): { commands: string[]; flags: Map<string, string>; args: Map<string, string>; argNames: Map<string, string> } {
  const commands: string[] = [];
  const flags = new Map<string, string>();
  const args = new Map<string, string>();
  const argNames = new Map<string, string>();
  const addFlag = (name: string): void => {
    if (!flags.has(name.toLowerCase())) flags.set(name.toLowerCase(), name);
  };
  let hasArgs = false;
  let scope: string | undefined;
  for (const word of argv) {
    hasArgs = hasArgs || word.startsWith('--');
    if (word === '/?') {
      addFlag('help');
    } else if (!hasArgs) {
      commands.push(word.trim());
    } else if (word.startsWith('--') && word.length > 2) {
      // Two --names in a row: the first was a flag.
      if (scope !== undefined) addFlag(scope.trim());
      scope = word.slice(2);
    } else if (!word.startsWith('-')) {
      // A value: it belongs to the pending name unless that name already has one (first wins).
      if (scope !== undefined) {
        scope = scope.trim();
        if (!args.has(scope.toLowerCase())) {
          if (SECRETS.has(scope.toLowerCase())) addSecret(word);
          args.set(scope.toLowerCase(), word);
          argNames.set(scope.toLowerCase(), scope);
          scope = undefined;
        }
      }
    }
    // else: '-x', '-' or '--': ignored
  }
  if (scope !== undefined) addFlag(scope);
  return { commands, flags, args, argNames };
}

/** `argv` as the Listener gets it, command first: `configure --url …`, `remove --token …`, `run --jitconfig …`. */
export function parseCommandLine(argv: string[], envInputs: Map<string, string>): CommandLine {
  const { commands, flags, args, argNames } = parse(argv);
  const first = commands[0]?.toLowerCase();
  const command: CommandLine['command'] = (COMMANDS as readonly string[]).includes(first ?? '') ? (first as Command) : '';

  // CommandSettings.Validate.
  const unknown = commands.filter((c) => !(COMMANDS as readonly string[]).includes(c.toLowerCase()));
  if (unknown.length === 0) {
    for (const c of commands) {
      const options = VALID_OPTIONS[c.toLowerCase() as Command];
      for (const [key, spelled] of flags) if (!options.includes(key) && !GENERIC_OPTIONS.includes(key)) unknown.push(spelled);
      for (const [key, spelled] of argNames) if (!options.includes(key)) unknown.push(spelled);
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
