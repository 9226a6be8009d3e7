// Per-board hardware: the devices, environment, bind mounts and extra groups a
// board runner gets. Each setting has a global default and a per-board value,
// `<SETTING>_<BOARD>` (boardSettingName's rule):
//   BOARD_RUNNER_DEVICES   host[:container], ',' or ';' separated — the board's list replaces the global one
//   BOARD_RUNNER_ENV       KEY=VALUE;KEY2=VALUE2 — the board's keys override the global ones, the others stay
//   BOARD_RUNNER_VOLUMES   host:container[:ro|rw], ';' separated — the board's mount at a container path replaces the global one there
//   BOARD_RUNNER_GROUP_ADD group names or ids, ',' or ';' separated (default dialout) — the board's list replaces the global one
// Everything is checked here, once: a malformed entry is an error quoting it,
// and nothing a board setting says can switch the lock or the runner off.
import { posix } from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import { defaultLockDir } from '../../lock/layout.ts';
import { FLEET_DIR, RUNNER_HOME, STATE_DIR, workDirPath } from '../../core/constants.ts';
import { boardSettingName } from './names.ts';

export interface DeviceMapping {
  host: string;
  container: string;
}

export interface BoardDevice extends DeviceMapping {
  /** The setting it came from, for messages (BOARD_RUNNER_DEVICES or BOARD_RUNNER_DEVICES_<BOARD>). */
  setting: string;
}

export interface BoardVolume {
  host: string;
  container: string;
  readOnly: boolean;
  setting: string;
}

export interface BoardHardware {
  devices: BoardDevice[];
  /** BOARD_RUNNER_ENV merged with BOARD_RUNNER_ENV_<BOARD>, in that order. */
  environment: Record<string, string>;
  volumes: BoardVolume[];
  /** Supplementary groups (names resolved in the image, or numeric ids). */
  groups: string[];
}

/** The per-board hardware settings (each also read as `<SETTING>_<BOARD>`). */
export const HARDWARE_SETTINGS = ['BOARD_RUNNER_DEVICES', 'BOARD_RUNNER_ENV', 'BOARD_RUNNER_VOLUMES', 'BOARD_RUNNER_GROUP_ADD'] as const;
/** Every setting that has a per-board form. */
export const PER_BOARD_SETTINGS = ['RUNNER_RESOURCE_ID', ...HARDWARE_SETTINGS] as const;

export const DEFAULT_BOARD_GROUPS = ['dialout'];

type Lookup = (setting: string) => string | undefined;

/** One board's hardware: the per-board settings over the global ones. */
export function boardHardware(board: string, lookup: Lookup): BoardHardware {
  const own = (setting: string): string => boardSettingName(setting, board);
  const paths = reservedPaths(lookup);

  const devicesSetting = lookup(own('BOARD_RUNNER_DEVICES')) !== undefined ? own('BOARD_RUNNER_DEVICES') : 'BOARD_RUNNER_DEVICES';
  const devices = parseDevices(lookup(devicesSetting) ?? '', devicesSetting);

  const environment = {
    ...parseEnvironment(lookup('BOARD_RUNNER_ENV') ?? '', 'BOARD_RUNNER_ENV', board),
    ...parseEnvironment(lookup(own('BOARD_RUNNER_ENV')) ?? '', own('BOARD_RUNNER_ENV'), board),
  };

  const volumes = new Map<string, BoardVolume>();
  for (const setting of ['BOARD_RUNNER_VOLUMES', own('BOARD_RUNNER_VOLUMES')]) {
    for (const volume of parseVolumes(lookup(setting) ?? '', setting, paths)) volumes.set(volume.container, volume);
  }

  const groupsSetting = lookup(own('BOARD_RUNNER_GROUP_ADD')) !== undefined ? own('BOARD_RUNNER_GROUP_ADD') : 'BOARD_RUNNER_GROUP_ADD';
  const groupsText = lookup(groupsSetting);
  const groups = groupsText === undefined ? [...DEFAULT_BOARD_GROUPS] : parseGroups(groupsText, groupsSetting);

  return { devices, environment, volumes: [...volumes.values()], groups };
}

/** Checks the global settings on their own, so a bad one is reported even before a board uses it. */
export function checkGlobalHardware(lookup: Lookup): void {
  parseDevices(lookup('BOARD_RUNNER_DEVICES') ?? '', 'BOARD_RUNNER_DEVICES');
  parseEnvironment(lookup('BOARD_RUNNER_ENV') ?? '', 'BOARD_RUNNER_ENV');
  parseVolumes(lookup('BOARD_RUNNER_VOLUMES') ?? '', 'BOARD_RUNNER_VOLUMES', reservedPaths(lookup));
  const groups = lookup('BOARD_RUNNER_GROUP_ADD');
  if (groups !== undefined) parseGroups(groups, 'BOARD_RUNNER_GROUP_ADD');
}

