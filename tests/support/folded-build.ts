// Test helper: builds the runner image of the env file in the working directory
// as make demo's fleets do, each docker build folded into one line per step
// (printed on stdout, marked `progress: `); other image lines are marked `log: `.
import { loadConfig } from '../../lib/config/config.ts';
import { ensureRunnerImage } from '../../lib/docker/runner-image.ts';
import { runCli } from '../../core/errors.ts';
import { toLines } from '../../core/reporter.ts';

await runCli(async () => {
  const config = await loadConfig({ credential: 'none' });
  const marked = (mark: string) => toLines((line) => console.log(`${mark}: ${line}`));
  const { image, built } = await ensureRunnerImage(config, { reporter: marked('log'), progress: marked('progress') });
  console.log(`${image} ${built ? 'built' : 'up to date'}`);
});
