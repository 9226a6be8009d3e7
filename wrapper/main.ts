// Bundled as wrapper.mjs. `supervise` is the container's main process (started
// by ./entrypoint); `hook-started` / `hook-completed` are run by hooks/*.sh
// inside each job.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, runCli } from '../core/errors.ts';
import { toLines } from '../core/reporter.ts';
import { loadWrapperConfig } from './config.ts';
import { hookCompleted, hookStarted } from './hook-client.ts';
import { superviseRunner } from './supervisor.ts';

/** The wrapper's log (docker logs): every line stamped; the e2e suites read these lines. */
const log = toLines((line) => process.stderr.write(`[runner-fleet ${new Date().toISOString()}] ${line}\n`));

async function main(argv: string[]): Promise<number> {
  const [command = 'supervise'] = argv;
  switch (command) {
    case 'supervise': {
      // The hooks and root's copy of the image's .env are beside the bundle (FLEET_DIR in the image).
      const here = dirname(fileURLToPath(import.meta.url));
      return superviseRunner({ ...loadWrapperConfig(), imageEnvFile: join(here, 'runner.env') }, join(here, 'hooks'), log);
    }
    case 'hook-started':
      return hookStarted();
    case 'hook-completed':
      return hookCompleted();
    default:
      throw new ConfigError(`unknown command ${command}: use supervise, hook-started or hook-completed`);
  }
}

await runCli(() => main(process.argv.slice(2)));
