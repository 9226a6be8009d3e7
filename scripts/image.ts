#!/usr/bin/env -S node --import tsx
// Builds the runner image when its inputs changed; --force rebuilds anyway.
//   ./scripts/image.ts           build if needed
//   ./scripts/image.ts --force   rebuild (make image)
import { loadConfig } from '../lib/config/config.ts';
import { runCli } from '../core/errors.ts';
import { ensureRunnerImage } from '../lib/docker/runner-image.ts';
import { parseScriptArgs } from '../lib/script-args.ts';

await runCli(async () => {
  const { values } = parseScriptArgs({ force: { type: 'boolean' } });
  const config = await loadConfig({ credential: 'none' });
  const { image, hash, built } = await ensureRunnerImage(config, { force: values.force ?? false });
  console.log(`${image} ${built ? 'built' : 'up to date'} (${hash.slice(0, 12)})`);
});
