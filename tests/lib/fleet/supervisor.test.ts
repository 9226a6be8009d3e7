// The ephemeral supervisor's decisions, over in-memory Docker and GitHub
// ports (the e2e suite runs the same code on the real engine and the GitHub
// stand-in): what a user sees is which slots hold a container, which
// registrations GitHub keeps, and the lines it prints.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collecting } from '../../../core/reporter.ts';
import {
  NameTaken,
  Supervisor,
  type Slot,
  type SlotContainer,
  type SlotRunner,
  type SupervisorDocker,
  type SupervisorGitHub,
} from '../../../lib/fleet/supervisor.ts';

/** Each fake call yields once, as a real one would, so the supervisor's interleavings are exercised. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

class FakeDocker implements SupervisorDocker {
  containers = new Map<string, { state: string; ranJob: boolean; config?: string }>();
  starts: string[] = [];
  removed: string[] = [];
  failStart = new Set<string>();
  async listSlots(): Promise<SlotContainer[]> {
    await tick();
    return [...this.containers].map(([name, c]) => ({ name, state: c.state }));
  }
  async start(slot: Slot): Promise<void> {
    await tick();
    if (this.failStart.has(slot.name)) throw new Error(`${slot.name}: docker run failed`);
    this.starts.push(slot.name);
    this.containers.set(slot.name, { state: 'running', ranJob: false });
  }
  async deliver(slot: string, jitConfig: string): Promise<void> {
    await tick();
    this.containers.get(slot)!.config = jitConfig;
  }
  async startedAJob(slot: string): Promise<boolean> {
    await tick();
    return this.containers.get(slot)?.ranJob ?? false;
  }
  async remove(slot: string): Promise<void> {
    await tick();
    this.removed.push(slot);
    this.containers.delete(slot);
  }
}

class FakeGitHub implements SupervisorGitHub {
  runners: SlotRunner[] = [];
  private nextId = 1;
  async listRunners(): Promise<SlotRunner[]> {
    await tick();
    return this.runners.map((r) => ({ ...r }));
  }
  async generateJitConfig(slot: Slot): Promise<{ runnerId: number; encodedJitConfig: string }> {
    await tick();
    if (this.runners.some((r) => r.name === slot.name)) throw new NameTaken(`409 ${slot.name}`);
    const id = this.nextId++;
    this.runners.push({ id, name: slot.name, busy: false });
    return { runnerId: id, encodedJitConfig: `jit-${id}` };
  }
  async deleteRunner(id: number): Promise<boolean> {
    await tick();
    const runner = this.runners.find((r) => r.id === id);
    if (runner?.busy) return false;
    this.runners = this.runners.filter((r) => r.id !== id);
    return true;
  }
  names(): string[] {
    return this.runners.map((r) => r.name).sort();
  }
}

const SLOTS: Slot[] = [
  { name: 'acme-runner-1', labels: ['self-hosted'] },
  { name: 'acme-board-a', labels: ['board-a'] },
];

function setup(slots = SLOTS) {
  const docker = new FakeDocker();
  const github = new FakeGitHub();
  const report = collecting();
  const delays: number[] = [];
  const supervisor = new Supervisor(slots, docker, github, report, {
    sleep: async (ms) => {
      delays.push(ms);
      await tick();
    },
  });
  return { docker, github, report, delays, supervisor };
}

/** The slot's job runs to the end: GitHub deletes the ephemeral runner, its container exits. */
function finishJob(docker: FakeDocker, github: FakeGitHub, name: string): void {
  docker.containers.get(name)!.ranJob = true;
  docker.containers.get(name)!.state = 'exited';
  github.runners = github.runners.filter((r) => r.name !== name);
}

