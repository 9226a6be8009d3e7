// The runner's own .env ($RUNNER_HOME/.env, on the persistent volume).
// Runner.Listener reads it at start (actions/runner src/Runner.Listener/
// Program.cs, LoadAndSetEnv) and sets every line's KEY=VALUE in its own
// environment, over what it inherited; its Runner.Worker processes inherit the
// result. A job hook set there would therefore replace the wrapper's lock
// hooks, and jobs would use the shared resource unlocked. The supervisor moves
// such lines to RUNNER_FLEET_USER_HOOK_JOB_* (which our hooks chain) before the
// runner starts: the hooks still run, and the move survives restarts, because
// the runner itself applies the moved lines with the same values.
import { readFile, realpath, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../lock/atomic-write.ts';
import { ConfigError } from '../lock/errors.ts';
import { errorCode } from '../lock/files.ts';

export type HookKind = 'started' | 'completed';
export const hookKinds: readonly HookKind[] = ['started', 'completed'];

/** The runner's variable for each hook. */
export const runnerHookVar: Record<HookKind, string> = {
  started: 'ACTIONS_RUNNER_HOOK_JOB_STARTED',
  completed: 'ACTIONS_RUNNER_HOOK_JOB_COMPLETED',
};

/** Where our hook scripts find the user's hook to chain. */
export const userHookVar: Record<HookKind, string> = {
  started: 'RUNNER_FLEET_USER_HOOK_JOB_STARTED',
  completed: 'RUNNER_FLEET_USER_HOOK_JOB_COMPLETED',
};

/** A hook the file sets: a path, or null when it unsets the variable (`KEY=` with nothing after). */
export type FileHooks = Partial<Record<HookKind, string | null>>;

export interface HookMove {
  /** The file's text with the runner's hook lines moved; the same string when nothing moved. */
  text: string;
  /** The runner hook variables whose lines were moved (or dropped). */
  moved: string[];
  /** The user hooks the runner will see once it applies the new text. */
  hooks: FileHooks;
}

interface Line {
  text: string;
  eol: string;
}

/** Lines as .NET's File.ReadAllLines cuts them (\r\n, \n or \r), each with its own line ending kept. */
function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  const re = /([^\r\n]*)(\r\n|\n|\r|$)/g;
  for (let m = re.exec(text); m !== null && m.index < text.length; m = re.exec(text)) {
    lines.push({ text: m[1] ?? '', eol: m[2] ?? '' });
    if (m[2] === '') break;
  }
  return lines;
}

/**
 * What the runner makes of one line: the key is everything before the first
 * '=' (which must not be the first character), untrimmed; the value is the rest,
 * verbatim (no quotes removed); an empty value unsets the variable. Other
 * lines (comments without '=', blank lines) are ignored.
 */
export function runnerAssignment(line: string): { key: string; value: string | null } | undefined {
  const at = line.indexOf('=');
  if (at <= 0) return undefined;
  const value = line.slice(at + 1);
  return { key: line.slice(0, at), value: value === '' ? null : value };
}

function marker(kind: HookKind): string {
  // No '=' in it: the runner ignores it.
  return `# runner-fleet: moved from ${runnerHookVar[kind]}, which would replace the lock wrapper's hook; its hook chains this one`;
}

/**
 * Moves the lines that set the runner's hook variables to our user-hook
 * variables. Per hook, the file's last assignment is the one the runner would
 * have applied. `ours` are the wrapper's hook paths: a line naming one of them
 * is dropped, not chained (it would take the lock twice).
 */
