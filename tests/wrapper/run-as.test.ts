// Who the runner runs as when the wrapper is root (wrapper/run-as.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../core/errors.ts';
import { asAccount, lookupAccount } from '../../wrapper/run-as.ts';

const passwd = 'root:x:0:0:root:/root:/bin/bash\nrunner:x:1001:1001::/home/runner:/bin/bash\nbad:x:0:0::/:/bin/sh\n';
const group = 'root:x:0:\nsudo:x:27:runner\nrunner:x:1001:\nkvm:x:992:\n';

test("the runner's user: its own groups and the container's (group_add), never root's group", () => {
  const account = lookupAccount('runner', [0, 992, 20], passwd, group);
  assert.deepEqual(account, { name: 'runner', uid: 1001, gid: 1001, home: '/home/runner', groups: [20, 27, 992] });
  assert.deepEqual(asAccount(account, '/home/runner/run.sh', [], '/usr/bin/setpriv'), {
    command: '/usr/bin/setpriv',
    args: ['--reuid', '1001', '--regid', '1001', '--groups', '20,27,992', '--', '/home/runner/run.sh'],
    env: { HOME: '/home/runner', USER: 'runner', LOGNAME: 'runner' },
  });
});

test('a runner user that is root or missing is refused with the fix', () => {
  assert.throws(
    () => lookupAccount('bad', [], passwd, group),
    (err: unknown) => err instanceof ConfigError && /is root, and actions\/runner refuses to run as root/.test(err.message),
  );
  assert.throws(
    () => lookupAccount('nobody', [], passwd, group),
    (err: unknown) => err instanceof ConfigError && /RUNNER_FLEET_USER=nobody does not exist/.test(err.message),
  );
});
