// What `make list` and `make rm` make of GitHub's runners and the local
// containers: the joined table, orphans, unregistered containers, and which
// runners a list of names resolves to.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetContainer } from '../../../lib/docker/containers.ts';
import { planRemoval } from '../../../lib/fleet/removal.ts';
import { formatFleetTable, joinFleet } from '../../../lib/fleet/status.ts';
import type { Runner } from '../../../lib/github/runner-api.ts';

const runner = (name: string, extra: Partial<Runner> = {}): Runner => ({
  id: name.length * 1000 + Number(name.replace(/\D/g, '') || 0),
  name,
  os: 'Linux',
  status: 'online',
  busy: false,
  labels: ['self-hosted', 'intel'],
  ...extra,
});
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
    assert.deepEqual(rows.map((row) => row.name), ['h-runner-1', 'h-runner-2', 'h-runner-3', 'h-runner-10']);
    assert.deepEqual(rows[0], {
      name: 'h-runner-1', container: 'exited', github_status: 'offline', busy: false, labels: ['self-hosted', 'intel'],
      orphan: false, unregistered: false, kind: 'generic', board: null, devices: [], id: runners[2]!.id,
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
    const board: FleetContainer = { ...container('h-runner-pi'), kind: 'board', board: 'pi', devices: ['/dev/serial/by-id/usb-FTDI_A-if00-port0:/dev/ttyUSB0'] };
    const rows = joinFleet('h-', [runner('h-runner-pi', { labels: ['pi'] })], [board]);
    assert.equal(rows[0]?.board, 'pi');
    assert.deepEqual(rows[0]?.devices, ['/dev/serial/by-id/usb-FTDI_A-if00-port0:/dev/ttyUSB0']);
    const table = formatFleetTable(rows);
    assert.match(table, /^NAME +CONTAINER +GITHUB +BUSY +BOARD +LABELS +DEVICES +NOTE$/m);
    assert.match(table, /^h-runner-pi +running +online +idle +pi +pi +\/dev\/serial\/by-id\/usb-FTDI_A-if00-port0:\/dev\/ttyUSB0 *$/m);
  });

  it('without Docker shows GitHub\'s side and claims no orphans', () => {
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
    assert.deepEqual(plan.targets.map((target) => target.name), ['h-runner-1', 'h-runner-2', 'h-runner-3']);
    assert.deepEqual(plan.unknown, []);
  });

  it('resolves full names and names without the prefix; reports the rest without dropping the others', () => {
    const plan = planRemoval('h-', runners, containers, ['h-runner-1', 'runner-3', 'nope', 'elsewhere-1', 'runner-1']);
    assert.deepEqual(plan.targets.map((target) => [target.name, Boolean(target.runner), Boolean(target.container)]), [
      ['h-runner-1', true, false],
      ['h-runner-3', false, true],
    ]);
    assert.deepEqual(plan.unknown.map((entry) => entry.name), ['nope', 'elsewhere-1']);
    assert.match(plan.unknown[1]!.reason, /not a runner of this fleet/);
  });

  it('a board name (or a bare number) resolves like in every other command', () => {
    const withBoard = [...runners, runner('h-runner-phytiumpi')];
    const plan = planRemoval('h-', withBoard, containers, ['phytiumpi', '2']);
    assert.deepEqual(plan.targets.map((target) => target.name), ['h-runner-phytiumpi', 'h-runner-2']);
    assert.deepEqual(plan.unknown, []);
  });
});
