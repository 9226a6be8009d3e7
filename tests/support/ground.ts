// What the suites that run the toolkit's scripts stand on: the GitHub stand-in
// (standins/github) with its orgs and PATs, a temporary folder for the
// fleets' files, and the environment the scripts run with. On a real Docker
// engine (the e2e suites) also: the check that the test ground's images are
// there, env files that point the toolkit at the stand-in and the runner
// simulator image (standins/runner, which STANDS IN for actions/runner) in
// the suite's mode, and the clean-up of every container, volume and image
// those fleets made. Without an engine (the script suites: no Docker at all,
// DOCKER_HOST points nowhere) only the stand-in and the folder.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STANDIN_IMAGES } from '../../core/constants.ts';
import { startGitHubStandIn, type GitHubStandIn, type GitHubStandInOptions } from '../../standins/github/server.ts';
import type { RunnerMode } from '../e2e/helpers.ts';
import { runScript, type ScriptResult } from './cli.ts';

/**
 * The e2e helpers, loaded by a ground with an engine only: they reach the
 * toolkit's Docker layer, which the script suites never load.
 */
const engineHelpers = () => import('../e2e/helpers.ts');

/** DOCKER_HOST of a ground without an engine: a socket nobody listens on. */
export const NO_DOCKER_HOST = 'unix:///nonexistent.sock';

export interface GroundOptions {
  /** The orgs and each one's admin PAT; the first is the ground's `org`. Default: acme, with `ghp_e2e_<tag>_0123456789`. */
  orgs?: Record<string, string>;
  /** More scopes the stand-in knows: repositories, orgs no PAT administers. */
  scopes?: string[];
  /** More PATs (one that administers nothing). */
  pats?: Array<{ token: string; admin: string[] }>;
  /** The stand-in's options. Default: runners offline 3 s after their last poll. */
  standIn?: GitHubStandInOptions;
  /**
   * Fleets on the real Docker engine (default): the ground's images must be
   * there, env files carry the mode's settings, close() removes the fleets.
   * false: no engine (DOCKER_HOST points nowhere).
   */
  docker?: boolean;
  /** The mode every env file of this ground runs its runners in (modeSettings). Default: the default mode. */
  mode?: RunnerMode;
  /** More environment for every script run (ENV_FILE, and DOCKER_HOST unless unset with an engine, are set); a function is given the started stand-in. */
  env?: Record<string, string> | ((github: GitHubStandIn) => Record<string, string>);
  /** How long a script may run. Default 240 s. */
  scriptTimeoutMs?: number;
}

export interface WriteEnvOptions {
  /** The file's name in the ground's folder. Default .env. */
  file?: string;
  /** The org the fleet registers in. Default the ground's first. */
  org?: string;
  /** Write that org's GH_PAT (default); false for a fleet with other credentials in `settings` (a GitHub App). */
  pat?: boolean;
}

export interface Ground {
  github: GitHubStandIn;
  /** The mode every env file of this ground runs its runners in. */
  mode: RunnerMode;
  /** The settings that mode puts in every env file (modeSettings; none without an engine). */
  modeSettings: string[];
  dir: string;
  /** The first org, and its PAT. */
  org: string;
  pat: string;
  /** Every org's admin PAT. */
  pats: Record<string, string>;
  /** The environment every script run gets: ENV_FILE (the folder's .env), DOCKER_HOST (unless unset with an engine) and the suite's own. */
  env: Record<string, string>;
  /** A new name prefix (its fleet is removed by close(), on `host` when its env file names that DOCKER_HOST). */
  prefix(tag: string, options?: { host?: string }): string;
  /** Writes an env file for a fleet of `prefix` with these extra settings; returns its name. */
  writeEnv(prefix: string, settings?: string[], options?: WriteEnvOptions): Promise<string>;
  /** A script run as a user runs it, in the ground's folder, with `env` and then these. */
  run(script: string, args?: string[], env?: Record<string, string>): Promise<ScriptResult>;
  /** Whether the stand-in has `runner` online in `org` (default the first). */
  online(runner: string, org?: string): boolean;
  close(): Promise<void>;
}

