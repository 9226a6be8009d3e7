// The ephemeral container's JIT config hand-over: what the wrapper accepts
// from the supervisor's tmpfs file, and what it refuses.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { receiveJitConfig } from '../../wrapper/jit-config.ts';

const CONFIG = Buffer.from(JSON.stringify({ '.runner': Buffer.from('{}').toString('base64') })).toString('base64');
let root: string;
let n = 0;

async function jitDir(mode = 0o700): Promise<string> {
  const dir = join(root, `jit-${n++}`);
  await mkdir(dir);
  await chmod(dir, mode);
  return dir;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'jit-config-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('receiveJitConfig', () => {
  test('waits for the file, returns the config and deletes the file', async () => {
    const dir = await jitDir();
    const path = join(dir, 'config');
    const received = receiveJitConfig(path, { timeoutMs: 5000, pollMs: 20 });
    await sleep(100);
    await writeFile(path, `${CONFIG}\n`, { mode: 0o600 });
    assert.equal(await received, CONFIG);
    await assert.rejects(() => import('node:fs/promises').then((fs) => fs.stat(path)), /ENOENT/, 'the file is gone');
  });

  test('no config within the wait: one line saying who delivers it', async () => {
    const dir = await jitDir();
    await assert.rejects(
      receiveJitConfig(join(dir, 'config'), { timeoutMs: 1000, pollMs: 50 }),
      /^ConfigError: no JIT config arrived at .* within 1 s: an ephemeral runner is started by the supervisor \(make supervise\)/,
    );
  });

  test('a stop signal while waiting: undefined, nothing started', async () => {
    const dir = await jitDir();
    const stop = new AbortController();
    const received = receiveJitConfig(join(dir, 'config'), { timeoutMs: 10_000, pollMs: 20, signal: stop.signal });
    stop.abort();
    assert.equal(await received, undefined);
  });

  test('a directory others can open is refused', async () => {
    const dir = await jitDir(0o755);
    await assert.rejects(receiveJitConfig(join(dir, 'config'), { timeoutMs: 1000 }), /is open to others \(mode 755/);
  });

  test('a symlink in place of the file is refused, not followed', async () => {
    const dir = await jitDir();
    await writeFile(join(root, 'elsewhere'), CONFIG);
    await symlink(join(root, 'elsewhere'), join(dir, 'config'));
    await assert.rejects(receiveJitConfig(join(dir, 'config'), { timeoutMs: 1000 }), /the JIT config at .* is a symlink: refused/);
  });

  test('anything but base64 is refused, and larger than 64 KiB is not read', async () => {
    const dir = await jitDir();
    await writeFile(join(dir, 'config'), 'not base64; rm -rf /');
    await assert.rejects(receiveJitConfig(join(dir, 'config'), { timeoutMs: 1000 }), /is not base64: refused/);
    await writeFile(join(dir, 'config'), 'A'.repeat(65 * 1024));
    await assert.rejects(receiveJitConfig(join(dir, 'config'), { timeoutMs: 1000 }), /is larger than 65536 bytes: refused/);
  });
});
