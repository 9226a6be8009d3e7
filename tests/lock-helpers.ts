// Shared helpers for the lock tests: temporary lock directories, contender
// processes whose JSON-line events can be awaited, and polling with a deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const repoRoot = new URL('..', import.meta.url).pathname;

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
  const args = ['--import', 'tsx', join(repoRoot, 'tests/lock-contender.ts'), '--dir', dir, '--name', o.name];
  // --opt=value: a negative hold (-1) would otherwise read as an option
  args.push(`--rounds=${o.rounds ?? 1}`, `--hold-ms=${o.holdMs ?? 20}`);
  args.push(`--stale-ms=${o.staleMs ?? 2000}`, `--poll-ms=${o.pollMs ?? 200}`);
  if (o.resource) args.push('--resource', o.resource);
  return new Contender(spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
