// Several fleets on several Docker hosts in one process (issue 23): each
// fleet's docker commands run against its own DOCKER_HOST/DOCKER_CONTEXT
// (withDockerTarget), make list's one table over them with HOST and SCOPE,
// and make locks' lock directories, each once with the hosts that use it.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Config, DockerTarget } from '../../../lib/config/config.ts';
import { deriveConfig } from '../../../lib/config/derive.ts';
import { currentDockerTarget, start, useDockerTarget, withDockerTarget } from '../../../lib/docker/command.ts';
import type { FleetContainer } from '../../../lib/docker/containers.ts';
import { LABEL } from '../../../lib/docker/labels.ts';
import { formatHostsLockReport, hostsLockReport, lockDirsOfHosts } from '../../../lib/fleet/locks-report.ts';
import { readStatus, watchStatus, type StatusHost } from '../../../lib/fleet/live-status.ts';
import { renderStatus } from '../../../lib/fleet/status-view.ts';
import { formatHostsTable, hostRows, hostsStatus } from '../../../lib/fleet/status.ts';
import type { Runner } from '../../../lib/github/runner-api.ts';
import { runnerFixture as runner } from '../../support/github-fixture.ts';

const SECOND = 'unix:///run/docker-second.sock';

function fleet(org: string, prefix: string, docker: Record<string, string> = {}, extra: Record<string, string> = {}): Config {
  return deriveConfig(
    { envFile: `/lab/${org}.env`, env: {}, file: { ORG: org, RUNNER_NAME_PREFIX: prefix, ...docker, ...extra } },
    { cwd: '/lab', hostname: 'h' },
  );
}

const container = (name: string, extra: Partial<FleetContainer> = {}): FleetContainer => ({
  name,
  service: name,
  state: 'running',
  kind: 'generic',
  labels: ['intel'],
  image: 'gh-runner-fleet:x',
  createdAt: '2026-12-04T10:00:00Z',
  ephemeral: false,
  ...extra,
});

describe('the Docker target of a command', () => {
  const echo = async (): Promise<string> => (await start(['sh', '-c', 'echo "${DOCKER_HOST-unset} ${DOCKER_CONTEXT-unset}"'])).stdout.trim();

  it('a scope sets DOCKER_HOST or DOCKER_CONTEXT and removes the other; commands started late inside it keep it', async () => {
    const seen = await Promise.all([
      withDockerTarget({ host: SECOND }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return echo();
      }),
      withDockerTarget({ context: 'lab2' }, echo),
    ]);
    assert.deepEqual(seen, [`${SECOND} unset`, 'unset lab2']);
  });
});

