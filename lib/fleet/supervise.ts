// make supervise: the ephemeral supervisor (supervisor.ts) bound to this
// host's Docker and to GitHub, driven by Docker's die events and a
// reconcile every 30 s, until SIGTERM/SIGINT. Crash-only: a kill -9 loses
// nothing, the next start reconciles from Docker's labels and GitHub's list.
import { arch } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config.ts';
import { ConfigError, ExitCode } from '../../core/errors.ts';
import { JIT_FILE } from '../../core/constants.ts';
import { stdio, type Reporter } from '../../core/reporter.ts';
import { displayText } from '../../lock/display.ts';
import { prepareLockDir } from '../../lock/directory.ts';
import { compose } from '../docker/compose.ts';
import { containerOutputTail, execWithInput, followContainerOutput, listFleetContainers, removeContainers } from '../docker/containers.ts';
import { watchContainerEvents, type EventWatch } from '../docker/events.ts';
import { LABEL } from '../docker/labels.ts';
import { ensureRunnerImage } from '../docker/runner-image.ts';
import type { RunnerApi } from '../github/runner-api.ts';
import { writeFleetCompose } from './lifecycle.ts';
import { claimSupervisorPid } from './supervisor-pid.ts';
import { NameTaken, Supervisor, type Slot, type SupervisorDocker, type SupervisorGitHub } from './supervisor.ts';

/** How often the supervisor compares its slots with Docker and GitHub, besides reacting to events. */
export const RECONCILE_MS = 30_000;

/** The Listener's lines when it takes a job and when the job ends (JobDispatcher.cs, through Terminal.WriteLine). */
const JOB_STARTED = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: Running job: (.*)$/m;
const JOB_FINISHED = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: Job (.*) completed with result: (\w+)$/;

/** GitHub's default labels, which config.sh gives a persistent runner: a JIT runner gets only the labels asked for. */
function defaultLabels(): string[] {
  return ['self-hosted', 'Linux', arch() === 'arm64' ? 'ARM64' : arch() === 'arm' ? 'ARM' : 'X64'];
}

/** The slots of an ephemeral fleet of `count` generic runners plus its boards: image, compose file, lock directory. */
export async function prepareEphemeralFleet(config: Config, count: number, reporter: Reporter = stdio): Promise<Slot[]> {
  if (config.mode !== 'ephemeral') {
    throw new ConfigError(
      `RUNNER_MODE is persistent in ${config.envFile}: the supervisor keeps ephemeral runners; set RUNNER_MODE=ephemeral, or use make init/start for persistent ones`,
    );
  }
  await ensureRunnerImage(config);
  const runners = await writeFleetCompose(config, count, reporter);
  reporter.info(`Wrote ${config.composeFile}: ${count} generic + ${config.boards.length} board slot(s), ephemeral`);
  if (runners.some((runner) => runner.resourceId)) await prepareLockDir(config.lockHostPath, (line) => reporter.info(line));
  return runners.map((runner) => ({ name: runner.name, labels: [...new Set([...defaultLabels(), ...runner.labels])] }));
}

/** The supervisor's Docker: the fleet's compose file and its ephemeral containers. */
export function hostSlots(config: Config): SupervisorDocker {
  return {
    listSlots: async () => (await listFleetContainers(config)).filter((c) => c.ephemeral).map((c) => ({ name: c.name, state: c.state })),
    // A fresh container every time: never one a job has run in.
    start: async (slot) => {
      await removeContainers([slot.name]);
      await compose(config, ['up', '-d', '--no-deps', '--force-recreate', '--renew-anon-volumes', slot.name], { capture: true });
    },
    // Through docker exec's stdin into the container's root-only tmpfs: no argument, no file on the host.
    deliver: (slot, jitConfig) =>
      execWithInput(slot, ['sh', '-c', `umask 077 && head -c 65536 > ${JIT_FILE}.tmp && mv ${JIT_FILE}.tmp ${JIT_FILE}`], jitConfig, {
        what: `handing ${slot} its JIT config`,
      }),
    startedAJob: async (slot) => JOB_STARTED.test((await containerOutputTail(slot, 5000)) ?? ''),
    remove: (slot) => removeContainers([slot]),
  };
}

