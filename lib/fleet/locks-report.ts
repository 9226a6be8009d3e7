// What `make locks` shows and does: each resource's holder and queue in
// order, and an operator's forced release (recorded in locks.log). Lock
// records name other orgs' repositories and are root's (mode 0600), so this
// runs as root; every text taken from them is made plain (lock/display.ts)
// before it reaches the terminal.
import { userInfo } from 'node:os';
import { CliError, ConfigError, ExitCode } from '../../core/errors.ts';
import { displayText } from '../../lock/display.ts';
import { describeIdentity, isValidResource } from '../../lock/layout.ts';
import { forceRelease, readLockDir, type ResourceState, type TicketState } from '../../lock/inspect.ts';
import type { LockHost } from '../config/config.ts';
import { dockerTargetName, type DockerTarget } from '../docker/command.ts';
import { daemonIsHere } from '../docker/engine.ts';
import { EtcdAdmin } from '../../lock/etcd/etcd-admin.ts';
import { etcdErrorText } from '../../lock/etcd/client.ts';
import { lockKey } from './lock-source.ts';
import { describeEtcd, type EtcdSettings } from '../../lock/etcd/settings.ts';

function notRoot(dir: string, what: string): CliError {
  const uid = process.getuid?.() ?? '?';
  return new CliError(
    `the lock records in ${dir} are root's (mode 0600: they name every org's repositories and runs), and uid ${uid} cannot ${what}: run it as root (sudo make locks)`,
    ExitCode.failure,
  );
}

/** The resources in `dir`; one clear line when the directory is missing, or its records are not ours to read. */
export async function lockReport(dir: string): Promise<ResourceState[]> {
  let resources: ResourceState[];
  try {
    resources = await readLockDir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ConfigError(`lock directory RUNNER_LOCK_HOST_PATH=${dir} does not exist: run make init, or set RUNNER_LOCK_HOST_PATH`);
    }
    throw err;
  }
  if (resources.some((r) => r.unreadable > 0)) throw notRoot(dir, 'read them');
  return resources;
}

export function formatLockReport(dir: string, resources: ResourceState[]): string {
  if (resources.length === 0) return `no resource has been locked in ${dir}`;
  return resources.flatMap(formatResource).join('\n');
}

/** Frees RESOURCE for the next waiter; refuses without --force. Returns the line to print. */
export async function releaseLock(dir: string, resource: string | undefined, force: boolean): Promise<string> {
  if (!resource || !isValidResource(resource)) throw new ConfigError('usage: locks release RESOURCE --force');
  if (!force) {
    throw new CliError(`releasing ${resource} lets the next job use it while the current one may still run: add --force`, ExitCode.refused);
  }
  if (process.getuid?.() !== 0) throw notRoot(dir, 'release a lock');
  const operator = process.env.SUDO_USER || userInfo().username;
  const warnings: string[] = [];
  const holder = await forceRelease(dir, resource, operator, warnings);
  const recorded = warnings.some((w) => w.startsWith('not recorded')) ? 'NOT recorded in locks.log' : `recorded in ${dir}/locks.log`;
  const line = holder ? `${resource}: released (was held by ${describeIdentity(holder)}); ${recorded}` : `${resource}: was not held; ${recorded}`;
  return [line, ...warnings.map((w) => `  ! ${displayText(w, 300)}`)].join('\n');
}

/**
 * `make locks` with RUNNER_LOCK_BACKEND=etcd: every resource under the
 * prefix, holder first (the lowest create revision), then the queue. Needs no
 * root (etcd's records are not files); one clear line when etcd cannot be read.
 */
export async function etcdLockReport(etcd: EtcdSettings): Promise<ResourceState[]> {
  const admin = new EtcdAdmin(etcd);
  try {
    return await admin.list();
  } catch (err) {
    throw new CliError(`${admin.where} cannot be read: ${etcdErrorText(err, 200)}`, ExitCode.failure);
  } finally {
    await admin.close();
  }
}

/**
 * Frees RESOURCE on etcd by revoking its holder's lease (etcd deletes its key:
 * the holder learns it lost the lock, the next waiter proceeds at once);
 * recorded in this host's locks.log (`dir`) like the directory's forced release.
 */
