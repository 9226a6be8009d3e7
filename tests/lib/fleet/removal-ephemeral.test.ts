// make rm and make purge on an ephemeral fleet, over in-memory Docker and
// GitHub: the supervisor is stopped once the user has said yes (never when
// they decline), the fleet is listed again after it stopped (it may have
// refilled a slot under a new registration meanwhile), and purge also removes
// the cache volumes and a pid file a killed supervisor left.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliError, ExitCode } from '../../../core/errors.ts';
import { collecting } from '../../../core/reporter.ts';
import type { Config } from '../../../lib/config/config.ts';
import { deriveConfig } from '../../../lib/config/derive.ts';
import type { FleetContainer } from '../../../lib/docker/containers.ts';
import { cacheVolumesOf, purgeFleet } from '../../../lib/fleet/purge.ts';
import { haltSupervisor, removeFleetRunners } from '../../../lib/fleet/removal.ts';
import type { DockerApi } from '../../../lib/fleet/status.ts';
import { supervisorPidFile } from '../../../lib/fleet/supervisor-pid.ts';
import type { Runner, RunnerApi } from '../../../lib/github/runner-api.ts';

let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'removal-ephemeral-'))));
after(() => rm(dir, { recursive: true, force: true }));

const config = (mode: 'ephemeral' | 'persistent'): Config =>
  deriveConfig({ envFile: join(dir, '.env'), env: { ORG: 'acme', RUNNER_NAME_PREFIX: 'h', RUNNER_MODE: mode }, file: {} }, { cwd: dir, hostname: 'host1' });
const runner = (name: string, id: number, busy = false): Runner => ({ id, name, os: 'Linux', status: 'online', busy, labels: [] });
const slot = (name: string): FleetContainer => ({
  name,
  service: name,
  state: 'running',
  kind: 'generic',
  labels: [],
  image: 'i',
  createdAt: '2026-12-04T10:00:00Z',
  ephemeral: true,
});

/** A fleet whose supervisor, until stopped, has just refilled runner-1 under a new registration id. */
function fleet() {
  const state = {
    supervisor: 4242 as number | undefined,
    runners: [runner('h-runner-1', 1), runner('h-runner-2', 2, true)],
    deletedIds: [] as number[],
    removed: [] as string[],
    volumes: new Set(['h-cache-toolcache', 'h-cache-npm', 'h-runner-1-state', 'hx-cache-other']),
    log: [] as string[],
  };
  const stopSupervisor = () => {
    state.log.push('supervisor stopped');
    const pid = state.supervisor;
    if (pid !== undefined) state.runners = [runner('h-runner-1', 11), runner('h-runner-2', 2, true)]; // the refill it did before it stopped
    state.supervisor = undefined;
    return Promise.resolve(pid);
  };
  const api = {
    scope: { org: 'acme' },
    listRunners: () => Promise.resolve(state.runners.map((r) => ({ ...r }))),
    deleteRunner: (r: Pick<Runner, 'id' | 'name'>) => {
      state.log.push(`delete ${r.name} #${r.id}`);
      const found = state.runners.find((x) => x.id === r.id);
      if (!found) return Promise.resolve('absent' as const);
      if (found.busy) return Promise.reject(new CliError(`runner ${r.name} is running a job`, ExitCode.runnerBusy));
      state.runners = state.runners.filter((x) => x !== found);
      state.deletedIds.push(r.id);
      return Promise.resolve('deleted' as const);
    },
  } as unknown as RunnerApi;
  const docker: DockerApi = {
    listFleetContainers: () => Promise.resolve([slot('h-runner-1')]),
    removeRunnerContainers: (names) => (state.removed.push(...names), Promise.resolve()),
    removeScopeImages: () => Promise.resolve([]),
    containerOutputTail: () => Promise.resolve(undefined),
    existingVolumes: () => Promise.resolve(new Set(state.volumes)),
    removeVolumes: (volumes) => {
      for (const volume of volumes) state.volumes.delete(volume);
      return Promise.resolve();
    },
    containersUsingVolume: (volume) => Promise.resolve(volume === 'h-cache-npm' ? ['hx-runner-1'] : []),
  };
  return { state, api, docker, stopSupervisor };
}

