// One process of a kind at a time (make demo, the supervisor of a fleet).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ExitCode } from '../../core/errors.ts';
import { pidFileHolder, takePidFile } from '../../core/pid-file.ts';

const refusal = { held: (pid: number) => `busy: pid ${pid}`, exitCode: ExitCode.refused };

describe('takePidFile', () => {
  test('takes the file with this pid; a second take is refused with the caller’s line; release removes it', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'pid-')), 'x.pid');
    const release = takePidFile(path, refusal);
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid));
    assert.throws(
      () => takePidFile(path, refusal),
      (err: Error & { exitCode?: number }) => err.message === `busy: pid ${process.pid}` && err.exitCode === ExitCode.refused,
    );
    release();
    assert.equal(existsSync(path), false);
  });

  test('a file left by a process that died is taken over', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'pid-')), 'x.pid');
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => child.on('close', resolve));
    await writeFile(path, `${child.pid}\n`);
    assert.equal(pidFileHolder(path), undefined, 'a dead pid holds nothing');
    const release = takePidFile(path, refusal);
    assert.equal(pidFileHolder(path), process.pid);
    release();
  });

  test('release leaves a file another process has taken since', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'pid-')), 'x.pid');
    const release = takePidFile(path, refusal);
    await writeFile(path, '1\n');
    release();
    assert.equal(existsSync(path), true);
  });
});
