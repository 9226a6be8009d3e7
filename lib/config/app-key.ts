// The GitHub App's private key file (GH_APP_PRIVATE_KEY_FILE): a PEM RSA key
// that only its owner may read, like an ssh key. Checked before any use; the
// key's text never appears in a message.
import { createPrivateKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../../core/errors.ts';

/** A private key file larger than this is not a key (and is not read whole). */
const MAX_KEY_BYTES = 64 * 1024;

/** Reads and checks the App's private key; throws a ConfigError naming GH_APP_PRIVATE_KEY_FILE and the fix. */
export async function readAppPrivateKey(path: string): Promise<string> {
  const setting = 'GH_APP_PRIVATE_KEY_FILE';
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new ConfigError(
        `${setting} ${path} does not exist: point ${setting} at the .pem file downloaded from the App's settings (Private keys → Generate a private key)`,
      );
    throw new ConfigError(`${setting} ${path} cannot be read (${code}): fix the path or the file's permissions`);
  }
  if (!info.isFile()) throw new ConfigError(`${setting} ${path} is not a regular file: point ${setting} at the App's .pem private key file`);
  if ((info.mode & 0o077) !== 0) {
    throw new ConfigError(`${setting} ${path} can be read by other users (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 ${path}`);
  }
  if (info.size > MAX_KEY_BYTES)
    throw new ConfigError(`${setting} ${path} is ${info.size} bytes, too large for a private key: point ${setting} at the App's .pem file`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${setting} ${path} cannot be read (${(err as NodeJS.ErrnoException).code}): fix the file's owner or permissions`);
  }
  let type: string | undefined;
  try {
    type = createPrivateKey(text).asymmetricKeyType;
  } catch {
    type = undefined;
  }
  if (type !== 'rsa') {
    throw new ConfigError(
      `${setting} ${path} is not a PEM RSA private key: download one from the App's settings (Private keys → Generate a private key) and point ${setting} at that .pem file`,
    );
  }
  return text;
}

/** A GitHub App ID (the number on the App's settings page) or its client ID (Iv…). */
export function validateAppId(text: string): string {
  if (/^[1-9]\d{0,11}$/.test(text) || /^Iv[0-9A-Za-z.]{4,40}$/.test(text)) return text;
  throw new ConfigError(`GH_APP_ID '${text}' is not a GitHub App ID: set GH_APP_ID to the App ID (a number) shown on the App's settings page`);
}

/** An installation id (the number at the end of the installation's settings URL). */
export function validateInstallationId(text: string): number {
  if (!/^[1-9]\d{0,15}$/.test(text)) {
    throw new ConfigError(
      `GH_APP_INSTALLATION_ID '${text}' is not an installation id: set it to the number at the end of the installation's settings URL, or leave it empty to look it up`,
    );
  }
  return Number(text);
}
