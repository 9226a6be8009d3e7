// One-line, actionable errors for every script. A CliError carries the exit
// code; anything else is a bug and is reported as such (still one line, the
// stack only with DEBUG=1).

export const ExitCode = {
  ok: 0,
  failure: 1,
  config: 2, // bad or missing setting, bad argument
  githubAuth: 3, // PAT rejected or lacking a permission
  githubNotFound: 4, // org/repo/runner not found or not visible
  runnerBusy: 5, // GitHub refused: the runner is running a job
  network: 6, // GitHub (or a proxy) could not be reached
  docker: 7, // docker missing or the daemon does not answer
  refused: 8, // the user declined, or confirmation was impossible
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Error for a bad or missing setting: names the setting and the fix. */
export class ConfigError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.config);
    this.name = 'ConfigError';
  }
}

/** Runs a script's main function; prints one line on failure and exits with its code. */
export async function runCli(main: () => Promise<number | void>): Promise<void> {
  try {
    const code = await main();
    process.exitCode = code ?? ExitCode.ok;
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: unexpected failure: ${message.split('\n')[0]}\n`);
    if (process.env.DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = ExitCode.failure;
  }
}
