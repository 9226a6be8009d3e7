// The Dockerfile cannot import image/layout.ts: prove it says the same.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FLEET_DIR, WRAPPER_ENTRYPOINT } from '../../image/layout.ts';

const dockerfile = readFileSync(new URL('../../image/Dockerfile', import.meta.url), 'utf8');
const instructions = dockerfile.split('\n').filter((line) => line.trim() && !line.trimStart().startsWith('#'));

test('the Dockerfile copies the wrapper bundle to FLEET_DIR and runs WRAPPER_ENTRYPOINT', () => {
  assert.ok(instructions.includes(`COPY wrapper/ ${FLEET_DIR}/`), `COPY wrapper/ ${FLEET_DIR}/ in image/Dockerfile`);
  assert.ok(instructions.includes(`ENTRYPOINT ["${WRAPPER_ENTRYPOINT}"]`), `ENTRYPOINT ["${WRAPPER_ENTRYPOINT}"] in image/Dockerfile`);
});

test('the Dockerfile names no label itself: the build sets them from IMAGE_LABEL', () => {
  assert.deepEqual(instructions.filter((line) => /^\s*LABEL\b/i.test(line)), []);
});
