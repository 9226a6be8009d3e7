// An ephemeral fleet (RUNNER_MODE=ephemeral) through the scripts, as a user
// runs them, without Docker: make start, restart and register refuse it in
// one line (exit 2) naming make supervise, before touching anything; make
// list shows its slots under a line that says whether the supervisor runs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PREFIX, assertOneErrorLine, startFixture, type Fixture } from '../support/github-fixture.ts';

let fx: Fixture;
before(async () => {
  fx = await startFixture();
  fx.github.seedRunners({ org: 'acme', name: `${PREFIX}runner-1`, busy: true, status: 'online', labels: ['self-hosted'] });
});
after(async () => {
  assert.deepEqual(fx.github.violations, []);
  await fx.close();
});
const EPHEMERAL = { RUNNER_MODE: 'ephemeral' };

describe('an ephemeral fleet', () => {
  for (const [script, command] of [
    ['start.ts', 'make start'],
    ['restart.ts', 'make restart'],
    ['register.ts', 'make register'],
  ] as const) {
    it(`${command}: one line saying the supervisor starts its runners, exit 2, GitHub not called`, async () => {
      fx.github.resetCalls();
      const result = await fx.run(script, [], EPHEMERAL);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, '');
      assertOneErrorLine(
        result,
        new RegExp(
          `^error: ${command} does not apply to an ephemeral fleet \\(RUNNER_MODE=ephemeral in \\.env\\): its runners are started by the supervisor, a fresh container per job: make supervise$`,
        ),
      );
      assert.equal(fx.github.calls().total, 0);
    });
  }

  it("make list: the slots under a line that says the supervisor does not run; GitHub's side without Docker", async () => {
    const result = await fx.run('list.ts', [], EPHEMERAL);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.equal(
      lines[0],
      'ephemeral fleet: each row is a slot the supervisor fills with a fresh container per job; supervisor: not running — start it with make supervise',
    );
    assert.match(lines[1]!, /^NAME +CONTAINER +AGE +GITHUB +BUSY +JOB +BOARD +LABELS +DEVICES +NOTE$/);
    assert.match(result.stdout, new RegExp(`^${PREFIX}runner-1 +\\? +- +online +busy +\\? +- +self-hosted +-$`, 'm'));
    const rows = JSON.parse((await fx.run('list.ts', ['--json'], EPHEMERAL)).stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      { ...rows[0], id: undefined },
      {
        name: `${PREFIX}runner-1`,
        container: null,
        github_status: 'online',
        busy: true,
        labels: ['self-hosted'],
        orphan: null,
        unregistered: false,
        kind: null,
        board: null,
        devices: [],
        id: undefined,
        ephemeral: true,
        age_s: null,
        job: null,
      },
    );
  });
});
