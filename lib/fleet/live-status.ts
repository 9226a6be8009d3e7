// make status, the live half: gathers what status-view.ts assembles from
// Docker, GitHub and the locks (lock-source.ts), and keeps it current from
// events where there are some (docker events, each runner's output, fs.watch
// on the lock directory, etcd's watch) and re-reads where there are none
// (GitHub every GITHUB_POLL_MS, everything every REREAD_MS, etcd every
// ETCD_POLL_MS). The view is handed on after every change and every second.
import { watch } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { Config } from '../config/config.ts';
import { scopeName } from '../config/config.ts';
import { containerOutputTail, followContainerOutput, type FleetContainer } from '../docker/containers.ts';
import { dockerTargetName, withDockerTarget } from '../docker/command.ts';
import { watchContainerEvents, type ContainerEvent, type EventWatch } from '../docker/events.ts';
import { LABEL } from '../docker/labels.ts';
import type { RunnerApi } from '../github/runner-api.ts';
import { displayText } from '../../lock/display.ts';
import { readLockDir } from '../../lock/inspect.ts';
import { resourcePaths } from '../../lock/layout.ts';
import { lockPlaceOf, lockSourcesOf, type LockSource } from './lock-source.ts';
import { assembleStatus, renderStatus, statusChangeKey, statusJsonLine, type FleetInput, type LockInput, type StatusView } from './status-view.ts';
import { JOB_TAIL_LINES, jobInOutput, listContainersOrWarn } from './status.ts';

/** GitHub is asked at most this often (its rate limit is shared with every other command). */
export const GITHUB_POLL_MS = 15_000;
/** The safety net: containers and locks re-read this often whatever the events said. */
export const REREAD_MS = 10_000;
/** How many runners' output is followed live (each is a docker logs -f process of ~25 MB). */
export const MAX_FOLLOWED = 16;
/** Locks on etcd are re-read this often, besides every change its watch reports. */
export const ETCD_POLL_MS = 2000;
/** Lock folders watched at most (a job can fill the lock directory with resources). */
const MAX_WATCHED_QUEUES = 64;

/** One fleet (one env file) and its GitHub. */
export interface StatusFleet {
  config: Config;
  github: Pick<RunnerApi, 'listRunners'>;
}

/** What make status asks of this host (a test may stand in for any of it). */
export interface StatusHost {
  listContainers: (config: StatusFleet['config']) => Promise<{ containers: FleetContainer[] | undefined; dockerWarning?: string }>;
  outputTail: (name: string) => Promise<string | undefined>;
  followOutput: (name: string, onLine: (line: string) => void) => { close(): void };
  watchEvents: (labelFilters: string[], onEvent: (event: ContainerEvent) => void) => EventWatch;
  readLocks: typeof readLockDir;
  /** fs.watch on a folder, never keeping the process alive; undefined when it cannot be watched. */
  watchFolder: (path: string, onChange: () => void) => { close(): void } | undefined;
}

export const hostStatus: StatusHost = {
  listContainers: (config) => listContainersOrWarn(config),
  outputTail: (name) => containerOutputTail(name, JOB_TAIL_LINES),
  followOutput: followContainerOutput,
  watchEvents: watchContainerEvents,
  readLocks: readLockDir,
  watchFolder,
};

function watchFolder(path: string, onChange: () => void): { close(): void } | undefined {
  try {
    const watcher = watch(path, { persistent: false }, onChange);
    watcher.on('error', () => watcher.close()); // the folder went away: the next re-read watches again
    return watcher;
  } catch {
    return undefined; // no inotify here (or out of watches): the re-read still runs
  }
}

/** Where the fleets that have board runners lock: each lock directory, each etcd cluster and prefix, once. */
function lockSources(fleets: StatusFleet[], host: StatusHost): LockSource[] {
  return lockSourcesOf(
    fleets.filter((f) => f.config.boards.length > 0).map((f) => f.config),
    { readDir: host.readLocks },
  );
}

/** A source's locks, or the one line saying why they could not be read. */
async function readLocks(source: LockSource): Promise<LockInput> {
  try {
    return { ...source.place, resources: await source.read() };
  } catch (err) {
    return { ...source.place, resources: undefined, error: message(err) };
  }
}

