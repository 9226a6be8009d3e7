// What most end-to-end suites stand on: the GitHub stand-in (standins/github)
// with one org and its admin PAT, a temporary folder for the fleets' files,
// env files that point the toolkit at the stand-in and the runner simulator
// image (standins/runner, which STANDS IN for actions/runner), and the
// clean-up of every container, volume and image those fleets made.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGitHubStandIn, type GitHubStandIn } from '../../standins/github/server.ts';
import { runScript, type ScriptResult } from '../support/cli.ts';
import { assertImages, modeSettings, removeFleetImages, removeByPrefix, SIM_IMAGE, uniquePrefix, type RunnerMode } from './helpers.ts';

export interface Ground {
  github: GitHubStandIn;
  /** The mode every env file of this ground runs its runners in. */
  mode: RunnerMode;
  /** The settings that mode put in every env file (modeSettings). */
  modeSettings: string[];
  dir: string;
  org: string;
  pat: string;
  /** A new name prefix (cleaned up by close()). */
  prefix(tag: string): string;
  /** Writes an env file for a fleet of `prefix` with these extra settings; returns its name. */
  writeEnv(prefix: string, settings?: string[], file?: string): Promise<string>;
  /** A script run as a user runs it, in the ground's folder, with ENV_FILE=`envFile`. */
  run(script: string, args?: string[], envFile?: string, env?: Record<string, string>): Promise<ScriptResult>;
  online(runner: string): boolean;
  close(): Promise<void>;
}

export async function startGround(tag: string, { org = 'acme', offlineAfterMs = 3000, mode = 'default' }: { org?: string; offlineAfterMs?: number; mode?: RunnerMode } = {}): Promise<Ground> {
  await assertImages();
  const modeLines = await modeSettings(tag, mode);
  const github = await startGitHubStandIn({ offlineAfterMs });
  const pat = `ghp_e2e_${tag}_0123456789`;
  github.addScope(org);
  github.addPat({ token: pat, admin: [org] });
  const dir = await mkdtemp(join(tmpdir(), `fleet-${tag}-e2e-`));
  const prefixes: string[] = [];
  return {
    github,
    mode,
    modeSettings: modeLines,
    dir,
    org,
    pat,
    prefix(name) {
      const prefix = uniquePrefix(name);
      prefixes.push(prefix);
      return prefix;
    },
    async writeEnv(prefix, settings = [], file = '.env') {
      const lines = [`ORG=${org}`, `GH_PAT=${pat}`, `GITHUB_URL=${github.url}`, `GITHUB_API_URL=${github.apiUrl}`, `RUNNER_IMAGE=${SIM_IMAGE}`, ...modeLines, `RUNNER_NAME_PREFIX=${prefix}`, ...settings, ''];
      await writeFile(join(dir, file), lines.join('\n'), { mode: 0o600 });
      return file;
    },
    run(script, args = [], envFile = '.env', env = {}) {
      return runScript(script, args, { cwd: dir, env: { ENV_FILE: envFile, DOCKER_HOST: process.env.DOCKER_HOST ?? '', ...env }, timeoutMs: 240_000 });
    },
    online(runner) {
      return github.runners(org).find((r) => r.name === runner)?.status === 'online';
    },
    async close() {
      for (const prefix of prefixes) await removeFleet(prefix);
      await github.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Removes a fleet's containers, volumes and runner image, whatever state a failed test left them in. */
export async function removeFleet(prefix: string): Promise<void> {
  await removeByPrefix(prefix).catch((err: unknown) => console.log(`# cleanup: ${String(err)}`));
  await removeFleetImages(prefix);
}
