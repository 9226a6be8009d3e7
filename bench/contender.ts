// One bench contender: takes the board lock `rounds` times through the
// wrapper's own queue (acquireLock), re-asking as soon as it releases, and
// prints every acquisition as one JSON line at the end. It prints `ready`
// first and starts only when the file `go` appears, so all contenders start
// together. Run as a process (tsx) or bundled and run by a container's node:
//   contender DIR NAME ROUNDS HOLD_MS [ETCD_ENDPOINTS ETCD_PREFIX]
// With ETCD_ENDPOINTS the lock is etcd's (lock/etcd), with the wrapper's
// default lease; DIR still holds the bench's own witness files.
//
// Order and exclusion are recorded without any clock: while it holds the
// lock, a contender numbers its grant from a shared counter file and marks
// itself holding with an O_EXCL file, so a broken lock shows as a repeated
// grant number or an overlap whatever the clocks say.
import { constants } from 'node:fs';
import { open, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResourceLockBackend } from '../lock/backend.ts';
import { directoryBackend } from '../lock/directory-backend.ts';
import { EtcdLock } from '../lock/etcd/etcd-lock.ts';
import { parseEtcdSettings } from '../lock/etcd/settings.ts';
import type { QueueOptions } from '../lock/ticket-queue.ts';

export interface Acquisition {
  name: string;
  ticket: number;
  /** Position among all grants of the run (0 = first), counted under the lock: the true order. */
  grant: number;
  /** Another contender was marked holding when this one got the lock. */
  overlapped: boolean;
  /** Times in ms on the host's monotonic clock (see now()). */
  requested: number;
  queued: number;
  acquired: number;
  released: number;
}

// CLOCK_MONOTONIC: one clock for every process and container on the host
// (Docker gives containers no time namespace). Never performance.timeOrigin +
// performance.now(): the origin is sampled once per process from two clocks,
// and a stall between the two reads (a page fault in a fresh container's cold
// node binary, measured at 37 ms here) shifts that process's whole timeline,
// which made a FIFO run look out of order.
const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The wrapper's defaults: what a board sees in production. */
export function benchQueueOptions(dir: string): QueueOptions {
  return { dir, resource: 'bench', staleMs: 8000, updateMs: 2000, pollMs: 500 };
}

/** Files of the bench itself, beside the lock's own in DIR. */
function witnessPaths(dir: string): { counter: string; holding: string } {
  return { counter: join(dir, 'bench-grants'), holding: join(dir, 'bench-holding') };
}

/** Marks this contender holding; false when another one already is (the lock let two in). */
async function markHolding(path: string): Promise<boolean> {
  try {
    await (await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666)).close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** The next grant number; correct only under the lock, which is the point. */
async function nextGrant(path: string): Promise<number> {
  const text = await readFile(path, 'utf8').catch(() => '0');
  const grant = Number(text) || 0;
  await writeFile(path, String(grant + 1), { mode: 0o666 });
  return grant;
}

/** Where the bench's lock is: etcd when endpoints are given, else the lock directory DIR. */
export interface ContenderEtcd {
  endpoints: string;
  prefix: string;
}

function benchBackend(dir: string, etcd: ContenderEtcd | undefined): ResourceLockBackend {
  if (!etcd) return directoryBackend(benchQueueOptions(dir));
  const settings = parseEtcdSettings({ RUNNER_LOCK_ETCD_ENDPOINTS: etcd.endpoints, RUNNER_LOCK_ETCD_PREFIX: etcd.prefix });
  if (!settings) throw new Error('no etcd endpoint');
  return new EtcdLock(settings, 'bench');
}

export async function runContender(dir: string, name: string, rounds: number, holdMs: number, etcd?: ContenderEtcd): Promise<Acquisition[]> {
  const backend = benchBackend(dir, etcd);
  process.stdout.write('ready\n');
  while (!(await stat(join(dir, 'go')).catch(() => undefined))) await sleep(2);
  const witness = witnessPaths(dir);
  const out: Acquisition[] = [];
  const job = { runner: name, runId: '0', attempt: '1', repository: 'bench/bench', job: 'bench' };
  for (let i = 0; i < rounds; i++) {
    const requested = now();
    let queued = requested;
    const lock = await backend.acquire({ ...job, runId: String(i) }, { signal: new AbortController().signal, onQueued: () => (queued = now()) });
    const acquired = now();
    const alone = await markHolding(witness.holding);
    const grant = await nextGrant(witness.counter);
    await sleep(holdMs);
    if (alone) await unlink(witness.holding);
    const released = now();
    await lock.release();
    out.push({ name, ticket: Number(lock.ticket.name), grant, overlapped: !alone, requested, queued, acquired, released });
  }
  await backend.close();
  return out;
}

/** Entry point when this file is the program (process mode, or the container bundle). */
export async function contenderMain(argv: string[]): Promise<void> {
  const [dir = '', name = 'c', rounds = '1', holdMs = '5', endpoints, prefix = '/gh-runner-fleet/bench'] = argv;
  const out = await runContender(dir, name, Number(rounds), Number(holdMs), endpoints ? { endpoints, prefix } : undefined);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
