// One bench contender: takes the board lock `rounds` times through the
// wrapper's own queue (acquireLock), re-asking as soon as it releases, and
// prints every acquisition as one JSON line at the end. It prints `ready`
// first and starts only when the file `go` appears, so all contenders start
// together. Run as a process (tsx) or bundled and run by a container's node:
//   contender DIR NAME ROUNDS HOLD_MS
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock } from '../lock/resource-lock.ts';
import type { QueueOptions } from '../lock/ticket-queue.ts';

export interface Acquisition {
  name: string;
  ticket: number;
  requested: number;
  acquired: number;
  released: number;
}

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The wrapper's defaults: what a board sees in production. */
export function benchQueueOptions(dir: string): QueueOptions {
  return { dir, resource: 'bench', staleMs: 8000, updateMs: 2000, pollMs: 500 };
}

export async function runContender(dir: string, name: string, rounds: number, holdMs: number): Promise<Acquisition[]> {
  process.stdout.write('ready\n');
  while (!(await stat(join(dir, 'go')).catch(() => undefined))) await sleep(2);
  const out: Acquisition[] = [];
  const job = { runner: name, runId: '0', attempt: '1', repository: 'bench/bench', job: 'bench' };
  for (let i = 0; i < rounds; i++) {
    const requested = now();
    const lock = await acquireLock(benchQueueOptions(dir), { ...job, runId: String(i) }, { signal: new AbortController().signal });
    const acquired = now();
    await sleep(holdMs);
    const released = now();
    await lock.release();
    out.push({ name, ticket: lock.ticket.seq, requested, acquired, released });
  }
  return out;
}

/** Entry point when this file is the program (process mode, or the container bundle). */
export async function contenderMain(argv: string[]): Promise<void> {
  const [dir = '', name = 'c', rounds = '1', holdMs = '5'] = argv;
  const out = await runContender(dir, name, Number(rounds), Number(holdMs));
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
