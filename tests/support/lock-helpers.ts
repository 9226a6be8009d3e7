// Shared helpers for the lock tests: temporary lock directories, contender
// processes whose JSON-line events can be awaited, and children in process
// groups of their own that killChildren() ends, with everything they
// started, so a failing test never leaves the file hanging. Polling is
// waitFor (wait.ts).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmod, lstat, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const repoRoot = new URL('../..', import.meta.url).pathname;

const children = new Set<ChildProcess>();

/**
 * spawn() in a process group of its own, remembered until killChildren().
 * Orphans the child leaves behind (a fake runner whose wrapper was killed, a
 * job's `sleep`) stay in that group and keep our stdout/stderr pipes open: a
 * test file whose children outlive it never exits.
 */
export function spawnGroup(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  children.add(child);
  return child;
}

/**
 * SIGKILLs the process group of every child spawnGroup() started (also after
 * the child itself exited: its orphans may live on), then lets go of their
 * pipes. Call it from afterEach/after: it runs whether the test passed or not.
 */
export function killChildren(): void {
  for (const child of children) {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    }
    for (const stream of [child.stdin, child.stdout, child.stderr]) stream?.destroy();
    child.unref();
  }
  children.clear();
}

/** Every byte of every file under `dir`, recursively (lstat: nothing followed). */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await dirBytes(path) : (await lstat(path)).size;
  }
  return total;
}

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o777); // as a host lock dir: shared by UIDs, no sticky bit
  return dir;
}

export interface LockEvent {
  event: string;
  name: string;
  t: number;
  ticket?: number;
  round?: number;
  requested?: number;
  reason?: string;
}

export class Contender {
  readonly events: LockEvent[] = [];
  readonly exited: Promise<number | null>;
  private listeners: Array<() => void> = [];

  constructor(readonly child: ChildProcess) {
    let buffer = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        this.events.push(JSON.parse(buffer.slice(0, nl)) as LockEvent);
        buffer = buffer.slice(nl + 1);
      }
      for (const l of this.listeners) l();
    });
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(d));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first event named `event` (already seen or future). */
  waitFor(event: string, timeoutMs = 20_000): Promise<LockEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.find((e) => e.event === event);
        if (found) resolve(found);
        return !!found;
      };
      if (check()) return;
      const timer = setTimeout(() => reject(new Error(`no '${event}' from contender within ${timeoutMs} ms`)), timeoutMs);
      const listener = (): void => {
        if (check()) {
          clearTimeout(timer);
          this.listeners = this.listeners.filter((l) => l !== listener);
        }
      };
      this.listeners.push(listener);
    });
  }

  /** Signals the contender process itself (a crash, or SIGUSR1 to release); cleanup is killChildren(). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }
}

export interface ContenderOptions {
  name: string;
  rounds?: number;
  holdMs?: number;
  staleMs?: number;
  pollMs?: number;
  resource?: string;
}

export function startContender(dir: string, o: ContenderOptions): Contender {
  const args = ['--import', 'tsx', join(repoRoot, 'tests/lock/contender.ts'), '--dir', dir, '--name', o.name];
  // --opt=value: a negative hold (-1) would otherwise read as an option
  args.push(`--rounds=${o.rounds ?? 1}`, `--hold-ms=${o.holdMs ?? 20}`);
  args.push(`--stale-ms=${o.staleMs ?? 2000}`, `--poll-ms=${o.pollMs ?? 200}`);
  if (o.resource) args.push('--resource', o.resource);
  return new Contender(spawnGroup(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] }));
}
