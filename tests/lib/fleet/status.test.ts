// What `make list` and `make rm` make of GitHub's runners and the local
// containers: the joined table, orphans, unregistered containers, and which
// runners a list of names resolves to. An ephemeral fleet's `make list` and
// `make ps`: its slots with each container's age and job, and its supervisor.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../../lib/config/config.ts';
import { deriveConfig } from '../../../lib/config/derive.ts';
import type { FleetContainer } from '../../../lib/docker/containers.ts';
import { planRemoval } from '../../../lib/fleet/removal.ts';
import {
  ageSeconds,
  fleetContainers,
  fleetStatus,
  formatAge,
  formatContainerTable,
  formatFleetTable,
  jobInOutput,
  joinFleet,
  type SlotRow,
} from '../../../lib/fleet/status.ts';
import { supervisorPidFile } from '../../../lib/fleet/supervisor-pid.ts';
import type { Runner } from '../../../lib/github/runner-api.ts';
import { runnerFixture as runner } from '../../support/github-fixture.ts';

const container = (name: string, state = 'running'): FleetContainer => ({
  name,
  service: name,
  state,
  kind: 'generic',
  labels: ['intel'],
  image: 'gh-runner-fleet:h',
  createdAt: '2026-12-04T10:00:00Z',
  ephemeral: false,
});

describe('fleet table', () => {
  const runners = [runner('h-runner-2'), runner('h-runner-10', { busy: true }), runner('h-runner-1', { status: 'offline' }), runner('elsewhere-1')];
  const containers = [container('h-runner-1', 'exited'), container('h-runner-2'), container('h-runner-3')];

  it('joins by name, in counting order, without runners of other prefixes', () => {
    const rows = joinFleet('h-', runners, containers);
    assert.deepEqual(
      rows.map((row) => row.name),
      ['h-runner-1', 'h-runner-2', 'h-runner-3', 'h-runner-10'],
    );
    assert.deepEqual(rows[0], {
      name: 'h-runner-1',
      container: 'exited',
      github_status: 'offline',
      busy: false,
      labels: ['self-hosted', 'intel'],
      orphan: false,
      unregistered: false,
      kind: 'generic',
      board: null,
      devices: [],
      id: runners[2]!.id,
    });
  });

  it('flags a registration without a container as orphan and a container unknown to GitHub as unregistered', () => {
    const rows = Object.fromEntries(joinFleet('h-', runners, containers).map((row) => [row.name, row]));
    assert.equal(rows['h-runner-10']?.orphan, true);
    assert.equal(rows['h-runner-3']?.unregistered, true);
    assert.equal(rows['h-runner-3']?.github_status, null);
    const table = formatFleetTable(Object.values(rows));
    assert.match(table, /^h-runner-10 +- +online +busy +- +self-hosted,intel +- +orphan: no container here$/m);
    assert.match(table, /^h-runner-3 +running +- +- +- +intel +- +unregistered: not on GitHub$/m);
    assert.match(table, /4 runner\(s\): 2 online, 1 busy, 1 orphan\(s\), 1 unregistered/);
  });

  it('a board runner shows its board and its own devices', () => {
    const board: FleetContainer = {
      ...container('h-runner-pi'),
      kind: 'board',
      board: 'pi',
      devices: ['/dev/serial/by-id/usb-FTDI_A-if00-port0:/dev/ttyUSB0'],
    };
    const rows = joinFleet('h-', [runner('h-runner-pi', { labels: ['pi'] })], [board]);
    assert.equal(rows[0]?.board, 'pi');
    assert.deepEqual(rows[0]?.devices, ['/dev/serial/by-id/usb-FTDI_A-if00-port0:/dev/ttyUSB0']);
    const table = formatFleetTable(rows);
    assert.match(table, /^NAME +CONTAINER +GITHUB +BUSY +BOARD +LABELS +DEVICES +NOTE$/m);
    assert.match(table, /^h-runner-pi +running +online +idle +pi +pi +\/dev\/serial\/by-id\/usb-FTDI_A-if00-port0:\/dev\/ttyUSB0 *$/m);
  });

  it("without Docker shows GitHub's side and claims no orphans", () => {
    const rows = joinFleet('h-', runners, undefined);
    assert.equal(rows.length, 3);
    assert.ok(rows.every((row) => row.orphan === null && row.container === null && !row.unregistered));
    assert.match(formatFleetTable(rows), /^h-runner-1 +\? +offline/m);
  });
});

