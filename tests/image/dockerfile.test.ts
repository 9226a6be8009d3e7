// The Dockerfile cannot import image/layout.ts: prove it says the same.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONFIG_SCRIPT, FLEET_DIR, RUNNER_HOME, STATE_DIR, STATE_FILES, STATE_SCRIPT, WRAPPER_ENTRYPOINT } from '../../image/layout.ts';

const dockerfile = readFileSync(new URL('../../image/Dockerfile', import.meta.url), 'utf8');
const instructions = dockerfile.split('\n').filter((line) => line.trim() && !line.trimStart().startsWith('#'));

test('the Dockerfile copies the wrapper bundle to FLEET_DIR and runs WRAPPER_ENTRYPOINT', () => {
  assert.ok(instructions.includes(`COPY wrapper/ ${FLEET_DIR}/`), `COPY wrapper/ ${FLEET_DIR}/ in image/Dockerfile`);
  assert.ok(instructions.includes(`ENTRYPOINT ["${WRAPPER_ENTRYPOINT}"]`), `ENTRYPOINT ["${WRAPPER_ENTRYPOINT}"] in image/Dockerfile`);
});

test('the Dockerfile names no label itself: the build sets them from IMAGE_LABEL', () => {
  assert.deepEqual(instructions.filter((line) => /^\s*LABEL\b/i.test(line)), []);
});

const stateScript = readFileSync(new URL('../../image/runner-state.sh', import.meta.url), 'utf8');

test('the Dockerfile installs the runner-state step at STATE_SCRIPT and makes STATE_DIR', () => {
  assert.ok(instructions.includes(`COPY runner-state.sh ${STATE_SCRIPT}`), `COPY runner-state.sh ${STATE_SCRIPT} in image/Dockerfile`);
  assert.match(dockerfile, new RegExp(`mkdir -p ${STATE_DIR} `));
  assert.match(dockerfile, new RegExp(`chmod 700 ${STATE_DIR}`), 'the registration holds secrets: only its owner reads the directory');
});

test('image/runner-state.sh keeps exactly STATE_FILES, in STATE_DIR, for the runner root RUNNER_HOME', () => {
  assert.match(stateScript, new RegExp(`^home=${RUNNER_HOME}$`, 'm'));
  assert.match(stateScript, new RegExp(`^state=${STATE_DIR}$`, 'm'));
  assert.match(stateScript, new RegExp(`^files='${STATE_FILES.join(' ')}'$`, 'm'));
  assert.ok(stateScript.includes('"$home/config.sh"') && CONFIG_SCRIPT === `${RUNNER_HOME}/config.sh`, 'configure runs CONFIG_SCRIPT');
});
