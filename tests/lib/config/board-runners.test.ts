import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseBoardRunners } from '../../../lib/config/board-runners.ts';
import { ConfigError } from '../../../core/errors.ts';

const settings = (values: Record<string, string>) => (key: string) => (values[key]?.trim() ? values[key].trim() : undefined);
const parse = (text: string, values: Record<string, string> = {}) => parseBoardRunners(text, 'h-acme-', settings(values), Object.keys(values));
const noHardware = { devices: [], environment: {}, volumes: [], groups: ['dialout'] };

function rejects(text: string, expected: RegExp, values: Record<string, string> = {}): void {
  assert.throws(
    () => parse(text, values),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, expected);
      return true;
    },
  );
}

describe('BOARD_RUNNERS', () => {
  test('entries become runners with only their own labels', () => {
    const boards = parse(' phytiumpi : phytiumpi ; roc-rk3568-pc:roc-rk3568-pc, arm64 ;');
    assert.deepEqual(boards, [
      { name: 'phytiumpi', labels: ['phytiumpi'], service: 'h-acme-runner-phytiumpi', hardware: noHardware },
      { name: 'roc-rk3568-pc', labels: ['roc-rk3568-pc', 'arm64'], service: 'h-acme-runner-roc-rk3568-pc', hardware: noHardware },
    ]);
  });

  test('empty setting means no board runners', () => {
    assert.deepEqual(parse(''), []);
  });

  test('per-board resource ID wins over the global one', () => {
    const boards = parse('roc-rk3568-pc:arm64;pi:pi', { RUNNER_RESOURCE_ID_ROC_RK3568_PC: 'roc', RUNNER_RESOURCE_ID: 'shared' });
    assert.equal(boards[0]?.resourceId, 'roc');
    assert.equal(boards[1]?.resourceId, 'shared');
  });

  test('malformed entries are errors that quote the entry', () => {
    rejects('phytiumpi', /^BOARD_RUNNERS entry 'phytiumpi' has no ':'/);
    rejects(':arm64', /^BOARD_RUNNERS entry ':arm64' has an empty board name/);
    rejects('pi:', /^BOARD_RUNNERS entry 'pi:' has no labels/);
    rejects('pi:a;pi:b', /^BOARD_RUNNERS entry 'pi:b' repeats board name 'pi'/);
    rejects('my board:a', /^BOARD_RUNNERS entry 'my board:a': board name 'my board' cannot be part of a Docker name/);
    rejects('pi:a;;x:b', /^BOARD_RUNNERS has an empty entry/);
    rejects('pi:a,,b', /^BOARD_RUNNERS entry 'pi:a,,b' has an empty label/);
  });
});

// The example lab of README and .env.example: two boards, two serial ports, one PDU.
const lab = {
  BOARD_RUNNER_ENV: 'PDU_HOST=pdu1.lab;PDU_USER=ci',
  BOARD_RUNNER_ENV_PHYTIUMPI: 'PDU_OUTLET=1;BOARD_CONSOLE=/dev/ttyUSB0',
  BOARD_RUNNER_ENV_ROC_RK3568_PC: 'PDU_OUTLET=2;BOARD_CONSOLE=/dev/ttyUSB0;PDU_USER=roc',
  BOARD_RUNNER_DEVICES_PHYTIUMPI: '/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K1A2B-if00-port0:/dev/ttyUSB0',
  BOARD_RUNNER_DEVICES_ROC_RK3568_PC: '/dev/serial/by-id/usb-Silicon_Labs_CP2102_0001-if00-port0:/dev/ttyUSB0',
  BOARD_RUNNER_VOLUMES: '/srv/images:/srv/images:ro',
  BOARD_RUNNER_VOLUMES_PHYTIUMPI: '/srv/tftp/phytiumpi:/srv/tftp',
  BOARD_RUNNER_VOLUMES_ROC_RK3568_PC: '/srv/tftp/roc:/srv/tftp;/srv/images/roc:/srv/images:ro',
};
const LAB = 'phytiumpi:phytiumpi;roc-rk3568-pc:roc-rk3568-pc';