describe('make list over several hosts', () => {
  const acme = fleet('acme', 'lab-a');
  const globex = fleet('globex', 'lab-b', { DOCKER_HOST: SECOND }, { RUNNER_MODE: 'ephemeral' });
  const containersOn: Record<string, FleetContainer[]> = {
    local: [container('lab-a-runner-1'), container('lab-a-runner-2', { state: 'exited' })],
    [SECOND]: [container('lab-b-runner-1', { ephemeral: true })],
  };
  const asked: string[] = [];
  const docker = {
    // Which daemon each listing went to: the target current when it runs.
    listFleetContainers: (config: Pick<Config, 'prefix'>) => {
      const host = currentDockerTarget()?.host ?? 'local';
      asked.push(`${config.prefix} ${host}`);
      return Promise.resolve(containersOn[host]!.filter((c) => c.name.startsWith(config.prefix)));
    },
    containerOutputTail: () => Promise.resolve(`2026-12-04 10:00:01Z: Running job: build (${currentDockerTarget()?.host ?? 'local'})\n`),
  };
  const api = (runners: Runner[]) => ({ listRunners: () => Promise.resolve(runners) });

  it("reads each fleet's containers and jobs from its own host, and shows one table with HOST and SCOPE", async () => {
    const now = new Date('2026-12-04T10:05:00Z');
    const fleets = await hostsStatus(
      [
        { config: acme, api: api([runner('lab-a-runner-1'), runner('lab-a-runner-2', { status: 'offline' }), runner('lab-a-runner-3')]) },
        { config: globex, api: api([runner('lab-b-runner-1', { busy: true })]) },
      ],
      docker,
      now,
    );
    assert.deepEqual(asked.sort(), ['lab-a- local', `lab-b- ${SECOND}`]);
    assert.deepEqual(
      fleets.map((f) => [f.host, f.scope]),
      [
        ['local', 'acme'],
        [SECOND, 'globex'],
      ],
    );
    const rows = hostRows(fleets);
    assert.deepEqual(
      rows.map((r) => [r.host, r.scope, r.name, r.container]),
      [
        ['local', 'acme', 'lab-a-runner-1', 'running'],
        ['local', 'acme', 'lab-a-runner-2', 'exited'],
        ['local', 'acme', 'lab-a-runner-3', null],
        [SECOND, 'globex', 'lab-b-runner-1', 'running'],
      ],
    );
    assert.equal((rows[3] as { job?: string }).job, `build (${SECOND})`, "the slot's job read on its own host");
    const table = formatHostsTable(fleets).split('\n');
    assert.match(table[0]!, new RegExp(`^globex on ${SECOND}: ephemeral fleet: each row is a slot`));
    assert.match(table[1]!, /^HOST +SCOPE +NAME +CONTAINER +AGE +GITHUB +BUSY +JOB +BOARD +LABELS +DEVICES +NOTE$/);
    assert.match(table[2]!, /^local +acme +lab-a-runner-1 +running +- +online +idle +- +- +self-hosted,intel +-$/);
    assert.match(table[4]!, /^local +acme +lab-a-runner-3 +- +- +online +idle +- +- +self-hosted,intel +- +orphan: no container here$/);
    assert.match(
      table[5]!,
      new RegExp(`^unix:///run/docker-second\\.sock +globex +lab-b-runner-1 +running +5m +online +busy +build \\(${SECOND.replaceAll('.', '\\.')}\\) `),
    );
    assert.deepEqual(table.slice(6), [
      '',
      'acme on local: 3 runner(s): 2 online, 0 busy, 1 orphan(s), 0 unregistered',
      `globex on ${SECOND}: 1 slot(s): 1 container(s) running, 1 online, 1 busy, 0 orphan(s), 0 unregistered`,
    ]);
  });

  it('persistent fleets only: no AGE or JOB column', async () => {
    const fleets = await hostsStatus(
      [
        { config: acme, api: api([]) },
        { config: fleet('initech', 'lab-c', { DOCKER_CONTEXT: 'lab2' }), api: api([runner('lab-c-runner-1')]) },
      ],
      docker,
    );
    const lines = formatHostsTable(fleets).split('\n');
    assert.match(lines[0]!, /^HOST +SCOPE +NAME +CONTAINER +GITHUB +BUSY +BOARD +LABELS +DEVICES +NOTE$/);
    assert.ok(lines.includes('initech on lab2: 1 runner(s): 1 online, 0 busy, 1 orphan(s), 0 unregistered'), lines.join('\n'));
  });
});

describe('make locks over several hosts', () => {
  const here = (target: DockerTarget) => Promise.resolve(!target.host?.startsWith('ssh://'));
  const host = (scope: string, docker: DockerTarget, lockHostPath: string) => ({ envFile: `/lab/${scope}.env`, scope, docker, lockHostPath });

  it('one directory per machine and path: daemons of this machine share it, another machine has its own', async () => {
    const dirs = await lockDirsOfHosts(
      [
        host('acme', {}, '/locks'),
        host('globex', { host: SECOND }, '/locks'),
        host('umbrella', {}, '/locks'),
        host('initech', { host: 'ssh://ci@lab2' }, '/locks'),
        host('hooli', { host: SECOND }, '/other-locks'),
      ],
      here,
    );
    assert.deepEqual(dirs, [
      { hosts: ['local', SECOND], scopes: ['acme', 'globex', 'umbrella'], lockDir: '/locks' },
      { hosts: ['ssh://ci@lab2'], scopes: ['initech'], lockDir: '/locks', elsewhere: 'ssh://ci@lab2' },
      { hosts: [SECOND], scopes: ['hooli'], lockDir: '/other-locks' },
    ]);
  });

  it("each directory under its heading: its locks, a missing one's line, another machine's line", async () => {
    const empty = await mkdtemp(join(tmpdir(), 'fleet-hosts-locks-'));
    const reports = await hostsLockReport(
      await lockDirsOfHosts(
        [host('acme', {}, empty), host('globex', { host: SECOND }, '/nonexistent/locks'), host('initech', { host: 'ssh://ci@lab2' }, empty)],
        here,
      ),
    );
    assert.deepEqual(formatHostsLockReport(reports).split('\n'), [
      `HOST local (acme): lock directory ${empty}`,
      `  no resource has been locked in ${empty}`,
      `HOST ${SECOND} (globex): lock directory /nonexistent/locks`,
      '  lock directory RUNNER_LOCK_HOST_PATH=/nonexistent/locks does not exist: run make init, or set RUNNER_LOCK_HOST_PATH',
      `HOST ssh://ci@lab2 (initech): lock directory ${empty}`,
      '  on ssh://ci@lab2, not this one: its board runners lock there, run make locks on that machine',
    ]);
    assert.deepEqual(
      reports.map((r) => [r.hosts, r.resources?.length ?? null]),
      [
        [['local'], 0],
        [[SECOND], null],
        [['ssh://ci@lab2'], null],
      ],
    );
  });
});

