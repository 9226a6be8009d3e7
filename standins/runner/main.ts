// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines (no GitHub access). It keeps the real runner's contract as
// far as this project relies on it (config.sh, run.sh, job hooks, cancel,
// shutdown, diag logs) and talks to the GitHub stand-in (standins/github/
// PROTOCOL.md §2). What it follows, file by file: standins/runner/PROTOCOL.md.
//
// One bundle started through two names, like the real binaries:
//   bin/Runner.Listener bin/sim.mjs configure|remove …   (config.sh)
//   bin/Runner.Listener bin/sim.mjs run [--jitconfig B64] [--once] (run-helper.sh)
//   bin/Runner.Worker   bin/sim.mjs spawnclient <in> <out> (started by the Listener, one per job)
// bin/Runner.Listener and bin/Runner.Worker are symlinks to the bundled node,
// so /proc/<pid>/comm and cmdline name them as the real processes.
import { parseCommandLine, takeEnvInputs } from './args.ts';
import { configure, remove, warnUnknown } from './config.ts';
import { loadRunnerEnvFile } from './env-file.ts';
import { HttpError, useWebProxy } from './http.ts';
import { loadWebProxy } from './web-proxy.ts';
import { JitConfigError, applyJitConfig } from './jitconfig.ts';
import { Listener, ReturnCode } from './listener.ts';
import { isConfigured, runnerRoot } from './store.ts';
import { RunnerError, term } from './terminal.ts';
import { Trace } from './trace.ts';
import { runWorker } from './worker.ts';

async function main(mode: string | undefined, argv: string[]): Promise<number> {
  const root = runnerRoot();
  if (mode === 'spawnclient') {
    useWebProxy(loadWebProxy()); // the Worker's HostContext
    await runWorker(root, Number(argv[0]), Number(argv[1]));
    return 0;
  }
  // Runner.Listener/Program.cs: <root>/.env over the environment, first thing at every start.
  loadRunnerEnvFile(root);
  useWebProxy(loadWebProxy()); // HostContext, built after LoadAndSetEnv
  // Read (and scrub) ACTIONS_RUNNER_INPUT_* before anything can start a child.
  const envInputs = takeEnvInputs();
  if (mode === 'configure' || mode === 'remove') {
    const cli = parseCommandLine([mode, ...argv], envInputs);
    warnUnknown(cli);
    await (cli.command === 'remove' ? remove(cli, root) : configure(cli, root));
    return 0;
  }
  if (mode === 'run') return run(root, parseCommandLine(['run', ...argv], envInputs));
  throw new RunnerError(`unknown mode '${mode ?? ''}': expected configure, remove, run or spawnclient`);
}

/** Runner.Listener/Runner.cs ExecuteCommand for `run`: the JIT config first, then the settings, then the Listener. */
async function run(root: string, cli: ReturnType<typeof parseCommandLine>): Promise<number> {
  warnUnknown(cli);
  const jitConfig = cli.arg('jitconfig');
  if (jitConfig) {
    try {
      applyJitConfig(root, jitConfig, new Trace('Runner', root));
    } catch (err) {
      // Runner.cs: the exception's message, return code TerminatedError.
      if (!(err instanceof JitConfigError)) throw err;
      term.error(err.message);
      return ReturnCode.TerminatedError;
    }
  }
  // ConfigurationManager.LoadSettings: NonRetryableException → Program.cs "An error occurred: …", 1.
  if (!isConfigured(root)) throw new RunnerError('Not configured. Run config.(sh/cmd) to configure the runner.');
  const once = cli.flag('once');
  if (once) {
    term.line("Warning: '--once' is going to be deprecated in the future, please consider using '--ephemeral' during runner registration.");
    term.line('https://docs.github.com/en/actions/hosting-your-own-runners/autoscaling-with-self-hosted-runners#using-ephemeral-runners-for-autoscaling');
  }
  return new Listener(root, { once }).run();
}

function report(err: unknown): void {
  if (err instanceof HttpError) {
    // The real runner prints the status line, the body, then .NET's exception text.
    term.error(err.message);
    if (err.body) term.error(err.body);
    term.error(`An error occurred: Response status code does not indicate success: ${err.status}.`);
  } else if (err instanceof RunnerError) {
    term.error(`An error occurred: ${err.message}`);
  } else {
    // fetch's "fetch failed" hides the reason (refused, DNS…) in its cause.
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
    term.error(`An error occurred: ${err instanceof Error ? err.message : String(err)}${cause}`);
  }
}

const [mode, ...rest] = process.argv.slice(2);
main(mode, rest).then(
  (code) => process.exit(code),
  (err: unknown) => {
    report(err);
    // Program.cs: an unexpected exception is a retryable error (2); configuration errors end config.sh with 1.
    process.exit(mode === 'run' && !(err instanceof RunnerError) ? 2 : 1);
  },
);
