// The test ground's script cannot import core/constants.ts: prove the images
// it builds by default are the ones the e2e tests and the simulator's build
// (standins/runner/build.ts, which imports STANDIN_IMAGES) name. The
// base-image script names none: it is given the tag.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { STANDIN_IMAGES } from '../../core/constants.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const setup = read('tests/e2e/setup.sh');
const IMAGE_NAME = /\b(?:runner-fleet-test|rf-demo)\/[\w.-]+:[\w.-]+/g;

/** The default of `NAME=${NAME:-default}` in setup.sh. */
function defaultOf(name: string): string | undefined {
  return new RegExp(`^${name}=\\$\\{${name}:-([^}]+)\\}$`, 'm').exec(setup)?.[1];
}

test('tests/e2e/setup.sh builds STANDIN_IMAGES.base and STANDIN_IMAGES.simulator by default', () => {
  assert.equal(defaultOf('BASE_IMAGE'), STANDIN_IMAGES.base);
  assert.equal(defaultOf('SIM_IMAGE'), STANDIN_IMAGES.simulator);
});

test('tests/e2e/setup.sh names no other image of the stand-ins (its comments included)', () => {
  const named = new Set(setup.match(IMAGE_NAME));
  assert.deepEqual([...named].sort(), [STANDIN_IMAGES.base, STANDIN_IMAGES.simulator].sort());
});

test('tests/e2e/setup.sh passes its names to the base-image script and the simulator build', () => {
  assert.match(setup, /standins\/runner\/base-image\.sh" "\$BASE_IMAGE"/);
  assert.match(setup, /standins\/runner\/build\.ts --base "\$BASE_IMAGE" --tag "\$SIM_IMAGE"/);
});

test('standins/runner/base-image.sh names no image: its callers give the tag', () => {
  const script = read('standins/runner/base-image.sh');
  assert.deepEqual(script.match(IMAGE_NAME), null);
  assert.match(script, /^tag=\$\{1:\?usage: base-image\.sh TAG\}$/m);
});
