// The bake step: bundles the wrapper (wrapper/) for the runner image into one
// ESM file, no node_modules, runnable by any Node >= 18 the image has. Layout
// (fixed; image/Dockerfile copies it to FLEET_DIR and adds node, root's copy
// of the base image's node, and runner.env, of its .env):
//   outDir/entrypoint                 sh, executable
//   outDir/wrapper.mjs                the bundle
//   outDir/hooks/job-started.sh       ACTIONS_RUNNER_HOOK_JOB_STARTED
//   outDir/hooks/job-completed.sh     ACTIONS_RUNNER_HOOK_JOB_COMPLETED
//   outDir/hooks/run-user-hook.sh     sourced by both: runs the user's own hook
import { chmod, copyFile, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { nodeScriptBundle } from '../core/bundle.ts';

const sourceDir = fileURLToPath(new URL('../wrapper/', import.meta.url));

export async function buildWrapper(outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(join(outDir, 'hooks'), { recursive: true });
  await build(nodeScriptBundle(join(sourceDir, 'main.ts'), join(outDir, 'wrapper.mjs')));
  const copies: Array<[string, string]> = [
    ['entrypoint.sh', 'entrypoint'],
    ['hooks/job-started.sh', 'hooks/job-started.sh'],
    ['hooks/job-completed.sh', 'hooks/job-completed.sh'],
    ['hooks/run-user-hook.sh', 'hooks/run-user-hook.sh'],
  ];
  for (const [from, to] of copies) {
    await copyFile(join(sourceDir, from), join(outDir, to));
    await chmod(join(outDir, to), 0o755);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? 'build/wrapper');
  await buildWrapper(outDir);
  process.stdout.write(`wrapper built in ${outDir}\n`);
}
