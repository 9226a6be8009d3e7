// What `make locks` shows and does: each resource's holder and queue in
// order, and an operator's forced release (recorded in locks.log).
import { userInfo } from 'node:os';
import { CliError, ConfigError, ExitCode } from '../../lock/errors.ts';
import { describeIdentity, isValidResource } from '../../lock/layout.ts';
import { forceRelease, readLockDir, type ResourceState, type TicketState } from '../../lock/inspect.ts';

/** The resources in `dir`; one clear line when the directory is missing. */
export async function lockReport(dir: string): Promise<ResourceState[]> {
  try {
    return await readLockDir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ConfigError(`lock directory RUNNER_LOCK_HOST_PATH=${dir} does not exist: run make init, or set RUNNER_LOCK_HOST_PATH`);
    }
    throw err;
  }
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
  const operator = process.env.SUDO_USER || userInfo().username;
  const warnings: string[] = [];
  const holder = await forceRelease(dir, resource, operator, warnings);
  const recorded = warnings.some((w) => w.startsWith('not recorded')) ? 'NOT recorded in locks.log' : `recorded in ${dir}/locks.log`;
  const line = holder ? `${resource}: released (was held by ${describeIdentity(holder)}); ${recorded}` : `${resource}: was not held; ${recorded}`;
  return [line, ...warnings.map((w) => `  ! ${w}`)].join('\n');
}

function formatResource(r: ResourceState): string[] {
  const lines = [r.holder ? `${r.resource}: held by ${job(r.holder)} since ${since(r.holder.since)}${dead(r.holder)}` : `${r.resource}: free`];
  r.queue.forEach((t: TicketState, i) => lines.push(`  ${i + 1}. ${job(t)} waiting since ${since(t.requestedAt)}${dead(t)}`));
  // Entries a job (or anyone) left that are not part of the protocol: skipped, shown so they can be removed.
  for (const w of r.warnings ?? []) lines.push(`  ! ${w}`);
  return lines;
}

function job(who: { runner: string; repository: string; runId: string; attempt: string }): string {
  return `${who.runner || '?'} (${who.repository || 'unknown repository'}, run ${who.runId || '?'} attempt ${who.attempt || '?'})`;
}

function since(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 'unknown time' : `${iso} (${ago(Date.now() - t)} ago)`;
}

function dead(h: { alive: boolean; heartbeatAgeMs: number }): string {
  return h.alive ? '' : ` [no heartbeat for ${ago(h.heartbeatAgeMs)}: owner gone, cleared by the next waiter]`;
}

function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}
