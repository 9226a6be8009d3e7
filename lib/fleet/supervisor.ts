// The ephemeral supervisor's decisions: every slot (runner-1…N, one per board)
// holds one fresh container that runs one job and is then removed and
// replaced. Crash-only: nothing is kept in memory that Docker's labels and
// GitHub's listing do not also say, so a restart after kill -9 picks up where
// the last process stopped. Docker and GitHub are reached through the two
// ports below (lib/fleet/supervisor-ports.ts binds them to the real ones).
import type { Reporter } from '../../core/reporter.ts';
import { SlotBackoff } from './slot-backoff.ts';

/** A slot: its runner name is also its container and compose service name. */
export interface Slot {
  name: string;
  labels: string[];
}

export interface SlotContainer {
  /** The slot (container and service) name. */
  name: string;
  /** Docker's state: running, exited, created, dead, restarting, paused, removing. */
  state: string;
}

export interface SlotRunner {
  id: number;
  name: string;
  busy: boolean;
}

export interface SupervisorDocker {
  /** This fleet's slot containers (found by label), whatever their state. */
  listSlots(): Promise<SlotContainer[]>;
  /** Creates and starts a fresh container for the slot (any old one is replaced). */
  start(slot: Slot): Promise<void>;
  /** Hands the container its JIT config (never through a file on the host or an argument). */
  deliver(slot: string, jitConfig: string): Promise<void>;
  /** Whether the runner in the slot's container started a job (its own output says so). */
  startedAJob(slot: string): Promise<boolean>;
  /** Removes the slot's container and everything it wrote (its anonymous volumes, its layer). */
  remove(slot: string): Promise<void>;
}

export class NameTaken extends Error {}

export interface SupervisorGitHub {
  /** This fleet's registrations (runners of its prefix). */
  listRunners(): Promise<SlotRunner[]>;
  /** A just-in-time config for a runner named slot.name; NameTaken on 409. */
  generateJitConfig(slot: Slot): Promise<{ runnerId: number; encodedJitConfig: string }>;
  /** Deletes a registration; false when GitHub refuses because the runner is busy. */
  deleteRunner(id: number): Promise<boolean>;
}

/** Docker states in which a slot's container can still run its job. */
const ALIVE = new Set(['running', 'restarting', 'paused', 'created', 'removing']);

export interface SupervisorOptions {
  /** Test hook for timers (backoff). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * One supervisor per fleet (env file). `reconcile()` is the whole algorithm
 * and is safe to call at any time, from any state; `containerEnded()` is
 * reconcile narrowed to one slot, for Docker's die events.
 */
export class Supervisor {
  private readonly backoff = new SlotBackoff();
  /** Slots being filled now or waiting out a backoff: reconcile leaves them to that fill. */
  private readonly busySlots = new Set<string>();
  private readonly givenUp = new Set<string>();
  private stopping = false;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly pending = new Set<Promise<void>>();
  /** Busy registrations without a container already reported: said once, not every 30 s. */
  private readonly reportedBusy = new Set<string>();

  constructor(
    private readonly slots: readonly Slot[],
    private readonly docker: SupervisorDocker,
    private readonly github: SupervisorGitHub,
    private readonly report: Reporter,
    options: SupervisorOptions = {},
  ) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** The slots it has stopped filling after repeated pre-job failures. */
  get abandoned(): string[] {
    return [...this.givenUp];
  }

  /**
   * Brings Docker and GitHub in line with the slots: ended containers are
   * cleared, registrations without a container deleted, empty slots filled.
   */
  async reconcile(): Promise<void> {
    const [containers, runners] = await Promise.all([this.docker.listSlots(), this.github.listRunners()]);
    const byName = new Map(containers.map((c) => [c.name, c]));
    for (const slot of this.slots) {
      if (this.busySlots.has(slot.name)) continue;
      const container = byName.get(slot.name);
      if (container && ALIVE.has(container.state)) continue;
      if (container) this.track(this.clear(slot, runners));
      else if (!this.givenUp.has(slot.name)) this.track(this.fill(slot, runners, 0));
    }
    // Registrations of this fleet whose container is gone: a slot no longer
    // configured, or a fill interrupted by a crash before its container started.
    const known = new Set(this.slots.map((s) => s.name));
    for (const runner of runners) {
      if (this.busySlots.has(runner.name) || (known.has(runner.name) && byName.has(runner.name))) continue;
      if (known.has(runner.name) && !this.givenUp.has(runner.name)) continue; // fill() above deletes it first
      await this.deleteRegistration(runner, 'its container is gone');
    }
  }

  /** Docker said the slot's container died: clear it and fill the slot again. */
  containerEnded(name: string): void {
    const slot = this.slots.find((s) => s.name === name);
    if (!slot || this.busySlots.has(name) || this.stopping) return;
    this.track(
      this.github.listRunners().then(
        (runners) => this.clear(slot, runners),
        (err: unknown) => this.report.warn(`${name}: GitHub could not be asked (${String(err)}); the next reconcile clears the slot`),
      ),
    );
  }

