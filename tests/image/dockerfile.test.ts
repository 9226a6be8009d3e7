// The Dockerfile and the shell steps cannot import core/constants.ts: prove they say the same.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  CONFIG_SCRIPT,
  FLEET_DIR,
  IMAGE_ENV_FILE,
  ROOT_PATH,
  RUNNER_HOME,
  RUNTIME_STATE_FILES,
  STATE_DIR,
  STATE_FILES,
  STATE_SCRIPT,
  WRAPPER_ENTRYPOINT,
  WRAPPER_NODE,
} from '../../core/constants.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const dockerfile = read('image/Dockerfile');
const instructions = dockerfile.split('\n').filter((line) => line.trim() && !line.trimStart().startsWith('#'));

test('the Dockerfile copies the wrapper bundle to FLEET_DIR and runs WRAPPER_ENTRYPOINT', () => {
  assert.ok(instructions.includes(`COPY wrapper/ ${FLEET_DIR}/`), `COPY wrapper/ ${FLEET_DIR}/ in image/Dockerfile`);
  assert.ok(instructions.includes(`ENTRYPOINT ["${WRAPPER_ENTRYPOINT}"]`), `ENTRYPOINT ["${WRAPPER_ENTRYPOINT}"] in image/Dockerfile`);
});

test("the Dockerfile gives root its own copy of the base image's node at WRAPPER_NODE and of its .env at IMAGE_ENV_FILE", () => {
  assert.match(dockerfile, new RegExp(`cp -L "\\$node" ${WRAPPER_NODE};`));
  assert.match(dockerfile, new RegExp(`cp -L ${RUNNER_HOME}/\\.env ${IMAGE_ENV_FILE};`));
  assert.match(dockerfile, new RegExp(`chown -R root:root ${FLEET_DIR}; chmod -R go-w ${FLEET_DIR};`), 'nothing under FLEET_DIR is the runner user’s');
});

test('the Dockerfile names no label itself: the build sets them from IMAGE_LABEL', () => {
  assert.deepEqual(
    instructions.filter((line) => /^\s*LABEL\b/i.test(line)),
    [],
  );
});

const stateScript = read('image/runner-state.sh');

test("the Dockerfile installs the runner-state step at STATE_SCRIPT and makes STATE_DIR root's, 0700", () => {
  assert.ok(instructions.includes(`COPY runner-state.sh ${STATE_SCRIPT}`), `COPY runner-state.sh ${STATE_SCRIPT} in image/Dockerfile`);
  assert.match(dockerfile, new RegExp(`mkdir -p ${STATE_DIR} `));
  assert.match(dockerfile, new RegExp(`chown root:root ${STATE_DIR}`), 'the registration is root’s: no job can change it');
  assert.match(dockerfile, new RegExp(`chmod 700 ${STATE_DIR}`), 'the registration holds secrets: only root reads the directory');
});

test('image/runner-state.sh keeps exactly STATE_FILES, in STATE_DIR, for the runner root RUNNER_HOME, and removes RUNTIME_STATE_FILES', () => {
  assert.match(stateScript, new RegExp(`^home=${RUNNER_HOME}$`, 'm'));
  assert.match(stateScript, new RegExp(`^state=${STATE_DIR}$`, 'm'));
  assert.match(stateScript, new RegExp(`^files='${STATE_FILES.join(' ')}'$`, 'm'));
  assert.match(stateScript, new RegExp(`^runtime_files='${RUNTIME_STATE_FILES.join(' ')}'$`, 'm'));
  assert.ok(stateScript.includes('"$home/config.sh"') && CONFIG_SCRIPT === `${RUNNER_HOME}/config.sh`, 'configure runs CONFIG_SCRIPT');
});

test('what runs as root looks commands up in ROOT_PATH only', () => {
  for (const file of ['image/runner-state.sh', 'wrapper/entrypoint.sh']) {
    assert.match(read(file), new RegExp(`^PATH=${ROOT_PATH}$`, 'm'), file);
  }
  for (const file of ['wrapper/hooks/job-started.sh', 'wrapper/hooks/job-completed.sh']) {
    assert.ok(read(file).includes(`PATH=${ROOT_PATH} command -v node`), file);
  }
});