/** A fleet's input; with its Docker host when the view has `several` fleets. */
function fleetInput(fleet: StatusFleet, several: boolean): FleetInput {
  const { config } = fleet;
  return {
    scope: scopeName(config.scope),
    ...(several ? { host: dockerTargetName(config.docker) } : {}),
    prefix: config.prefix,
    boards: config.boards,
    lockDir: config.lockHostPath,
    ...(config.etcd ? { etcd: lockPlaceOf(config).etcd } : {}),
    containers: [],
    runners: undefined,
    jobs: new Map(),
  };
}

function message(err: unknown): string {
  return displayText(err instanceof Error ? err.message : String(err), 300);
}

/**
 * One snapshot: containers, each running runner's job, GitHub's runners and
 * the locks, read once. A GitHub failure throws, as make list does.
 */
export async function readStatus(fleets: StatusFleet[], host: StatusHost = hostStatus, now = (): Date => new Date()): Promise<StatusView> {
  const inputs = await Promise.all(
    // Each fleet's docker commands on its own host (DOCKER_HOST/DOCKER_CONTEXT of its env file).
    fleets.map((fleet) =>
      withDockerTarget(fleet.config.docker, async () => {
        const [local, runners] = await Promise.all([host.listContainers(fleet.config), fleet.github.listRunners()]);
        const running = (local.containers ?? []).filter((c) => c.state === 'running');
        const jobs = await Promise.all(running.map(async (c) => jobInOutput(await host.outputTail(c.name).catch(() => undefined))));
        const input: FleetInput = {
          ...fleetInput(fleet, fleets.length > 1),
          ...local,
          runners,
          githubAt: now().getTime(),
          jobs: new Map(running.flatMap((c, i) => (jobs[i] ? [[c.name, jobs[i]] as const] : []))),
        };
        return input;
      }),
    ),
  );
  const sources = lockSources(fleets, host);
  try {
    const locks = await Promise.all(sources.map(readLocks));
    return assembleStatus({ fleets: inputs, locks }, now());
  } finally {
    await Promise.all(sources.map((source) => source.close()));
  }
}

/** Runs `work` one at a time: a request while it runs runs it once more after, a burst of requests within `delayMs` runs it once. */
class Serial {
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly work: () => Promise<void>,
    private readonly delayMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  request(): void {
    if (this.running) this.again = true;
    else this.timer ??= setTimeout(() => void this.run(), this.delayMs);
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    this.running = true;
    try {
      await this.work();
    } catch (err) {
      this.onError(err);
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.request();
      }
    }
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.again = false;
  }
}

/** Container events that change what is shown (not exec_*, health checks, attach, resize…). */
const CONTAINER_CHANGES = new Set(['create', 'start', 'restart', 'die', 'stop', 'kill', 'pause', 'unpause', 'destroy', 'rename', 'update', 'oom']);
const JOB_FINISHED = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: Job .* completed with result: \w+$/;

export interface WatchStatusOptions {
  signal: AbortSignal;
  /** Called with the view after every change and every `tickMs`. */
  onView(view: StatusView): void;
  githubPollMs?: number;
  rereadMs?: number;
  /** How often locks on etcd are re-read (ETCD_POLL_MS). */
  etcdPollMs?: number;
  tickMs?: number;
  maxFollowed?: number;
}

/** Keeps the status current until `signal` aborts; see the top of this file. */
export async function watchStatus(fleets: StatusFleet[], options: WatchStatusOptions, host: StatusHost = hostStatus): Promise<void> {
  const live = new LiveStatus(fleets, options, host);
  try {
    await live.run();
  } finally {
    await live.close();
  }
}

interface Folder {
  ino: number;
  watcher: { close(): void };
}

