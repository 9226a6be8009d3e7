import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseBoardRunners } from '../../../lib/config/board-runners.ts';
import { ConfigError } from '../../../lock/errors.ts';

const settings = (values: Record<string, string>) => (key: string) => values[key];
const parse = (text: string, values: Record<string, string> = {}) => parseBoardRunners(text, 'h-acme-', settings(values));

function rejects(text: string, expected: RegExp): void {
  assert.throws(() => parse(text), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, expected);
    return true;
  });
}

describe('BOARD_RUNNERS', () => {
  test('entries become runners with only their own labels', () => {
    const boards = parse(' phytiumpi : phytiumpi ; roc-rk3568-pc:roc-rk3568-pc, arm64 ;');
    assert.deepEqual(boards, [
      { name: 'phytiumpi', labels: ['phytiumpi'], service: 'h-acme-runner-phytiumpi' },
      { name: 'roc-rk3568-pc', labels: ['roc-rk3568-pc', 'arm64'], service: 'h-acme-runner-roc-rk3568-pc' },
    ]);
  });

  test('empty setting means no board runners', () => {
    assert.deepEqual(parse(''), []);
  });

  test('per-board resource ID wins over the global one', () => {
    const boards = parse('roc-rk3568-pc:arm64;pi:pi', { 'RUNNER_RESOURCE_ID_ROC_RK3568_PC': 'roc', RUNNER_RESOURCE_ID: 'shared' });
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