  /** Stops filling slots and waits for the fills under way. */
  async stop(): Promise<void> {
    this.stopping = true;
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Resolves when every fill and clear started so far is done (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((err: unknown) => this.report.warn(String(err instanceof Error ? err.message : err)));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  /** An ended container: did its job run? Remove it, delete what GitHub still holds, fill again. */
  private async clear(slot: Slot, runners: SlotRunner[]): Promise<void> {
    this.busySlots.add(slot.name);
    let ranAJob: boolean;
    try {
      const registration = runners.find((r) => r.name === slot.name);
      // GitHub deletes an ephemeral runner once its job is done: one still
      // registered and idle never ran it (unless its own output says it did).
      ranAJob = (await this.docker.startedAJob(slot.name)) || registration === undefined;
      await this.docker.remove(slot.name);
      if (registration && !registration.busy) await this.deleteRegistration(registration, 'its container ended');
    } finally {
      this.busySlots.delete(slot.name);
    }
    if (ranAJob) {
      this.backoff.succeeded(slot.name);
      this.report.info(`${slot.name}: container removed after its job`);
      if (!this.stopping) this.track(this.fill(slot, await this.github.listRunners(), 0));
    } else {
      await this.failedBeforeJob(slot, 'ended before a job');
    }
  }

  /** A container that ended, or could not be started, before its job: fill again after the backoff, or give up. */
  private async failedBeforeJob(slot: Slot, what: string): Promise<void> {
    const next = this.backoff.failed(slot.name);
    if ('giveUp' in next) {
      this.givenUp.add(slot.name);
      this.report.warn(`${slot.name}: ${what} ${next.failures} times in a row: giving up on this slot (see make logs; restart the supervisor to retry)`);
      return;
    }
    this.report.info(`${slot.name}: ${what} (${next.failures} in a row): refilling in ${next.delayMs / 1000} s`);
    if (!this.stopping) this.track(this.fill(slot, await this.github.listRunners(), next.delayMs));
  }

  private async fill(slot: Slot, runners: SlotRunner[], delayMs: number): Promise<void> {
    if (this.busySlots.has(slot.name)) return;
    this.busySlots.add(slot.name);
    let failure: string | undefined;
    try {
      if (delayMs > 0) await this.sleep(delayMs);
      if (this.stopping) return;
      const stale = runners.find((r) => r.name === slot.name);
      if (stale && !(await this.deleteRegistration(stale, 'no container holds it'))) return;
      const jit = await this.mintJitConfig(slot);
      if (!jit) return;
      try {
        await this.docker.start(slot);
        await this.docker.deliver(slot.name, jit.encodedJitConfig);
        this.report.info(`${slot.name}: slot filled (fresh container, runner id ${jit.runnerId})`);
      } catch (err) {
        // Nothing may be left half-done: no container without a config, no registration without a container.
        await this.docker.remove(slot.name).catch(() => undefined);
        await this.github.deleteRunner(jit.runnerId).catch(() => undefined);
        failure = err instanceof Error ? err.message : String(err);
      }
    } finally {
      this.busySlots.delete(slot.name);
    }
    if (failure !== undefined) {
      this.report.warn(failure);
      await this.failedBeforeJob(slot, 'could not be started');
    }
  }

  /** generate-jitconfig; on 409 the runner of that name is deleted if it is ours and idle, once. */
  private async mintJitConfig(slot: Slot): Promise<{ runnerId: number; encodedJitConfig: string } | undefined> {
    try {
      return await this.github.generateJitConfig(slot);
    } catch (err) {
      if (!(err instanceof NameTaken)) throw err;
    }
    const taken = (await this.github.listRunners()).find((r) => r.name === slot.name);
    if (taken?.busy) {
      this.report.warn(`${slot.name}: GitHub has a busy runner of that name: the slot is filled again once its job ends`);
      return undefined;
    }
    if (taken && !(await this.deleteRegistration(taken, 'its name is needed for a fresh container'))) return undefined;
    return this.github.generateJitConfig(slot);
  }

  /** Deletes a registration; says why. False when GitHub refuses (the runner is busy). */
  private async deleteRegistration(runner: SlotRunner, why: string): Promise<boolean> {
    if (runner.busy) {
      if (!this.reportedBusy.has(runner.name)) this.report.warn(`${runner.name}: registered and busy with no container here: left alone`);
      this.reportedBusy.add(runner.name);
      return false;
    }
    this.reportedBusy.delete(runner.name);
    const deleted = await this.github.deleteRunner(runner.id);
    this.report.info(deleted ? `${runner.name}: registration deleted (${why})` : `${runner.name}: GitHub refused to delete the registration (busy)`);
    return deleted;
  }
}
