// Is the job's worker process still there? Read from /proc, because a dead
// worker may linger as a zombie, which kill(pid, 0) would call alive: when the
// wrapper is PID 1 (`docker run` without --init) it inherits orphaned workers
// and never reaps them (Node waits only for its own children). Under compose
// (`init: true`) docker-init is PID 1 and reaps them, and /proc still answers.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessRef {
  pid: number;
  /** Start time in clock ticks (field 22 of /proc/PID/stat), to survive PID reuse. */
  startTime?: string;
}

interface ProcStat {
  state: string;
  ppid: number;
  startTime: string;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may contain spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, ppid] = fields;
  const startTime = fields[19];
  if (state === undefined || ppid === undefined || startTime === undefined) return undefined;
  return { state, ppid: Number(ppid), startTime };
}

function procAvailable(): boolean {
  return readStat(process.pid) !== undefined;
}

export function processRef(pid: number): ProcessRef {
  const stat = readStat(pid);
  return stat ? { pid, startTime: stat.startTime } : { pid };
}

export function isAlive(ref: ProcessRef): boolean {
  if (!procAvailable()) {
    try {
      process.kill(ref.pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  const stat = readStat(ref.pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
  return ref.startTime === undefined || stat.startTime === ref.startTime;
}

export function parentPid(pid: number): number | undefined {
  return readStat(pid)?.ppid;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/**
 * The job's worker: the nearest ancestor of `start` (inclusive) whose command
 * line matches `pattern` (Runner.Worker in actions/runner), else `start` itself,
 * which is the process that ran the hook script.
 */
export function findWorker(start: number, pattern: RegExp): number {
  let pid: number | undefined = start;
  for (let depth = 0; pid !== undefined && pid > 1 && depth < 16; depth++) {
    if (pattern.test(commandLine(pid))) return pid;
    pid = parentPid(pid);
  }
  return start;
}

/**
 * Every live descendant of `pid`, found through /proc. run.sh puts run-helper
 * in a process group of its own (job control), so signalling run.sh's group
 * would miss the Listener and its Worker: when they must go, the wrapper
 * signals the whole tree.
 */
export function descendants(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    const child = Number(entry);
    const stat = readStat(child);
    if (!stat || stat.state === 'Z') continue;
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), child]);
  }
  const found: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    for (const child of children.get(todo.pop()!) ?? []) {
      found.push(child);
      todo.push(child);
    }
  }
  return found;
}