describe('removal plan', () => {
  const runners = [runner('h-runner-1'), runner('h-runner-2'), runner('elsewhere-1')];
  const containers = [container('h-runner-2'), container('h-runner-3')];

  it('no names: every runner of the prefix, orphans and unregistered containers included', () => {
    const plan = planRemoval('h-', runners, containers, []);
    assert.deepEqual(
      plan.targets.map((target) => target.name),
      ['h-runner-1', 'h-runner-2', 'h-runner-3'],
    );
    assert.deepEqual(plan.unknown, []);
  });

  it('resolves full names and names without the prefix; reports the rest without dropping the others', () => {
    const plan = planRemoval('h-', runners, containers, ['h-runner-1', 'runner-3', 'nope', 'elsewhere-1', 'runner-1']);
    assert.deepEqual(
      plan.targets.map((target) => [target.name, Boolean(target.runner), Boolean(target.container)]),
      [
        ['h-runner-1', true, false],
        ['h-runner-3', false, true],
      ],
    );
    assert.deepEqual(
      plan.unknown.map((entry) => entry.name),
      ['nope', 'elsewhere-1'],
    );
    assert.match(plan.unknown[1]!.reason, /not a runner of this fleet/);
  });

  it('a board name (or a bare number) resolves like in every other command', () => {
    const withBoard = [...runners, runner('h-runner-phytiumpi')];
    const plan = planRemoval('h-', withBoard, containers, ['phytiumpi', '2']);
    assert.deepEqual(
      plan.targets.map((target) => target.name),
      ['h-runner-phytiumpi', 'h-runner-2'],
    );
    assert.deepEqual(plan.unknown, []);
  });
});

