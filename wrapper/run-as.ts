// Who the runner runs as. The wrapper starts as root, so that it alone can
// write the lock directory (root-owned on the host; jobs reach the lock only
// through its socket). The runner itself runs as the user the base image
// names (RUNNER_FLEET_USER, baked in at build time): actions/runner refuses
// root (run-helper.sh.template, config.sh), and a job must not be root.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_PATH } from '../core/constants.ts';
import { ConfigError } from '../core/errors.ts';

export interface RunnerAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** Supplementary groups: the user's own (/etc/group) and those the container was given, root's excepted. */
  groups: number[];
}

/** /etc/passwd and /etc/group are the image's own files, read once and bounded. */
function readSmall(path: string): string {
  const text = readFileSync(path, 'utf8');
  return text.length > 4 * 1024 * 1024 ? '' : text;
}

export function lookupAccount(
  name: string,
  containerGroups: number[] = process.getgroups?.() ?? [],
  passwd = readSmall('/etc/passwd'),
  group = readSmall('/etc/group'),
): RunnerAccount {
  const entry = passwd
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === name || (/^\d+$/.test(name) && fields[2] === name));
  if (!entry) {
    throw new ConfigError(
      `the runner user RUNNER_FLEET_USER=${name} does not exist in this image's /etc/passwd: ` +
        "rebuild the image (make image) from a base whose USER is the runner's user",
    );
  }
  const uid = Number(entry[2]);
  const gid = Number(entry[3]);
  if (uid === 0) {
    throw new ConfigError(
      `the runner user RUNNER_FLEET_USER=${name} is root, and actions/runner refuses to run as root: ` +
        "use a base image whose USER is an unprivileged user (the official image's is runner)",
    );
  }
  const own = group
    .split('\n')
    .map((line) => line.split(':'))
    .filter((fields) => (fields[3] ?? '').split(',').includes(entry[0]!))
    .map((fields) => Number(fields[2]));
  const groups = [...new Set([...own, ...containerGroups])].filter((g) => Number.isInteger(g) && g !== 0 && g !== gid).sort((a, b) => a - b);
  return { name: entry[0]!, uid, gid, home: entry[5] || '/', groups };
}

/**
 * `name`'s path in ROOT_PATH's directories, or undefined: root never looks a
 * command up in the image's PATH, which may list directories the runner user
 * can write (~/.local/bin).
 */
export function systemCommand(name: string, dirs: string = ROOT_PATH): string | undefined {
  for (const dir of dirs.split(':')) {
    const path = join(dir, name);
    try {
      if (statSync(path).isFile()) {
        accessSync(path, constants.X_OK);
        return path;
      }
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The command line that runs `command` as `account`, and the environment
 * entries a login would set. setpriv (util-linux) switches user, group and
 * supplementary groups in one exec: node's own uid/gid spawn options would
 * drop the supplementary groups, among them the ones compose adds
 * (group_add: kvm, dialout) for the devices.
 */
export function asAccount(
  account: RunnerAccount,
  command: string,
  args: string[] = [],
  setpriv: string | null = systemCommand('setpriv') ?? null,
): { command: string; args: string[]; env: Record<string, string> } {
  if (setpriv === null) {
    throw new ConfigError(
      `setpriv (util-linux) is missing from ${ROOT_PATH.split(':').join(', ')}, ` +
        'and the wrapper needs it to run the runner as its user: install util-linux in your Dockerfile',
    );
  }
  const groups = account.groups.length > 0 ? ['--groups', account.groups.join(',')] : ['--clear-groups'];
  return {
    command: setpriv,
    args: ['--reuid', String(account.uid), '--regid', String(account.gid), ...groups, '--', command, ...args],
    env: { HOME: account.home, USER: account.name, LOGNAME: account.name },
  };
}