describe('make status over several hosts', () => {
  const acme = fleet('acme', 'lab-a', {}, { BOARD_RUNNERS: 'pi:pi' });
  const globex = fleet('globex', 'lab-b', { DOCKER_HOST: SECOND });
  /** Every Docker call of the status, with the daemon current when it was made. */
  function fakeHost(calls: string[]): StatusHost {
    const on = () => currentDockerTarget()?.host ?? 'local';
    return {
      listContainers: (config) => {
        calls.push(`list ${config.prefix} ${on()}`);
        return Promise.resolve({ containers: [container(`${config.prefix}runner-1`)] });
      },
      outputTail: (name) => {
        calls.push(`tail ${name} ${on()}`);
        return Promise.resolve('2026-12-04 10:00:01Z: Running job: build\n');
      },
      followOutput: (name) => {
        calls.push(`follow ${name} ${on()}`);
        return { close: () => undefined };
      },
      watchEvents: (filters) => {
        calls.push(`events ${filters[1]} ${on()}`);
        return { close: () => undefined, ended: new Promise<void>(() => undefined) };
      },
      readLocks: () => Promise.resolve([]),
      watchFolder: () => undefined,
    };
  }
  const github = (runners: Runner[]) => ({ listRunners: () => Promise.resolve(runners) });
  const fleets = [
    { config: acme, github: github([runner('lab-a-runner-1')]) },
    { config: globex, github: github([runner('lab-b-runner-1', { busy: true })]) },
  ];

  it("one snapshot: each fleet's Docker calls on its own host, each fleet line naming it", async () => {
    const calls: string[] = [];
    const view = await readStatus(fleets, fakeHost(calls), () => new Date('2026-12-04T10:05:00Z'));
    assert.deepEqual(calls.sort(), ['list lab-a- local', `list lab-b- ${SECOND}`, 'tail lab-a-runner-1 local', `tail lab-b-runner-1 ${SECOND}`]);
    assert.deepEqual(
      view.fleets.map((f) => [f.host, f.scope]),
      [
        ['local', 'acme'],
        [SECOND, 'globex'],
      ],
    );
    const text = renderStatus(view, { width: 100 });
    assert.match(text, /^acme on local \(lab-a-\): 1 runner, 1 running, 1 online, 0 busy$/m);
    assert.match(text, new RegExp(`^globex on ${SECOND.replaceAll('.', '\\.')} \\(lab-b-\\): 1 runner, 1 running, 1 online, 1 busy$`, 'm'));
    // One fleet: no host, as before.
    const one = await readStatus([fleets[0]!], fakeHost([]));
    assert.equal(one.fleets[0]?.host, undefined);
    assert.match(renderStatus(one, { width: 100 }), /^acme \(lab-a-\): /m);
  });

  it("--watch: the events, followers and job reads of each fleet run on its host, the timers' re-reads too", async () => {
    const calls: string[] = [];
    const stop = new AbortController();
    let views = 0;
    const watching = watchStatus(fleets, { signal: stop.signal, onView: () => void views++, rereadMs: 30, githubPollMs: 30, tickMs: 1000 }, fakeHost(calls));
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop.abort();
    await watching;
    assert.ok(views > 0);
    const distinct = [...new Set(calls)].sort();
    assert.deepEqual(
      distinct,
      [
        `events ${LABEL.prefix}=lab-a- local`,
        `events ${LABEL.prefix}=lab-b- ${SECOND}`,
        'follow lab-a-runner-1 local',
        `follow lab-b-runner-1 ${SECOND}`,
        'list lab-a- local',
        `list lab-b- ${SECOND}`,
        'tail lab-a-runner-1 local',
        `tail lab-b-runner-1 ${SECOND}`,
      ].sort(),
    );
  });
});

describe('a process with fleets on two daemons', () => {
  it('a docker command outside any scope throws rather than pick one; inside a scope it runs', async () => {
    useDockerTarget({});
    useDockerTarget({ host: SECOND });
    assert.throws(
      () => start(['true']),
      /^Error: a docker command outside withDockerTarget, in a process with fleets on local and unix:\/\/\/run\/docker-second\.sock: which daemon is meant is not known$/,
    );
    assert.equal((await withDockerTarget({}, () => start(['true']))).exitCode, 0);
  });
});