class LiveStatus {
  private readonly inputs: FleetInput[];
  private readonly sources: LockSource[];
  /** Each source's last read, by its key. */
  private readonly locks = new Map<string, LockInput>();
  private readonly containerReads: Serial[];
  private readonly lockReads = new Map<string, Serial>();
  private readonly githubRead: Serial;
  private readonly eventWatches: Array<EventWatch | undefined>;
  private readonly followers = new Map<string, { close(): void }>();
  /** Bumped by every job line a follower sees: a tail read before it is older and is dropped. */
  private readonly jobLines = new Map<string, number>();
  /** Watched folders by path: each lock directory and its queue folders. */
  private readonly folders = new Map<string, Folder>();
  /** etcd's watches, one per etcd source. */
  private readonly etcdWatches: Array<{ close(): void }> = [];
  private closed = false;
  private started = false;
  /** A bug in a read (each one catches what it expects): ends run() with it. */
  private failure: ((err: unknown) => void) | undefined;
  private readonly failed = (err: unknown): void => this.failure?.(err);

  constructor(
    private readonly fleets: StatusFleet[],
    private readonly options: WatchStatusOptions,
    private readonly host: StatusHost,
  ) {
    this.inputs = fleets.map((fleet) => fleetInput(fleet, fleets.length > 1));
    this.containerReads = fleets.map((_, i) => new Serial(() => this.readContainers(i), 50, this.failed));
    this.eventWatches = fleets.map(() => undefined);
    this.sources = lockSources(fleets, host);
    for (const source of this.sources) {
      this.locks.set(source.key, { ...source.place, resources: [] });
      this.lockReads.set(source.key, new Serial(() => this.readLockSource(source), 10, this.failed));
    }
    this.githubRead = new Serial(() => this.readGitHub(), 0, this.failed);
  }

  async run(): Promise<void> {
    const { signal } = this.options;
    if (signal.aborted) return;
    this.watchDocker();
    // The first view once everything was read once: never a half-read one.
    await Promise.all([...this.fleets.map((_, i) => this.readContainers(i)), ...this.sources.map((source) => this.readLockSource(source)), this.readGitHub()]);
    this.started = true;
    this.emit();
    this.watchEtcd();
    const etcdReads = this.sources.filter((source) => source.place.etcd).map((source) => this.lockReads.get(source.key)!);
    const timers = [
      setInterval(() => this.githubRead.request(), this.options.githubPollMs ?? GITHUB_POLL_MS),
      setInterval(() => {
        this.watchDocker();
        for (const read of [...this.containerReads, ...this.lockReads.values()]) read.request();
      }, this.options.rereadMs ?? REREAD_MS),
      setInterval(() => this.emit(), this.options.tickMs ?? 1000),
      ...(etcdReads.length ? [setInterval(() => etcdReads.forEach((read) => read.request()), this.options.etcdPollMs ?? ETCD_POLL_MS)] : []),
    ];
    try {
      await new Promise<void>((resolve, reject) => {
        this.failure = reject;
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const read of [...this.containerReads, ...this.lockReads.values(), this.githubRead]) read.cancel();
    for (const watch of [...this.eventWatches, ...this.etcdWatches]) watch?.close();
    for (const follower of this.followers.values()) follower.close();
    for (const folder of this.folders.values()) folder.watcher.close();
    this.followers.clear();
    this.folders.clear();
    // etcd's clients: a status process ends on Ctrl-C, none of them holds it.
    await Promise.all(this.sources.map((source) => source.close()));
  }

  private emit(): void {
    if (!this.started || this.closed || this.options.signal.aborted) return;
    this.options.onView(assembleStatus({ fleets: this.inputs, locks: [...this.locks.values()] }, new Date()));
  }

  /** Docker's event stream of each fleet's containers; one that ended is started again here (at the next re-read). */
  private watchDocker(): void {
    this.fleets.forEach((fleet, i) => {
      if (this.eventWatches[i] || this.closed) return;
      const current = withDockerTarget(fleet.config.docker, () =>
        this.host.watchEvents([`${LABEL.managed}=true`, `${LABEL.prefix}=${fleet.config.prefix}`], (event) => {
          if (!CONTAINER_CHANGES.has(event.action)) return;
          // A container that stopped or started again: its follower (if any) is done; the re-read follows it anew.
          if (event.action !== 'create' && event.action !== 'rename') this.unfollow(event.name);
          this.containerReads[i]!.request();
        }),
      );
      this.eventWatches[i] = current;
      void current.ended.then(() => {
        if (this.eventWatches[i] === current) this.eventWatches[i] = undefined;
      });
    });
  }

  /** On the fleet's own Docker host: the listing, and the output followers and job reads it starts. */
  private readContainers(i: number): Promise<void> {
    return withDockerTarget(this.fleets[i]!.config.docker, () => this.readContainersHere(i));
  }

  private async readContainersHere(i: number): Promise<void> {
    const input = this.inputs[i]!;
    let local: Awaited<ReturnType<StatusHost['listContainers']>>;
    try {
      local = await this.host.listContainers(this.fleets[i]!.config);
    } catch (err) {
      local = { containers: input.containers, dockerWarning: `Docker: ${message(err)}` };
    }
    if (this.closed) return;
    const before = new Set((input.containers ?? []).filter((c) => c.state === 'running').map((c) => c.name));
    input.containers = local.containers;
    if (local.dockerWarning) input.dockerWarning = local.dockerWarning;
    else delete input.dockerWarning;
    if (local.containers) this.syncFollowers(input, local.containers, before);
    this.emit();
  }

  /** Follows the running runners (board runners first, up to maxFollowed); reads each newly running one's job from its output. */
  private syncFollowers(input: FleetInput, containers: FleetContainer[], before: Set<string>): void {
    const jobs = input.jobs as Map<string, string>;
    const running = containers.filter((c) => c.state === 'running');
    const names = new Set(running.map((c) => c.name));
    for (const c of containers) {
      if (names.has(c.name)) continue;
      this.unfollow(c.name);
      jobs.delete(c.name);
    }
    for (const name of jobs.keys()) if (!containers.some((c) => c.name === name)) jobs.delete(name);
    const ordered = [...running].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'board' ? -1 : 1));
    for (const c of ordered) {
      if (this.followers.has(c.name)) continue;
      if (this.followers.size < (this.options.maxFollowed ?? MAX_FOLLOWED)) {
        this.followers.set(
          c.name,
          this.host.followOutput(c.name, (line) => this.onOutputLine(input, c.name, line)),
        );
        void this.readJob(input, c.name);
      } else if (!before.has(c.name)) {
        void this.readJob(input, c.name);
      }
    }
  }

