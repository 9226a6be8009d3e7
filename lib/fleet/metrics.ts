// make metrics: the fleet and its boards as Prometheus metrics, computed from
// what the host can see: the lock directory (queues; locks.log tailed across
// rotations), etcd for an etcd fleet's queues, Docker (containers by label)
// and GitHub (registrations, at most every 15 s). Every series carries the
// org; the series and their labels: README, "History and metrics".
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../config/config.ts';
import type { FleetContainer } from '../docker/containers.ts';
import type { Runner, RunnerApi } from '../github/runner-api.ts';
import { CliError, ConfigError, ExitCode } from '../../core/errors.ts';
import { errorCode } from '../../core/safe-read.ts';
import { displayText } from '../../lock/display.ts';
import { LogTail } from '../../lock/log-reader.ts';
import { parseLogLine, TurnFolder, type Turn } from './lock-history.ts';
import { lockSourcesOf, type LockSource } from './lock-source.ts';

/** GitHub is listed at most this often, however often Prometheus scrapes. */
export const GITHUB_INTERVAL_MS = 15_000;
/** How long a scrape waits for a GitHub listing under way before it serves the last one. */
export const GITHUB_WAIT_MS = 3000;
export const DEFAULT_METRICS_ADDR = '127.0.0.1:9464';

export interface MetricsSource {
  /** The org (or enterprise) of the env file: the `org` label of its runners. */
  org: string;
  /** With `etcd` (RUNNER_LOCK_BACKEND=etcd): its boards' queues are read there. */
  config: Pick<Config, 'prefix' | 'scope' | 'projectName' | 'lockHostPath' | 'githubApiUrl' | 'etcd'>;
  /** Its GitHub calls; undefined: runners are seen through Docker only. */
  api?: Pick<RunnerApi, 'listRunners'>;
}

/** What the metrics ask of Docker (a test may stand in for it). */
export interface MetricsDocker {
  listFleetContainers(config: Pick<Config, 'prefix' | 'scope' | 'projectName'>): Promise<FleetContainer[]>;
}

export interface FleetMetricsOptions {
  sources: MetricsSource[];
  docker: MetricsDocker;
  githubIntervalMs?: number;
  githubWaitMs?: number;
  /** Where scrape problems go, one line each (default: nowhere). */
  warn?: (line: string) => void;
}

/** The org a configuration runs in (an enterprise's slug for an enterprise fleet). */
export function scopeOrg(scope: Config['scope']): string {
  const s = scope as { org?: string; enterprise?: string };
  return s.enterprise ?? s.org ?? '';
}

const WAIT_BUCKETS = [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];
const HOLD_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400];

/** One lock directory: its log followed from where the last scrape stopped, its turns folded as they come. */
class LockDirWatch {
  readonly tail: LogTail;
  readonly folder: TurnFolder;

  constructor(
    readonly dir: string,
    metrics: FleetMetrics,
  ) {
    this.tail = new LogTail(dir);
    this.folder = new TurnFolder({
      acquired: (turn, handoff) => metrics.acquired(turn, handoff),
      ended: (turn) => metrics.ended(turn),
    });
  }
}

export class FleetMetrics {
  readonly registry = new Registry();
  private readonly runners: Gauge;
  private readonly jobs: Counter;
  private readonly wait: Histogram;
  private readonly hold: Histogram;
  private readonly queueLength: Gauge;
  private readonly held: Gauge;
  private readonly handoffs: Counter;
  private readonly github: Counter;
  private readonly logLines: Counter;
  private readonly badLines: Counter;
  private readonly scrapeErrors: Counter;
  private readonly dirs: LockDirWatch[];
  /** Where the queues are read: each lock directory, each etcd cluster and prefix, once. */
  private readonly lockSources: LockSource[];
  /** Resources each source has shown: an etcd board that nobody waits for has no keys, and its gauges stay 0 rather than vanish. */
  private readonly resourcesSeen = new Map<string, Set<string>>();
  private readonly githubOrigins: Set<string>;
  private readonly listings = new Map<MetricsSource, { at: number; runners?: Runner[] }>();
  private readonly polls = new Map<MetricsSource, Promise<void>>();
  private refreshing: Promise<void> | undefined;
  /** Sources failing now: warned about once, until they answer again. */
  private readonly failing = new Set<string>();
  private readonly onHeaders = (message: unknown): void => this.countRequest(message, true);
  private readonly onError = (message: unknown): void => this.countRequest(message, false);

