// Runner simulator — STANDS IN for actions/runner, which cannot be downloaded
// on these machines.
//
// The runner's configuration files in its root (/home/runner in the image),
// with the names and the .runner keys actions/runner uses. Like the real
// runner, .runner is written with a UTF-8 byte order mark (tools that read it
// must strip it), and the two credential files are readable by the owner only.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RunnerSettings {
  agentId: number;
  agentName: string;
  poolId: number;
  poolName: string;
  /** Base URL of the runner protocol (`<origin>/_runner` from registration). */
  serverUrl: string;
  gitHubUrl: string;
  workFolder: string;
  disableUpdate: boolean;
  ephemeral: boolean;
  isHostedServer: boolean;
}

export interface Credentials {
  scheme: 'OAuth';
  data: {
    clientId: string;
    authorizationUrl: string;
    /** Simulator only: the real runner exchanges its RSA key for a token instead. */
    runnerToken: string;
  };
}

/** The runner root: the folder above bin/ that holds the bundle (like the real layout). */
export function runnerRoot(): string {
  if (process.env.RUNNER_SIM_ROOT) return process.env.RUNNER_SIM_ROOT;
  const self = process.argv[1] ?? fileURLToPath(import.meta.url);
  return dirname(dirname(self));
}

const BOM = '\uFEFF';
const files = (root: string) => ({
  runner: join(root, '.runner'),
  credentials: join(root, '.credentials'),
  rsaParams: join(root, '.credentials_rsaparams'),
});

export function isConfigured(root: string): boolean {
  return existsSync(files(root).runner);
}

export function hasCredentials(root: string): boolean {
  return existsSync(files(root).credentials);
}

function readJson<T>(path: string): T {
  const text = readFileSync(path, 'utf8');
  return JSON.parse(text.startsWith(BOM) ? text.slice(1) : text) as T;
}

export const loadSettings = (root: string): RunnerSettings => readJson(files(root).runner);
export const loadCredentials = (root: string): Credentials => readJson(files(root).credentials);

export function saveSettings(root: string, settings: RunnerSettings): void {
  writeFileSync(files(root).runner, BOM + JSON.stringify(settings, null, 2));
}

export function saveCredentials(root: string, credentials: Credentials, rsaParams: object): void {
  writeFileSync(files(root).credentials, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  writeFileSync(files(root).rsaParams, JSON.stringify(rsaParams, null, 2), { mode: 0o600 });
}

export function deleteCredentials(root: string): void {
  rmSync(files(root).credentials, { force: true });
  rmSync(files(root).rsaParams, { force: true });
}

export function deleteSettings(root: string): void {
  rmSync(files(root).runner, { force: true });
}

/** The work folder as an absolute path (a relative one is under the runner root). */
export function workFolderPath(root: string, settings: RunnerSettings): string {
  return isAbsolute(settings.workFolder) ? settings.workFolder : join(root, settings.workFolder);
}