describe('ephemeral supervisor', () => {
  test('fills every slot with a fresh container, each handed its own JIT config', async () => {
    const { docker, github, supervisor, report } = setup();
    await supervisor.reconcile();
    await supervisor.settled();
    assert.deepEqual([...docker.containers.keys()].sort(), ['acme-board-a', 'acme-runner-1']);
    assert.deepEqual(github.names(), ['acme-board-a', 'acme-runner-1']);
    const configs = [...docker.containers.values()].map((c) => c.config);
    assert.equal(new Set(configs).size, 2);
    assert.ok(
      report.lines.some((l) => l.startsWith('acme-runner-1: slot filled')),
      report.lines.join('\n'),
    );
  });

  test('a finished job: the container is removed and the slot filled with a new one', async () => {
    const { docker, github, supervisor, report } = setup();
    await supervisor.reconcile();
    await supervisor.settled();
    finishJob(docker, github, 'acme-runner-1');
    supervisor.containerEnded('acme-runner-1');
    await supervisor.settled();
    assert.deepEqual(docker.removed, ['acme-runner-1']);
    assert.deepEqual(docker.starts.filter((s) => s === 'acme-runner-1').length, 2);
    assert.equal(docker.containers.get('acme-runner-1')?.state, 'running');
    assert.ok(report.lines.includes('acme-runner-1: container removed after its job'));
  });

  test('a container killed before its job: replaced, and its registration deleted', async () => {
    const { docker, github, supervisor, report } = setup();
    await supervisor.reconcile();
    await supervisor.settled();
    const before = github.runners.find((r) => r.name === 'acme-runner-1')!.id;
    docker.containers.get('acme-runner-1')!.state = 'exited';
    supervisor.containerEnded('acme-runner-1');
    await supervisor.settled();
    assert.ok(!github.runners.some((r) => r.id === before), 'the old registration is gone');
    assert.equal(github.runners.filter((r) => r.name === 'acme-runner-1').length, 1, 'one new registration');
    assert.equal(docker.containers.get('acme-runner-1')?.state, 'running');
    assert.ok(
      report.lines.some((l) => l.startsWith('acme-runner-1: ended before a job (1 in a row)')),
      report.lines.join('\n'),
    );
  });

  test('repeated pre-job failures back off 0/5/10/20/40/80 s, then the slot is given up with one line', async () => {
    const { docker, supervisor, report, delays } = setup([SLOTS[0]!]);
    await supervisor.reconcile();
    await supervisor.settled();
    for (let i = 0; i < 7; i++) {
      const c = docker.containers.get('acme-runner-1');
      if (!c) break;
      c.state = 'exited';
      supervisor.containerEnded('acme-runner-1');
      await supervisor.settled();
    }
    assert.deepEqual(delays, [5000, 10_000, 20_000, 40_000, 80_000]);
    assert.equal(docker.containers.has('acme-runner-1'), false);
    assert.deepEqual(supervisor.abandoned, ['acme-runner-1']);
    assert.equal(report.warnings.filter((w) => w.includes('giving up on this slot')).length, 1);
    await supervisor.reconcile();
    await supervisor.settled();
    assert.equal(docker.containers.has('acme-runner-1'), false, 'a given-up slot stays empty');
  });

  test('a job in between resets the backoff', async () => {
    const { docker, github, supervisor, delays } = setup([SLOTS[0]!]);
    await supervisor.reconcile();
    await supervisor.settled();
    docker.containers.get('acme-runner-1')!.state = 'exited';
    supervisor.containerEnded('acme-runner-1');
    await supervisor.settled();
    finishJob(docker, github, 'acme-runner-1');
    supervisor.containerEnded('acme-runner-1');
    await supervisor.settled();
    docker.containers.get('acme-runner-1')!.state = 'exited';
    supervisor.containerEnded('acme-runner-1');
    await supervisor.settled();
    assert.deepEqual(delays, [], 'each failure after a job is the first again: refilled at once');
  });

  test('409 on the name: an idle runner of that name is deleted and the slot filled', async () => {
    const { docker, github, supervisor } = setup([SLOTS[0]!]);
    github.runners.push({ id: 99, name: 'acme-runner-1', busy: false });
    await supervisor.reconcile();
    await supervisor.settled();
    assert.ok(!github.runners.some((r) => r.id === 99));
    assert.equal(docker.containers.get('acme-runner-1')?.state, 'running');
  });

  test('a busy runner of the slot name is left alone and the slot waits', async () => {
    const { docker, github, supervisor, report } = setup([SLOTS[0]!]);
    github.runners.push({ id: 99, name: 'acme-runner-1', busy: true });
    await supervisor.reconcile();
    await supervisor.settled();
    assert.ok(github.runners.some((r) => r.id === 99));
    assert.equal(docker.containers.has('acme-runner-1'), false);
    assert.ok(
      report.warnings.some((w) => w.includes('busy')),
      report.warnings.join('\n'),
    );
  });

  test('after a crash: running containers are kept, registrations without a container deleted, empty slots filled', async () => {
    const { docker, github, supervisor } = setup();
    docker.containers.set('acme-runner-1', { state: 'running', ranJob: true });
    github.runners.push({ id: 7, name: 'acme-runner-1', busy: true });
    github.runners.push({ id: 8, name: 'acme-runner-9', busy: false }); // a slot no longer configured
    await supervisor.reconcile();
    await supervisor.settled();
    assert.deepEqual(docker.starts, ['acme-board-a']);
    assert.ok(
      github.runners.some((r) => r.id === 7),
      'the busy runner keeps its job',
    );
    assert.ok(!github.runners.some((r) => r.id === 8), 'the orphan is deleted');
  });

  test('a failed start leaves no container and no registration behind, and backs off like an early exit', async () => {
    const { docker, github, supervisor, report, delays } = setup([SLOTS[0]!]);
    docker.failStart.add('acme-runner-1');
    await supervisor.reconcile();
    await supervisor.settled();
    assert.equal(docker.containers.size, 0);
    assert.deepEqual(github.runners, []);
    assert.ok(
      report.warnings.some((w) => w.includes('docker run failed')),
      report.warnings.join('\n'),
    );
    assert.deepEqual(delays, [5000, 10_000, 20_000, 40_000, 80_000]);
    assert.deepEqual(supervisor.abandoned, ['acme-runner-1']);
  });

  test('after stop() no slot is filled again', async () => {
    const { docker, github, supervisor } = setup([SLOTS[0]!]);
    await supervisor.reconcile();
    await supervisor.settled();
    await supervisor.stop();
    finishJob(docker, github, 'acme-runner-1');
    supervisor.containerEnded('acme-runner-1');
    await supervisor.settled();
    assert.equal(docker.containers.get('acme-runner-1')?.state, 'exited');
  });
});
