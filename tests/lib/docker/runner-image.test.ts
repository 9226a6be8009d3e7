import assert from 'node:assert/strict';
import { test } from 'node:test';
import { copiedSources } from '../../../lib/docker/runner-image.ts';

test('the files a Dockerfile takes from its context are what its rebuild depends on', () => {
  const dockerfile = [
    'FROM ghcr.io/actions/actions-runner:latest AS base',
    'COPY tools/flash.sh tools/power.py /usr/local/bin/',
    'add --chown=runner:runner udev/ /etc/udev/rules.d/',
    'COPY ["with space.txt", "/opt/"]',
    'COPY --from=base /etc/os-release /tmp/',
    'ADD https://example.com/firmware.bin /opt/firmware.bin',
    'RUN apt-get update && \\',
    '    apt-get install -y picocom',
    'COPY \\',
    '  board.conf /etc/board.conf',
  ].join('\n');
  assert.deepEqual(copiedSources(dockerfile), ['tools/flash.sh', 'tools/power.py', 'udev/', 'with space.txt', 'board.conf']);
});
