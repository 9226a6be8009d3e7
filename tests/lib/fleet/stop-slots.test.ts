// make stop on an ephemeral fleet, over in-memory Docker and GitHub: the
// supervisor stopped first, busy slots left to finish their job (reported),
// every other slot's registration deleted and its single-use container
// removed; and make start/restart/register refused in one line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError, ConfigError, ExitCode } from '../../../core/errors.ts';
import { collecting } from '../../../core/reporter.ts';
import type { Config } from '../../../lib/config/config.ts';
import { deriveConfig } from '../../../lib/config/derive.ts';
import type { FleetContainer } from '../../../lib/docker/containers.ts';
import { busySlotLine, planSlotStop, refuseEphemeral, stopSlots, type SlotStop } from '../../../lib/fleet/lifecycle.ts';
import type { Runner } from '../../../lib/github/runner-api.ts';

const config = (mode: 'ephemeral' | 'persistent'): Config =>
  deriveConfig({ envFile: '/lab/.env', env: { ORG: 'acme', RUNNER_NAME_PREFIX: 'h', RUNNER_MODE: mode }, file: {} }, { cwd: '/lab', hostname: 'host1' });
const runner = (name: string, busy = false, id = Number(name.replace(/\D/g, '')) || 99): Runner => ({
  id,
  name,
  os: 'Linux',
  status: 'online',
  busy,
  labels: [],
});
const slot = (name: string, state = 'running', ephemeral = true): FleetContainer => ({
  name,
  service: name,
  state,
  kind: 'generic',
  labels: [],
  image: 'gh-runner-fleet:h',
  createdAt: '2026-12-04T10:00:00Z',
  ephemeral,
});
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** GitHub and Docker of one fleet, in memory; `busyOnDelete` answer 422 as if they took a job since the listing. */
function fleet(containers: FleetContainer[], runners: Runner[], busyOnDelete: string[] = []) {
  const state = { containers: [...containers], runners: [...runners], deleted: [] as string[], removed: [] as string[], calls: [] as string[] };
  const api = {
    listRunners: async () => (await tick(), state.runners.map((r) => ({ ...r }))),
    findByName: async (name: string) => (await tick(), state.runners.find((r) => r.name === name)),
    deleteRunner: async (r: Pick<Runner, 'id' | 'name'>) => {
      await tick();
      state.calls.push(`delete ${r.name}`);
      const found = state.runners.find((x) => x.id === r.id);
      if (!found) return 'absent' as const;
      if (found.busy || busyOnDelete.includes(found.name)) throw new CliError(`runner ${r.name} is running a job`, ExitCode.runnerBusy);
      state.runners = state.runners.filter((x) => x !== found);
      state.deleted.push(r.name);
      return 'deleted' as const;
    },
  };
  const docker = {
    listFleetContainers: async () => (await tick(), [...state.containers]),
    removeContainers: async (names: string[]) => {
      await tick();
      state.calls.push(`rm ${names.join(' ')}`);
      state.removed.push(...names);
      state.containers = state.containers.filter((c) => !names.includes(c.name));
    },
  };
  return { state, api, docker };
}

describe('planSlotStop', () => {
  it('busy on GitHub: left; a container or an idle registration: removed; neither: an empty slot', () => {
    const plan = planSlotStop(
      ['h-runner-1', 'h-runner-2', 'h-runner-3', 'h-runner-4', 'h-runner-10'],
      [slot('h-runner-1'), slot('h-runner-2'), slot('h-runner-3', 'exited')],
      [runner('h-runner-1', true), runner('h-runner-2'), runner('h-runner-4'), runner('h-runner-10', true)],
    );
    assert.deepEqual(
      plan.map((step) => [step.name, step.action, 'container' in step && Boolean(step.container), 'runner' in step && Boolean(step.runner)]),
      [
        ['h-runner-1', 'busy', true, true],
        ['h-runner-2', 'remove', true, true],
        ['h-runner-3', 'remove', true, false],
        ['h-runner-4', 'remove', false, true],
        ['h-runner-10', 'busy', false, true],
      ],
    );
  });

  it('with all (no names given), slot containers no longer in the compose file are stopped too; persistent leftovers are not', () => {
    const containers = [slot('h-runner-1'), slot('h-runner-5'), slot('h-runner-old', 'running', false)];
    assert.deepEqual(
      planSlotStop(['h-runner-1'], containers, [], true).map((s) => s.name),
      ['h-runner-1', 'h-runner-5'],
    );
    assert.deepEqual(
      planSlotStop(['h-runner-1'], containers, [], false).map((s) => s.name),
      ['h-runner-1'],
    );
  });

  it("a busy slot's line says it is left to finish its job and not replaced", () => {
    const busy = (container: boolean): Extract<SlotStop, { action: 'busy' }> => ({
      name: 'h-runner-1',
      action: 'busy',
      runner: runner('h-runner-1', true),
      ...(container ? { container: slot('h-runner-1') } : {}),
    });
    assert.equal(
      busySlotLine(busy(true)),
      'h-runner-1: running a job: left running to finish it; it will not be replaced (the supervisor is stopped; make stop again removes what it leaves)',
    );
    assert.equal(busySlotLine(busy(false)), 'h-runner-1: registered and busy on GitHub, but no container here: left alone');
  });
});

