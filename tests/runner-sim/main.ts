// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines (no GitHub access). It keeps the real runner's contract as
// far as this project relies on it (config.sh, run.sh, job hooks, shutdown)
// and talks to the GitHub emulator (tests/emulator/PROTOCOL.md §2).
//
// One bundle, three modes: `config [remove] …` (config.sh), `run` (run.sh),
// and `worker` (one job; started by the listener, never by hand).
import { parseCommandLine, takeEnvInputs } from './args.ts';
import { configure, remove } from './config.ts';
import { HttpError } from './http.ts';
import { Listener } from './listener.ts';
import { runnerRoot } from './store.ts';
import { RunnerError, term } from './terminal.ts';
import { runWorker } from './worker.ts';

async function main(mode: string | undefined, argv: string[]): Promise<number> {
  if (mode === 'worker') {
    await runWorker();
    return 0;
  }
  // Read (and scrub) ACTIONS_RUNNER_INPUT_* before anything can start a child.
  const envInputs = takeEnvInputs();
  const root = runnerRoot();
  if (mode === 'config') {
    const cli = parseCommandLine(argv, envInputs);
    await (cli.command === 'remove' ? remove(cli, root) : configure(cli, root));
    return 0;
  }
  if (mode === 'run') return new Listener(root).run();
  throw new RunnerError(`unknown mode '${mode ?? ''}': expected config, run or worker`);
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
    process.exit(1);
  },
);