  constructor(private readonly o: FleetMetricsOptions) {
    const registers = [this.registry];
    this.runners = new Gauge({
      name: 'gh_runner_fleet_runners',
      help: 'Runners by state (busy, idle, offline, unregistered, orphan, or the container state), kind and board',
      labelNames: ['org', 'state', 'kind', 'board'],
      registers,
    });
    this.jobs = new Counter({
      name: 'gh_runner_fleet_jobs_total',
      help: "Jobs' turns at a board that ended, by how (left-queue: never held it); board is the lock resource",
      labelNames: ['org', 'board', 'result'],
      registers,
    });
    this.wait = new Histogram({
      name: 'gh_runner_fleet_lock_wait_seconds',
      help: 'Time from queued to acquired',
      labelNames: ['resource', 'org'],
      buckets: WAIT_BUCKETS,
      registers,
    });
    this.hold = new Histogram({
      name: 'gh_runner_fleet_lock_hold_seconds',
      help: 'Time from acquired to released',
      labelNames: ['resource', 'org'],
      buckets: HOLD_BUCKETS,
      registers,
    });
    this.queueLength = new Gauge({
      name: 'gh_runner_fleet_lock_queue_length',
      help: 'Live tickets waiting for the resource (the holder not counted)',
      labelNames: ['resource'],
      registers,
    });
    this.held = new Gauge({ name: 'gh_runner_fleet_lock_held', help: '1 while a live holder has the resource', labelNames: ['resource'], registers });
    this.handoffs = new Counter({
      name: 'gh_runner_fleet_lock_handoffs_total',
      help: 'The resource let go while a job waited, and taken by it',
      labelNames: ['resource'],
      registers,
    });
    this.github = new Counter({
      name: 'gh_runner_fleet_github_requests_total',
      help: 'HTTP requests to GitHub by status (error: no answer)',
      labelNames: ['status'],
      registers,
    });
    this.logLines = new Counter({ name: 'gh_runner_fleet_lock_log_lines_total', help: 'locks.log lines read', registers });
    this.badLines = new Counter({ name: 'gh_runner_fleet_lock_log_bad_lines_total', help: 'locks.log lines that are not ours (skipped)', registers });
    this.scrapeErrors = new Counter({
      name: 'gh_runner_fleet_scrape_errors_total',
      help: 'Sources that could not be read at a scrape',
      labelNames: ['source'],
      registers,
    });
    const dirs = [...new Set(o.sources.map((s) => s.config.lockHostPath))];
    this.dirs = dirs.map((dir) => new LockDirWatch(dir, this));
    this.lockSources = lockSourcesOf(o.sources.map((s) => s.config));
    this.githubOrigins = new Set(o.sources.map((s) => originOf(s.config.githubApiUrl)));
    subscribe('undici:request:headers', this.onHeaders);
    subscribe('undici:request:error', this.onError);
  }

  close(): void {
    unsubscribe('undici:request:headers', this.onHeaders);
    unsubscribe('undici:request:error', this.onError);
    for (const source of this.lockSources) void source.close();
  }

  /** A turn acquired (TurnFolder). */
  acquired(turn: Turn, handoff: boolean): void {
    this.wait.observe({ resource: turn.resource, org: turn.org }, (turn.waitMs ?? 0) / 1000);
    if (handoff) this.handoffs.inc({ resource: turn.resource });
  }

  /** A turn ended (TurnFolder). */
  ended(turn: Turn): void {
    const heldIt = turn.acquiredAt !== undefined;
    this.jobs.inc({ org: turn.org, board: turn.resource, result: heldIt ? (turn.how ?? 'unknown') : 'left-queue' });
    if (heldIt) this.hold.observe({ resource: turn.resource, org: turn.org }, (turn.holdMs ?? 0) / 1000);
  }

  /**
   * Reads what is new: locks.log since the last scrape, the queues, the
   * containers, and GitHub when its listing is older than the interval.
   * Concurrent scrapes share one refresh. Never rejects: a source that
   * cannot be read is counted in scrape_errors and warned about.
   */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** The first read of each lock directory's log: one line (not root, not a file) rather than a server that never counts. */
  async start(): Promise<void> {
    for (const d of this.dirs) {
      try {
        await d.tail.poll(this.sink(d));
      } catch (err) {
        if (errorCode(err) === 'EACCES') {
          const uid = process.getuid?.() ?? '?';
          throw new CliError(
            `${d.dir}/locks.log is root's (mode 0600: it names every org's repositories and runs), and uid ${uid} cannot read it: run it as root (sudo make metrics)`,
            ExitCode.failure,
          );
        }
        throw new CliError(displayText((err as Error).message, 300), ExitCode.failure);
      }
    }
  }

