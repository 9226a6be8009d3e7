// Lock records name repositories and runs of every org that shares a board,
// and the lock directory is bind-mounted into every board runner: each file
// the lock writes is root's alone (0600), and a locks.log an older version
// left readable by all is made so at the next entry.
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkLockDir } from '../../lock/directory.ts';
import { appendLockLog } from '../../lock/lock-log.ts';
import { acquireLock } from '../../lock/resource-lock.ts';
import { tempDir } from '../support/lock-helpers.ts';

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

test('tickets, the holder record, the counter and locks.log are mode 0600', async () => {
  const dir = await tempDir('lockm-');
  const opts = { dir, resource: 'board-a', staleMs: 2000, updateMs: 1000, pollMs: 50 };
  const lock = await acquireLock(opts, { runner: 'r1', runId: '1', attempt: '1', repository: 'acme/fw', job: 'j' }, { signal: new AbortController().signal });
  try {
    assert.equal(await mode(join(dir, 'board-a.queue', lock.ticket.name)), 0o600, 'ticket');
    assert.equal(await mode(join(dir, 'board-a.holder.json')), 0o600, 'holder record');
    assert.equal(await mode(join(dir, 'board-a.seq')), 0o600, 'counter');
    await appendLockLog(dir, { event: 'test', resource: 'board-a' });
    assert.equal(await mode(join(dir, 'locks.log')), 0o600, 'locks.log');
  } finally {
    await lock.release();
  }
});

test('a locks.log left 0644 by an older version is 0600 after the next entry', async () => {
  const dir = await tempDir('lockm-');
  await writeFile(join(dir, 'locks.log'), '{"event":"old"}\n', { mode: 0o644 });
  await appendLockLog(dir, { event: 'test', resource: 'board-a' });
  assert.equal(await mode(join(dir, 'locks.log')), 0o600);
});

test(
  "checking the lock directory at start (as root) makes a locks.log left 0644 root's alone",
  { skip: process.getuid?.() !== 0 && 'needs root' },
  async () => {
    const dir = await tempDir('lockm-');
    await writeFile(join(dir, 'locks.log'), '{"event":"old","repository":"acme/secret"}\n', { mode: 0o644 });
    await checkLockDir(dir);
    assert.equal(await mode(join(dir, 'locks.log')), 0o600);
  },
);
