// make service's systemd unit: what an operator installs to keep the
// ephemeral supervisor running across crashes and reboots.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../support/cli.ts';
import { serviceUnit } from '../../../lib/fleet/service-unit.ts';

const config = { envFile: '/srv/lab/acme.env', projectName: 'lab-acme', scope: { org: 'acme' } };
const facts = { repoRoot: '/opt/gh-runner-fleet', node: '/usr/local/bin/node', count: 4 };

describe('serviceUnit', () => {
  test('restarts the supervisor after a crash, not after a clean stop; starts after Docker', () => {
    const { name, text } = serviceUnit(config, facts);
    assert.equal(name, 'gh-runner-fleet-lab-acme.service');
    const lines = text.split('\n');
    for (const line of ['Restart=always', 'RestartPreventExitStatus=0', 'After=network-online.target docker.service', 'WantedBy=multi-user.target']) {
      assert.ok(lines.includes(line), `${line} in\n${text}`);
    }
  });

  test('runs supervise.ts with the fleet env file and N, from the repository (where tsx resolves)', () => {
    const { text } = serviceUnit(config, facts);
    assert.match(text, /^WorkingDirectory=\/opt\/gh-runner-fleet$/m);
    assert.match(text, /^Environment="ENV_FILE=\/srv\/lab\/acme\.env"$/m);
    assert.match(text, /^ExecStart="\/usr\/local\/bin\/node" "--import" "tsx" "\/opt\/gh-runner-fleet\/scripts\/supervise\.ts" "-n" "4"$/m);
    assert.match(text, /^Environment="PATH=\/usr\/local\/bin:/m, "the node's directory first on PATH");
  });

  test('paths with spaces and quotes stay one word each', () => {
    const { text } = serviceUnit({ ...config, envFile: '/srv/my lab/"a".env' }, facts);
    assert.match(text, /^Environment="ENV_FILE=\/srv\/my lab\/\\"a\\"\.env"$/m);
  });

  test('a repository fleet names org/repo; the unit holds no secret', () => {
    const { text } = serviceUnit({ ...config, scope: { org: 'acme', repo: 'fw' } }, facts);
    assert.match(text, /^Description=gh-runner-fleet supervisor of acme\/fw \(\/srv\/lab\/acme\.env\)$/m);
    assert.doesNotMatch(text, /GH_PAT|TOKEN|ghp_/);
  });

  test('systemd itself accepts the unit (systemd-analyze verify), also with a % and a space in the paths', async (t) => {
    const analyze = await promisify(execFile)('systemd-analyze', ['--version']).catch(() => undefined);
    if (!analyze) return t.skip('no systemd-analyze on this machine');
    const dir = await mkdtemp(join(tmpdir(), 'unit 100%-'));
    const unit = serviceUnit({ ...config, envFile: join(dir, 'acme.env') }, { repoRoot: REPO_ROOT.replace(/\/$/, ''), node: process.execPath, count: 2 });
    await writeFile(join(dir, unit.name), unit.text);
    const result = await promisify(execFile)('systemd-analyze', ['verify', join(dir, unit.name)]).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    assert.doesNotMatch(result.stderr, new RegExp(`${unit.name.replace(/\./g, '\\.')}:\\d+:`), 'no line of the unit is refused');
    assert.equal(result.code, 0, result.stderr);
  });
});