/**
 * Refuses a per-board setting (`<SETTING>_<X>`, non-empty) whose X is no board
 * of BOARD_RUNNERS: a typo would otherwise be ignored and the board run without it.
 */
export function checkPerBoardSettingNames(names: Iterable<string>, boards: string[], lookup: Lookup): void {
  const known = new Set(boards.flatMap((board) => PER_BOARD_SETTINGS.map((setting) => boardSettingName(setting, board))));
  for (const name of new Set(names)) {
    const setting = PER_BOARD_SETTINGS.find((s) => name.startsWith(`${s}_`));
    if (!setting || known.has(name) || lookup(name) === undefined) continue;
    const list =
      boards.length === 0 ? 'BOARD_RUNNERS is empty' : `the boards are ${boards.map((board) => `${board} (${boardSettingName(setting, board)})`).join(', ')}`;
    throw new ConfigError(`${name} names no board of BOARD_RUNNERS (${list}): fix the board name in ${name} or add the board to BOARD_RUNNERS`);
  }
}

/** Refuses two boards whose per-board settings would have the same name (`a-b` and `a.b` are both `_A_B`). */
export function checkBoardSettingClash(boards: string[]): void {
  const seen = new Map<string, string>();
  for (const board of boards) {
    const key = boardSettingName('', board);
    const other = seen.get(key);
    if (other !== undefined) {
      throw new ConfigError(
        `BOARD_RUNNERS boards '${other}' and '${board}' would share per-board settings (both ${boardSettingName('BOARD_RUNNER_DEVICES', board)}): rename one of them`,
      );
    }
    seen.set(key, board);
  }
}

/** Separators: ';' always, ',' too for lists of paths or groups (neither ever holds one). */
function entries(text: string, setting: string, separators: RegExp): string[] {
  const items = text.split(separators).map((item) => item.trim());
  items.forEach((item, index) => {
    if (item === '' && index !== items.length - 1) throw new ConfigError(`${setting} has an empty entry in '${text}': remove the extra separator`);
  });
  return items.filter((item) => item !== '');
}

/** An absolute path that is safe in `host:container` (no ':', ',', line break or '..'); trailing '/' dropped. */
function mountPath(text: string): string | undefined {
  if (!text.startsWith('/') || /[:,\n\r]/.test(text) || text.split('/').includes('..')) return undefined;
  return text.length > 1 ? text.replace(/\/+$/, '') : text;
}

function parseDevices(text: string, setting: string): BoardDevice[] {
  const devices: BoardDevice[] = [];
  for (const item of entries(text, setting, /[;,]/)) {
    const [hostText = '', containerText = hostText, ...rest] = item.split(':');
    const host = mountPath(hostText);
    const container = mountPath(containerText);
    if (!host || !container || rest.length > 0) {
      throw new ConfigError(
        `${setting} item '${item}' is not host[:container] with absolute paths: write it like /dev/ttyUSB0 or /dev/serial/by-id/usb-FTDI_…-port0:/dev/ttyUSB0 (a by-path name holds ':', which Docker cannot map: use the by-id one)`,
      );
    }
    if (devices.some((d) => d.container === container))
      throw new ConfigError(`${setting} item '${item}' maps a second device to ${container}: give each device its own container path`);
    devices.push({ host, container, setting });
  }
  return devices;
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * What a board's environment may not set: the runner's and the lock wrapper's
 * own settings, and whatever would run code of its choosing in the wrapper or
 * the runner before the lock is taken.
 */
const RESERVED_PREFIXES = ['RUNNER_', 'ACTIONS_', 'GITHUB_', 'LD_', 'DOTNET_', 'COMPLUS_', 'CORECLR_', 'NODE_', 'BASH_FUNC_'];
const RESERVED_KEYS = [
  'PATH',
  'HOME',
  'USER',
  'SHELL',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'IFS',
  'PS4',
  'SHLVL',
  'DISABLE_AUTO_UPDATE',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
];

/** Names that say "secret": the compose file (0644) and `docker inspect` show every value, so none goes there. */
const SECRET_NAME = /PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|API_KEY|(^|_)PAT$/i;

export function reservedEnvKey(key: string): boolean {
  const upper = key.toUpperCase();
  return RESERVED_KEYS.includes(upper) || RESERVED_PREFIXES.some((prefix) => upper.startsWith(prefix));
}

function parseEnvironment(text: string, setting: string, board?: string): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const entry of entries(text, setting, /;/)) {
    const equals = entry.indexOf('=');
    const key = equals < 0 ? entry : entry.slice(0, equals).trim();
    if (equals < 0 || !ENV_KEY.test(key)) {
      throw new ConfigError(
        `${setting} entry '${entry}' is not KEY=VALUE (KEY: letters, digits and '_', not starting with a digit): write it like ${setting}='PDU_OUTLET=3;BOARD_IP=10.0.0.5'`,
      );
    }
    if (reservedEnvKey(key)) {
      const lock = board ? boardSettingName('RUNNER_RESOURCE_ID', board) : 'RUNNER_RESOURCE_ID_<BOARD>';
      throw new ConfigError(
        `${setting} sets ${key}, which a board setting may not change (RUNNER_*, ACTIONS_*, GITHUB_*, NODE_*, LD_*, DOTNET_*, PATH, HOME, the proxy settings and the like belong to the runner, the lock wrapper or the whole fleet): remove it from ${setting} (labels go in BOARD_RUNNERS, the lock in ${lock}, the board's name is RUNNER_BOARD already)`,
      );
    }
    if (SECRET_NAME.test(key)) {
      const volumes = board ? boardSettingName('BOARD_RUNNER_VOLUMES', board) : 'BOARD_RUNNER_VOLUMES_<BOARD>';
      throw new ConfigError(
        `${setting} sets ${key}, whose name says it is a secret: values of ${setting} are written into the compose file and shown by docker inspect, which every user of the host may read; put it in a file only root and the runner can read and mount that with ${volumes} (host:container:ro)`,
      );
    }
    if (key in environment) throw new ConfigError(`${setting} entry '${entry}' sets ${key} a second time: keep one`);
    environment[key] = entry.slice(equals + 1).trim();
  }
  return environment;
}