/** The supervisor's GitHub: this fleet's registrations (its prefix) and JIT configs in RUNNER_GROUP. */
export function fleetRegistrations(config: Config, api: RunnerApi, runnerGroupId: number): SupervisorGitHub {
  return {
    listRunners: async () => (await api.listRunners()).filter((r) => r.name.startsWith(config.prefix)).map(({ id, name, busy }) => ({ id, name, busy })),
    generateJitConfig: async (slot) => {
      const jit = await api.generateJitConfig({ name: slot.name, labels: slot.labels, runnerGroupId, workFolder: config.workdir });
      if (jit === 'name-taken') throw new NameTaken(`${slot.name}: GitHub already has a runner of that name`);
      return { runnerId: jit.runner.id, encodedJitConfig: jit.encodedJitConfig };
    },
    deleteRunner: async (id) => {
      try {
        await api.deleteRunner({ id, name: String(id) });
        return true;
      } catch (err) {
        if ((err as { exitCode?: number }).exitCode === ExitCode.runnerBusy) return false;
        throw err;
      }
    },
  };
}

export interface SuperviseOptions {
  count: number;
  reporter?: Reporter;
  /** Ends the supervisor (the script aborts it on SIGTERM/SIGINT). */
  signal: AbortSignal;
  reconcileMs?: number;
}

/**
 * Runs the supervisor until `signal` aborts: fills the slots, replaces each
 * container that dies, reconciles every RECONCILE_MS. Containers are left as
 * they are when it stops: a job under way finishes, the next start takes over.
 */
export async function superviseFleet(config: Config, api: RunnerApi, options: SuperviseOptions): Promise<void> {
  const reporter = options.reporter ?? stdio;
  await api.checkAccess();
  const groupId = await api.runnerGroupId(config.group);
  const slots = await prepareEphemeralFleet(config, options.count, reporter);
  const release = await claimSupervisorPid(config);
  const supervisor = new Supervisor(slots, hostSlots(config), fleetRegistrations(config, api, groupId), reporter);
  const names = new Set(slots.map((s) => s.name));
  const followers = new Map<string, { close(): void }>();
  // One line per job event, from the runner's own output (a hint: a job can print these lines too).
  const follow = (name: string): void => {
    followers.get(name)?.close();
    followers.set(
      name,
      followContainerOutput(name, (line) => {
        const started = JOB_STARTED.exec(line);
        if (started) reporter.info(`${name}: job started: ${displayText(started[1]!, 100)}`);
        const finished = JOB_FINISHED.exec(line);
        if (finished) reporter.info(`${name}: job finished: ${displayText(finished[1]!, 100)} (${displayText(finished[2]!, 20)})`);
      }),
    );
  };
  let watch: EventWatch | undefined;
  const onEvent = (action: string, name: string): void => {
    if (!names.has(name)) return;
    if (action === 'start') follow(name);
    if (action === 'die') {
      followers.get(name)?.close();
      followers.delete(name);
      supervisor.containerEnded(name);
    }
  };
  try {
    reporter.info(`supervising ${slots.length} slot(s) of ${config.prefix}: ${slots.map((s) => s.name).join(', ')}`);
    // Containers a previous supervisor started are followed too.
    for (const container of await listFleetContainers(config))
      if (container.ephemeral && container.state === 'running' && names.has(container.name)) follow(container.name);
    while (!options.signal.aborted) {
      if (!watch) {
        watch = watchContainerEvents([`${LABEL.prefix}=${config.prefix}`, `${LABEL.mode}=ephemeral`], (event) => onEvent(event.action, event.name));
        const current = watch;
        void current.ended.then(() => {
          if (watch === current) watch = undefined; // the stream ended: watch again at the next round
        });
      }
      await supervisor
        .reconcile()
        .catch((err: unknown) =>
          reporter.warn(
            `reconcile: ${displayText(err instanceof Error ? err.message : String(err), 400)}; trying again in ${(options.reconcileMs ?? RECONCILE_MS) / 1000} s`,
          ),
        );
      await sleep(options.reconcileMs ?? RECONCILE_MS, undefined, { signal: options.signal }).catch(() => undefined);
    }
  } finally {
    watch?.close();
    for (const follower of followers.values()) follower.close();
    await supervisor.stop();
    await release();
    reporter.info('supervisor stopped; the slots keep running their jobs (make stop ends them)');
  }
}