describe('an ephemeral fleet: slots, their age and job', () => {
  let dir: string;
  const config = (mode: 'ephemeral' | 'persistent'): Config =>
    deriveConfig({ envFile: join(dir, '.env'), env: { ORG: 'acme', RUNNER_NAME_PREFIX: 'h', RUNNER_MODE: mode }, file: {} }, { cwd: dir, hostname: 'host1' });
  const now = new Date('2026-12-04T12:00:00Z');
  const slot = (name: string, createdAt: string, state = 'running'): FleetContainer => ({ ...container(name, state), createdAt, ephemeral: true });
  const line = (text: string) => `2026-12-04 11:58:00Z: ${text}`;
  /** What each container printed, as `docker logs --tail` gives it. */
  const outputs: Record<string, string> = {
    'h-runner-1': ['√ Connected to GitHub', '', line('Listening for Jobs'), line('Running job: build (ubuntu)')].join('\n'),
    'h-runner-2': [line('Listening for Jobs')].join('\n'),
  };
  const docker = (containers: FleetContainer[]) => ({
    listFleetContainers: () => Promise.resolve(containers),
    containerOutputTail: (name: string) => Promise.resolve(outputs[name]),
  });
  const api = (runners: Runner[]) => ({ listRunners: () => Promise.resolve(runners) });

  before(async () => (dir = await mkdtemp(join(tmpdir(), 'status-slots-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it("the job is the last 'Running job' line no 'completed' line followed; idle otherwise", () => {
    assert.equal(jobInOutput(undefined), null);
    assert.equal(jobInOutput(outputs['h-runner-2']), null);
    assert.equal(jobInOutput(outputs['h-runner-1']), 'build (ubuntu)');
    assert.equal(jobInOutput([line('Running job: build'), line('Job build completed with result: Succeeded')].join('\n')), null);
    assert.equal(jobInOutput([line('Running job: a'), line('Job a completed with result: Failed'), line('Running job: b')].join('\r\n')), 'b');
    // Only the Listener's own line shape counts: not an echo of it inside other text.
    assert.equal(jobInOutput(`step says: ${line('Running job: fake')}`), null);
  });

  it('a job name is shown cleaned and short: a job can print that line itself', () => {
    const hostile = jobInOutput(line(`Running job: \u001b]0;owned\u0007::set-output name=x::${'y'.repeat(300)}`));
    assert.ok(hostile !== null);
    assert.doesNotMatch(hostile, /[\u0000-\u001f]|::/);
    assert.ok(hostile.length <= 60, hostile);
    assert.equal(jobInOutput(line('Running job: \u001b[2J')), '?');
  });

  it('ages in one unit, as people say them', () => {
    assert.deepEqual([0, 59, 60, 3599, 3600, 86_399, 86_400, 200_000].map(formatAge), ['0s', '59s', '1m', '59m', '1h', '23h', '1d', '2d']);
    assert.equal(formatAge(null), '-');
    assert.equal(ageSeconds('2026-12-04T11:57:00.123456789Z', now), 179);
    assert.equal(ageSeconds('2026-12-04T12:00:05Z', now), 0, 'a clock a little ahead is no negative age');
    assert.equal(ageSeconds('garbage', now), null);
  });

  it('make list: a header saying these are slots and whether the supervisor runs; AGE and JOB columns; JSON gains ephemeral, age_s and job', async () => {
    const containers = [
      slot('h-runner-1', '2026-12-04T11:57:00Z'),
      slot('h-runner-2', '2026-12-04T09:30:00Z'),
      slot('h-runner-3', '2026-12-04T11:59:00Z', 'exited'),
    ];
    const runners = [runner('h-runner-1', { busy: true }), runner('h-runner-2'), runner('h-runner-4', { busy: true })];
    const status = await fleetStatus(config('ephemeral'), api(runners), docker(containers), now);
    assert.deepEqual(status.slots, { supervisorPid: undefined });
    const rows = status.rows as SlotRow[];
    assert.deepEqual(
      rows.map((row) => [row.name, row.ephemeral, row.age_s, row.job]),
      [
        ['h-runner-1', true, 180, 'build (ubuntu)'],
        ['h-runner-2', true, 9000, null],
        ['h-runner-3', true, 60, null],
        ['h-runner-4', true, null, null],
      ],
    );
    const table = formatFleetTable(status.rows, status.slots);
    const lines = table.split('\n');
    assert.equal(
      lines[0],
      'ephemeral fleet: each row is a slot the supervisor fills with a fresh container per job; supervisor: not running — start it with make supervise',
    );
    assert.match(lines[1]!, /^NAME +CONTAINER +AGE +GITHUB +BUSY +JOB +BOARD +LABELS +DEVICES +NOTE$/);
    assert.match(table, /^h-runner-1 +running +3m +online +busy +build \(ubuntu\) +- +self-hosted,intel +-$/m);
    assert.match(table, /^h-runner-2 +running +2h +online +idle +- +- /m);
    assert.match(table, /^h-runner-3 +exited +1m +- +- +- +- +intel +- +unregistered: not on GitHub$/m);
    // Busy on GitHub with no container here: the job is not known.
    assert.match(table, /^h-runner-4 +- +- +online +busy +\? +- .*orphan: no container here$/m);
    assert.match(lines.at(-1)!, /^4 slot\(s\): 2 container\(s\) running, 3 online, 2 busy, 1 orphan\(s\), 1 unregistered$/);
  });

  it('a running supervisor is named by its pid', async () => {
    const ephemeral = config('ephemeral');
    await writeFile(supervisorPidFile(ephemeral), `${process.pid}\n`);
    try {
      const status = await fleetStatus(ephemeral, api([]), docker([]), now);
      assert.equal(
        formatFleetTable(status.rows, status.slots).split('\n')[0],
        `ephemeral fleet: each row is a slot the supervisor fills with a fresh container per job; supervisor: pid ${process.pid}`,
      );
      assert.match(formatFleetTable(status.rows, status.slots), /no slots filled and no registrations of this fleet/);
    } finally {
      await rm(supervisorPidFile(ephemeral));
    }
  });

  it("a persistent fleet: the same rows, table and JSON as before, nothing asked of the containers' output", async () => {
    const containers = [container('h-runner-1')];
    const status = await fleetStatus(
      config('persistent'),
      api([runner('h-runner-1')]),
      { ...docker(containers), containerOutputTail: () => assert.fail('output read') },
      now,
    );
    assert.equal(status.slots, undefined);
    assert.deepEqual(Object.keys(status.rows[0]!), [
      'name',
      'container',
      'github_status',
      'busy',
      'labels',
      'orphan',
      'unregistered',
      'kind',
      'board',
      'devices',
      'id',
    ]);
    assert.equal(formatFleetTable(status.rows, status.slots), formatFleetTable(status.rows));
  });

  it('make ps: AGE and JOB after STATE under the same header; JSON keeps every field and adds age_s and job', async () => {
    const containers = [slot('h-runner-1', '2026-12-04T11:57:00Z'), slot('h-runner-2', '2026-12-01T12:00:00Z')];
    const status = await fleetContainers(config('ephemeral'), docker(containers), now);
    assert.deepEqual(status.containers[0], { ...containers[0], age_s: 180, job: 'build (ubuntu)' });
    assert.deepEqual(status.containers[1], { ...containers[1], age_s: 259_200, job: null });
    const lines = formatContainerTable(status).split('\n');
    assert.match(lines[0]!, /^ephemeral fleet: .*supervisor: not running — start it with make supervise$/);
    assert.match(lines[1]!, /^NAME +STATE +AGE +JOB +KIND +BOARD +LABELS +RESOURCE +DEVICES$/);
    assert.match(lines[2]!, /^h-runner-1 +running +3m +build \(ubuntu\) +generic +- +intel +- +-$/);
    assert.match(lines[3]!, /^h-runner-2 +running +3d +- +generic +- +intel +- +-$/);
  });

  it('make ps of a persistent fleet: unchanged', async () => {
    const status = await fleetContainers(config('persistent'), docker([container('h-runner-1')]), now);
    assert.deepEqual(status, { containers: [container('h-runner-1')] });
    assert.equal(
      formatContainerTable(status),
      'NAME        STATE    KIND     BOARD  LABELS  RESOURCE  DEVICES\nh-runner-1  running  generic  -      intel   -         -',
    );
  });
});