export async function releaseEtcdLock(etcd: EtcdSettings, dir: string, resource: string | undefined, force: boolean): Promise<string> {
  if (!resource || !isValidResource(resource)) throw new ConfigError('usage: locks release RESOURCE --force');
  if (!force) {
    throw new CliError(`releasing ${resource} lets the next job use it while the current one may still run: add --force`, ExitCode.refused);
  }
  if (process.getuid?.() !== 0) throw notRoot(dir, 'record a forced release in its locks.log');
  const operator = process.env.SUDO_USER || userInfo().username;
  const warnings: string[] = [];
  const admin = new EtcdAdmin(etcd, dir);
  let holder: Awaited<ReturnType<EtcdAdmin['forceRelease']>>;
  try {
    holder = await admin.forceRelease(resource, operator, warnings);
  } catch (err) {
    throw new CliError(`${admin.where}: ${resource} not released: ${etcdErrorText(err, 200)}`, ExitCode.failure);
  } finally {
    await admin.close();
  }
  const recorded = warnings.some((w) => w.startsWith('not recorded')) ? 'NOT recorded in locks.log' : `recorded in ${dir}/locks.log`;
  const line = holder
    ? `${resource}: released on etcd, its holder's lease revoked (was held by ${describeIdentity(holder)}); ${recorded}`
    : `${resource}: was not held; ${recorded}`;
  return [line, ...warnings.map((w) => `  ! ${displayText(w, 300)}`)].join('\n');
}

function formatResource(r: ResourceState): string[] {
  const lines = [r.holder ? `${r.resource}: held by ${job(r.holder)} since ${since(r.holder.since)}${dead(r.holder)}` : `${r.resource}: free`];
  r.queue.forEach((t: TicketState, i) => lines.push(`  ${i + 1}. ${job(t)} waiting since ${since(t.requestedAt)}${dead(t)}`));
  // Entries a job (or anyone) left that are not part of the protocol: skipped, shown so they can be removed.
  for (const w of r.warnings ?? []) lines.push(`  ! ${displayText(w, 300)}`);
  return lines;
}

function job(who: { runner: string; repository: string; runId: string; attempt: string }): string {
  const [runner, repository, runId, attempt] = [
    displayText(who.runner, 64),
    displayText(who.repository, 140),
    displayText(who.runId, 24),
    displayText(who.attempt, 8),
  ];
  return `${runner || '?'} (${repository || 'unknown repository'}, run ${runId || '?'} attempt ${attempt || '?'})`;
}

function since(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 'unknown time' : `${displayText(iso, 40)} (${ago(Date.now() - t)} ago)`;
}

function dead(h: { alive: boolean; heartbeatAgeMs: number }): string {
  return h.alive ? '' : ` [no heartbeat for ${ago(h.heartbeatAgeMs)}: owner gone, cleared by the next waiter]`;
}

function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

// ---- several env files (make locks ENV_FILES=…): each lock directory with the hosts it serves ----

/** One lock directory that the fleets of several env files use: the Docker hosts whose board runners mount it. */
export interface LockDirOfHosts {
  /** The hosts (dockerTargetName: DOCKER_HOST, the context, or `local`), in the order first given. */
  hosts: string[];
  /** The env files' scopes (ORG[/REPO], enterprises/<slug>); an env file that sets none adds none. */
  scopes: string[];
  lockDir: string;
  /**
   * Set when the directory is another machine's (a tcp:// or ssh:// host, a
   * context pointing there): its board runners mount that machine's
   * directory, which this one cannot read.
   */
  elsewhere?: string;
}

/** An etcd cluster and prefix that the fleets of several env files lock on (RUNNER_LOCK_BACKEND=etcd): one lock for all of them. */
export interface EtcdOfHosts {
  hosts: string[];
  scopes: string[];
  etcd: EtcdSettings;
}

/** Where the board locks of several env files are: lock directories and etcd clusters, each once. */
export type LockPlaceOfHosts = LockDirOfHosts | EtcdOfHosts;

/** The fleets of several env files grouped by `keyOf`, in the order first given, with their hosts and scopes. */
async function groupHosts<P extends { hosts: string[]; scopes: string[] }>(
  hosts: readonly LockHost[],
  placeOf: (host: LockHost, name: string) => Promise<{ key: string; place: () => P }>,
): Promise<P[]> {
  const places = new Map<string, P>();
  for (const host of hosts) {
    const name = dockerTargetName(host.docker);
    const { key, place: fresh } = await placeOf(host, name);
    const place = places.get(key) ?? fresh();
    if (!place.hosts.includes(name)) place.hosts.push(name);
    if (host.scope && !place.scopes.includes(host.scope)) place.scopes.push(host.scope);
    places.set(key, place);
  }
  return [...places.values()];
}