describe('per-board hardware (BOARD_RUNNER_DEVICES, _ENV, _VOLUMES, _GROUP_ADD and their _<BOARD> forms)', () => {
  test('devices: the global list for every board, a per-board list replaces it; by-id paths map to a container path', () => {
    const [pi, roc] = parse(LAB, {
      BOARD_RUNNER_DEVICES: '/dev/ttyACM0,/dev/ttyACM1',
      BOARD_RUNNER_DEVICES_ROC_RK3568_PC: lab.BOARD_RUNNER_DEVICES_ROC_RK3568_PC,
    });
    assert.deepEqual(pi?.hardware.devices, [
      { host: '/dev/ttyACM0', container: '/dev/ttyACM0', setting: 'BOARD_RUNNER_DEVICES' },
      { host: '/dev/ttyACM1', container: '/dev/ttyACM1', setting: 'BOARD_RUNNER_DEVICES' },
    ]);
    assert.deepEqual(roc?.hardware.devices, [
      { host: '/dev/serial/by-id/usb-Silicon_Labs_CP2102_0001-if00-port0', container: '/dev/ttyUSB0', setting: 'BOARD_RUNNER_DEVICES_ROC_RK3568_PC' },
    ]);
    assert.deepEqual(
      parse('pi:pi', { BOARD_RUNNER_DEVICES: '/dev/ttyUSB0;/dev/ttyUSB1' })[0]?.hardware.devices.map((d) => d.host),
      ['/dev/ttyUSB0', '/dev/ttyUSB1'],
      "';' separates too",
    );
  });

  test('environment: per-board keys override global ones, the other global keys still apply', () => {
    const [pi, roc] = parse(LAB, lab);
    assert.deepEqual(pi?.hardware.environment, { PDU_HOST: 'pdu1.lab', PDU_USER: 'ci', PDU_OUTLET: '1', BOARD_CONSOLE: '/dev/ttyUSB0' });
    assert.deepEqual(roc?.hardware.environment, { PDU_HOST: 'pdu1.lab', PDU_USER: 'roc', PDU_OUTLET: '2', BOARD_CONSOLE: '/dev/ttyUSB0' });
    assert.deepEqual(
      parse('pi:pi', { BOARD_RUNNER_ENV: 'URL=http://x/?a=1&b=2;COST=$5;EMPTY=' })[0]?.hardware.environment,
      { URL: 'http://x/?a=1&b=2', COST: '$5', EMPTY: '' },
      "the value is everything after the first '='",
    );
  });

  test('volumes: global mounts for every board, a per-board mount at the same container path replaces the global one', () => {
    const [pi, roc] = parse(LAB, lab);
    assert.deepEqual(pi?.hardware.volumes, [
      { host: '/srv/images', container: '/srv/images', readOnly: true, setting: 'BOARD_RUNNER_VOLUMES' },
      { host: '/srv/tftp/phytiumpi', container: '/srv/tftp', readOnly: false, setting: 'BOARD_RUNNER_VOLUMES_PHYTIUMPI' },
    ]);
    assert.deepEqual(roc?.hardware.volumes, [
      { host: '/srv/images/roc', container: '/srv/images', readOnly: true, setting: 'BOARD_RUNNER_VOLUMES_ROC_RK3568_PC' },
      { host: '/srv/tftp/roc', container: '/srv/tftp', readOnly: false, setting: 'BOARD_RUNNER_VOLUMES_ROC_RK3568_PC' },
    ]);
  });

  test('groups: dialout by default; the global list replaces it, a per-board list replaces the global one', () => {
    assert.deepEqual(parse('pi:pi')[0]?.hardware.groups, ['dialout']);
    const [pi, roc] = parse(LAB, { BOARD_RUNNER_GROUP_ADD: 'dialout,plugdev', BOARD_RUNNER_GROUP_ADD_ROC_RK3568_PC: '20;46' });
    assert.deepEqual(pi?.hardware.groups, ['dialout', 'plugdev']);
    assert.deepEqual(roc?.hardware.groups, ['20', '46']);
  });

  test('a per-board setting naming no board of BOARD_RUNNERS is refused, with the known boards', () => {
    rejects(
      LAB,
      /^BOARD_RUNNER_DEVICES_PHYTIUMP names no board of BOARD_RUNNERS \(the boards are phytiumpi \(BOARD_RUNNER_DEVICES_PHYTIUMPI\), roc-rk3568-pc \(BOARD_RUNNER_DEVICES_ROC_RK3568_PC\)\): fix the board name in BOARD_RUNNER_DEVICES_PHYTIUMP/,
      { BOARD_RUNNER_DEVICES_PHYTIUMP: '/dev/ttyUSB0' },
    );
    rejects(LAB, /^BOARD_RUNNER_ENV_ROC names no board/, { BOARD_RUNNER_ENV_ROC: 'A=1' });
    rejects(LAB, /^BOARD_RUNNER_VOLUMES_PI names no board/, { BOARD_RUNNER_VOLUMES_PI: '/a:/b' });
    rejects(LAB, /^BOARD_RUNNER_GROUP_ADD_X names no board/, { BOARD_RUNNER_GROUP_ADD_X: 'dialout' });
    rejects(LAB, /^RUNNER_RESOURCE_ID_PHYTIUM names no board/, { RUNNER_RESOURCE_ID_PHYTIUM: 'pi' });
    rejects('', /^BOARD_RUNNER_ENV_PI names no board of BOARD_RUNNERS \(BOARD_RUNNERS is empty\)/, { BOARD_RUNNER_ENV_PI: 'A=1' });
    assert.equal(parse(LAB, { BOARD_RUNNER_ENV_PHYTIUMP: '' }).length, 2, 'an empty one (a template line) is no setting');
  });

  test('two boards whose per-board settings would share a name are refused', () => {
    rejects('a-b:x;a.b:y', /^BOARD_RUNNERS boards 'a-b' and 'a\.b' would share per-board settings \(both BOARD_RUNNER_DEVICES_A_B\): rename one of them/);
  });

  test('malformed entries are quoted in a one-line error naming the setting', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ BOARD_RUNNER_DEVICES: 'ttyUSB0' }, /^BOARD_RUNNER_DEVICES item 'ttyUSB0' is not host\[:container\] with absolute paths/],
      [{ BOARD_RUNNER_DEVICES_PI: '/dev/a:/dev/b:rwm' }, /^BOARD_RUNNER_DEVICES_PI item '\/dev\/a:\/dev\/b:rwm' is not host\[:container\]/],
      [{ BOARD_RUNNER_DEVICES_PI: '/dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0' }, /by-path name holds ':'.*use the by-id one/],
      [
        { BOARD_RUNNER_DEVICES_PI: '/dev/ttyUSB0,/dev/ttyUSB1:/dev/ttyUSB0' },
        /^BOARD_RUNNER_DEVICES_PI item '\/dev\/ttyUSB1:\/dev\/ttyUSB0' maps a second device to \/dev\/ttyUSB0/,
      ],
      [{ BOARD_RUNNER_DEVICES_PI: '/dev/a,,/dev/b' }, /^BOARD_RUNNER_DEVICES_PI has an empty entry in '\/dev\/a,,\/dev\/b'/],
      [{ BOARD_RUNNER_ENV: 'PDU_OUTLET' }, /^BOARD_RUNNER_ENV entry 'PDU_OUTLET' is not KEY=VALUE/],
      [{ BOARD_RUNNER_ENV_PI: '1X=2' }, /^BOARD_RUNNER_ENV_PI entry '1X=2' is not KEY=VALUE/],
      [{ BOARD_RUNNER_ENV_PI: 'A B=2' }, /^BOARD_RUNNER_ENV_PI entry 'A B=2' is not KEY=VALUE/],
      [{ BOARD_RUNNER_ENV_PI: 'A=1;A=2' }, /^BOARD_RUNNER_ENV_PI entry 'A=2' sets A a second time/],
      [{ BOARD_RUNNER_VOLUMES: '/srv/tftp' }, /^BOARD_RUNNER_VOLUMES entry '\/srv\/tftp' is not host:container\[:ro\] with absolute paths/],
      [{ BOARD_RUNNER_VOLUMES_PI: 'tftp:/srv/tftp' }, /^BOARD_RUNNER_VOLUMES_PI entry 'tftp:\/srv\/tftp' is not host:container\[:ro\]/],
      [{ BOARD_RUNNER_VOLUMES_PI: '/a:/b:rx' }, /^BOARD_RUNNER_VOLUMES_PI entry '\/a:\/b:rx' is not host:container\[:ro\]/],
      [{ BOARD_RUNNER_VOLUMES_PI: '/a:/srv/../opt' }, /^BOARD_RUNNER_VOLUMES_PI entry '\/a:\/srv\/\.\.\/opt' is not host:container/],
      [{ BOARD_RUNNER_VOLUMES_PI: '/a:/b;/c:/b' }, /^BOARD_RUNNER_VOLUMES_PI entry '\/c:\/b' mounts a second volume at \/b/],
      [{ BOARD_RUNNER_GROUP_ADD: 'dial out' }, /^BOARD_RUNNER_GROUP_ADD item 'dial out' is not a group name or id/],
    ];
    for (const [values, expected] of cases) {
      assert.throws(
        () => parse('pi:pi', values),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.match(err.message, expected);
          assert.doesNotMatch(err.message, /\n/);
          return true;
        },
        JSON.stringify(values),
      );
    }
  });

  test("reserved keys in BOARD_RUNNER_ENV are refused: the runner's and the wrapper's own, and whatever could switch the lock off", () => {
    for (const key of [
      'RUNNER_NAME',
      'RUNNER_LABELS',
      'RUNNER_RESOURCE_ID',
      'RUNNER_LOCK_DIR',
      'RUNNER_LOCK_STALE_MS',
      'RUNNER_STOP_GRACE_MS',
      'RUNNER_FLEET_NODE',
      'RUNNER_BOARD',
      'RUNNER_ALLOW_RUNASROOT',
      'ACTIONS_RUNNER_HOOK_JOB_STARTED',
      'ACTIONS_RUNNER_HOOK_JOB_COMPLETED',
      'ACTIONS_RUNNER_PRINT_LOG_TO_STDOUT',
      'GITHUB_TOKEN',
      'NODE_OPTIONS',
      'LD_PRELOAD',
      'DOTNET_STARTUP_HOOKS',
      'BASH_ENV',
      'PATH',
      'HOME',
      'DISABLE_AUTO_UPDATE',
      'HTTPS_PROXY',
      'no_proxy',
      'runner_name',
    ]) {
      for (const setting of ['BOARD_RUNNER_ENV', 'BOARD_RUNNER_ENV_PI']) {
        assert.throws(
          () => parse('pi:pi', { [setting]: `A=1;${key}=x-value` }),
          (err: unknown) => {
            assert.ok(err instanceof ConfigError);
            assert.doesNotMatch(err.message, /x-value/, 'a value is never echoed (it may be a token)');
            assert.match(err.message, new RegExp(`^${setting} sets ${key}, which a board setting may not change .*: remove it from ${setting}`));
            return true;
          },
          `${setting}: ${key}`,
        );
      }
    }
  });

  test('a key whose name says secret is refused without echoing its value: the compose file and docker inspect show every value', () => {
    for (const key of ['PDU_PASSWORD', 'BMC_PASSWD', 'PDU_SECRET', 'LAB_TOKEN', 'SSH_PRIVATE_KEY', 'CLOUD_API_KEY', 'GH_PAT']) {
      assert.throws(
        () => parse('pi:pi', { BOARD_RUNNER_ENV_PI: `PDU_HOST=pdu1;${key}=hunter2` }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.match(err.message, new RegExp(`^BOARD_RUNNER_ENV_PI sets ${key}, whose name says it is a secret: .*mount that with BOARD_RUNNER_VOLUMES_PI`));
          assert.doesNotMatch(err.message, /hunter2/);
          return true;
        },
        key,
      );
    }
    assert.deepEqual(parse('pi:pi', { BOARD_RUNNER_ENV: 'PDU_USER=ci;KEYBOARD=us;PATCH_DIR=/p' })[0]?.hardware.environment, {
      PDU_USER: 'ci',
      KEYBOARD: 'us',
      PATCH_DIR: '/p',
    });
  });

  test('volumes may not cover what the runner or the lock wrapper needs', () => {
    for (const target of [
      '/',
      '/opt',
      '/opt/runner-fleet',
      '/opt/runner-fleet/hooks',
      '/var/lib/runner-fleet/state',
      '/tmp/github-runner-locks',
      '/tmp/github-runner-locks/x',
      '/etc/udev/rules.d',
      '/home',
      '/home/runner',
      '/home/runner/_work',
      '/home/runner/run.sh',
      '/home/runner/bin',
      '/home/runner/.env',
    ]) {
      rejects(
        'pi:pi',
        new RegExp(`^BOARD_RUNNER_VOLUMES_PI entry '/srv/x:${target.replaceAll('.', '\\.')}' mounts over \\S+, which the runner or the lock wrapper needs`),
        { BOARD_RUNNER_VOLUMES_PI: `/srv/x:${target}` },
      );
    }
    rejects('pi:pi', /mounts over \/srv\/locks/, { RUNNER_LOCK_DIR: '/srv/locks', BOARD_RUNNER_VOLUMES: '/x:/srv/locks' });
    assert.equal(
      parse('pi:pi', { BOARD_RUNNER_VOLUMES: '/x:/tmp;/y:/home/runner/.cache;/z:/home/runner/_work/_tool' })[0]?.hardware.volumes.length,
      3,
      'a parent of a mount, the home below the runner files and the work directory below are fine',
    );
  });
});
