// The runner's .env as Runner.Listener applies it, and the supervisor's move of
// hook lines out of the way of the lock hooks (wrapper/runner-env-file.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { moveHookLines, runnerAssignment } from '../../wrapper/runner-env-file.ts';

const ours = { started: '/opt/runner-fleet/hooks/job-started.sh', completed: '/opt/runner-fleet/hooks/job-completed.sh' };
const markStarted = "# runner-fleet: moved from ACTIONS_RUNNER_HOOK_JOB_STARTED, which would replace the lock wrapper's hook; its hook chains this one";
const markCompleted = "# runner-fleet: moved from ACTIONS_RUNNER_HOOK_JOB_COMPLETED, which would replace the lock wrapper's hook; its hook chains this one";

describe("runner's .env hook lines", () => {
  test('lines are read as the runner reads them', () => {
    assert.deepEqual(runnerAssignment('A=b=c'), { key: 'A', value: 'b=c' });
    assert.deepEqual(runnerAssignment('A="quoted"'), { key: 'A', value: '"quoted"' });
    assert.deepEqual(runnerAssignment('A='), { key: 'A', value: null }); // unsets
    assert.deepEqual(runnerAssignment(' A=1'), { key: ' A', value: '1' }); // untrimmed: another key
    assert.equal(runnerAssignment('=x'), undefined);
    assert.equal(runnerAssignment('# just a comment'), undefined);
  });

  test('a file without hook lines is left alone', () => {
    const text = '# settings\nLANG=C.UTF-8\n\nJAVA_HOME=/opt/java\n';
    assert.deepEqual(moveHookLines(text, ours), { text, moved: [], hooks: {} });
  });

  test('hook lines move to the chained variables; every other line and comment stays', () => {
    const text = [
      '# my runner',
      'LANG=C.UTF-8',
      'ACTIONS_RUNNER_HOOK_JOB_STARTED=/hooks/old.sh',
      'JAVA_HOME=/opt/java',
      'ACTIONS_RUNNER_HOOK_JOB_STARTED=/hooks/start.sh',
      'ACTIONS_RUNNER_HOOK_JOB_COMPLETED=/hooks/done.sh',
      ' ACTIONS_RUNNER_HOOK_JOB_STARTED=/not-applied-by-the-runner',
      'export ACTIONS_RUNNER_HOOK_JOB_COMPLETED=/nor-this',
      '',
    ].join('\n');
    const moved = moveHookLines(text, ours);
    assert.deepEqual(moved.moved, ['ACTIONS_RUNNER_HOOK_JOB_STARTED', 'ACTIONS_RUNNER_HOOK_JOB_COMPLETED']);
    assert.deepEqual(moved.hooks, { started: '/hooks/start.sh', completed: '/hooks/done.sh' }); // the last one wins, as for the runner
    assert.equal(
      moved.text,
      [
        '# my runner',
        'LANG=C.UTF-8',
        'JAVA_HOME=/opt/java',
        markStarted,
        'RUNNER_FLEET_USER_HOOK_JOB_STARTED=/hooks/start.sh',
        markCompleted,
        'RUNNER_FLEET_USER_HOOK_JOB_COMPLETED=/hooks/done.sh',
        ' ACTIONS_RUNNER_HOOK_JOB_STARTED=/not-applied-by-the-runner',
        'export ACTIONS_RUNNER_HOOK_JOB_COMPLETED=/nor-this',
        '',
      ].join('\n'),
    );
    // The next start finds nothing to move, and still chains the same hooks.
    assert.deepEqual(moveHookLines(moved.text, ours), { text: moved.text, moved: [], hooks: moved.hooks });
    // A hook set again later replaces the moved one.
    const again = moveHookLines(`${moved.text}ACTIONS_RUNNER_HOOK_JOB_STARTED=/hooks/new.sh\n`, ours);
    assert.deepEqual(again.hooks, { started: '/hooks/new.sh', completed: '/hooks/done.sh' });
    assert.equal(again.text.match(/RUNNER_FLEET_USER_HOOK_JOB_STARTED=/g)?.length, 1);
    assert.equal(again.text.split(markStarted).length, 2);
    assert.ok(again.text.endsWith(`${markStarted}\nRUNNER_FLEET_USER_HOOK_JOB_STARTED=/hooks/new.sh\n`), again.text);
  });

  test('an emptied hook means no user hook; our own hook path is dropped, not chained; CRLF stays CRLF', () => {
    const moved = moveHookLines(`A=1\r\nACTIONS_RUNNER_HOOK_JOB_STARTED=\r\nACTIONS_RUNNER_HOOK_JOB_COMPLETED=${ours.completed}\r\nB=2`, ours);
    assert.deepEqual(moved.hooks, { started: null });
    assert.equal(moved.text, 'A=1\r\nB=2');
  });
});