/** Starts a ground; `tag` names its folder, its default PAT and the suite in the mode's line. */
export async function startGround(tag: string, options: GroundOptions = {}): Promise<Ground> {
  const { docker = true, mode = 'default', standIn = { offlineAfterMs: 3000 }, scriptTimeoutMs = 240_000 } = options;
  const pats = options.orgs ?? { acme: `ghp_e2e_${tag}_0123456789` };
  const [org] = Object.keys(pats);
  if (org === undefined) throw new Error('startGround: no org');
  const engine = docker ? await engineHelpers() : undefined;
  await engine?.assertImages();
  const modeLines = (await engine?.modeSettings(tag, mode)) ?? [];
  const github = await startGitHubStandIn(standIn);
  for (const [name, token] of Object.entries(pats)) {
    github.addScope(name);
    github.addPat({ token, admin: [name] });
  }
  for (const scope of options.scopes ?? []) github.addScope(scope);
  for (const pat of options.pats ?? []) github.addPat(pat);
  const dir = await mkdtemp(join(tmpdir(), `fleet-${tag}-`));
  // DOCKER_HOST only when set: an empty one in the environment would hide an env file's (the environment wins).
  const dockerHost = docker ? process.env.DOCKER_HOST || undefined : NO_DOCKER_HOST;
  const env: Record<string, string> = {
    ENV_FILE: join(dir, '.env'),
    ...(dockerHost ? { DOCKER_HOST: dockerHost } : {}),
    ...(typeof options.env === 'function' ? options.env(github) : options.env),
  };
  const prefixes: Array<{ prefix: string; host?: string }> = [];
  return {
    github,
    mode,
    modeSettings: modeLines,
    dir,
    org,
    pat: pats[org]!,
    pats,
    env,
    prefix(name, { host } = {}) {
      if (!engine) throw new Error('prefix: a ground without an engine has no fleets');
      const prefix = engine.uniquePrefix(name);
      prefixes.push({ prefix, ...(host ? { host } : {}) });
      return prefix;
    },
    async writeEnv(prefix, settings = [], { file = '.env', org: fleetOrg = org, pat = true } = {}) {
      const token = pats[fleetOrg];
      if (pat && token === undefined) throw new Error(`writeEnv: ${fleetOrg} is not an org of this ground`);
      const credentials = pat ? [`GH_PAT=${token}`] : [];
      const lines = [
        `ORG=${fleetOrg}`,
        ...credentials,
        `GITHUB_URL=${github.url}`,
        `GITHUB_API_URL=${github.apiUrl}`,
        `RUNNER_IMAGE=${STANDIN_IMAGES.simulator}`,
        ...modeLines,
        `RUNNER_NAME_PREFIX=${prefix}`,
        ...settings,
        '',
      ];
      await writeFile(join(dir, file), lines.join('\n'), { mode: 0o600 });
      return file;
    },
    run(script, args = [], extra = {}) {
      return runScript(script, args, { cwd: dir, env: { ...env, ...extra }, timeoutMs: scriptTimeoutMs });
    },
    online(runner, runnerOrg = org) {
      return github.runners(runnerOrg).find((r) => r.name === runner)?.status === 'online';
    },
    async close() {
      for (const { prefix, host } of prefixes) await removeFleet(prefix, host);
      await github.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The tag of a fleet's own image (RUNNER_CUSTOM_IMAGE) that close() removes with the fleet. */
export function customImage(prefix: string): string {
  return `${prefix}custom:latest`;
}

/**
 * Removes a fleet's containers, volumes and runner images (customImage's
 * too), whatever state a failed test left them in: on the daemon of this
 * process, or on `host` (SECOND_DOCKER_HOST) for a fleet whose env file names it.
 */
export async function removeFleet(prefix: string, host?: string): Promise<void> {
  const { removeByPrefix, removeFleetImages } = await engineHelpers();
  const on = host ? { host } : {};
  await removeByPrefix(prefix, on).catch((err: unknown) => console.log(`# cleanup: ${String(err)}`));
  await removeFleetImages(prefix, [customImage(prefix)], on);
}