  private unfollow(name: string): void {
    this.followers.get(name)?.close();
    this.followers.delete(name);
  }

  private onOutputLine(input: FleetInput, name: string, line: string): void {
    const jobs = input.jobs as Map<string, string>;
    const started = jobInOutput(line);
    if (started) jobs.set(name, started);
    else if (JOB_FINISHED.test(line)) jobs.delete(name);
    else return;
    this.jobLines.set(name, (this.jobLines.get(name) ?? 0) + 1);
    this.emit();
  }

  /** The job in a runner's output tail, unless a followed line said more recently. */
  private async readJob(input: FleetInput, name: string): Promise<void> {
    const seen = this.jobLines.get(name) ?? 0;
    const job = jobInOutput(await this.host.outputTail(name).catch(() => undefined));
    if (this.closed || (this.jobLines.get(name) ?? 0) !== seen) return;
    const jobs = input.jobs as Map<string, string>;
    if (job) jobs.set(name, job);
    else jobs.delete(name);
    this.emit();
  }

  private async readGitHub(): Promise<void> {
    await Promise.all(
      this.fleets.map((fleet, i) =>
        withDockerTarget(fleet.config.docker, async () => {
          const input = this.inputs[i]!;
          try {
            input.runners = await fleet.github.listRunners();
            input.githubAt = Date.now();
            delete input.githubError;
          } catch (err) {
            input.githubError = message(err);
          }
          // Runners whose output is not followed: their job is re-read now, when GitHub says they are busy or one was shown.
          const busy = new Set((input.runners ?? []).filter((r) => r.busy).map((r) => r.name));
          const unfollowed = (input.containers ?? []).filter(
            (c) => c.state === 'running' && !this.followers.has(c.name) && (busy.has(c.name) || input.jobs.has(c.name)),
          );
          await Promise.all(unfollowed.map((c) => this.readJob(input, c.name)));
        }),
      ),
    );
    this.emit();
  }

