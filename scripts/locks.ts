#!/usr/bin/env -S node --import tsx
// `make locks`: who holds each shared resource and who waits, in order.
//   locks [--json]                     list
//   locks release RESOURCE --force     operator override, recorded in locks.log
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { CliError, ConfigError, ExitCode, runCli } from '../lib/errors.ts';
import { describeIdentity, isValidResource } from '../lib/lock-layout.ts';
import { forceRelease, lockHostPath, readLockDir, type ResourceState, type TicketState } from '../lib/locks.ts';

function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

function since(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 'unknown time' : `${iso} (${ago(Date.now() - t)} ago)`;
}

function job(who: { runner: string; repository: string; runId: string; attempt: string }): string {
  return `${who.runner || '?'} (${who.repository || 'unknown repository'}, run ${who.runId || '?'} attempt ${who.attempt || '?'})`;
}

function dead(h: { alive: boolean; heartbeatAgeMs: number }): string {
  return h.alive ? '' : ` [no heartbeat for ${ago(h.heartbeatAgeMs)}: owner gone, cleared by the next waiter]`;
}

function formatResource(r: ResourceState): string[] {
  const lines = [r.holder ? `${r.resource}: held by ${job(r.holder)} since ${since(r.holder.since)}${dead(r.holder)}` : `${r.resource}: free`];
  r.queue.forEach((t: TicketState, i) => lines.push(`  ${i + 1}. ${job(t)} waiting since ${since(t.requestedAt)}${dead(t)}`));
  return lines;
}

async function list(dir: string, json: boolean): Promise<void> {
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
  if (json) {
    process.stdout.write(`${JSON.stringify({ lockDir: dir, resources }, null, 2)}\n`);
    return;
  }
  if (resources.length === 0) {
    process.stdout.write(`no resource has been locked in ${dir}\n`);
    return;
  }
  process.stdout.write(`${resources.flatMap(formatResource).join('\n')}\n`);
}

async function release(dir: string, resource: string | undefined, force: boolean): Promise<void> {
  if (!resource || !isValidResource(resource)) throw new ConfigError('usage: locks release RESOURCE --force');
  if (!force) {
    throw new CliError(`releasing ${resource} lets the next job use it while the current one may still run: add --force`, ExitCode.refused);
  }
  const operator = process.env.SUDO_USER || userInfo().username;
  const holder = await forceRelease(dir, resource, operator);
  process.stdout.write(holder ? `${resource}: released (was held by ${describeIdentity(holder)}); recorded in ${dir}/locks.log\n` : `${resource}: was not held; recorded in ${dir}/locks.log\n`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { json: { type: 'boolean', default: false }, force: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const dir = lockHostPath();
  const [command, resource] = positionals;
  if (command === undefined || command === 'list') return list(dir, values.json ?? false);
  if (command === 'release') return release(dir, resource, values.force ?? false);
  throw new ConfigError(`unknown command ${command}: use locks [--json] or locks release RESOURCE --force`);
}

await runCli(main);
