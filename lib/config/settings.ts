// The first step of loading the configuration: the raw settings, text as the
// user wrote it, from the process environment and the env file (ENV_FILE,
// default .env); the environment wins. Reading the file is the only I/O; what
// follows (the credential's choice, the Config) is computed from these values.
import { resolve } from 'node:path';
import { readEnvFile } from './env-file.ts';

export interface Settings {
  /** The env file's absolute path: ENV_FILE (from the working directory), default .env. */
  readonly envFile: string;
  /** The process environment: a value set here wins over the env file. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The env file's values; none when it does not exist. */
  readonly file: Readonly<Record<string, string>>;
}

/** A setting's trimmed value, the environment first; undefined when unset or empty. */
export function setting(settings: Settings, key: string): string | undefined {
  const value = settings.env[key] ?? settings.file[key];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Where a setting that is set comes from, for messages: 'the environment' or the env file. */
export function whereSet(settings: Settings, key: string): string {
  const value = settings.env[key];
  return value !== undefined && value.trim() !== '' ? 'the environment' : settings.envFile;
}

/** Every setting name given, in the environment or the env file (a per-board setting naming no board is refused). */
export function settingNames(settings: Settings): string[] {
  return [...Object.keys(settings.env), ...Object.keys(settings.file)];
}

/**
 * The settings with answers given at the prompt, which were saved to the env
 * file: they win over what was there (an empty value in the environment is
 * why they were asked).
 */
export function withAnswers(settings: Settings, answers: Record<string, string>): Settings {
  const env = Object.fromEntries(Object.entries(settings.env).filter(([key]) => !(key in answers)));
  return { envFile: settings.envFile, env, file: { ...settings.file, ...answers } };
}

export interface ReadSettings {
  settings: Settings;
  /** Lines about the env file the user should act on (a readable PAT, a value cut at '#'). */
  warnings: string[];
}

/** Reads the env file named by the environment's ENV_FILE (relative to `cwd`), default .env. */
export async function readSettings(env: NodeJS.ProcessEnv, cwd: string): Promise<ReadSettings> {
  const envFile = resolve(cwd, env.ENV_FILE || '.env');
  const file = await readEnvFile(envFile);
  const settings: Settings = { envFile, env, file: file?.values ?? {} };
  return { settings, warnings: file ? envFileWarnings(settings, file) : [] };
}

/**
 * The warnings about an env file: a GH_PAT in a file others can read, and
 * values dotenv cuts at a '#' (unless the environment sets that setting).
 * Names only; a value never appears.
 */
export function envFileWarnings(settings: Settings, file: { cutAtHash: readonly string[]; readableByOthers: boolean }): string[] {
  const { envFile } = settings;
  const warnings: string[] = [];
  if (settings.file.GH_PAT && file.readableByOthers) warnings.push(`${envFile} holds GH_PAT and other users can read it: chmod 600 ${envFile}`);
  for (const key of file.cutAtHash) {
    if (settings.env[key] === undefined) {
      warnings.push(
        `${key} in ${envFile} has a '#' in its unquoted value, which dotenv reads as the start of a comment, so the value is cut there: quote it, ${key}='…'`,
      );
    }
  }
  return warnings;
}
