// BOARD_RUNNERS: `name:label1[,label2];name2:label1` — one runner per board,
// each carrying only its own labels. A malformed entry is an error quoting the
// entry, never skipped.
import { ConfigError } from '../../core/errors.ts';
import { isValidResource } from '../../lock/layout.ts';
import { boardResourceIdSetting, parseLabels } from './names.ts';
import { boardHardware, checkBoardSettingClash, checkGlobalHardware, checkPerBoardSettingNames, type BoardHardware } from './board-hardware.ts';

export interface BoardRunner {
  /** Board name as the user wrote it; part of the runner and container name. */
  name: string;
  labels: string[];
  /** Lock resource shared with other runners on the same hardware, if any. */
  resourceId?: string;
  /** Runner, service and container name: `<prefix>runner-<board>`. */
  service: string;
  /** Its devices, environment, bind mounts and groups (BOARD_RUNNER_* and BOARD_RUNNER_*_<BOARD>). */
  hardware: BoardHardware;
}

const BOARD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Parses BOARD_RUNNERS. `lookup` reads other settings (per-board
 * `RUNNER_RESOURCE_ID_<BOARD>`, else the global `RUNNER_RESOURCE_ID`; the
 * hardware settings of board-hardware.ts). `settingNames`, every setting name
 * given (environment and env file), lets a per-board setting naming no board
 * be refused.
 */
export function parseBoardRunners(
  text: string,
  prefix: string,
  lookup: (setting: string) => string | undefined,
  settingNames: Iterable<string> = [],
): BoardRunner[] {
  checkGlobalHardware(lookup);
  const boards: BoardRunner[] = [];
  const entries = text.split(';').map((entry) => entry.trim());
  entries.forEach((entry, index) => {
    if (entry === '') {
      if (index === entries.length - 1) return; // a trailing ';' is fine
      throw new ConfigError(`BOARD_RUNNERS has an empty entry in '${text}': remove the extra ';'`);
    }
    const colon = entry.indexOf(':');
    if (colon < 0) {
      throw new ConfigError(`BOARD_RUNNERS entry '${entry}' has no ':': write it as name:label1,label2`);
    }
    const name = entry.slice(0, colon).trim();
    const labelText = entry.slice(colon + 1).trim();
    if (name === '') throw new ConfigError(`BOARD_RUNNERS entry '${entry}' has an empty board name: write it as name:label1,label2`);
    if (!BOARD_NAME.test(name)) {
      throw new ConfigError(
        `BOARD_RUNNERS entry '${entry}': board name '${name}' cannot be part of a Docker name (letters, digits, '_', '.', '-'): rename the board`,
      );
    }
    if (labelText === '') throw new ConfigError(`BOARD_RUNNERS entry '${entry}' has no labels: write it as name:label1,label2`);
    if (boards.some((board) => board.name.toLowerCase() === name.toLowerCase())) {
      throw new ConfigError(`BOARD_RUNNERS entry '${entry}' repeats board name '${name}': each board needs its own name`);
    }
    const labels = parseLabels(labelText, `BOARD_RUNNERS entry '${entry}'`);
    const resourceId = resolveResourceId(name, lookup);
    boards.push({ name, labels, service: `${prefix}runner-${name}`, ...(resourceId ? { resourceId } : {}), hardware: boardHardware(name, lookup) });
  });
  checkBoardSettingClash(boards.map((board) => board.name));
  checkPerBoardSettingNames(
    settingNames,
    boards.map((board) => board.name),
    lookup,
  );
  return boards;
}

function resolveResourceId(board: string, lookup: (setting: string) => string | undefined): string | undefined {
  for (const setting of [boardResourceIdSetting(board), 'RUNNER_RESOURCE_ID']) {
    const value = lookup(setting)?.trim();
    if (!value) continue;
    // The wrapper and make locks use the same rule: a resource ID names files in the lock directory.
    if (!isValidResource(value)) {
      throw new ConfigError(`${setting} '${value}' is not a usable resource ID (letters, digits, '_', '-', at most 64): change ${setting}`);
    }
    return value;
  }
  return undefined;
}
