// The runner's processes as the wrapper sees them in /proc. The wrapper runs
// as root and jobs run as the runner's user, so nothing a job names is ever
// opened here: paths are built from numeric pids only, from the wrapper's
// own child or a listing of /proc, and every read is bounded.
import { closeSync, constants, openSync, readdirSync, readSync } from 'node:fs';

export interface ProcessRef {
  pid: number;
  /** Start time in clock ticks (field 22 of /proc/PID/stat), to survive PID reuse. */
  startTime: string;
}

interface ProcStat {
  state: string;
  ppid: number;
  startTime: string;
}

/** actions/runner's two executables (run-helper.sh.template, JobDispatcher.cs): the process names the wrapper trusts. */
export const LISTENER_NAME = 'Runner.Listener';
export const WORKER_NAME = 'Runner.Worker';

/** /proc is scanned at most this far (a fork bomb in a job must not stall the wrapper). */
const MAX_PROCESSES = 65_536;

function validPid(pid: unknown): pid is number {
  return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0;
}

/** The first `max` bytes of /proc/PID/<file>, or undefined. Never a path from anywhere but a number. */
function readProc(pid: number, file: 'stat' | 'cmdline', max: number): Buffer | undefined {
  if (!validPid(pid)) return undefined;
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/${file}`, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(max);
    const n = readSync(fd, buffer, 0, max, null);
    return buffer.subarray(0, n);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function readStat(pid: number): ProcStat | undefined {
  // A stat line is well under 1 KiB; comm (in parentheses) is at most 16 bytes, but may hold ')' and spaces.
  const text = readProc(pid, 'stat', 2048)?.toString('latin1');
  if (!text) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, ppid] = fields;
  const startTime = fields[19];
  if (state === undefined || ppid === undefined || startTime === undefined || !/^\d+$/.test(startTime)) return undefined;
  return { state, ppid: Number(ppid), startTime };
}

/** The last path component of argv[0] (what run-helper.sh and JobDispatcher.cs start the runner's programs as). */
function programName(pid: number): string {
  const argv = readProc(pid, 'cmdline', 4096);
  if (!argv) return '';
  const end = argv.indexOf(0);
  const argv0 = argv.subarray(0, end < 0 ? argv.length : end).toString('utf8');
  return argv0.slice(argv0.lastIndexOf('/') + 1);
}

export function processRef(pid: number): ProcessRef | undefined {
  const stat = readStat(pid);
  return stat ? { pid, startTime: stat.startTime } : undefined;
}

/**
 * Still the same process (pid and start time), and not a zombie. Read from
 * /proc, not kill(pid, 0): a dead worker may linger as a zombie, which
 * kill(pid, 0) would call alive: when the wrapper is PID 1 (`docker run`
 * without --init) it inherits orphaned workers and never reaps them (Node
 * waits only for its own children). Under compose (`init: true`) docker-init
 * is PID 1 and reaps them, and /proc still answers.
 */
export function isAlive(ref: ProcessRef): boolean {
  const stat = readStat(ref.pid);
  return !!stat && stat.state !== 'Z' && stat.state !== 'X' && stat.startTime === ref.startTime;
}

/** Live processes by parent, from one bounded listing of /proc. */
function childrenByParent(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return children;
  }
  let seen = 0;
  for (const entry of entries) {
    if (!/^\d{1,10}$/.test(entry)) continue;
    if (++seen > MAX_PROCESSES) break;
    const pid = Number(entry);
    const stat = readStat(pid);
    if (!stat || stat.state === 'Z') continue;
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  }
  return children;
}

/**
 * The job's worker: a Runner.Worker that is a child of the Listener, the
 * Runner.Listener nearest to `runScriptPid` (run.sh) in its tree. A job's own
 * processes are all below the worker and cannot re-parent themselves under
 * the Listener (an orphan goes to PID 1), so whatever a job names its
 * processes, none of them is taken for the worker; nor is anything outside
 * run.sh's tree, such as a process a previous job left behind.
 */
export function findWorker(runScriptPid: number): ProcessRef | undefined {
  if (!validPid(runScriptPid)) return undefined;
  const children = childrenByParent();
  let level = [runScriptPid];
  for (let depth = 0; depth < 8 && level.length > 0; depth++) {
    const listeners = level.filter((pid) => programName(pid) === LISTENER_NAME);
    if (listeners.length > 0) {
      const workers = listeners.flatMap((pid) => children.get(pid) ?? []).filter((pid) => programName(pid) === WORKER_NAME);
      // actions/runner runs one Worker at a time; should there be more, the newest is the job now running
      const refs = workers.map(processRef).filter((r): r is ProcessRef => r !== undefined);
      return refs.sort((a, b) => Number(BigInt(b.startTime) - BigInt(a.startTime)))[0];
    }
    level = level.flatMap((pid) => children.get(pid) ?? []);
  }
  return undefined;
}

/**
 * Every live descendant of `pid`, found through /proc. run.sh puts run-helper
 * in a process group of its own (job control), so signalling run.sh's group
 * would miss the Listener and its Worker: when they must go, the wrapper
 * signals the whole tree.
 */
export function descendants(pid: number): number[] {
  const children = childrenByParent();
  const found: number[] = [];
  const todo = [pid];
  while (todo.length > 0 && found.length < MAX_PROCESSES) {
    for (const child of children.get(todo.pop()!) ?? []) {
      found.push(child);
      todo.push(child);
    }
  }
  return found;
}