  private async readLockSource(source: LockSource): Promise<void> {
    const state = await readLocks(source);
    if (this.closed) return;
    this.locks.set(source.key, state);
    if (source.place.dir !== undefined) await this.watchLockFolders(source.key, source.place.dir, state);
    this.emit();
  }

  /** etcd's watch of each etcd source's prefix: every change re-reads it. */
  private watchEtcd(): void {
    for (const source of this.sources) {
      const read = this.lockReads.get(source.key);
      if (source.watch && read && !this.closed) this.etcdWatches.push(source.watch(() => read.request()));
    }
  }

  /** Watches the lock directory and each resource's queue folder; a folder replaced since (another inode) is watched anew. */
  private async watchLockFolders(key: string, dir: string, state: LockInput): Promise<void> {
    const wanted = [dir, ...(state.resources ?? []).slice(0, MAX_WATCHED_QUEUES).map((r) => resourcePaths(dir, r.resource).queue)];
    const mine = (path: string) => path === dir || path.startsWith(`${dir}/`);
    for (const [path, folder] of this.folders) {
      if (mine(path) && !wanted.includes(path)) {
        folder.watcher.close();
        this.folders.delete(path);
      }
    }
    for (const path of wanted) {
      // Never through a symlink: a job may plant one where a queue folder belongs.
      const info = await lstat(path).catch(() => undefined);
      const watched = this.folders.get(path);
      if (watched && info?.isDirectory() && info.ino === watched.ino) continue;
      watched?.watcher.close();
      this.folders.delete(path);
      if (!info?.isDirectory() || this.closed) continue;
      const watcher = this.host.watchFolder(path, () => this.lockReads.get(key)?.request());
      if (watcher) this.folders.set(path, { ino: info.ino, watcher });
    }
  }
}

/** Where the views go: JSON lines or a terminal screen, written only when they look different. */
export interface StatusOutput {
  show(view: StatusView): void;
  close(): void;
}

/** A terminal's screen: each change drawn over the last one (no full clear, so no flicker); the cursor hidden until close(). */
export function terminalOutput(stream: NodeJS.WriteStream): StatusOutput {
  let last = '';
  let lastView: StatusView | undefined;
  let first = true;
  const draw = (view: StatusView, force: boolean): void => {
    const text = renderStatus(view, { width: stream.columns || 80, live: true });
    if (text === last && !force) return;
    stream.write(screenFrame(text, { rows: stream.rows || 0, clear: first || force }));
    first = false;
    last = text;
  };
  const onResize = (): void => {
    if (lastView) draw(lastView, true);
  };
  stream.on('resize', onResize);
  stream.write(HIDE_CURSOR);
  return {
    show(view) {
      lastView = view;
      draw(view, false);
    },
    close() {
      stream.off('resize', onResize);
      stream.write(SHOW_CURSOR);
    },
  };
}

/** One JSON object per line, only when something other than the clock changed (statusChangeKey). */
export function jsonLinesOutput(write: (line: string) => void): StatusOutput {
  let last = '';
  return {
    show(view) {
      const key = statusChangeKey(view);
      if (key === last) return;
      last = key;
      write(statusJsonLine(view));
    },
    close: () => undefined,
  };
}

export const HIDE_CURSOR = '\u001b[?25l';
export const SHOW_CURSOR = '\u001b[?25h';

/**
 * What redraws `text` on a terminal of `rows` lines (0: unknown): the cursor
 * home, each line then erase-to-end-of-line, then erase below; `clear` wipes
 * the screen first (the first frame, a resize). A view taller than the
 * terminal is cut, with a line saying how much is not shown.
 */
export function screenFrame(text: string, { rows, clear }: { rows: number; clear: boolean }): string {
  let lines = text.split('\n');
  if (rows > 1 && lines.length > rows - 1) {
    const hidden = lines.length - (rows - 2);
    lines = [...lines.slice(0, rows - 2), `… ${hidden} more line(s): a taller terminal, or make status JSON=1, shows them`];
  }
  return `${clear ? '\u001b[2J' : ''}\u001b[H${lines.map((line) => `${line}\u001b[K`).join('\n')}\n\u001b[J`;
}