describe('the supervisor before rm and purge', () => {
  it('haltSupervisor says it stopped one; when none ran, says so for an ephemeral fleet only', async () => {
    const reporter = collecting();
    assert.equal(await haltSupervisor(config('ephemeral'), reporter, () => Promise.resolve(7)), true);
    assert.equal(await haltSupervisor(config('ephemeral'), reporter, () => Promise.resolve(undefined)), false);
    assert.equal(await haltSupervisor(config('persistent'), reporter, () => Promise.resolve(undefined)), false);
    assert.deepEqual(reporter.lines, [
      'stopped the supervisor (pid 7) so it does not fill the slots again; make supervise starts it again',
      'no supervisor was running for this fleet',
    ]);
  });

  it('rm: declined, the supervisor keeps running', async () => {
    const { state, api, docker, stopSupervisor } = fleet();
    await assert.rejects(
      removeFleetRunners(config('ephemeral'), api, {
        names: [],
        yes: false,
        force: false,
        interactive: false,
        reporter: collecting(),
        dockerApi: docker,
        stopSupervisor,
      }),
      /refusing to remove 2 runner/,
    );
    assert.deepEqual(state.log, []);
  });

  it('rm: the supervisor stopped first, the fleet listed again, the registration it made last deleted; the busy one reported (exit 5)', async () => {
    const { state, api, docker, stopSupervisor } = fleet();
    const reporter = collecting();
    const code = await removeFleetRunners(config('ephemeral'), api, { names: [], yes: true, force: false, reporter, dockerApi: docker, stopSupervisor });
    assert.equal(code, ExitCode.runnerBusy);
    assert.deepEqual(state.log, ['supervisor stopped', 'delete h-runner-1 #11', 'delete h-runner-2 #2']);
    assert.deepEqual(state.removed, ['h-runner-1']);
    assert.deepEqual(reporter.lines, [
      'stopped the supervisor (pid 4242) so it does not fill the slots again; make supervise starts it again',
      'h-runner-1: unregistered from GitHub',
      'h-runner-2: skipped, it is running a job (GitHub refuses to remove it; --force stops the job)',
      'removed containers and volumes: h-runner-1',
    ]);
  });

  it("cacheVolumesOf: the prefix's cache-* volumes only", () => {
    assert.deepEqual(cacheVolumesOf('h-', ['h-cache-b', 'h-cache-a', 'h-cache-', 'h-runner-1-state', 'hx-cache-a', 'x-h-cache-a']), ['h-cache-a', 'h-cache-b']);
  });

  it('purge: the supervisor stopped, its pid file (left by a killed one) deleted, the cache volumes removed unless another fleet mounts one', async () => {
    const { state, api, docker } = fleet();
    state.runners = [runner('h-runner-1', 1)];
    // The pid file names no live process: a supervisor that was killed, so none is stopped.
    const stopSupervisor = () => (state.log.push('supervisor asked to stop'), Promise.resolve(undefined));
    const ephemeral = config('ephemeral');
    await writeFile(ephemeral.composeFile, 'services: {}\n');
    await writeFile(supervisorPidFile(ephemeral), '999999\n');
    const reporter = collecting();
    const code = await purgeFleet(ephemeral, api, { yes: true, force: false, env: false, reporter, dockerApi: docker, stopSupervisor });
    assert.equal(code, ExitCode.ok, reporter.lines.join('\n'));
    assert.equal(state.log[0], 'supervisor asked to stop');
    assert.deepEqual(await readdir(dir), []);
    assert.ok(reporter.lines.includes('no supervisor was running for this fleet'));
    assert.deepEqual([...state.volumes].sort(), ['h-cache-npm', 'h-runner-1-state', 'hx-cache-other']);
    assert.ok(
      reporter.lines.some((line) => /^deleted \S*\.supervisor\.[^ ]+\.pid$/.test(line)),
      reporter.lines.join('\n'),
    );
    assert.ok(reporter.lines.includes('kept volume h-cache-npm: still mounted by hx-runner-1'), reporter.lines.join('\n'));
    assert.ok(reporter.lines.includes('removed cache volumes: h-cache-toolcache'), reporter.lines.join('\n'));
  });
});
