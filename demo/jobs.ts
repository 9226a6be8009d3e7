// The burst of jobs: queued on the GitHub stand-in for both orgs at once,
// watched until they end. Each job's one step prints the host clock (ms) when
// it starts and ends (`date +%s%3N`), so for a board job started/finished
// bound the time it held the board (the step runs only once the lock wrapper's
// job-started hook has the lock, and the completed hook releases it after).
import { eventOutput, type GitHubStandIn, type JobView } from '../standins/github/server.ts';
import { BOARD, GENERIC_LABEL, type Org } from './fleets.ts';

export interface PlannedJob {
  name: string;
  org: Org;
  board: boolean;
  seconds: number;
}

/** 10 jobs, alternating orgs: 6 on the shared board (2 s each), 4 generic (3 s each). */
export const PLAN: PlannedJob[] = [
  { name: 'flash-kernel', org: 'acme', board: true, seconds: 2 },
  { name: 'boot-test', org: 'globex', board: true, seconds: 2 },
  { name: 'unit-tests', org: 'acme', board: false, seconds: 3 },
  { name: 'lint', org: 'globex', board: false, seconds: 3 },
  { name: 'serial-smoke', org: 'acme', board: true, seconds: 2 },
  { name: 'hv-selftest', org: 'globex', board: true, seconds: 2 },
  { name: 'build-docs', org: 'acme', board: false, seconds: 3 },
  { name: 'cross-build', org: 'globex', board: false, seconds: 3 },
  { name: 'power-cycle', org: 'acme', board: true, seconds: 2 },
  { name: 'stress-boot', org: 'globex', board: true, seconds: 2 },
];

export interface JobRecord {
  job: string;
  org: Org;
  runner: string | null;
  board: string | null;
  resource: string | null;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  result: string | null;
  waited_ms: number | null;
  ran_ms: number | null;
  run_id: number;
  job_id: number;
}

interface Tracked {
  plan: PlannedJob;
  id: number;
  runId: number;
  queuedAt: number;
  announced: { picked?: boolean; started?: boolean; ended?: boolean };
}

const stepScript = (seconds: number): string => ['echo "step-start $(date +%s%3N)"', `sleep ${seconds}`, 'echo "step-end $(date +%s%3N)"'].join('\n');

export const repositoryOf = (org: Org): string => `${org}/firmware`;

export class Burst {
  readonly tracked: Tracked[] = [];
  constructor(private readonly github: GitHubStandIn) {}

  enqueue(plan: PlannedJob[] = PLAN): void {
    for (const p of plan) {
      const created = this.github.enqueueJob({
        org: p.org,
        repository: repositoryOf(p.org),
        runs_on: [p.board ? BOARD : GENERIC_LABEL],
        job: p.name,
        workflow: 'demo',
        steps: [{ name: p.name, run: stepScript(p.seconds) }],
      });
      this.tracked.push({ plan: p, id: created.job_id, runId: created.run_id, queuedAt: Date.now(), announced: {} });
    }
  }

  /** The job's name by run id (lock records carry the run id). */
  nameOfRun(runId: string): string | undefined {
    return this.tracked.find((t) => String(t.runId) === runId)?.plan.name;
  }

  done(): boolean {
    return this.tracked.every((t) => this.github.job(t.id)?.status === 'completed');
  }

  /** New start/end lines since the last call. */
  poll(): string[] {
    const lines: string[] = [];
    for (const t of this.tracked) {
      const view = this.github.job(t.id);
      if (!view) continue;
      const where = `${t.plan.org.padEnd(6)} ${t.plan.name.padEnd(12)}`;
      if (!t.announced.started && startedNow(view, t.plan.board)) {
        t.announced.started = true;
        const what = t.plan.board ? `has the board (${BOARD})` : 'started';
        lines.push(`${clock()}  ▶ ${where} ${what} on ${view.runner_name} after ${seconds(Date.now() - t.queuedAt)}`);
      }
      if (!t.announced.ended && view.status === 'completed') {
        t.announced.ended = true;
        const record = toRecord(t, view);
        lines.push(
          `${clock()}  ■ ${where} ${record.result}${record.ran_ms !== null ? ` after ${seconds(record.ran_ms)}` : ''}${t.plan.board ? ', board released' : ''}`,
        );
      }
    }
    return lines;
  }

  records(): JobRecord[] {
    return this.tracked.map((t) => toRecord(t, this.github.job(t.id)));
  }
}

function startedNow(view: JobView, board: boolean): boolean {
  if (view.status === 'completed') return true;
  if (view.status !== 'in_progress') return false;
  // A board job starts for real once its job-started hook (the lock wrapper's) is done.
  return !board || view.events.some((e) => e.event === 'hook' && e.hook === 'job_started');
}

function stepMark(view: JobView | undefined, mark: 'step-start' | 'step-end'): number | undefined {
  const step = view?.events.find((e) => e.event === 'step');
  const m = new RegExp(`${mark} (\\d+)`).exec(eventOutput(step));
  return m ? Number(m[1]) : undefined;
}

function toRecord(t: Tracked, view: JobView | undefined): JobRecord {
  const start = stepMark(view, 'step-start');
  const end = stepMark(view, 'step-end');
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    job: t.plan.name,
    org: t.plan.org,
    runner: view?.runner_name ?? null,
    board: t.plan.board ? BOARD : null,
    resource: t.plan.board ? BOARD : null,
    queued_at: new Date(t.queuedAt).toISOString(),
    started_at: iso(start),
    finished_at: iso(end),
    result: view?.status === 'completed' ? view.conclusion : (view?.status ?? null),
    waited_ms: start === undefined ? null : start - t.queuedAt,
    ran_ms: start !== undefined && end !== undefined ? end - start : null,
    run_id: t.runId,
    job_id: t.id,
  };
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
export const clock = (at = Date.now()): string => new Date(at).toISOString().slice(11, 23);