describe('stopSlots', () => {
  const options = (extra: Partial<Parameters<typeof stopSlots>[3]> = {}) => {
    const reporter = collecting();
    return { reporter, options: { drain: false, all: true, pollMs: 1, reporter, ...extra } };
  };

  it('stops the supervisor first, then removes idle slots (registration first) and leaves the busy one running', async () => {
    const { state, api, docker } = fleet(
      [slot('h-runner-1'), slot('h-runner-2'), slot('h-runner-3', 'exited')],
      [runner('h-runner-1', true), runner('h-runner-2'), runner('other-1')],
    );
    const order: string[] = [];
    const { reporter, options: o } = options({ docker, stopSupervisor: () => (order.push('supervisor', ...state.calls), Promise.resolve(4242)) });
    const outcome = await stopSlots(config('ephemeral'), api, ['h-runner-1', 'h-runner-2', 'h-runner-3', 'h-runner-4'], o);
    assert.deepEqual(order, ['supervisor'], 'the supervisor is stopped before anything else is done');
    assert.deepEqual(outcome, { removed: ['h-runner-2', 'h-runner-3'], busy: ['h-runner-1'] });
    assert.ok(state.calls.indexOf('delete h-runner-2') < state.calls.indexOf('rm h-runner-2'), 'the registration goes before the container');
    assert.deepEqual(
      state.containers.map((c) => c.name),
      ['h-runner-1'],
    );
    assert.deepEqual(
      state.runners.map((r) => r.name),
      ['h-runner-1', 'other-1'],
    );
    assert.deepEqual(reporter.lines, [
      'stopped the supervisor (pid 4242): it no longer fills the slots; make supervise starts it again',
      'h-runner-1: running a job: left running to finish it; it will not be replaced (the supervisor is stopped; make stop again removes what it leaves)',
      'h-runner-2: container stopped and removed (single-use), registration deleted',
      'h-runner-3: container stopped and removed (single-use), it had no registration',
      'h-runner-4: empty slot, nothing to stop',
    ]);
    assert.deepEqual(reporter.warnings, []);
  });

  it('says when no supervisor ran; a slot that took a job since the listing (GitHub refuses the delete) is left as busy', async () => {
    const { state, api, docker } = fleet([slot('h-runner-1')], [runner('h-runner-1')], ['h-runner-1']);
    const { reporter, options: o } = options({ docker, stopSupervisor: () => Promise.resolve(undefined) });
    const outcome = await stopSlots(config('ephemeral'), api, ['h-runner-1'], o);
    assert.deepEqual(outcome, { removed: [], busy: ['h-runner-1'] });
    assert.deepEqual(state.removed, []);
    assert.equal(reporter.lines[0], 'no supervisor was running for this fleet');
    assert.match(reporter.lines[1]!, /^h-runner-1: running a job: left running to finish it/);
  });

  it('a registration with no container here is deleted when idle', async () => {
    const { state, api, docker } = fleet([], [runner('h-runner-2')]);
    const { reporter, options: o } = options({ docker, stopSupervisor: () => Promise.resolve(undefined) });
    await stopSlots(config('ephemeral'), api, ['h-runner-2'], o);
    assert.deepEqual(state.deleted, ['h-runner-2']);
    assert.equal(reporter.lines[1], 'h-runner-2: no container here, registration deleted');
  });

  it("with drain, waits for the busy slot's job to end (GitHub deletes the ephemeral runner), then removes its container", async () => {
    const { state, api, docker } = fleet([slot('h-runner-1')], [runner('h-runner-1', true)]);
    let polls = 0;
    const findByName = async (name: string) => {
      if (++polls === 3) state.runners = []; // the job ended: GitHub deleted the ephemeral runner
      return api.findByName(name);
    };
    const { reporter, options: o } = options({ docker, drain: true, stopSupervisor: () => Promise.resolve(undefined) });
    const outcome = await stopSlots(config('ephemeral'), { ...api, findByName }, ['h-runner-1'], o);
    assert.deepEqual(outcome, { removed: ['h-runner-1'], busy: [] });
    assert.deepEqual(state.removed, ['h-runner-1']);
    assert.deepEqual(reporter.lines.slice(1), [
      'h-runner-1: running a job; waiting until it ends before removing the slot (Ctrl-C to give up)',
      'h-runner-1: container stopped and removed (single-use), it had no registration',
    ]);
  });
});

describe('start, restart and register on an ephemeral fleet', () => {
  it('one ConfigError line (exit 2) naming make supervise; a persistent fleet passes', () => {
    assert.throws(
      () => refuseEphemeral(config('ephemeral'), 'make start'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.exitCode, ExitCode.config);
        assert.match(
          err.message,
          /^make start does not apply to an ephemeral fleet \(RUNNER_MODE=ephemeral in \S*\.env\): its runners are started by the supervisor, a fresh container per job: make supervise$/,
        );
        return true;
      },
    );
    assert.doesNotThrow(() => refuseEphemeral(config('persistent'), 'make start'));
  });
});