export function moveHookLines(text: string, ours: Record<HookKind, string>): HookMove {
  const lines = splitLines(text);
  const hooks: FileHooks = {};
  const moved: string[] = [];
  const drop = new Set<number>();
  const insert = new Map<number, string[]>();
  for (const kind of hookKinds) {
    let runnerValue: string | null | undefined;
    let runnerLast = -1;
    let userValue: string | null | undefined;
    const runnerLines: number[] = [];
    const ourLines: number[] = [];
    lines.forEach((line, i) => {
      if (line.text === marker(kind)) ourLines.push(i);
      const a = runnerAssignment(line.text);
      if (a?.key === runnerHookVar[kind]) {
        runnerLines.push(i);
        runnerValue = a.value;
        runnerLast = i;
      } else if (a?.key === userHookVar[kind]) {
        ourLines.push(i);
        userValue = a.value;
      }
    });
    if (runnerLines.length === 0) {
      if (userValue !== undefined) hooks[kind] = userValue; // moved at an earlier start
      continue;
    }
    moved.push(runnerHookVar[kind]);
    for (const i of runnerLines) drop.add(i);
    if (runnerValue === ours[kind]) {
      // Our own hook named there: nothing of the user's to chain.
      if (userValue !== undefined) hooks[kind] = userValue;
      continue;
    }
    // The runner's hook line wins over an older moved one: it is what the user set last.
    for (const i of ourLines) drop.add(i);
    hooks[kind] = runnerValue ?? null;
    if (runnerValue) insert.set(runnerLast, [marker(kind), `${userHookVar[kind]}=${runnerValue}`]);
  }
  if (moved.length === 0) return { text, moved, hooks };
  const eol = lines.find((l) => l.eol !== '')?.eol ?? '\n';
  let out = '';
  lines.forEach((line, i) => {
    for (const added of insert.get(i) ?? []) out += `${added}${eol}`;
    if (!drop.has(i)) out += `${line.text}${line.eol}`;
  });
  return { text: out, moved, hooks };
}

/** Replaces the file whole (atomically), keeping its mode and, as root, its owner. */
async function rewriteKeepingMode(path: string, data: string): Promise<void> {
  const target = await realpath(path); // a symlinked .env stays a symlink
  const info = await stat(target);
  const keepOwner = process.getuid?.() === 0 && (info.uid !== 0 || info.gid !== 0);
  await writeFileAtomic(target, data, { mode: info.mode & 0o7777, ...(keepOwner ? { owner: { uid: info.uid, gid: info.gid } } : {}) });
}

/**
 * Reads the runner's .env; moves hook lines out of the runner's way (see the
 * file comment) and returns the user hooks it sets. A missing file sets none.
 * Throws a one-line ConfigError when the file cannot be read or rewritten:
 * the runner must not take jobs it could not lock for.
 */
export async function adoptEnvFileHooks(
  path: string,
  ours: Record<HookKind, string>,
  resource: string,
  log: (line: string) => void,
): Promise<FileHooks> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return {};
    const uid = process.getuid?.() ?? '?';
    throw new ConfigError(
      `the runner's ${path} cannot be read by uid ${uid} (${errorCode(err)}) to check it for ${runnerHookVar.started}/${runnerHookVar.completed}, which would turn the lock on ${resource} off: make it readable`,
    );
  }
  const move = moveHookLines(text, ours);
  if (move.moved.length === 0) return move.hooks;
  const names = move.moved.join(' and ');
  try {
    await rewriteKeepingMode(path, move.text);
  } catch (err) {
    const uid = process.getuid?.() ?? '?';
    throw new ConfigError(
      `the runner's ${path} sets ${names}, which the runner would apply over the lock wrapper's hooks, running jobs on ${resource} unlocked, and uid ${uid} cannot rewrite it (${errorCode(err)}): rename ${names} there to ${move.moved.map((v) => v.replace('ACTIONS_RUNNER_HOOK_', 'RUNNER_FLEET_USER_HOOK_')).join(' and ')} (the wrapper's hooks run them) or make the file and its directory writable`,
    );
  }
  log(
    `moved ${names} in ${path} to RUNNER_FLEET_USER_HOOK_JOB_*: the runner applies that file over its environment, so they would have replaced the lock hooks and run jobs on ${resource} unlocked; they still run, chained by the lock hooks`,
  );
  return move.hooks;
}