/**
 * The lock directories of several env files, each once: env files whose
 * daemons run on this machine and name the same RUNNER_LOCK_HOST_PATH share
 * it (one directory, one set of locks, whatever daemon runs the runners); a
 * directory on another machine is that machine's own. With either backend
 * the wrapper writes locks.log there (make report reads these).
 */
export async function lockDirsOfHosts(
  hosts: readonly LockHost[],
  isHere: (target: DockerTarget) => Promise<boolean> = daemonIsHere,
): Promise<LockDirOfHosts[]> {
  return groupHosts(hosts, (host, name) => dirPlace(host, name, isHere));
}

/** A fleet's lock directory as a place: one per machine and path. */
async function dirPlace(
  host: LockHost,
  name: string,
  isHere: (target: DockerTarget) => Promise<boolean>,
): Promise<{ key: string; place: () => LockDirOfHosts }> {
  const here = await isHere(host.docker);
  return {
    key: `${here ? '' : name}\n${host.lockHostPath}`,
    place: () => ({ hosts: [], scopes: [], lockDir: host.lockHostPath, ...(here ? {} : { elsewhere: name }) }),
  };
}

/**
 * Where the locks of several env files are held (make locks): an etcd fleet's
 * on its cluster and prefix, which every machine reads alike; the others' in
 * their lock directories (as lockDirsOfHosts).
 */
export async function lockPlacesOfHosts(
  hosts: readonly LockHost[],
  isHere: (target: DockerTarget) => Promise<boolean> = daemonIsHere,
): Promise<LockPlaceOfHosts[]> {
  return groupHosts<LockPlaceOfHosts>(hosts, async (host, name) => {
    const etcd = host.lock?.etcd;
    if (etcd) return { key: lockKey({ etcd }), place: () => ({ hosts: [], scopes: [], etcd }) }; // one cluster and prefix, as make status groups them
    return dirPlace(host, name, isHere);
  });
}

/** Where a place's locks are, for its heading: the lock directory or the etcd cluster. */
function placeName(place: LockPlaceOfHosts): string {
  return 'etcd' in place ? describeEtcd(place.etcd) : `lock directory ${place.lockDir}`;
}

/** A lock directory's (or etcd cluster's) heading among several: its hosts and scopes. */
export function lockDirHeading(place: LockPlaceOfHosts): string {
  return `HOST ${place.hosts.join(', ')}${place.scopes.length ? ` (${place.scopes.join(', ')})` : ''}: ${placeName(place)}`;
}

/** The line for a directory on another machine, which this one cannot read. */
export function elsewhereLine(dir: LockDirOfHosts, command: string): string {
  return `on ${dir.elsewhere ?? 'another machine'}, not this one: its board runners lock there, run ${command} on that machine`;
}

/** A place's locks among several (JSON): its resources, or why there are none. */
export type HostLockReport = LockPlaceOfHosts & {
  resources: ResourceState[] | null;
  /** Why resources is null: on another machine, missing, or etcd unreachable. */
  note?: string;
};

/** Each place's locks; one that is missing, unreachable or on another machine says so instead of failing the rest. */
export async function hostsLockReport(places: readonly LockPlaceOfHosts[]): Promise<HostLockReport[]> {
  return Promise.all(
    places.map(async (place): Promise<HostLockReport> => {
      if ('lockDir' in place && place.elsewhere) return { ...place, resources: null, note: elsewhereLine(place, 'make locks') };
      try {
        return { ...place, resources: 'etcd' in place ? await etcdLockReport(place.etcd) : await lockReport(place.lockDir) };
      } catch (err) {
        // A missing directory or an unreachable etcd is one place's line; not being root fails the command (every directory needs it).
        if (err instanceof ConfigError || ('etcd' in place && err instanceof CliError)) return { ...place, resources: null, note: err.message };
        throw err;
      }
    }),
  );
}

/** make locks over several places: each under its heading, its lines indented. */
export function formatHostsLockReport(reports: readonly HostLockReport[]): string {
  return reports
    .flatMap((report) => [
      lockDirHeading(report),
      ...(report.resources ? formatLockReport('lockDir' in report ? report.lockDir : describeEtcd(report.etcd), report.resources) : (report.note ?? ''))
        .split('\n')
        .map((line) => `  ${line}`),
    ])
    .join('\n');
}