interface ReservedPaths {
  /** Image content a mount at or above would hide: the wrapper, the runner. */
  image: string[];
  /** The toolkit's own mounts: nothing at or below them. */
  mounts: string[];
  /** Runner files in its root that a mount would replace. */
  runnerFiles: string[];
}

function reservedPaths(lookup: Lookup): ReservedPaths {
  const lockDir = lookup('RUNNER_LOCK_DIR') ?? defaultLockDir;
  const workdir = workDirPath(lookup('RUNNER_WORKDIR') ?? '_work');
  return {
    image: [FLEET_DIR, RUNNER_HOME, workdir],
    mounts: [FLEET_DIR, STATE_DIR, lockDir, '/etc/udev/rules.d'],
    runnerFiles: [
      'bin',
      'externals',
      'run.sh',
      'run-helper.sh',
      'config.sh',
      'env.sh',
      'safe_sleep.sh',
      '.env',
      '.path',
      '.runner',
      '.runner_migrated',
      '.credentials',
      '.credentials_migrated',
      '.credentials_rsaparams',
      '_diag',
    ].map((f) => `${RUNNER_HOME}/${f}`),
  };
}

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);

function parseVolumes(text: string, setting: string, reserved: ReservedPaths): BoardVolume[] {
  const volumes: BoardVolume[] = [];
  for (const entry of entries(text, setting, /;/)) {
    const [hostText = '', containerText = '', mode, ...rest] = entry.split(':');
    const host = mountPath(hostText);
    const container = mountPath(containerText);
    if (!host || !container || rest.length > 0 || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
      throw new ConfigError(`${setting} entry '${entry}' is not host:container[:ro] with absolute paths: write it like /srv/tftp/board1:/srv/tftp:ro`);
    }
    const clash =
      reserved.image.find((path) => within(path, container)) ??
      reserved.mounts.find((path) => within(container, path)) ??
      reserved.runnerFiles.find((path) => within(container, path));
    if (clash !== undefined) {
      throw new ConfigError(`${setting} entry '${entry}' mounts over ${clash}, which the runner or the lock wrapper needs: mount it at another container path`);
    }
    if (volumes.some((v) => v.container === container)) throw new ConfigError(`${setting} entry '${entry}' mounts a second volume at ${container}: keep one`);
    volumes.push({ host: posix.normalize(host), container: posix.normalize(container), readOnly: mode === 'ro', setting });
  }
  return volumes;
}

const GROUP = /^(?:\d{1,10}|[A-Za-z_][A-Za-z0-9_.-]{0,31})$/;

function parseGroups(text: string, setting: string): string[] {
  const groups: string[] = [];
  for (const group of entries(text, setting, /[;,]/)) {
    if (!GROUP.test(group)) throw new ConfigError(`${setting} item '${group}' is not a group name or id: write it like dialout,plugdev or 20`);
    if (!groups.includes(group)) groups.push(group);
  }
  return groups;
}