  async metrics(): Promise<string> {
    await this.refresh();
    return this.registry.metrics();
  }

  private sink(d: LockDirWatch) {
    return {
      line: (text: string) => {
        this.logLines.inc();
        const parsed = parseLogLine(text);
        if ('bad' in parsed) this.badLines.inc();
        d.folder.add(parsed);
      },
      tooLong: () => {
        this.logLines.inc();
        this.badLines.inc();
      },
    };
  }

  /** `which` tells apart two of one kind (two etcd clusters): each is warned about once, and again once it answers. */
  private failed(source: string, err: unknown, which = source): void {
    this.scrapeErrors.inc({ source });
    if (!this.failing.has(which))
      this.o.warn?.(
        `${source}: ${displayText((err as Error).message ?? String(err), 300)} (counted in gh_runner_fleet_scrape_errors_total until it answers again)`,
      );
    this.failing.add(which);
  }

  private answered(source: string, which = source): void {
    if (this.failing.delete(which)) this.o.warn?.(`${source}: answers again`);
  }

  private async doRefresh(): Promise<void> {
    for (const d of this.dirs) {
      try {
        await d.tail.poll(this.sink(d));
        this.answered('lock_log');
      } catch (err) {
        this.failed('lock_log', err);
      }
      d.folder.expire(Date.now());
    }
    await this.refreshQueues();
    await this.refreshRunners();
  }

  /** Each source's queues (read together: an etcd that does not answer takes up to ETCD_READ_TIMEOUT_MS). */
  private async refreshQueues(): Promise<void> {
    const queue = new Map<string, number>();
    const held = new Map<string, number>();
    const reads = await Promise.all(
      this.lockSources.map((source) =>
        source.read().then(
          (resources) => ({ resources }),
          (error: unknown) => ({ error }),
        ),
      ),
    );
    this.lockSources.forEach((source, i) => {
      const read = reads[i]!;
      const label = source.place.etcd ? 'etcd' : 'lock_dir';
      if ('error' in read) return this.failed(label, read.error, source.key);
      this.answered(label, source.key);
      const seen = this.resourcesSeen.get(source.key) ?? new Set<string>();
      this.resourcesSeen.set(source.key, seen);
      for (const resource of seen) {
        queue.set(resource, queue.get(resource) ?? 0);
        held.set(resource, held.get(resource) ?? 0);
      }
      for (const r of read.resources) {
        seen.add(r.resource);
        queue.set(r.resource, (queue.get(r.resource) ?? 0) + r.queue.filter((t) => t.alive).length);
        held.set(r.resource, Math.max(held.get(r.resource) ?? 0, r.holder?.alive ? 1 : 0));
      }
    });
    this.queueLength.reset();
    this.held.reset();
    for (const [resource, n] of queue) this.queueLength.set({ resource }, n);
    for (const [resource, n] of held) this.held.set({ resource }, n);
  }

  private async refreshRunners(): Promise<void> {
    const counts = new Map<string, { org: string; state: string; kind: string; board: string; n: number }>();
    const count = (org: string, state: string, kind: string, board: string): void => {
      const key = [org, state, kind, board].join('\0');
      const entry = counts.get(key) ?? { org, state, kind, board, n: 0 };
      entry.n++;
      counts.set(key, entry);
    };
    const seen = await Promise.all(
      this.o.sources.map(async (source) => {
        const [containers, runners] = await Promise.all([this.containers(source), this.listing(source)]);
        return { source, states: runnerStates(source.config.prefix, containers, runners) };
      }),
    );
    for (const { source, states } of seen) for (const { state, kind, board } of states) count(source.org, state, kind, board);
    this.runners.reset();
    for (const c of counts.values()) this.runners.set({ org: c.org, state: c.state, kind: c.kind, board: c.board }, c.n);
  }

  private async containers(source: MetricsSource): Promise<FleetContainer[] | undefined> {
    try {
      const containers = await this.o.docker.listFleetContainers(source.config);
      this.answered('docker');
      return containers;
    } catch (err) {
      this.failed('docker', err);
      return undefined;
    }
  }

