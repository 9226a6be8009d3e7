// The GitHub credential: a PAT (GH_PAT) or a GitHub App (GH_APP_ID,
// GH_APP_PRIVATE_KEY_FILE, GH_APP_INSTALLATION_ID), never both. Which one the
// settings name is decided from their text alone (and checked even for
// commands that call no GitHub: the configuration must not contradict
// itself); the App's key file is read only for commands that do.
import { resolve } from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import { readAppPrivateKey, validateAppId, validateInstallationId } from './app-key.ts';
import { setting, whereSet, type Settings } from './settings.ts';

/** A personal access token (GH_PAT). */
export interface PatCredential {
  kind: 'pat';
  token: string;
}

/** A GitHub App installed on the org or repo. */
export interface AppCredential {
  kind: 'app';
  /** The App ID (or client ID), the JWT's issuer. */
  appId: string;
  /** Absolute path of the key file (GH_APP_PRIVATE_KEY_FILE, from the working directory). */
  privateKeyFile: string;
  /** The key's PEM text, read and checked when the config was loaded. */
  privateKey: string;
  /** Looked up from the org or repo when absent. */
  installationId?: number;
}

export type GitHubCredential = PatCredential | AppCredential;

/** Whether a command calls GitHub: 'required' loads the credential (asking for it on a terminal); 'none' leaves it out, the App's key unread. */
export type CredentialNeed = 'required' | 'none';

/** An enterprise scope with a GitHub App's settings: the one line (derive.ts scopeOf). */
export const ENTERPRISE_APP_ERROR = 'GitHub Apps cannot manage enterprise runners: use a classic PAT with manage_runners:enterprise (GH_PAT)';

/** The settings of a GitHub App, for messages. */
export const APP_SETTINGS = ['GH_APP_ID', 'GH_APP_PRIVATE_KEY_FILE', 'GH_APP_INSTALLATION_ID'] as const;

/** A GitHub App as the settings name it: checked, its key not read yet. */
export interface AppSettings {
  kind: 'app';
  appId: string;
  /** As written: relative to the working directory. */
  privateKeyFile: string;
  installationId?: number;
  /** The GH_APP_* settings that are set, for messages. */
  setKeys: string[];
}

/** The credential the settings name; undefined when none. Throws when both kinds are set or the App's settings are incomplete or malformed. */
export function chosenCredential(settings: Settings): PatCredential | AppSettings | undefined {
  const app = appSettingsOf(settings);
  const token = setting(settings, 'GH_PAT');
  if (token && app) {
    const appKey = app.setKeys[0]!;
    throw new ConfigError(
      `GH_PAT (in ${whereSet(settings, 'GH_PAT')}) and ${appKey} (in ${whereSet(settings, appKey)}) are both set: choose one credential, unset GH_PAT to use the GitHub App or unset ${app.setKeys.join(', ')} to use the PAT`,
    );
  }
  return token ? { kind: 'pat', token } : app;
}

/** The GH_APP_* settings, checked as a whole; undefined when none is set. */
function appSettingsOf(settings: Settings): AppSettings | undefined {
  const setKeys = APP_SETTINGS.filter((key) => setting(settings, key) !== undefined);
  if (setKeys.length === 0) return undefined;
  const appId = setting(settings, 'GH_APP_ID');
  const privateKeyFile = setting(settings, 'GH_APP_PRIVATE_KEY_FILE');
  if (!appId)
    throw new ConfigError(
      `${setKeys.join(' and ')} ${setKeys.length > 1 ? 'are' : 'is'} set but GH_APP_ID is not: set GH_APP_ID to the App ID shown on the App's settings page`,
    );
  if (!privateKeyFile) throw new ConfigError(`GH_APP_ID is set but GH_APP_PRIVATE_KEY_FILE is not: set it to the App's private key (.pem) file, mode 0600`);
  const installation = setting(settings, 'GH_APP_INSTALLATION_ID');
  return {
    kind: 'app',
    appId: validateAppId(appId),
    privateKeyFile,
    ...(installation === undefined ? {} : { installationId: validateInstallationId(installation) }),
    setKeys,
  };
}

/** The credential ready for use: a PAT as it is, an App with its key file read and checked (see app-key.ts). */
export async function readCredential(chosen: PatCredential | AppSettings, cwd: string): Promise<GitHubCredential> {
  if (chosen.kind === 'pat') return chosen;
  const privateKeyFile = resolve(cwd, chosen.privateKeyFile);
  return {
    kind: 'app',
    appId: chosen.appId,
    privateKeyFile,
    privateKey: await readAppPrivateKey(privateKeyFile),
    ...(chosen.installationId === undefined ? {} : { installationId: chosen.installationId }),
  };
}

/** No credential where one is needed: the settings to set and where. */
export function noCredentialError(envFile = 'the env file (ENV_FILE, default .env)'): ConfigError {
  return new ConfigError(
    `no GitHub credential is set: set GH_PAT, or GH_APP_ID and GH_APP_PRIVATE_KEY_FILE for a GitHub App, in the environment or in ${envFile} (see README, Credentials)`,
  );
}

/** The credential of a configuration loaded for a command that calls GitHub; the one-line error above when there is none. */
export function requireCredential(config: { credential?: GitHubCredential; envFile?: string }): GitHubCredential {
  if (!config.credential) throw noCredentialError(config.envFile);
  return config.credential;
}