  /**
   * GitHub's runners of the source, listed again only when the last listing
   * is GITHUB_INTERVAL_MS old. A scrape waits for a new listing at most
   * GITHUB_WAIT_MS (a GitHub that does not answer takes its whole deadline,
   * 45 s by default): then it goes on with the last one, and the listing
   * lands for the next scrape. A failed listing keeps the last one.
   */
  private async listing(source: MetricsSource): Promise<Runner[] | undefined> {
    const api = source.api;
    if (!api) return undefined;
    const interval = this.o.githubIntervalMs ?? GITHUB_INTERVAL_MS;
    const last = this.listings.get(source);
    if ((!last || Date.now() - last.at >= interval) && !this.polls.has(source)) {
      const poll = api
        .listRunners()
        .then(
          (runners) => {
            this.listings.set(source, { at: Date.now(), runners });
            this.answered('github');
          },
          (err: unknown) => {
            this.failed('github', err);
            const kept = this.listings.get(source)?.runners;
            this.listings.set(source, { at: Date.now(), ...(kept ? { runners: kept } : {}) });
          },
        )
        .finally(() => this.polls.delete(source));
      this.polls.set(source, poll);
    }
    const inFlight = this.polls.get(source);
    if (inFlight) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([inFlight, new Promise((r) => (timer = setTimeout(r, this.o.githubWaitMs ?? GITHUB_WAIT_MS)))]);
      clearTimeout(timer);
    }
    return this.listings.get(source)?.runners;
  }

  /** undici's diagnostics channel: every HTTP request to a GitHub API origin of ours, by status. */
  private countRequest(message: unknown, answered: boolean): void {
    const m = message as { request?: { origin?: unknown }; response?: { statusCode?: unknown } };
    const raw = m.request?.origin;
    const origin = typeof raw === 'string' ? raw : raw instanceof URL ? raw.origin : '';
    if (!this.githubOrigins.has(originOf(origin))) return;
    const status = answered && typeof m.response?.statusCode === 'number' ? String(m.response.statusCode) : 'error';
    this.github.inc({ status });
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/**
 * Each runner's state, from its container (Docker labels) and its
 * registration (GitHub): busy, idle, offline, unregistered, orphan, or the
 * container's state when it is not running. Without a GitHub listing, a
 * running container is `running`; without Docker, registrations only.
 */
export function runnerStates(
  prefix: string,
  containers: FleetContainer[] | undefined,
  runners: Runner[] | undefined,
): Array<{ name: string; state: string; kind: string; board: string }> {
  const registered = new Map((runners ?? []).filter((r) => r.name.startsWith(prefix)).map((r) => [r.name, r]));
  const out: Array<{ name: string; state: string; kind: string; board: string }> = [];
  const online = (r: Runner): string => (r.status !== 'online' ? 'offline' : r.busy ? 'busy' : 'idle');
  for (const c of containers ?? []) {
    const runner = registered.get(c.name);
    registered.delete(c.name);
    const state = c.state !== 'running' ? c.state : runners === undefined ? 'running' : runner ? online(runner) : 'unregistered';
    out.push({ name: c.name, state, kind: c.kind, board: c.board ?? '' });
  }
  for (const r of registered.values()) out.push({ name: r.name, state: containers === undefined ? online(r) : 'orphan', kind: '', board: '' });
  return out;
}

/** METRICS_ADDR: `host:port`, `[v6]:port` or `:port` (every address); port 0 takes a free one. One line naming it when it is none of these. */
export function parseMetricsAddr(value: string | undefined): { host: string; port: number } {
  const text = (value ?? '').trim() || DEFAULT_METRICS_ADDR;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65_535) {
    throw new ConfigError(
      `METRICS_ADDR=${displayText(text, 60)} is not an address to listen on: use HOST:PORT (default ${DEFAULT_METRICS_ADDR}), [::1]:PORT, or :PORT for every address`,
    );
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** How long a scrape waits for the refresh before it serves what it has (a Docker or GitHub that hangs). */
const SCRAPE_WAIT_MS = 10_000;

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves GET /metrics (text exposition format) until closed. */
export async function serveMetrics(metrics: FleetMetrics, addr: { host: string; port: number }): Promise<MetricsServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('gh-runner-fleet metrics: /metrics\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: /metrics\n');
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([metrics.refresh(), new Promise((r) => (timer = setTimeout(r, SCRAPE_WAIT_MS)))]);
    clearTimeout(timer);
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : body);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`error: ${displayText((err as Error).message, 200)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const what =
        err.code === 'EADDRINUSE'
          ? 'is in use'
          : err.code === 'EADDRNOTAVAIL'
            ? 'is not an address of this host'
            : `cannot be listened on (${err.code ?? err.message})`;
      reject(new ConfigError(`METRICS_ADDR ${addr.host}:${addr.port} ${what}: choose another with METRICS_ADDR=HOST:PORT`));
    });
    server.listen(addr.port, addr.host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : addr.port;
  const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // a scraper's kept-alive connection would hold close() forever
      }),
  };
}
